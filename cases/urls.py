from django.urls import include, path

from . import views
from .payments import views as payment_views
from .ratings import views as rating_views
from .sharing import views as sharing_views

app_name = "cases"

urlpatterns = [
    path("bundles/", include("cases.bundles.urls")),  # 一件事: before <number>/ below
    path("", views.application_list, name="list"),
    path("new/<str:code>/", views.start, name="start"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/form/", views.form_step, name="form"),
    path("<str:number>/materials/", views.materials_step, name="materials"),
    path("<str:number>/review/", views.review_step, name="review"),
    path("<str:number>/submitted/", views.submitted, name="submitted"),
    path("<str:number>/receipt.pdf", views.receipt, name="receipt"),
    path("<str:number>/application-form.pdf", views.application_form, name="application-form"),
    path("<str:number>/withdraw/", views.withdraw, name="withdraw"),
    path("<str:number>/pay/", payment_views.pay, name="pay"),
    path("<str:number>/human-review/", views.human_review, name="human-review"),
    path("<str:number>/supplement/", views.supplement, name="supplement"),
    path("<str:number>/owed/", views.owed, name="owed"),
    path("<str:number>/shared/", sharing_views.upload_instead, name="shared-upload"),
    path("<str:number>/rating/", rating_views.rate, name="rate"),
    path("<str:number>/rating/answer/", rating_views.rate_answer, name="rate-answer"),
    path("<str:number>/documents/<int:attachment_id>/", views.document, name="document"),
    path(
        "<str:number>/official/<int:document_id>.pdf",
        views.official_document,
        name="official-document",
    ),
]
