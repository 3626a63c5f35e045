from django.urls import path

from . import views

app_name = "services"

urlpatterns = [
    path("", views.catalog_page, name="catalog"),
    path("bundles/<str:code>/", views.bundle_guide_page, name="bundle"),
    path("<str:code>/", views.guide_page, name="guide"),
    path(
        "<str:code>/materials/<int:material_id>/sample/",
        views.material_sample,
        name="material-sample",
    ),
]
