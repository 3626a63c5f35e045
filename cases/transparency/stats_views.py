"""Public statistics: the page `/stats/` with its charts, CSV and JSON exports, and the API
`GET stats/` (DESIGN "Evaluation and transparency"). No sign-in; everything is read from the
monthly summary table through `statistics.public_figures`, so each response makes the same few
queries whatever the number of cases."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Min
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Department
from portal import caching
from services.models import localized

from ..models import MonthlyFigures
from . import statistics

# --- Input -----------------------------------------------------------------------------------------


class StatsQuery(serializers.Serializer):
    period = serializers.CharField(required=False, allow_blank=True, max_length=10)
    department = serializers.CharField(required=False, allow_blank=True, max_length=32)

    def validate_period(self, value: str) -> statistics.Period:
        try:
            return statistics.parse_period(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error

    def validate(self, attrs: dict) -> dict:
        attrs.setdefault("period", statistics.parse_period(""))
        attrs["department"] = attrs.get("department", "").strip()
        return attrs


def _figures_for(params, *, bundles: bool = True) -> dict:
    query = StatsQuery(data=params)
    query.is_valid(raise_exception=True)
    figures = statistics.public_figures(**query.validated_data)
    return _with_bundles(figures, **query.validated_data) if bundles else figures


def _with_bundles(figures: dict, *, period, department: str) -> dict:
    """Bundles (一件事) are counted apart from single cases (cases.bundles.statistics); the service
    hall's waiting and service times (cases.hall.queue) likewise."""
    from ..bundles.statistics import bundle_figures

    return {
        **figures,
        "bundles": bundle_figures(period=period, department=department),
        "hall": _hall_figures(period, department),
    }


def _hall_figures(period, department: str) -> list[dict]:
    from ..hall.queue import waiting_figures

    last_day = statistics.add_months(period.last, 1) - dt.timedelta(days=1)
    return waiting_figures(first_day=period.first, last_day=last_day, department=department)


# --- Output (the API's documented shape, shared by the JSON export) --------------------------------


class FiguresOutput(serializers.Serializer):
    received = serializers.IntegerField(help_text="Cases received in the period.")
    concluded = serializers.IntegerField(
        help_text="Cases decided in the period (approved, rejected or not accepted)."
    )
    on_time = serializers.IntegerField()
    on_time_rate = serializers.FloatField(
        allow_null=True, help_text="on_time / concluded, 0–1; null when nothing was decided."
    )
    median_days = serializers.FloatField(
        allow_null=True, help_text="Median working days a decision took, pauses excluded."
    )
    p90_days = serializers.IntegerField(
        allow_null=True, help_text="90th percentile of working days (nearest rank)."
    )
    within_limit_rate = serializers.FloatField(
        allow_null=True,
        help_text="Share of decisions within the service's promised limit (承诺时限), 0–1.",
    )
    zero_visits = serializers.IntegerField()
    zero_visit_rate = serializers.FloatField(
        allow_null=True, help_text="Share of decided cases with no trip to a counter, 0–1."
    )
    ratings = serializers.IntegerField(
        help_text="Ratings given in the period; unrated cases are not counted."
    )
    average_score = serializers.FloatField(allow_null=True, help_text="1–5; null without ratings.")
    good_ratings = serializers.IntegerField(help_text="Ratings of 4 or 5.")
    satisfied_rate = serializers.FloatField(
        allow_null=True, help_text="good_ratings / ratings, 0–1; null without ratings."
    )
    bad_ratings = serializers.IntegerField(help_text="Ratings of 1 or 2.")
    bad_rectified_on_time = serializers.IntegerField()
    rectified_on_time_rate = serializers.FloatField(
        allow_null=True, help_text="bad_rectified_on_time / bad_ratings, 0–1."
    )
    automated = serializers.IntegerField(
        help_text="Of the decided cases, those approved automatically (秒批), counted apart."
    )
    automated_rate = serializers.FloatField(
        allow_null=True, help_text="automated / concluded, 0–1; null when nothing was decided."
    )
    human_reviews = serializers.IntegerField(
        help_text="Human reviews of automated decisions asked in the period (PIPL art. 24)."
    )


class DepartmentFiguresOutput(FiguresOutput):
    code = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField()


class ServiceFiguresOutput(FiguresOutput):
    code = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField()
    department = serializers.CharField(help_text="Department code.")
    promised_limit_days = serializers.IntegerField(help_text="Promised limit in working days.")


class MonthFiguresOutput(FiguresOutput):
    month = serializers.CharField(help_text="YYYY-MM")


class PeriodOutput(serializers.Serializer):
    key = serializers.CharField()
    first_month = serializers.CharField()
    last_month = serializers.CharField()


class BundleCountsOutput(serializers.Serializer):
    received = serializers.IntegerField(help_text="Bundle applications submitted in the period.")
    completed = serializers.IntegerField(
        help_text="Bundle applications whose members all concluded (办结) in the period."
    )
    ended = serializers.IntegerField(
        help_text="Bundle applications that ended in the period without every member concluded."
    )
    completed_rate = serializers.FloatField(
        allow_null=True, help_text="completed / (completed + ended), 0–1."
    )
    median_days = serializers.FloatField(
        allow_null=True,
        help_text="Median working days from the one submission to the last member concluded.",
    )
    p90_days = serializers.IntegerField(allow_null=True)


class BundleRowOutput(BundleCountsOutput):
    code = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField()
    lead_department = serializers.CharField(help_text="Code of the lead department.")


class BundleFiguresOutput(serializers.Serializer):
    totals = BundleCountsOutput()
    bundles = BundleRowOutput(many=True)


class HallFiguresOutput(serializers.Serializer):
    centre = serializers.CharField(help_text="Service centre code.")
    centre_name = serializers.CharField()
    centre_name_en = serializers.CharField()
    service = serializers.CharField(help_text="Service code.")
    service_name = serializers.CharField()
    service_name_en = serializers.CharField()
    called = serializers.IntegerField(help_text="Tickets called in the period.")
    served = serializers.IntegerField(help_text="Tickets served to the end.")
    wait_median_seconds = serializers.IntegerField(
        allow_null=True, help_text="Median wait from the ticket to the first call."
    )
    wait_p90_seconds = serializers.IntegerField(
        allow_null=True, help_text="90th percentile (nearest rank) of the wait."
    )
    service_median_seconds = serializers.IntegerField(
        allow_null=True, help_text="Median time at the window, from the call to the end."
    )
    service_p90_seconds = serializers.IntegerField(allow_null=True)


class StatsOutput(serializers.Serializer):
    hall = HallFiguresOutput(
        many=True,
        help_text="The service hall: waiting and service times per centre and service.",
    )
    bundles = BundleFiguresOutput(
        help_text="Bundles (一件事), apart from single cases; their member cases are also counted "
        "as cases of their services."
    )
    period = PeriodOutput()
    department = serializers.CharField(help_text="The department filter, or empty.")
    totals = FiguresOutput()
    departments = DepartmentFiguresOutput(many=True)
    services = ServiceFiguresOutput(many=True)
    months = MonthFiguresOutput(many=True)


STATS_PARAMETERS = [
    OpenApiParameter(
        "period",
        OpenApiTypes.STR,
        description="12m (the last 12 months, the default), a year (2026) or a month (2026-05).",
    ),
    OpenApiParameter("department", OpenApiTypes.STR, description="Department code"),
]


class StatsView(APIView):
    """Public figures: received, concluded, on time, working days, visits and satisfaction."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=STATS_PARAMETERS, responses=StatsOutput)
    def get(self, request):
        return Response(StatsOutput(_figures_for(request.query_params)).data)


# --- Exports ---------------------------------------------------------------------------------------


def _attachment(response: HttpResponse, figures: dict, extension: str) -> HttpResponse:
    name = f"stats-{figures['period']['key']}"
    if figures["department"]:
        name += "-" + re.sub(r"[^0-9A-Za-z_-]", "", figures["department"])
    response["Content-Disposition"] = f'attachment; filename="{name}.{extension}"'
    return response


def _bad_request(error: serializers.ValidationError) -> HttpResponse:
    return HttpResponse(
        "\n".join(str(m) for messages in error.detail.values() for m in messages),
        status=400,
        content_type="text/plain; charset=utf-8",
    )


def export_json(request: HttpRequest) -> HttpResponse:
    try:
        figures = _figures_for(request.GET)
    except serializers.ValidationError as error:
        return _bad_request(error)
    body = json.dumps(
        StatsOutput(figures).data, ensure_ascii=False, indent=1, cls=DjangoJSONEncoder
    )
    return _attachment(
        HttpResponse(body, content_type="application/json; charset=utf-8"), figures, "json"
    )


CSV_COLUMNS = [
    "received", "concluded", "on_time", "on_time_rate", "median_days", "p90_days",
    "within_limit_rate", "zero_visits", "zero_visit_rate", "ratings", "average_score",
    "good_ratings", "satisfied_rate", "bad_ratings", "bad_rectified_on_time",
    "rectified_on_time_rate", "automated", "automated_rate", "human_reviews",
]  # fmt: skip


def _cell(value) -> object:
    """Text that a spreadsheet would run as a formula is quoted (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def export_csv(request: HttpRequest) -> HttpResponse:
    """One table: a row per department, per service and per month, then the totals. UTF-8 with a
    byte-order mark, so that Excel opens the Chinese names correctly. (Bundles are in the JSON:
    their columns are not these.)"""
    try:
        figures = _figures_for(request.GET, bundles=False)
    except serializers.ValidationError as error:
        return _bad_request(error)
    rows = [
        [_("grouping"), _("code or month"), _("name"), _("department"), _("promised limit (working days)"), *CSV_COLUMNS]
    ]  # fmt: skip
    for group in figures["departments"]:
        rows.append([_("department"), group["code"], group["name"], group["code"], None, *(group[c] for c in CSV_COLUMNS)])  # fmt: skip
    for group in figures["services"]:
        rows.append([_("service"), group["code"], group["name"], group["department"], group["promised_limit_days"], *(group[c] for c in CSV_COLUMNS)])  # fmt: skip
    for group in figures["months"]:
        rows.append([_("month"), group["month"], None, figures["department"], None, *(group[c] for c in CSV_COLUMNS)])  # fmt: skip
    totals = figures["totals"]
    rows.append([_("total"), figures["period"]["key"], None, figures["department"], None, *(totals[c] for c in CSV_COLUMNS)])  # fmt: skip
    result = io.StringIO()
    csv.writer(result).writerows([_cell(value) for value in row] for row in rows)
    return _attachment(
        HttpResponse("\ufeff" + result.getvalue(), content_type="text/csv; charset=utf-8"),
        figures,
        "csv",
    )


HALL_COLUMNS = [
    "centre", "centre_name", "service", "service_name", "called", "served",
    "wait_median_seconds", "wait_p90_seconds", "service_median_seconds", "service_p90_seconds",
]  # fmt: skip


def export_waiting_csv(request: HttpRequest) -> HttpResponse:
    """The service hall's waiting and service times, a row per centre and service (UTF-8 with a
    byte-order mark, as the main export)."""
    query = StatsQuery(data=request.GET)
    if not query.is_valid():
        return _bad_request(serializers.ValidationError(query.errors))
    period, department = query.validated_data["period"], query.validated_data["department"]
    rows = [HALL_COLUMNS] + [
        [row[column] for column in HALL_COLUMNS] for row in _hall_figures(period, department)
    ]
    result = io.StringIO()
    csv.writer(result).writerows([_cell(value) for value in row] for row in rows)
    figures = {"period": {"key": period.key}, "department": department}
    response = _attachment(
        HttpResponse("\ufeff" + result.getvalue(), content_type="text/csv; charset=utf-8"),
        figures,
        "csv",
    )
    response["Content-Disposition"] = response["Content-Disposition"].replace(
        'filename="stats-', 'filename="waiting-'
    )
    return response


def _minutes(seconds: int | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


def _shown_hall(row: dict) -> dict:
    return {
        **row,
        "centre_label": row["centre_name_en"] or row["centre_name"]
        if (get_language() or "").startswith("en")
        else row["centre_name"],
        "service_label": row["service_name_en"] or row["service_name"]
        if (get_language() or "").startswith("en")
        else row["service_name"],
        **{
            f"{key}_minutes": _minutes(row[f"{key}_seconds"])
            for key in ("wait_median", "wait_p90", "service_median", "service_p90")
        },
    }


# --- The page --------------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _number(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _shown(group: dict) -> dict:
    """The figures as the page shows them: rates in percent, a dash where there is nothing."""
    return {
        **group,
        "on_time_pct": _percent(group["on_time_rate"]),
        "within_limit_pct": _percent(group["within_limit_rate"]),
        "zero_visit_pct": _percent(group["zero_visit_rate"]),
        "satisfied_pct": _percent(group["satisfied_rate"]),
        "rectified_pct": _percent(group["rectified_on_time_rate"]),
        "automated_pct": _percent(group["automated_rate"]),
        "median_text": _number(group["median_days"]),
        "p90_text": _number(group["p90_days"]),
        "average_text": "—" if group["average_score"] is None else f"{group['average_score']:.2f}",
    }


def _shown_bundle(group: dict) -> dict:
    return {
        **group,
        "completed_pct": _percent(group["completed_rate"]),
        "median_text": _number(group["median_days"]),
    }


def _month_label(month) -> str:
    if (get_language() or "").startswith("zh"):
        return f"{month.month}月"
    return month.strftime("%b")


def _nice_ceiling(value: int) -> int:
    """A round top for an axis of four steps: 4 × (1, 2 or 5 × 10ⁿ), at least `value`."""
    if value <= 4:
        return 4
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale * 4 >= value:
                return step * scale * 4
        scale *= 10


# Charts: x in percent of the chart's width and y in pixels, without a viewBox, so that the
# text keeps its size on a phone and on a desktop while the bars stretch to the width.
PLOT_LEFT, PLOT_RIGHT = 10.0, 89.0


def _pct(value: float) -> str:
    return f"{value:.2f}%"


def monthly_chart(months: list[dict]) -> dict:
    """Geometry of the monthly chart: received and decided bars side by side per month, and the
    on-time rate as a line on a 0–100% axis at the right."""
    top, bottom = 12, 196
    top_value = _nice_ceiling(
        max([m["received"] for m in months] + [m["concluded"] for m in months] + [0])
    )
    span = bottom - top
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(months), 1)
    bar = min(slot * 0.36, 5.0)  # a single month is not one wall of colour

    def y_of(value: float) -> float:
        return round(bottom - span * value / top_value, 1)

    january = next((i for i, m in enumerate(months) if m["date"].month == 1), 0)
    bars, labels, points = [], [], []
    for index, month in enumerate(months):
        middle = PLOT_LEFT + slot * (index + 0.5)
        for offset, key, colour, name in (
            (-bar, "received", "#0b4f9c", pgettext("statistics", "Received")),
            (0, "concluded", "#5b8fd0", pgettext("statistics", "Decided")),
        ):
            value = month[key]
            bars.append(
                {
                    "x": _pct(middle + offset),
                    "y": y_of(value),
                    "width": _pct(bar),
                    "height": round(bottom - y_of(value), 1),
                    "fill": colour,
                    "title": f"{month['month']} {name}: {value}",
                }
            )
        date = month["date"]
        labels.append(
            {
                "x": _pct(middle),
                "text": _month_label(date),
                "year": str(date.year) if index == 0 or date.month == 1 else "",
                # Every other month (January always labelled) is left unlabelled on a narrow
                # screen, year included (CSS).
                "minor": len(months) > 6 and (index - january) % 2 == 1,
            }
        )
        if month["on_time_rate"] is not None:
            points.append(
                {
                    "x": _pct(middle),
                    "y": round(bottom - span * month["on_time_rate"], 1),
                    "title": f"{month['month']}: {_percent(month['on_time_rate'])}",
                }
            )
    ticks = [
        {"y": y_of(top_value * step / 4), "count": top_value * step // 4, "rate": f"{25 * step}%"}
        for step in range(5)
    ]
    return {
        "height": bottom + 44,
        "left": _pct(PLOT_LEFT),
        "right": _pct(PLOT_RIGHT),
        "left_label": _pct(PLOT_LEFT - 1.5),
        "right_label": _pct(PLOT_RIGHT + 1.5),
        "bottom": bottom,
        "label_y": bottom + 20,
        "year_y": bottom + 38,
        "bars": bars,
        "labels": labels,
        "ticks": ticks,
        "points": points,
        "segments": list(zip(points, points[1:], strict=False)),
    }


def satisfaction_chart(departments: list[dict]) -> dict:
    """Geometry of the department chart: one horizontal bar per department for the share of
    ratings of 4–5, with the number of ratings beside the name."""
    row_height, bar_height, track = 52, 18, 80.0
    rows = []
    for index, unit in enumerate(departments):
        top = 8 + index * row_height
        share = unit["satisfied_rate"]
        rows.append(
            {
                # The full name is in the table; a long one is cut to fit beside its count.
                "label": unit["label"] if len(unit["label"]) <= 28 else unit["label"][:27] + "…",
                "label_y": top + 16,
                "bar_y": top + 24,
                "width": _pct(track * share) if share else "",
                "value": _percent(share) if share is not None else _("no ratings"),
                "value_x": _pct(track + 1.5) if share is not None else "8px",
                "value_y": top + 24 + bar_height - 4,
                "ratings": unit["ratings"],
            }
        )
    return {
        "height": 16 + len(rows) * row_height,
        "track": _pct(track),
        "bar_height": bar_height,
        "rows": rows,
    }


def _period_choices(first_month) -> dict:
    """Options for the period filter: the last 12 months, each year with figures, each of the
    last 12 months."""
    this_month = statistics.month_start(timezone.localdate())
    first_year = first_month.year if first_month else this_month.year
    return {
        "years": [str(year) for year in range(this_month.year, first_year - 1, -1)],
        "months": [statistics.add_months(this_month, -n).strftime("%Y-%m") for n in range(12)],
    }


def stats_page(request: HttpRequest) -> HttpResponse:
    """Timeliness and satisfaction in charts and tables. The body, charts included, is built once
    per refresh of the figures (and of the catalog, whose names it shows) for each period,
    department, language and display mode; otherwise a cache read (portal/caching.py)."""
    query = StatsQuery(data=request.GET)
    problem = ""
    if not query.is_valid():
        problem = " ".join(str(m) for messages in query.errors.values() for m in messages)
        query = StatsQuery(data={})
        query.is_valid()
    period, department = query.validated_data["period"], query.validated_data["department"]
    query_string = request.GET.urlencode() if not problem else ""
    key = caching.key_for(
        "stats-page",
        *caching.generations(caching.STATISTICS, caching.CATALOG),
        *caching.variant(request),
        # "the last 12 months" moves with the day; the period choices with the month
        period.key,
        period.first,
        period.last,
        timezone.localdate().strftime("%Y-%m"),
        department,
        problem,
        query_string,
    )
    body = caching.cached(
        key,
        lambda: _stats_body(
            period=period, department=department, problem=problem, query_string=query_string
        ),
    )
    shared = {"body": mark_safe(body)}  # noqa: S308 (our own template's output)
    return caching.render_page(request, "stats/index.html", {"shared": shared}, key=key)


def _stats_body(*, period, department: str, problem: str, query_string: str) -> str:
    figures = _with_bundles(
        statistics.public_figures(period=period, department=department),
        period=period,
        department=department,
    )
    # The departments with figures and the first month of each, in one query.
    with_figures = (
        MonthlyFigures.objects.values("department_id")
        .annotate(
            code=F("department__code"),
            name=F("department__name"),
            name_en=F("department__name_en"),
            first=Min("month"),
        )
        .order_by("code")
    )
    departments = [
        Department(
            pk=row["department_id"], code=row["code"], name=row["name"], name_en=row["name_en"]
        )
        for row in with_figures
    ]
    first_month = min((row["first"] for row in with_figures), default=None)
    chosen = next((d for d in departments if d.code == department), None)
    context = {
        "figures": figures,
        "totals": _shown(figures["totals"]),
        "by_department": [_shown(group) for group in figures["departments"]],
        "by_service": [_shown(group) for group in figures["services"]],
        "by_month": [_shown(group) for group in figures["months"]],
        "bundle_totals": _shown_bundle(figures["bundles"]["totals"]),
        "by_bundle": [_shown_bundle(row) for row in figures["bundles"]["bundles"]],
        "by_centre_service": [_shown_hall(row) for row in figures["hall"]],
        "monthly_chart": monthly_chart(figures["months"]),
        "satisfaction_chart": satisfaction_chart(figures["departments"]),
        "department_options": [(d.code, localized(d, "name")) for d in departments],
        "chosen_department": localized(chosen, "name") if chosen else department,
        "period": period,
        "period_choices": _period_choices(first_month),
        "problem": problem,
        "query_string": query_string,
        "LANGUAGE_CODE": get_language(),
    }
    return str(render_to_string("stats/index_body.html", context))
