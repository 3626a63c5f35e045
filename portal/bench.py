"""`make bench` only, served when BENCH_ENDPOINTS is on: the floors each hot path is compared with,
and the header that says how many SQL statements a request made.

- BareInsertView: a bare DRF view doing one INSERT (the floor of the writes);
- BarePageView: a bare Django view rendering a small template (the floor of the pages), with
  whatever authentication the request carries (a session cookie, or none for public pages);
- BareListView: a bare DRF view serialising a small list (the floor of the API), authenticated by
  token like the API (or anonymous for the public endpoints).

They run through the same middleware, settings and server as the portal, so the ratio of a path's
rate to its floor's says what the portal's own work costs on top of the framework, the database
and the network.
"""

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

QUERIES_HEADER = "X-Bench-Queries"
ROWS = [{"code": f"F-{n}", "name": f"基准{n}", "order": n} for n in range(10)]


class BareInsertView(APIView):
    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_floor (payload) VALUES (%s) RETURNING id", [request.user.pk]
            )
            row_id = cursor.fetchone()[0]
        return Response({"id": row_id}, status=201)


@require_http_methods(["GET", "POST"])
def bare_page(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/bench_floor.html", {"rows": ROWS})


class RowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    order = serializers.IntegerField()


class BareListView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(
            {"user": request.user.get_username(), "results": RowSerializer(ROWS, many=True).data}
        )

    def post(self, request):
        return self.get(request)


class QueryCountMiddleware:
    """Outermost: counts every statement the request makes (sessions, auth, the view, the
    middleware) with connection.execute_wrapper and answers it in X-Bench-Queries."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = 0

        def counted(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counted):
            response = self.get_response(request)
        response[QUERIES_HEADER] = str(count)
        return response
