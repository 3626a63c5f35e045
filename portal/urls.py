from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cases import verification
from cases.licences import views as licence_views
from cases.notifications import inbox
from cases.transparency import stats_views, tracking

from . import views
from .db_router import reads_from_replica

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("preferences/contrast/", views.toggle_high_contrast, name="high_contrast"),
    path("accounts/", include("accounts.urls")),
    path("services/", include("services.urls")),
    path("manage/", include("services.designer.urls")),
    path("applications/", include("cases.urls")),
    path("work/", include("cases.work_urls")),
    path("counter/", include("cases.counter.urls")),
    path("hall/", include("cases.hall.urls")),
    path("messages/", inbox.inbox_page, name="inbox"),
    path("offers/", include("cases.proactive.urls")),
    path("appointments/", include("cases.hall.booking_urls")),
    path("pay/", include("cases.payments.urls")),
    path("messages/<int:notification_id>/read/", inbox.read, name="inbox-read"),
    path("licences/", include("cases.licences.urls")),
    path("verify/", verification.verify_document, name="verify-document"),
    path("verify/payload/", verification.verify_payload, name="verify-payload"),
    path("verify/<str:code>/", licence_views.verify, name="verify-licence"),
    path("stats/", reads_from_replica(stats_views.stats_page), name="stats"),
    path("stats/export.csv", reads_from_replica(stats_views.export_csv), name="stats-export-csv"),
    path(
        "stats/export.json", reads_from_replica(stats_views.export_json), name="stats-export-json"
    ),
    path(
        "stats/waiting.csv",
        reads_from_replica(stats_views.export_waiting_csv),
        name="stats-export-waiting-csv",
    ),
    path("track/", tracking.track_page, name="track"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
]

handler404 = "portal.views.page_not_found"
handler403 = "portal.views.permission_denied"
handler500 = "portal.views.server_error"

admin.site.site_header = settings.PORTAL_NAME
admin.site.site_title = settings.PORTAL_NAME

if settings.BENCH_ENDPOINTS:
    from . import bench

    urlpatterns += [
        path("api/v1/bench/insert/", bench.BareInsertView.as_view()),
        path("api/v1/bench/list/", bench.BareListView.as_view()),
        path("bench/page/", bench.bare_page),
    ]
    if settings.BENCH_PROFILE:
        urlpatterns += [path("bench/profile/", bench.profile_report)]
