"""Public figures on timeliness and satisfaction (DESIGN "Evaluation and transparency").

Two halves that never meet in one request:
- `refresh_monthly_figures` recomputes the summary table `MonthlyFigures` (one row per month and
  service) from a handful of aggregate queries over cases and ratings. Celery beat runs it for the
  current and previous month every few minutes; `manage.py refresh_statistics --all` rebuilds it.
- `public_figures` reads only that table, in one query whatever the number of cases, and merges the
  rows into figures per department, per service and per month. Medians and percentiles are exact
  because each row carries a histogram of working days used, and histograms add up.

A case counts in the month it was received (received), the month it was decided (concluded, on
time, working days, zero visits) and the month it was rated (ratings, rectified on time); months
are calendar months in the portal's time zone (Asia/Shanghai).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, DateField, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import caching
from services.models import ServiceItem, localized

from ..models import Case, HumanReview, MonthlyFigures, Rating

ALL = "all"
LAST_12_MONTHS = "12m"
# Serialises concurrent refreshes on PostgreSQL (beat and a manual rebuild), so that one never
# deletes the rows the other has just written.
_LOCK_KEY = zlib.crc32(b"cases.statistics.refresh")

_COUNTS = (
    "received",
    "concluded",
    "on_time",
    "zero_visits",
    "ratings",
    "score_sum",
    "good_ratings",
    "bad_ratings",
    "bad_rectified_on_time",
    "automated",
    "human_reviews",
)


# --- Months ----------------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Month starts from `first` to `last`, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def _month_of(field_name: str) -> TruncMonth:
    return TruncMonth(field_name, output_field=DateField(), tzinfo=timezone.get_default_timezone())


# --- Refresh ---------------------------------------------------------------------------------------


def refresh_monthly_figures(months: Iterable[dt.date] | str | None = None) -> int:
    """Recompute `MonthlyFigures` and return the number of rows written.

    `months`: None for the current and previous month (what beat runs: a decision or rating late
    in a month, or a result collected at a counter after the decision, is caught the month after);
    `ALL` to rebuild everything (rows of months that no longer have any case are deleted); or
    dates whose months, and every month between them, are recomputed. Idempotent: running it twice
    writes the same figures.
    """
    if months is None:
        this_month = month_start(timezone.localdate())
        window: tuple[dt.date, dt.date] | None = (add_months(this_month, -1), this_month)
    elif months == ALL:
        window = None
    else:
        chosen = sorted({month_start(day) for day in months})
        if not chosen:
            return 0
        window = (chosen[0], chosen[-1])

    def within(field_name: str) -> Q:
        if window is None:
            return Q(**{f"{field_name}__isnull": False})
        return Q(
            **{
                f"{field_name}__gte": _local_midnight(window[0]),
                f"{field_name}__lt": _local_midnight(add_months(window[1], 1)),
            }
        )

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        stamp = timezone.now()
        rows = _aggregate(within)
        services = {
            item["pk"]: item
            for item in ServiceItem.objects.filter(pk__in={service for _m, service in rows})
            .values("pk", "department_id", "current_version__promised_limit_days")
            .order_by()
        }
        objects = [
            MonthlyFigures(
                month=month,
                service_id=service_id,
                department_id=services[service_id]["department_id"],
                promised_limit_days=services[service_id]["current_version__promised_limit_days"]
                or 0,
                days_histogram={
                    str(days): n for days, n in sorted(figures.pop("histogram").items())
                },
                refreshed_at=stamp,
                **figures,
            )
            for (month, service_id), figures in rows.items()
        ]
        MonthlyFigures.objects.bulk_create(
            objects,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["month", "service"],
            update_fields=[
                "department",
                "promised_limit_days",
                *_COUNTS,
                "days_histogram",
                "refreshed_at",
            ],
        )
        existing = MonthlyFigures.objects.all()
        if window is not None:
            existing = existing.filter(month__gte=window[0], month__lte=window[1])
        stale = [
            pk
            for pk, month, service_id in existing.values_list("pk", "month", "service_id")
            if (month, service_id) not in rows
        ]
        if stale:
            MonthlyFigures.objects.filter(pk__in=stale).delete()
        # /stats/ is rendered once per refresh (portal/caching.py): from this commit on, anew.
        caching.bump(caching.STATISTICS)
    return len(objects)


def _aggregate(within) -> dict[tuple[dt.date, int], dict]:
    """Four GROUP BY queries (received, decided, days histogram, ratings), merged per month and
    service."""
    rows: dict[tuple[dt.date, int], dict] = {}

    def row(month: dt.date, service_id: int) -> dict:
        key = (month, service_id)
        if key not in rows:
            rows[key] = dict.fromkeys(_COUNTS, 0) | {"histogram": {}}
        return rows[key]

    received = (
        Case.objects.filter(within("received_at"))
        .annotate(month=_month_of("received_at"))
        .values("month", "service_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for item in received:
        row(item["month"], item["service_id"])["received"] = item["n"]

    decided = Case.objects.filter(within("decided_at")).annotate(month=_month_of("decided_at"))
    for item in (
        decided.values("month", "service_id")
        .annotate(
            concluded=Count("pk"),
            on_time=Count("pk", filter=Q(decided_on_time=True)),
            zero_visits=Count("pk", filter=Q(visits=0)),
            automated=Count("pk", filter=Q(auto_check__approved=True)),  # one check per case
        )
        .order_by()
    ):
        figures = row(item["month"], item["service_id"])
        for name in ("concluded", "on_time", "zero_visits", "automated"):
            figures[name] = item[name]
    for item in (
        decided.filter(working_days_used__isnull=False)
        .values("month", "service_id", "working_days_used")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        row(item["month"], item["service_id"])["histogram"][item["working_days_used"]] = item["n"]

    for item in (
        HumanReview.objects.filter(within("requested_at"))
        .annotate(month=_month_of("requested_at"))
        .values("month", "case__service_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        row(item["month"], item["case__service_id"])["human_reviews"] = item["n"]

    bad = Q(score__lte=2)
    for item in (
        Rating.objects.filter(within("created_at"))
        .annotate(month=_month_of("created_at"))
        .values("month", "service_id")
        .annotate(
            ratings=Count("pk"),
            score_sum=Sum("score"),
            good_ratings=Count("pk", filter=Q(score__gte=4)),
            bad_ratings=Count("pk", filter=bad),
            bad_rectified_on_time=Count("pk", filter=bad & Q(rectification__answered_on_time=True)),
        )
        .order_by()
    ):
        figures = row(item["month"], item["service_id"])
        for name in (
            "ratings",
            "score_sum",
            "good_ratings",
            "bad_ratings",
            "bad_rectified_on_time",
        ):
            figures[name] = item[name] or 0
    return rows


# --- Reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar months from `first` to `last` (month starts, both included)."""

    key: str
    first: dt.date
    last: dt.date

    @property
    def months(self) -> list[dt.date]:
        return months_between(self.first, self.last)


def parse_period(value: str | None, *, today: dt.date | None = None) -> Period:
    """`12m` (or nothing): the last 12 months, this one included; `2026`: a year; `2026-05`: a
    month. Raises ValueError with a message for the reader otherwise."""
    value = (value or "").strip() or LAST_12_MONTHS
    this_month = month_start(today or timezone.localdate())
    if value == LAST_12_MONTHS:
        return Period(value, add_months(this_month, -11), this_month)
    try:
        if len(value) == 4 and value.isdigit():
            first = dt.date(int(value), 1, 1)
            return Period(value, first, dt.date(first.year, 12, 1))
        if len(value) == 7 and value[4] == "-" and value[:4].isdigit() and value[5:].isdigit():
            first = dt.date(int(value[:4]), int(value[5:]), 1)
            return Period(value, first, first)
    except ValueError:
        pass
    raise ValueError(_("Choose the last 12 months (12m), a year (2026) or a month (2026-05)."))


def _kth(histogram: Counter, k: int) -> int:
    """The k-th smallest value (1-based) of the values a histogram counts."""
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= k:
            return value
    raise IndexError(k)


def median(histogram: Counter) -> float | None:
    """The exact median; the mean of the two middle values when the count is even."""
    n = sum(histogram.values())
    if n == 0:
        return None
    if n % 2:
        return float(_kth(histogram, (n + 1) // 2))
    return (_kth(histogram, n // 2) + _kth(histogram, n // 2 + 1)) / 2


def percentile_90(histogram: Counter) -> int | None:
    """The exact 90th percentile by nearest rank: the smallest value that at least 90% of the
    values do not exceed."""
    n = sum(histogram.values())
    return _kth(histogram, -(-9 * n // 10)) if n else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Figures:
    """The sum of monthly rows for one grouping, and the figures derived from it."""

    received: int = 0
    concluded: int = 0
    on_time: int = 0
    zero_visits: int = 0
    within_limit: int = 0
    ratings: int = 0
    score_sum: int = 0
    good_ratings: int = 0
    bad_ratings: int = 0
    bad_rectified_on_time: int = 0
    automated: int = 0
    human_reviews: int = 0
    histogram: Counter = field(default_factory=Counter)

    def add(self, row: MonthlyFigures) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(row, name))
        for days, n in row.days_histogram.items():
            self.histogram[int(days)] += n
            if int(days) <= row.promised_limit_days:
                self.within_limit += n

    def as_dict(self) -> dict:
        """Counts, and rates as fractions (None where there is nothing to divide by): an unrated
        case is never counted as satisfied, and no ratings means no satisfaction figure."""
        decided_with_days = sum(self.histogram.values())
        return {
            "received": self.received,
            "concluded": self.concluded,
            "on_time": self.on_time,
            "on_time_rate": _share(self.on_time, self.concluded),
            "median_days": median(self.histogram),
            "p90_days": percentile_90(self.histogram),
            "within_limit_rate": _share(self.within_limit, decided_with_days),
            "zero_visits": self.zero_visits,
            "zero_visit_rate": _share(self.zero_visits, self.concluded),
            "ratings": self.ratings,
            "average_score": round(self.score_sum / self.ratings, 2) if self.ratings else None,
            "good_ratings": self.good_ratings,
            "satisfied_rate": _share(self.good_ratings, self.ratings),
            "bad_ratings": self.bad_ratings,
            "bad_rectified_on_time": self.bad_rectified_on_time,
            "rectified_on_time_rate": _share(self.bad_rectified_on_time, self.bad_ratings),
            "automated": self.automated,
            "automated_rate": _share(self.automated, self.concluded),
            "human_reviews": self.human_reviews,
        }


def public_figures(*, period: Period, department: str = "") -> dict:
    """Figures for the period (and one department, by code), from `MonthlyFigures` only: one query.

    Returns `totals`, `departments` and `services` (sorted by code) and `months` (every month of
    the period, empty ones included), each a dict of `Figures.as_dict()` plus names; `label` is
    the name in the active language.
    """
    rows = (
        MonthlyFigures.objects.filter(month__gte=period.first, month__lte=period.last)
        .select_related("department", "service__current_version")
        .order_by()
    )
    if department:
        rows = rows.filter(department__code=department)
    totals = Figures()
    by_department: dict[int, tuple[object, Figures]] = {}
    by_service: dict[int, tuple[MonthlyFigures, Figures]] = {}
    by_month = {month: Figures() for month in period.months}
    for row in rows:
        totals.add(row)
        by_month[row.month].add(row)
        by_department.setdefault(row.department_id, (row.department, Figures()))[1].add(row)
        by_service.setdefault(row.service_id, (row, Figures()))[1].add(row)

    departments = [
        {
            "code": unit.code,
            "name": unit.name,
            "name_en": unit.name_en,
            "label": localized(unit, "name"),
            **figures.as_dict(),
        }
        for unit, figures in sorted(by_department.values(), key=lambda pair: pair[0].code)
    ]
    services = []
    for row, figures in sorted(by_service.values(), key=lambda pair: pair[0].service.code):
        version = row.service.current_version
        services.append(
            {
                "code": row.service.code,
                "name": version.name if version else row.service.code,
                "name_en": version.name_en if version else "",
                "label": version.label if version else row.service.code,
                "department": row.department.code,
                "department_label": localized(row.department, "name"),
                "promised_limit_days": version.promised_limit_days
                if version
                else row.promised_limit_days,
                **figures.as_dict(),
            }
        )
    return {
        "period": {
            "key": period.key,
            "first_month": period.first.strftime("%Y-%m"),
            "last_month": period.last.strftime("%Y-%m"),
        },
        "department": department,
        "totals": totals.as_dict(),
        "departments": departments,
        "services": services,
        "months": [
            {"month": month.strftime("%Y-%m"), "date": month, **figures.as_dict()}
            for month, figures in by_month.items()
        ],
    }
