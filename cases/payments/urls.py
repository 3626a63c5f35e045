from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("demo/<str:reference>/", views.demo_checkout, name="demo-checkout"),
    path("callback/<str:provider>/", views.callback, name="callback"),
    path("reconciliation/", views.reconciliation_page, name="reconciliation"),
    path("reconciliation.csv", views.reconciliation_csv, name="reconciliation-csv"),
]
