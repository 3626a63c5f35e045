"""The measuring pieces of `make bench` (portal/bench.py): absent unless BENCH_ENDPOINTS is on, and
the query header counts what a request really ran."""

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
