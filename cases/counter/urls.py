from django.urls import path

from ..payments import views as payment_views
from ..ratings import views as rating_views
from . import bundle_views
from . import views as counter_views

app_name = "counter"

urlpatterns = [
    path("", counter_views.desk, name="desk"),
    path("apply/", counter_views.apply, name="apply"),
    path("pickup/", counter_views.pickup, name="pickup"),
    path("rate/", rating_views.counter_rate, name="rate"),
    path("bundle/", bundle_views.bundle_apply, name="bundle-apply"),
    path("bundle/done/<str:number>/", bundle_views.bundle_done, name="bundle-done"),
    path("bundle/done/<str:number>/receipt/", bundle_views.bundle_receipt, name="bundle-receipt"),
    path("done/<str:number>/", counter_views.done, name="done"),
    path("fees/<str:number>/", payment_views.window, name="fee"),
    path("done/<str:number>/receipt.pdf", counter_views.receipt, name="receipt"),
    path(
        "done/<str:number>/documents/<int:document_id>.pdf",
        counter_views.document,
        name="document",
    ),
]
