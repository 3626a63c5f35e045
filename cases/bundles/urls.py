from django.urls import path

from . import views

app_name = "bundles"

urlpatterns = [
    path("new/<str:code>/", views.start, name="start"),
    path("<str:number>/", views.status, name="status"),
    path("<str:number>/form/", views.form, name="form"),
    path("<str:number>/materials/", views.materials, name="materials"),
    path("<str:number>/receipt/", views.receipt, name="receipt"),
    path("<str:number>/rating/", views.rate, name="rate"),
    path("<str:number>/supplements/", views.supplements, name="supplements"),
    path("<str:number>/receipt.pdf", views.receipt_pdf, name="receipt-pdf"),
]
