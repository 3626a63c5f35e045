"""Public figures of bundles (一件事), shown apart from single cases (issue 18): bundle
applications received, those with every member concluded, and the working days from the one
submission to the last member's end.

Read straight from the bundle applications in two queries whatever their number (bundle
applications are far fewer than cases; a summary table like MonthlyFigures can follow when they are
not). A bundle application counts in the month it was submitted (received) and the month its last
member ended (completed or ended); its member cases count as cases in the figures of their own
services as well. With a department, the bundles that department leads.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace

from django.db.models import Count, Q
from django.utils import timezone

from services.calendar import CalendarYearMissing, working_days_between
from services.models import localized

from ..models import BundleApplication
from ..transparency.statistics import Period, add_months, median, percentile_90


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _empty() -> dict:
    return {"received": 0, "completed": 0, "ended": 0, "histogram": Counter()}


def _shown(counts: dict) -> dict:
    histogram = counts.pop("histogram")
    finished = counts["completed"] + counts["ended"]
    return {
        **counts,
        "completed_rate": round(counts["completed"] / finished, 4) if finished else None,
        "median_days": median(histogram),
        "p90_days": percentile_90(histogram),
    }


BUNDLE_FIELDS = (
    "bundle_id", "bundle__code", "bundle__name", "bundle__name_en", "bundle__lead_department__code",
    "bundle__lead_department__name", "bundle__lead_department__name_en",
)  # fmt: skip


def bundle_figures(*, period: Period, department: str = "") -> dict:
    """{"totals": {...}, "bundles": [{code, name, name_en, label, lead_department, ...}]}, each
    with received, completed (every member concluded), ended (finished otherwise), completed_rate
    (of those finished), median_days and p90_days (working days end to end, of the completed).
    Two queries: the counts per bundle, and the dates of those completed."""
    start, end = _midnight(period.first), _midnight(add_months(period.last, 1))
    applications = BundleApplication.objects.exclude(state=BundleApplication.State.DRAFT)
    if department:
        applications = applications.filter(bundle__lead_department__code=department)
    submitted = Q(submitted_at__gte=start, submitted_at__lt=end)
    finished = Q(finished_at__gte=start, finished_at__lt=end)
    completed = Q(state=BundleApplication.State.COMPLETED)
    per_bundle = {}
    for row in (
        applications.filter(submitted | finished)
        .values(*BUNDLE_FIELDS)
        .annotate(
            received=Count("pk", filter=submitted),
            completed=Count("pk", filter=finished & completed),
            ended=Count("pk", filter=finished & ~completed),
        )
        .order_by("bundle__code")
    ):
        per_bundle[row["bundle_id"]] = row
    histograms: dict[int, Counter] = {pk: Counter() for pk in per_bundle}
    dates = applications.filter(finished & completed).values_list(
        "bundle_id", "submitted_at", "finished_at"
    )
    for bundle_id, submitted_at, finished_at in dates.order_by():
        try:
            days = working_days_between(
                timezone.localdate(submitted_at), timezone.localdate(finished_at)
            )
        except CalendarYearMissing:
            continue  # no calendar for the year yet: counted, but not in the days
        histograms[bundle_id][days] += 1
    totals = _empty()
    rows = []
    for pk, row in per_bundle.items():
        counts = {name: row[name] for name in ("received", "completed", "ended")}
        for name, n in counts.items():
            totals[name] += n
        totals["histogram"].update(histograms[pk])
        department_names = {
            "name": row["bundle__lead_department__name"],
            "name_en": row["bundle__lead_department__name_en"],
        }
        rows.append(
            {
                "code": row["bundle__code"],
                "name": row["bundle__name"],
                "name_en": row["bundle__name_en"],
                "label": localized(
                    SimpleNamespace(name=row["bundle__name"], name_en=row["bundle__name_en"]),
                    "name",
                ),
                "lead_department": row["bundle__lead_department__code"],
                "lead_department_label": localized(SimpleNamespace(**department_names), "name"),
                **_shown({**counts, "histogram": histograms[pk]}),
            }
        )
    return {"totals": _shown(totals), "bundles": rows}
