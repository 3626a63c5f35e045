"""Everything under /api/v1/ (DESIGN "API")."""

from django.urls import path

from accounts import api as accounts_api
from services import api as services_api

urlpatterns = [
    path("auth/register/", accounts_api.RegisterView.as_view(), name="api-register"),
    path("auth/token/", accounts_api.TokenView.as_view(), name="api-token"),
    path("me/", accounts_api.MeView.as_view(), name="api-me"),
    path("services/", services_api.ServiceListView.as_view(), name="api-services"),
    path("services/<str:code>/", services_api.ServiceDetailView.as_view(), name="api-service"),
    path("departments/", services_api.DepartmentListView.as_view(), name="api-departments"),
]
