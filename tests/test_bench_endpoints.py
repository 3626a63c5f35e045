"""The measuring pieces of `make bench` (portal/bench.py): absent unless BENCH_ENDPOINTS is on, and
the query header counts what a request really ran."""

import json
import os

import pytest
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory

from portal.bench import QUERIES_HEADER, QueryCountMiddleware

pytestmark = pytest.mark.django_db


def test_no_floor_views_and_no_query_header_without_bench_endpoints(client):
    assert settings.BENCH_ENDPOINTS is False
    assert "portal.bench.QueryCountMiddleware" not in settings.MIDDLEWARE
    assert client.get("/bench/page/").status_code == 404
    assert client.get("/api/v1/bench/list/").status_code == 404
    response = client.get("/services/")
    assert response.status_code == 200
    assert QUERIES_HEADER not in response


@pytest.mark.parametrize("statements", [0, 1, 4])
def test_query_header_counts_every_statement_of_the_request(statements):
    def view(request):
        with connection.cursor() as cursor:
            for n in range(statements):
                cursor.execute("SELECT %s", [n])
        return HttpResponse("ok")

    response = QueryCountMiddleware(view)(RequestFactory().get("/"))
    assert response[QUERIES_HEADER] == str(statements)


def test_profile_splits_a_labelled_request_by_layer_and_leaves_others_alone():
    from portal import bench

    bench._PROFILES.clear()

    def view(request):
        with connection.cursor() as cursor:
            for n in range(3):
                cursor.execute("SELECT %s", [n])
        return HttpResponse("ok")

    middleware = bench.ProfileMiddleware(view)
    assert middleware(RequestFactory().get("/")).content == b"ok"
    assert bench._PROFILES == {}  # no label, no profile
    for _ in range(2):
        middleware(RequestFactory().get("/", HTTP_X_BENCH_PROFILE="three selects"))
    report = json.loads(bench.profile_report(RequestFactory().get("/?reset=1")).content)
    entry = report["three selects"]
    assert entry["requests"] == 2
    assert entry["layers"]["db driver + wait"] > 0
    assert sum(entry["layers"].values()) <= entry["ms"]
    assert any("execute" in name for name, _ms in entry["top"])
    assert bench._PROFILES == {}  # reset


def test_layers_follow_the_module_a_function_lives_in():
    from portal.bench import OTHER, layer_of

    assert layer_of("/x/site-packages/django/db/models/sql/compiler.py", "as_sql") == (
        "orm: build, compile, rows"
    )
    assert layer_of("~", "<method 'execute' of 'psycopg2.extensions.cursor' objects>") == (
        "db driver + wait"
    )
    assert layer_of("/x/site-packages/django/template/base.py", "render") == "templates + forms"
    assert layer_of("/work/main/cases/selectors.py", "my_applications") == "portal code"
    assert layer_of("/usr/lib/python3.11/inspect.py", "_bind") == OTHER


def test_the_web_keeps_the_orms_join_order_and_the_workers_plan_freely():
    """portal/wsgi.py asks for join_collapse_limit 1 (the web's ORM queries); any other process
    (Celery, manage.py, these tests) keeps PostgreSQL's search."""
    import subprocess
    import sys

    from django.conf import settings as live

    assert live.JOIN_COLLAPSE_LIMIT == 0
    probe = (
        "import portal.wsgi; from django.conf import settings; "
        "print(settings.JOIN_COLLAPSE_LIMIT, settings.DATABASES['default'].get('OPTIONS', {}))"
    )
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DB_JOIN_COLLAPSE_LIMIT", "DJANGO_SETTINGS_MODULE")
    }
    environment["DATABASE_URL"] = "postgres://u:p@127.0.0.1:1/x"
    done = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    )
    assert done.stdout.split(" ", 1) == ["1", "{'options': '-c join_collapse_limit=1'}\n"]
