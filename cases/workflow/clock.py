"""Deadlines in working days (DESIGN "Time"): set at acceptance from the promised limit, paused by
requests for documents and special procedures (行政许可法 §45), moved on resume, extended (§42)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from services.calendar import (
    CalendarYearMissing,
    add_working_days_provisional,
    working_days_between,
)
from services.models import OuterState

from ..models import Case
from .errors import CaseConflict

# 行政许可法 §32: accept, refuse or ask for what is missing within five working days of receipt.
INTAKE_LIMIT_WORKING_DAYS = 5


def today() -> dt.date:
    return timezone.localdate()


def paused_working_days(since: dt.date, until: dt.date) -> int:
    """Working days a paused clock stood still; weekdays only for a year the calendar lacks."""
    try:
        return working_days_between(since, until)
    except CalendarYearMissing:
        return sum(
            1
            for offset in range(1, (until - since).days + 1)
            if (since + dt.timedelta(days=offset)).weekday() < 5
        )


def start_decision_clock(case: Case, day: dt.date) -> list[str]:
    """Acceptance: the promised limit counts from the day after."""
    if case.due_date is not None:
        return []
    start = timezone.localdate(case.accepted_at) if case.accepted_at else day
    case.due_date, case.due_date_provisional = add_working_days_provisional(
        start, case.service_version.promised_limit_days
    )
    case.paused_working_days = 0  # from now on only pauses of the decision clock count
    return ["due_date", "due_date_provisional", "paused_working_days"]


def pause(case: Case, day: dt.date) -> list[str]:
    if case.paused_since is not None:
        return []
    case.paused_since = day
    return ["paused_since"]


def resume(case: Case, day: dt.date) -> list[str]:
    """The clock runs again: the due date moves by the working days it stood still; before
    acceptance the five days of §32 count again from today (the materials are now complete)."""
    if case.paused_since is None:
        return []
    stood_still = paused_working_days(case.paused_since, day)
    case.paused_working_days += stood_still
    changed = ["paused_working_days", "paused_since"]
    if case.due_date is not None and stood_still:
        case.due_date, provisional = add_working_days_provisional(case.due_date, stood_still)
        case.due_date_provisional = case.due_date_provisional or provisional
        changed += ["due_date", "due_date_provisional"]
    if case.accepted_at is None:
        case.intake_due_date, _provisional = add_working_days_provisional(
            day, INTAKE_LIMIT_WORKING_DAYS
        )
        changed.append("intake_due_date")
    case.paused_since = None
    return changed


def extend(case: Case, days) -> list[str]:
    """§42: up to EXTENSION_MAX_WORKING_DAYS more in all, with the department head's approval (the
    workflow gives the transition to that role)."""
    maximum = settings.EXTENSION_MAX_WORKING_DAYS
    days = maximum if days is None else days
    if not isinstance(days, int) or days < 1 or case.extended_days + days > maximum:
        raise ValidationError(
            {"days": [_("An extension is 1 to %(max)d working days in all (行政许可法 §42).")
                      % {"max": maximum}]}
        )  # fmt: skip
    if case.due_date is None:
        raise CaseConflict(_("Only an accepted application has a time limit to extend."))
    case.due_date, provisional = add_working_days_provisional(case.due_date, days)
    case.due_date_provisional = case.due_date_provisional or provisional
    case.extended_days += days
    return ["due_date", "due_date_provisional", "extended_days"]


def record_outcome(case: Case, decided: dt.date) -> list[str]:
    """Working days the decision took (pauses excluded) and whether it met its deadline: written
    once, at the decision, for the public statistics."""
    if case.state == OuterState.NOT_ACCEPTED or case.accepted_at is None:
        start, deadline = timezone.localdate(case.received_at), case.intake_due_date
    else:
        start, deadline = timezone.localdate(case.accepted_at), case.due_date
    elapsed = paused_working_days(start, decided)  # weekdays when the calendar lacks the year
    case.working_days_used = max(0, elapsed - case.paused_working_days)
    case.decided_on_time = deadline is None or decided <= deadline
    return ["working_days_used", "decided_on_time", "paused_working_days"]
