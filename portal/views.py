"""Public pages of the portal, display preferences, error pages and the health endpoint."""

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cases.proactive.services import open_offers_of

from . import home as home_selectors
from .celery import app as celery_app
from .context_processors import CONTRAST_COOKIE

CONTRAST_COOKIE_AGE = 365 * 24 * 3600


def home(request: HttpRequest) -> HttpResponse:
    """The home page; in elder mode (长辈版) large tiles for the few services older people use most,
    the hotline and their drafts, and nothing else."""
    from services.models import LifeEvent

    drafts = home_selectors.drafts_to_continue(request.user)
    if request.session.get("elder_mode"):
        return render(
            request,
            "portal/home_elder.html",
            {
                "tiles": home_selectors.elder_tiles(),
                "drafts": drafts,
                "offers": open_offers_of(request.user),
            },  # fmt: skip
        )
    return render(
        request,
        "portal/home.html",
        {
            "life_events": LifeEvent.objects.order_by("order", "code"),
            "most_used": home_selectors.most_used_services(limit=8),
            "for_people": home_selectors.most_used_services(audience="person", limit=6),
            "for_organisations": home_selectors.most_used_services(
                audience="organisation", limit=6
            ),
            "drafts": drafts,
            "offers": open_offers_of(request.user),
        },
    )


def _next_url(request: HttpRequest) -> str:
    url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        url = "/"
    return url


@require_POST
def toggle_high_contrast(request: HttpRequest) -> HttpResponse:
    """High contrast on or off for this browser; a plain form POST, so it works without JavaScript."""
    response = HttpResponseRedirect(_next_url(request))
    if request.POST.get("high_contrast") == "on":
        response.set_cookie(
            CONTRAST_COOKIE,
            "1",
            max_age=CONTRAST_COOKIE_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(CONTRAST_COOKIE, samesite="Lax")
    return response


# --- Error pages -----------------------------------------------------------------------------------
# 404 and 403 render with the request (the page's header, language, elder mode). 500 must work when
# the database is what failed: its template gets a plain context, no context processor, no session.


def _wants_json(request: HttpRequest) -> bool:
    """Under /api/ errors answer in the API's shape, `{"detail": ..., "errors": {}}` (DESIGN "API")."""
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": _("Not found."), "errors": {}}, status=404)
    # `error_page`: no form and nothing of the address asked for, so that a refused case looks
    # exactly like a missing one (DESIGN "Data protection"), byte for byte.
    return render(request, "404.html", {"error_page": True}, status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {"detail": _("You do not have permission to perform this action."), "errors": {}},
            status=403,
        )
    return render(request, "403.html", {"error_page": True}, status=403)


def _plain_page(request: HttpRequest, template: str) -> str:
    context = {
        "portal_name": settings.PORTAL_NAME,
        "high_contrast": request.COOKIES.get(CONTRAST_COOKIE) == "1",
    }
    return loader.get_template(template).render(context)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": _("A server error occurred."), "errors": {}}, status=500)
    return HttpResponseServerError(_plain_page(request, "500.html"))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form from an expired page says what to do, not "CSRF verification
    failed"."""
    return HttpResponseForbidden(_plain_page(request, "403_csrf.html"))


def _database_state() -> tuple[bool, bool | None]:
    """(database reachable, all migrations applied); the second is None when the first is False."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:  # noqa: BLE001 - any failure means "down" to a health check
        return False, None
    return True, not plan


def _broker_state() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001
        return False
    return True


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers, whatever the broker does: the portal keeps serving without
    Redis (notifications wait in the outbox). 503 when the database is down."""
    database, migrations = _database_state()
    broker = _broker_state()
    body = {
        "status": "ok"
        if database and migrations and broker
        else ("degraded" if database else "down"),
        "database": "up" if database else "down",
        "migrations": {True: "applied", False: "pending", None: "unknown"}[migrations],
        "broker": "up" if broker else "down",
    }
    return JsonResponse(body, status=200 if database else 503)
