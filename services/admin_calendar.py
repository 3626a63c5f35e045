"""Admin for the working-day calendar (DESIGN.md "Time (承诺时限)").

Administrators enter the years the chinesecalendar package does not cover yet (a CalendarYear plus
its public holidays and make-up workdays). Only superusers may add, change or delete calendar rows;
staff with the view permission may look. Imported from services/admin.py.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .calendar import HOLIDAY, WORKDAY, covered_years
from .models import CalendarDay, CalendarYear


def year_ranges(years: list[int]) -> str:
    """Compress sorted years into ranges: [2004, 2005, 2006, 2027] -> "2004–2006, 2027"."""
    parts: list[str] = []
    start = previous = None
    for year in years:
        if previous is not None and year == previous + 1:
            previous = year
            continue
        if start is not None:
            parts.append(f"{start}–{previous}" if previous != start else str(start))
        start = previous = year
    if start is not None:
        parts.append(f"{start}–{previous}" if previous != start else str(start))
    return ", ".join(parts)


def coverage_text(years: list[int]) -> str:
    if not years:
        return gettext("Calendar years covered: none")
    return gettext("Calendar years covered: %(years)s") % {"years": year_ranges(years)}


def warn_missing_years(request: HttpRequest, years: list[int]) -> None:
    """Warn when this year or next year has no calendar data (limits there are provisional)."""
    this_year = timezone.localdate().year
    missing = [year for year in (this_year, this_year + 1) if year not in years]
    if missing:
        messages.warning(
            request,
            gettext(
                "No working-day calendar for %(years)s: due dates falling there are computed on "
                "weekdays only and marked provisional. Add the year under calendar years, with "
                "its public holidays and make-up workdays (调休) under calendar exceptions."
            )
            % {"years": ", ".join(str(year) for year in missing)},
        )


class SuperuserWritesMixin:
    """Only superusers add, change or delete; viewing follows the usual view permission."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser


def _count_in_year(kind: str) -> Coalesce:
    """Correlated count of the year's CalendarDay rows of ``kind`` (part of the one list query)."""
    counts = (
        CalendarDay.objects.filter(date__year=OuterRef("year"), kind=kind)
        .order_by()
        .values("kind")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


@admin.register(CalendarYear)
class CalendarYearAdmin(SuperuserWritesMixin, admin.ModelAdmin):
    list_display = ("year", "source", "holiday_count", "workday_count", "note")
    search_fields = ("year", "note")
    list_filter = ("source",)

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(holiday_count=_count_in_year(HOLIDAY), workday_count=_count_in_year(WORKDAY))
        )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {"source": "admin", **super().get_changeform_initial_data(request)}

    @admin.display(description=_("public holidays"), ordering="holiday_count")
    def holiday_count(self, obj: CalendarYear) -> int:
        return obj.holiday_count

    @admin.display(description=_("make-up workdays"), ordering="workday_count")
    def workday_count(self, obj: CalendarYear) -> int:
        return obj.workday_count

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        years = covered_years()
        if request.method == "GET":
            warn_missing_years(request, years)
        extra_context = {"subtitle": coverage_text(years), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra_context)


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ("date", "kind", "name")

    def clean(self):
        cleaned = super().clean()
        day, kind = cleaned.get("date"), cleaned.get("kind")
        if day and kind == WORKDAY and day.weekday() < 5:
            self.add_error(
                "kind",
                _("Monday to Friday is a working day already; a make-up workday is a weekend day."),
            )
        return cleaned


class YearListFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = sorted(
            {day.year for day in CalendarDay.objects.dates("date", "year")} | set(covered_years()),
            reverse=True,
        )
        return [(str(year), str(year)) for year in years]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(date__year=int(value))
        return queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(SuperuserWritesMixin, admin.ModelAdmin):
    form = CalendarDayForm
    list_display = ("date", "weekday", "kind", "name")
    list_filter = ("kind", YearListFilter)
    date_hierarchy = "date"
    search_fields = ("name",)

    @admin.display(description=_("weekday"), ordering="date")
    def weekday(self, obj: CalendarDay) -> str:
        return formats.date_format(obj.date, "l")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        years = covered_years()
        if request.method == "GET":
            warn_missing_years(request, years)
        extra_context = {"subtitle": coverage_text(years), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra_context)

    def save_model(self, request, obj: CalendarDay, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not CalendarYear.objects.filter(year=obj.date.year).exists():
            messages.warning(
                request,
                gettext(
                    "%(year)s is not a calendar year yet, so its days are not used: add it under "
                    "calendar years once all its holidays and make-up workdays are entered."
                )
                % {"year": obj.date.year},
            )
