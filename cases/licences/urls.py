from django.urls import path

from . import views as licence_views

app_name = "licences"

urlpatterns = [
    path("", licence_views.wallet, name="list"),
    path("<str:number>/pdf/", licence_views.pdf, name="pdf"),
]
