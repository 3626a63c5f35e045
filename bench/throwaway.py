"""Run a benchmark against a throwaway PostgreSQL with the portal's settings (bench-sweep,
bench-stats): the server is started on a free port, given an empty `portal` database, and stopped
whatever happens."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import TEST_ENVIRONMENT, ThrowawayPostgres  # noqa: E402


def with_django_on_postgres(run: Callable[[], int]) -> int:
    postgres = ThrowawayPostgres()
    postgres.start()
    try:
        import psycopg2

        admin = psycopg2.connect(
            host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres"
        )
        admin.autocommit = True
        admin.cursor().execute("CREATE DATABASE portal")
        admin.close()
        for name, value in TEST_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        os.environ.update(
            DATABASE_URL=postgres.url, CELERY_BROKER_URL="memory://", LOG_LEVEL="WARNING"
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        import django

        django.setup()
        return run()
    finally:
        postgres.stop()
