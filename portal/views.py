"""Public pages of the portal and the health endpoint."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .celery import app as celery_app


def home(request: HttpRequest) -> HttpResponse:
    from services.models import LifeEvent

    return render(
        request, "portal/home.html", {"life_events": LifeEvent.objects.order_by("order", "code")}
    )


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
