"""The deadline sweep (DESIGN "Time"): set-based, idempotent, catching up after any outage.

It looks for what is due and not yet done ("due within two working days", "past due", "documents
due soon", "documents not sent in time", "intake silent for five working days"), never for what
became due in the last few minutes, so a beat that was down for hours misses nothing. Each warning is
a DeadlineWarning row inserted with ON CONFLICT DO NOTHING; only the rows this sweep inserted cause
messages. Deadlines live in the database; nothing is scheduled as a Celery countdown.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Role, StaffMembership
from services.calendar import add_working_days_provisional
from services.models import OuterState

from . import notifications, workflow
from .models import (
    Case,
    DeadlineWarning,
    Notification,
    NotificationChannel,
    NotificationEvent,
    SupplementRequest,
)

WARN_WORKING_DAYS = 2
RUNNING_STATES = [OuterState.ACCEPTED, OuterState.APPROVED]


def _insert_warnings(
    candidates, kind: str, deadline_field: str, sweep: uuid.UUID
) -> list[DeadlineWarning]:
    rows = [
        DeadlineWarning(case_id=case_id, kind=kind, deadline=deadline, sweep=sweep)
        for case_id, deadline in candidates.values_list("pk", deadline_field)
    ]
    DeadlineWarning.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        DeadlineWarning.objects.filter(sweep=sweep, kind=kind).select_related(
            "case__service_version", "case__assignee", "case__applicant__user"
        )
    )


def _staff_messages(
    warnings: list[DeadlineWarning], event: str, role_when_unassigned: str
) -> list[Notification]:
    """To the case's holder, or to every holder of `role_when_unassigned` in its department."""
    departments = {
        w.case.department_id
        for w in warnings
        if not w.case.assignee_id or event == NotificationEvent.OVERDUE
    }
    members: dict[int, list] = {}
    for membership in StaffMembership.objects.filter(
        department_id__in=departments, role=role_when_unassigned
    ).select_related("user"):
        members.setdefault(membership.department_id, []).append(membership.user)
    rows = []
    for warning in warnings:
        case = warning.case
        recipients = list(members.get(case.department_id, []))
        if case.assignee_id and event == NotificationEvent.DUE_SOON:
            recipients = [case.assignee]
        elif case.assignee_id and case.assignee not in recipients:
            recipients.append(case.assignee)
        context = {"number": case.number, "service": case.service_version.name,
                   "due_date": warning.deadline.isoformat(), "deadline": warning.deadline.isoformat()}  # fmt: skip
        rows += [
            Notification(recipient=user, case=case, event=event, channel=NotificationChannel.INBOX,
                         language=user.preferred_language, context=context)
            for user in recipients
        ]  # fmt: skip
    return rows


def _applicant_messages(warnings: list[DeadlineWarning], event: str) -> list[Notification]:
    rows = []
    for warning in warnings:
        case = warning.case
        user = case.applicant.user if case.applicant.user_id else None
        context = {
            "number": case.number,
            "service": case.service_version.name,
            "deadline": warning.deadline.isoformat(),
        }
        language = user.preferred_language if user else "zh-hans"
        if user is not None:
            rows.append(Notification(recipient=user, case=case, event=event, channel=NotificationChannel.INBOX,
                                     language=language, context=context))  # fmt: skip
        rows.append(Notification(recipient=user, person=case.applicant, case=case, event=event,
                                 channel=NotificationChannel.SMS, address=case.applicant.phone,
                                 language=language, context=context))  # fmt: skip
    return rows


def sweep(today: dt.date | None = None) -> dict[str, int]:
    """One pass over every open case; returns how many warnings and closures it made."""
    today = today or timezone.localdate()
    soon, _provisional = add_working_days_provisional(today, WARN_WORKING_DAYS)
    run = uuid.uuid4()
    counts: dict[str, int] = {}
    with transaction.atomic():
        running = Case.objects.filter(
            state__in=RUNNING_STATES, paused_since__isnull=True, due_date__isnull=False
        )
        due_soon = _insert_warnings(
            running.filter(due_date__gte=today, due_date__lte=soon),
            DeadlineWarning.Kind.DUE_SOON,
            "due_date",
            run,
        )
        overdue = _insert_warnings(
            running.filter(due_date__lt=today), DeadlineWarning.Kind.OVERDUE, "due_date", run
        )
        reminders = _insert_warnings(
            Case.objects.filter(
                state=OuterState.SUPPLEMENT_REQUESTED,
                supplement_requests__state=SupplementRequest.State.OPEN,
                supplement_requests__deadline__gte=today,
                supplement_requests__deadline__lte=soon,
            ).annotate(request_deadline=F("supplement_requests__deadline")),
            DeadlineWarning.Kind.SUPPLEMENT_REMINDER,
            "request_deadline",
            run,
        )
        rows = (
            _staff_messages(due_soon, NotificationEvent.DUE_SOON, Role.CASEWORKER)
            # Overdue cases escalate to the department head.
            + _staff_messages(overdue, NotificationEvent.OVERDUE, Role.DEPARTMENT_HEAD)
            + _applicant_messages(reminders, NotificationEvent.SUPPLEMENT_REMINDER)
        )
        if rows:
            ids = [row.pk for row in Notification.objects.bulk_create(rows)]
            transaction.on_commit(lambda: notifications.enqueue(ids), robust=True)
        counts.update(
            due_soon=len(due_soon), overdue=len(overdue), supplement_reminders=len(reminders)
        )
    # Closures go through the engine, one case at a time; each is its own transaction.
    expired = Case.objects.filter(
        state=OuterState.SUPPLEMENT_REQUESTED,
        supplement_requests__state=SupplementRequest.State.OPEN,
        supplement_requests__deadline__lt=today,
    ).distinct()
    counts["deemed_withdrawn"] = sum(1 for case in expired if workflow.deem_withdrawn(case=case))
    counts["deemed_accepted"] = sum(
        1 for case in workflow.intake_overdue_cases(today) if workflow.deem_accepted(case=case)
    )
    return counts
