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


# --- `make bench-profile` (BENCH_PROFILE=1, one worker) ---------------------------------------------
#
# Where a request's time goes, by layer: a request carrying X-Bench-Profile: <label> runs the
# whole middleware stack under cProfile, and each function's own time (tottime) is added to the
# layer its module belongs to. GET /bench/profile/ answers the totals per label. cProfile adds a
# cost per Python call, so the layers made of many small calls (the ORM, templates) weigh a little
# more than they do unprofiled: compare layers and paths, not these milliseconds with `make bench`.

PROFILE_HEADER = "HTTP_X_BENCH_PROFILE"

# (layer, path fragments of the module's file); the first layer that matches wins.
LAYERS = (
    ("db driver + wait", ("/django/db/backends/", "/psycopg2/", "psycopg2.")),
    ("orm: build, compile, rows", ("/django/db/",)),
    ("templates + forms", ("/django/template/", "/django/templatetags/", "/django/forms/",
                           "/django/utils/html.py", "/django/utils/safestring.py",
                           "/django/utils/formats.py", "/django/utils/numberformat.py",
                           "/django/utils/dateformat.py", "/templatetags/")),
    ("session, auth, 2fa, permissions", ("/django/contrib/sessions/", "/django/contrib/auth/",
                                         "/django_otp/", "/guardian/", "/axes/",
                                         "/django/core/signing.py")),
    ("drf", ("/rest_framework/", "/drf_spectacular/")),
    ("i18n", ("/django/utils/translation/", "/gettext.py")),
    ("request, middleware, urls", ("/django/core/handlers/", "/django/middleware/", "/django/http/",
                                   "/django/urls/", "/csp/", "/django/utils/cache.py",
                                   "/django/contrib/messages/", "/django_htmx/")),
    ("cache", ("/django/core/cache/", "/redis/")),
    ("portal code", ("/cases/", "/services/", "/portal/", "/accounts/")),
    ("json, crypto", ("/json/", "/cryptography/", "hashlib", "_hashlib", "hmac.py")),
)  # fmt: skip
OTHER = "other (stdlib, django utils)"
_PROFILES: dict[str, dict] = {}


def layer_of(filename: str, function: str) -> str:
    where = filename if filename != "~" else function
    for layer, fragments in LAYERS:
        if any(fragment in where for fragment in fragments):
            return layer
    return OTHER


class ProfileMiddleware:
    """Outermost (BENCH_PROFILE only): profiles the requests that ask for it, by label."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        label = request.META.get(PROFILE_HEADER)
        if not label:
            return self.get_response(request)
        import cProfile
        import pstats
        import time

        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        try:
            response = self.get_response(request)
        finally:
            profile.disable()
        elapsed = time.perf_counter() - started
        entry = _PROFILES.setdefault(label, {"requests": 0, "ms": 0.0, "layers": {}, "top": {}})
        entry["requests"] += 1
        entry["ms"] += 1000 * elapsed
        for (filename, line, function), row in pstats.Stats(profile).stats.items():
            own = 1000 * row[2]
            layer = layer_of(filename, function)
            entry["layers"][layer] = entry["layers"].get(layer, 0.0) + own
            key = f"{filename.rsplit('site-packages/', 1)[-1]}:{line} {function}"
            entry["top"][key] = entry["top"].get(key, 0.0) + own
        return response


def profile_report(request: HttpRequest) -> HttpResponse:
    """The totals per label as JSON, each function's share kept to the top twelve; ?reset=1 empties them."""
    from django.http import JsonResponse

    out = {}
    for label, entry in _PROFILES.items():
        top = sorted(entry["top"].items(), key=lambda item: -item[1])[:12]
        out[label] = {**entry, "top": top}
    if request.GET.get("reset"):
        _PROFILES.clear()
    return JsonResponse(out)
