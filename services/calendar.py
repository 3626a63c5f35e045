"""Working-day calendar: promised time limits (承诺时限) counted in working days.

Rules (docs: /work/shared/DESIGN.md, section "Time (承诺时限)"):

* A day is a working day when it is a ``CalendarDay`` of kind ``workday`` (调休, a weekend day made a
  workday), or it is Monday to Friday and not a ``CalendarDay`` of kind ``holiday``.
* A year can be computed only when a ``CalendarYear`` row exists for it. The chinesecalendar package
  (1.11) seeds 2004–2026; later years must be entered by an administrator in the admin under
  "calendar years". For a year without data the functions here raise ``CalendarYearMissing``: they
  never silently treat it as weekdays only.
* Limits count working days from the day *after* acceptance: the acceptance day itself never counts.
* A case whose due date falls in a year without data still proceeds: ``add_working_days_provisional``
  counts Monday to Friday for the missing years (known years keep their holidays) and says the date
  is provisional, so it can be shown as such and recomputed once the year is entered.

The whole calendar (a few hundred rows) is read once per process and kept under the cache
generation ``calendar`` (portal.caching): every save or delete of a year or a day bumps it in its
own transaction (the signals below; the seeding functions bump too), so an administrator's edit is
used by the next computation in every process that reads the generation from the shared cache, and
a request costs one cache read instead of two queries. A cache outage reads the generation from the
database (one query).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Subquery

from .models import CalendarDay, CalendarYear

__all__ = [
    "CalendarYearMissing",
    "add_working_days",
    "add_working_days_provisional",
    "add_working_days_provisional_many",
    "covered_years",
    "is_working_day",
    "remove_chinesecalendar_seed",
    "seed_from_chinesecalendar",
    "working_days_between",
]

HOLIDAY = "holiday"
WORKDAY = "workday"
SEED_SOURCE = "chinesecalendar"

_ONE_DAY = dt.timedelta(days=1)


class CalendarYearMissing(Exception):
    """A computation needs a year that has no ``CalendarYear`` row (no holiday data).

    ``years`` holds the missing years, sorted.
    """

    def __init__(self, years: Iterable[int]) -> None:
        self.years: tuple[int, ...] = tuple(sorted(set(years)))
        listed = ", ".join(str(year) for year in self.years)
        plural = "s" if len(self.years) > 1 else ""
        super().__init__(
            f"The working-day calendar has no data for year{plural} {listed}: an administrator "
            f"must enter {'these years' if plural else 'this year'} in the admin under "
            f'"calendar years" (with its public holidays and make-up workdays under '
            f'"calendar exceptions") before working-day limits can be computed.'
        )


# --- Loading ----------------------------------------------------------------------------------------


CALENDAR = "calendar"  # the cache generation of the calendar's rows (portal.caching)


@dataclass(frozen=True)
class _Snapshot:
    covered: frozenset[int]
    exceptions: dict[dt.date, str]
    by_year: dict[int, tuple[tuple[dt.date, str], ...]]


# {generation: snapshot}, the current generation only: what this process read last.
_snapshots: dict[int, _Snapshot] = {}


def _snapshot() -> _Snapshot:
    """Every year and exception as committed under the current generation (two queries when the
    process has not read it yet)."""
    from portal import caching

    (generation,) = caching.generations(CALENDAR)
    known = _snapshots.get(generation)
    if known is not None:
        return known
    covered = frozenset(CalendarYear.objects.values_list("year", flat=True))
    exceptions = dict(CalendarDay.objects.values_list("date", "kind"))
    by_year: dict[int, list[tuple[dt.date, str]]] = {}
    for day, kind in exceptions.items():
        by_year.setdefault(day.year, []).append((day, kind))
    snapshot = _Snapshot(
        covered=covered,
        exceptions=exceptions,
        by_year={year: tuple(days) for year, days in by_year.items()},
    )
    _snapshots.clear()
    _snapshots[generation] = snapshot
    return snapshot


def calendar_changed(sender=None, **kwargs) -> None:
    """A year or a day was saved or deleted: computations from its commit on read the new rows."""
    if kwargs.get("raw"):  # loaddata
        return
    from portal import caching

    caching.bump(CALENDAR)


class _Calendar:
    """Known years and their exceptions (the process's snapshot of the current generation)."""

    def __init__(self, first_year: int, last_year: int) -> None:
        snapshot = _snapshot()
        self.covered: frozenset[int] = snapshot.covered
        self.exceptions: dict[dt.date, str] = snapshot.exceptions
        self._by_year = snapshot.by_year
        self.last_year = 10_000  # every year is loaded

    def load_through(self, last_year: int) -> None:
        """Nothing to load: the snapshot holds every year."""

    def exceptions_between(self, first_year: int, last_year: int):
        for year in range(first_year, last_year + 1):
            yield from self._by_year.get(year, ())

    def is_working(self, day: dt.date) -> bool:
        """The rule, for a day of a covered year."""
        kind = self.exceptions.get(day)
        if kind == WORKDAY:
            return True
        if kind == HOLIDAY:
            return False
        return day.weekday() < 5


def _span_estimate(n: int) -> dt.timedelta:
    """Calendar days that comfortably hold ``n`` working days (weekends, a long holiday or two)."""
    return dt.timedelta(days=n * 3 // 2 + 12)


def _check_n(n: int) -> None:
    if n < 0:
        raise ValueError(f"a number of working days cannot be negative (got {n})")


def _walk(start: dt.date, n: int, calendar: _Calendar | None = None) -> tuple[dt.date, set[int]]:
    """The n-th working day after ``start``, and the years without data that the walk crossed.

    Days of years without data count Monday to Friday; the caller decides whether that is allowed.
    `calendar`: one already loaded from the year of ``start + 1 day`` or before (it loads the later
    years it lacks).
    """
    _check_n(n)
    if n == 0:
        return start, set()
    first = start + _ONE_DAY
    if calendar is None:
        calendar = _Calendar(first.year, (start + _span_estimate(n)).year)
    missing: set[int] = set()
    day, counted = start, 0
    while counted < n:
        day += _ONE_DAY
        if day.year > calendar.last_year:
            calendar.load_through(max(day.year, (day + _span_estimate(n - counted)).year))
        if day.year in calendar.covered:
            working = calendar.is_working(day)
        else:
            missing.add(day.year)
            working = day.weekday() < 5
        if working:
            counted += 1
    return day, missing


def _weekdays_between(a: dt.date, b: dt.date) -> int:
    """Number of Monday-to-Friday days d with a < d <= b."""
    days = (b - a).days
    if days <= 0:
        return 0
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    weekday = a.weekday()
    for offset in range(1, rest + 1):
        if (weekday + offset) % 7 < 5:
            count += 1
    return count


# --- Public API ------------------------------------------------------------------------------------


def covered_years() -> list[int]:
    """The years that have calendar data (a ``CalendarYear`` row), ascending."""
    return list(CalendarYear.objects.order_by("year").values_list("year", flat=True))


def is_working_day(day: dt.date) -> bool:
    """Whether ``day`` is a working day (DESIGN.md "Time (承诺时限)").

    True for a make-up workday (调休), or for Monday to Friday unless it is a public holiday.
    Raises ``CalendarYearMissing`` when ``day``'s year has no ``CalendarYear`` row. One query.
    """
    exception_kind = CalendarDay.objects.filter(date=day).values("kind")[:1]
    rows = list(
        CalendarYear.objects.filter(year=day.year)
        .annotate(exception_kind=Subquery(exception_kind))
        .values_list("exception_kind", flat=True)[:1]
    )
    if not rows:
        raise CalendarYearMissing([day.year])
    if rows[0] == WORKDAY:
        return True
    if rows[0] == HOLIDAY:
        return False
    return day.weekday() < 5


def working_days_from(start: dt.date, n: int) -> list[dt.date]:
    """``start`` if it is a working day, then the next ``n`` working days, ascending (bookings of a
    service centre, cases/hall/booking.py). Stops before the first day of a year without data:
    unlike a time limit, nothing is owed on such a day, so it is left out rather than guessed.
    Two queries (four when the span crosses into the next year)."""
    _check_n(n)
    calendar = _Calendar(start.year, (start + _span_estimate(n)).year)
    days: list[dt.date] = []
    day, ahead = start, 0
    while True:
        if day.year > calendar.last_year:
            calendar.load_through(max(day.year, (day + _span_estimate(n - ahead)).year))
        if day.year not in calendar.covered:
            break
        if calendar.is_working(day):
            if day != start:
                ahead += 1
                if ahead > n:
                    break
            days.append(day)
        day += _ONE_DAY
    return days


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The date of the n-th working day after ``start`` (DESIGN.md "Time (承诺时限)").

    Limits count from the day after acceptance: ``start`` itself never counts, ``n == 0`` returns
    ``start`` and a negative ``n`` raises ``ValueError``. Raises ``CalendarYearMissing`` (naming
    every year without data that the count crosses) rather than guessing; use
    ``add_working_days_provisional`` to get a weekday-based date for such years.
    """
    day, missing = _walk(start, n)
    if missing:
        raise CalendarYearMissing(missing)
    return day


def add_working_days_provisional(start: dt.date, n: int) -> tuple[dt.date, bool]:
    """Like ``add_working_days``, but usable when a needed year has no data (DESIGN.md "Time").

    Days of years without data count Monday to Friday (known years keep their holidays and make-up
    workdays). Returns ``(date, True)`` when any such year was crossed: the date is provisional and
    must be shown so, and recomputed once the year is entered; ``(date, False)`` when it is exact.
    """
    day, missing = _walk(start, n)
    return day, bool(missing)


def add_working_days_provisional_many(
    pairs: Iterable[tuple[dt.date, int]],
) -> dict[tuple[dt.date, int], tuple[dt.date, bool]]:
    """`add_working_days_provisional` of every ``(start, n)`` with one calendar read for all (two
    queries whatever their number), for set-based callers such as the deemed acceptances."""
    pairs = set(pairs)
    if not pairs:
        return {}
    first = min(start for start, _n in pairs) + _ONE_DAY
    last = max(start + _span_estimate(n) for start, n in pairs)
    calendar = _Calendar(first.year, last.year)
    result = {}
    for start, n in pairs:
        day, missing = _walk(start, n, calendar)
        result[start, n] = (day, bool(missing))
    return result


def working_days_between(a: dt.date, b: dt.date) -> int:
    """Number of working days d with a < d <= b; 0 when ``b <= a`` (DESIGN.md "Time (承诺时限)").

    The inverse of ``add_working_days``: ``working_days_between(d, add_working_days(d, n)) == n``.
    Raises ``CalendarYearMissing`` naming every year of the range that has no data.
    """
    if b <= a:
        return 0
    first = a + _ONE_DAY
    calendar = _Calendar(first.year, b.year)
    missing = set(range(first.year, b.year + 1)) - calendar.covered
    if missing:
        raise CalendarYearMissing(missing)
    count = _weekdays_between(a, b)
    for day, kind in calendar.exceptions_between(first.year, b.year):
        if not a < day <= b:
            continue
        if kind == HOLIDAY and day.weekday() < 5:
            count -= 1
        elif kind == WORKDAY and day.weekday() >= 5:
            count += 1
    return count


# --- Seeding from the chinesecalendar package --------------------------------------------------------

CHINESE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
}


def _chinese_name(english: str) -> str:
    """The Chinese name of a chinesecalendar holiday (the package's own for special holidays)."""
    import chinese_calendar

    if english in CHINESE_NAMES:
        return CHINESE_NAMES[english]
    try:
        return chinese_calendar.Holiday(english).chinese
    except ValueError:
        return english


def chinesecalendar_years() -> list[int]:
    """The years the installed chinesecalendar package has holiday data for."""
    import chinese_calendar

    dates = chinese_calendar.holidays.keys()
    return list(range(min(dates).year, max(dates).year + 1))


def chinesecalendar_days() -> dict[dt.date, tuple[str, str]]:
    """Every holiday (weekend days of a holiday span included) and make-up workday in the package.

    Maps date to ``(kind, Chinese name)``; make-up workdays are named after their holiday + 调休.
    """
    import chinese_calendar

    max_length = CalendarDay._meta.get_field("name").max_length or 64
    days = {
        day: (HOLIDAY, _chinese_name(name)[:max_length])
        for day, name in chinese_calendar.holidays.items()
    }
    for day, name in chinese_calendar.workdays.items():
        days[day] = (WORKDAY, f"{_chinese_name(name)}调休"[:max_length])
    return days


def seed_from_chinesecalendar(
    calendar_year_model: type[CalendarYear],
    calendar_day_model: type[CalendarDay],
    using: str = "default",
) -> tuple[int, int]:
    """Insert the package's years and days that are not in the database yet; idempotent.

    Takes the model classes so that a data migration can pass its historical models. Rows that
    exist already (a year, or a date an administrator edited) are kept as they are. Returns the
    numbers of years and days inserted.
    """
    import chinese_calendar

    years = chinesecalendar_years()
    days = chinesecalendar_days()
    version = getattr(chinese_calendar, "__version__", "")
    with transaction.atomic(using=using):
        years_manager = calendar_year_model._default_manager.db_manager(using)
        days_manager = calendar_day_model._default_manager.db_manager(using)
        known_years = set(years_manager.filter(year__in=years).values_list("year", flat=True))
        known_dates = set(
            days_manager.filter(date__range=(min(days), max(days))).values_list("date", flat=True)
        )
        new_years = [
            calendar_year_model(
                year=year, source=SEED_SOURCE, note=f"chinesecalendar {version}".strip()
            )
            for year in years
            if year not in known_years
        ]
        new_days = [
            calendar_day_model(date=day, kind=kind, name=name)
            for day, (kind, name) in sorted(days.items())
            if day not in known_dates
        ]
        years_manager.bulk_create(new_years, ignore_conflicts=True)
        days_manager.bulk_create(new_days, ignore_conflicts=True, batch_size=500)
        if (new_years or new_days) and calendar_year_model is CalendarYear:
            calendar_changed()  # bulk writes send no signals (a migration's models need none)
    return len(new_years), len(new_days)


def remove_chinesecalendar_seed(
    calendar_year_model: type[CalendarYear],
    calendar_day_model: type[CalendarDay],
    using: str = "default",
) -> tuple[int, int]:
    """Undo ``seed_from_chinesecalendar``: delete the package's dates and its years.

    Years entered by an administrator (another source) are kept. Returns the numbers deleted.
    """
    years = chinesecalendar_years()
    dates = list(chinesecalendar_days())
    with transaction.atomic(using=using):
        days_deleted, _ = (
            calendar_day_model._default_manager.db_manager(using).filter(date__in=dates).delete()
        )
        years_deleted, _ = (
            calendar_year_model._default_manager.db_manager(using)
            .filter(year__in=years, source=SEED_SOURCE)
            .delete()
        )
        if (years_deleted or days_deleted) and calendar_year_model is CalendarYear:
            calendar_changed()
    return years_deleted, days_deleted
