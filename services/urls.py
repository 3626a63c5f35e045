from django.urls import path

from portal.db_router import reads_from_replica

from . import views

app_name = "services"

urlpatterns = [
    path("", reads_from_replica(views.catalog_page), name="catalog"),
    path("bundles/<str:code>/", reads_from_replica(views.bundle_guide_page), name="bundle"),
    path("<str:code>/", reads_from_replica(views.guide_page), name="guide"),
    path(
        "<str:code>/materials/<int:material_id>/sample/",
        views.material_sample,
        name="material-sample",
    ),
]
