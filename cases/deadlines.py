"""The deadline sweep (DESIGN "Time"): set-based, idempotent, catching up after any outage.

It looks for what is due and not yet done ("due within two working days", "past due", "documents
due soon", "documents not sent in time", "intake silent for five working days"), never for what
became due in the last few minutes, so a beat that was down for hours misses nothing. Each warning is
a DeadlineWarning row inserted with ON CONFLICT DO NOTHING; only the rows this sweep inserted cause
messages: the applicant's reminders one per case (documents, materials owed), and for staff one
digest per recipient and run listing their cases newly due soon or overdue (deadline_sql).
Deadlines live in the database; nothing is scheduled as a Celery countdown.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation

from accounts.models import Role, StaffMembership
from portal import locks
from services.calendar import add_working_days_provisional
from services.models import OuterState, ServiceMaterial, localized

from . import deadline_sql, workflow
from .models import (
    CLOSED_STATES,
    Case,
    DeadlineWarning,
    Notification,
    NotificationChannel,
    NotificationEvent,
    SupplementRequest,
)
from .notifications import services as notifications
from .workflow import deemed

WARN_WORKING_DAYS = 2
RUNNING_STATES = [OuterState.ACCEPTED, OuterState.APPROVED]
Kind = DeadlineWarning.Kind
# Warnings told to the applicant (and proxy); the others go to staff.
APPLICANT_KINDS = (Kind.SUPPLEMENT_REMINDER, Kind.MATERIALS_OWED)
# The advisory lock of a sweep's transaction (portal.locks names the beat task's own).
SWEEP_LOCK = locks.key("cases.deadlines.warn")
WARNING_RELATIONS = (
    "case__service_version",
    "case__assignee",
    "case__applicant__user",
    "case__stage",
    "case__agent__user",
)


def _insert_warnings(
    candidates, kind: str, deadline_field: str, sweep: uuid.UUID
) -> list[DeadlineWarning]:
    rows = [
        DeadlineWarning(case_id=case_id, kind=kind, deadline=deadline, sweep=sweep)
        for case_id, deadline in candidates.values_list("pk", deadline_field)
    ]
    DeadlineWarning.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        DeadlineWarning.objects.filter(sweep=sweep, kind=kind).select_related(*WARNING_RELATIONS)
    )


def _staff_recipients(warnings: list[DeadlineWarning], escalate: bool) -> list[tuple]:
    """(user, warning) for each person told of each warning: the case's holder, or whoever works its
    current stage in the acting department (own, parent or fixed); an overdue case also goes to
    that department's heads."""
    departments = {w.case.acting_department_id or w.case.department_id for w in warnings}
    members: dict[tuple[int, str], list] = {}
    for membership in StaffMembership.objects.filter(department_id__in=departments).select_related(
        "user"
    ):
        members.setdefault((membership.department_id, membership.role), []).append(membership.user)
    pairs = []
    for warning in warnings:
        case = warning.case
        department_id = case.acting_department_id or case.department_id
        stage_role = case.stage.role if case.stage_id and case.stage.role else Role.CASEWORKER
        if escalate:
            recipients = list(members.get((department_id, Role.DEPARTMENT_HEAD), []))
            if case.assignee_id and case.assignee not in recipients:
                recipients.append(case.assignee)
        elif case.assignee_id:
            recipients = [case.assignee]
        else:  # whoever works the stage; the department's caseworkers if nobody holds that role
            recipients = list(
                members.get((department_id, stage_role))
                or members.get((department_id, Role.CASEWORKER), [])
            )
        pairs += [(user, warning) for user in recipients]
    return pairs


def _digests(pairs: list[tuple], today: dt.date) -> list[Notification]:
    """One inbox message per recipient listing their warned cases (what deadline_sql writes):
    overdue first, then by due date and filing, the first DIGEST_CASES of them, the rest counted."""
    by_user: dict[int, tuple] = {}
    for user, warning in pairs:
        by_user.setdefault(user.pk, (user, {}))[1][warning.case_id] = warning
    queue = deadline_sql.queue_url()
    rows = []
    for _pk, (user, warned) in sorted(by_user.items()):
        ordered = sorted(
            warned.values(), key=lambda w: (w.kind != Kind.OVERDUE, w.deadline, w.case_id)
        )
        overdue = sum(w.kind == Kind.OVERDUE for w in ordered)
        with translation.override(user.preferred_language):
            listed = [
                {"number": w.case.number, "service": localized(w.case.service_version, "name"),
                 "due_date": w.deadline.isoformat(), "kind": w.kind,
                 "case_url": notifications.staff_case_url(w.case)}
                for w in ordered[: deadline_sql.DIGEST_CASES]
            ]  # fmt: skip
        context = {
            "date": today.isoformat(),
            "count": len(ordered),
            "overdue_count": overdue,
            "due_soon_count": len(ordered) - overdue,
            "cases": listed,
            "more": len(ordered) - len(listed),
            "queue_url": queue,
        }
        rows.append(
            Notification(recipient=user, case=None, event=NotificationEvent.DEADLINE_DIGEST,
                         channel=NotificationChannel.INBOX, language=user.preferred_language,
                         context=context)
        )  # fmt: skip
    return rows


def _applicant_messages(
    warnings: list[DeadlineWarning],
    event: str,
    owed: dict[int, list[ServiceMaterial]] | None = None,
) -> list[Notification]:
    """The applicant and their proxy, on every channel, each in their own language. A reminder of
    documents says what the request said: the materials, the note, the deadline."""
    requests, materials = {}, {}
    if event == NotificationEvent.SUPPLEMENT_REMINDER and warnings:
        requests = {
            request.case_id: request
            for request in SupplementRequest.objects.filter(
                case_id__in=[w.case_id for w in warnings], state=SupplementRequest.State.OPEN
            ).only("case_id", "note", "deadline")
        }
        # The materials asked for, in one query (prefetch_related clones a query per request:
        # a third of a second for a thousand reminders).
        through = SupplementRequest.materials.through
        for link in (
            through.objects.filter(supplementrequest_id__in=[r.pk for r in requests.values()])
            .select_related("servicematerial")
            .only("supplementrequest_id", "servicematerial__name", "servicematerial__name_en")
            .order_by("servicematerial__order", "servicematerial_id")
        ):
            materials.setdefault(link.supplementrequest_id, []).append(link.servicematerial)
    rows = []
    for warning in warnings:
        case = warning.case
        context = {
            "number": case.number,
            "service": case.service_version.name,
            "deadline": warning.deadline.isoformat(),
        }
        if request := requests.get(case.pk):
            context.update(notifications.supplement_context(request))
            words = notifications.material_words(materials.get(request.pk, []))
        else:
            words = notifications.material_words((owed or {}).get(case.pk, []))
        rows += notifications.to_applicants(case, event, context, words)
    return rows


def _still_owed(today: dt.date, soon: dt.date) -> dict[int, list[ServiceMaterial]]:
    """Open cases whose materials accepted to follow (容缺) are due by `soon` and not all in."""
    candidates = (
        Case.objects.filter(materials_owed_by__isnull=False, materials_owed_by__lte=soon)
        .exclude(state__in=CLOSED_STATES)
        .select_related("service_version")
    )
    result = {}
    for case in candidates:
        if materials := workflow.owed_materials(case):
            result[case.pk] = materials
    return result


def _candidates(today: dt.date, soon: dt.date, owed: dict[int, list[ServiceMaterial]]):
    """(queryset, kind, deadline field) of every threshold the sweep records, the same in SQL."""
    running = Case.objects.filter(
        state__in=RUNNING_STATES, paused_since__isnull=True, due_date__isnull=False
    )
    return [
        (running.filter(due_date__gte=today, due_date__lte=soon), Kind.DUE_SOON, "due_date"),
        (running.filter(due_date__lt=today), Kind.OVERDUE, "due_date"),
        (
            Case.objects.filter(
                state=OuterState.SUPPLEMENT_REQUESTED,
                supplement_requests__state=SupplementRequest.State.OPEN,
                supplement_requests__deadline__gte=today,
                supplement_requests__deadline__lte=soon,
            ).annotate(request_deadline=F("supplement_requests__deadline")),
            Kind.SUPPLEMENT_REMINDER,
            "request_deadline",
        ),
        (Case.objects.filter(pk__in=list(owed)), Kind.MATERIALS_OWED, "materials_owed_by"),
    ]


def _warn_in_python(
    today: dt.date, soon: dt.date, owed: dict[int, list[ServiceMaterial]], run: uuid.UUID
) -> tuple[dict[str, list[DeadlineWarning]], list[Notification]]:
    """The portable path (SQLite under `make run`): warnings and staff digests built as objects."""
    new = {
        kind: _insert_warnings(candidates, kind, field, run)
        for candidates, kind, field in _candidates(today, soon, owed)
    }
    pairs = _staff_recipients(new[Kind.DUE_SOON], escalate=False)
    # Overdue cases escalate to the head of the department acting on them.
    pairs += _staff_recipients(new[Kind.OVERDUE], escalate=True)
    rows = _digests(pairs, today)
    return new, Notification.objects.bulk_create(rows) if rows else []


def sweep(today: dt.date | None = None, *, in_sql: bool | None = None) -> dict[str, int]:
    """One pass over every open case; returns how many warnings and closures it made."""
    today = today or timezone.localdate()
    return {**warn(today, in_sql=in_sql), **close_expired(today)}


def warn(today: dt.date, *, in_sql: bool | None = None) -> dict[str, int]:
    """Every threshold crossed by `today` recorded once, and the messages of the new ones: one
    digest per staff recipient (DEADLINE_DIGEST), the applicant's reminders per case.

    On PostgreSQL the warnings and the staff digests are written by one statement
    (`deadline_sql.warn`), whatever the number of cases; `in_sql=False` takes the portable path, which
    writes the same rows (tests compare the two)."""
    soon, _provisional = add_working_days_provisional(today, WARN_WORKING_DAYS)
    run = uuid.uuid4()
    if in_sql is None:
        in_sql = connection.vendor == "postgresql"
    counts: dict[str, int] = {}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # One sweep at a time until commit (the beat's task is one_at_a_time already; this also
            # holds for a sweep started by hand): a second one waits, then its snapshot sees the
            # first's warnings and inserts nothing; ON CONFLICT DO NOTHING settles any other race.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SWEEP_LOCK])
        owed = _still_owed(today, soon)
        if in_sql:
            counts, ids, applicant = deadline_sql.warn(
                today=today, soon=soon, owed=list(owed), run=run, running_states=RUNNING_STATES
            )
            # The applicant's reminders: few, and worded from their request (materials, note).
            new = _applicant_warnings(applicant)
        else:
            new, staff_rows = _warn_in_python(today, soon, owed, run)
            ids = [row.pk for row in staff_rows]
            counts = {kind: len(new[kind]) for kind in Kind.values}
        rows = _applicant_messages(
            new.get(Kind.MATERIALS_OWED, []), NotificationEvent.MATERIALS_OWED, owed
        ) + _applicant_messages(
            new.get(Kind.SUPPLEMENT_REMINDER, []), NotificationEvent.SUPPLEMENT_REMINDER
        )
        ids += [row.pk for row in notifications.insert(rows)]
        if ids:
            transaction.on_commit(lambda: notifications.enqueue(ids), robust=True)
    return {
        "due_soon": counts[Kind.DUE_SOON],
        "overdue": counts[Kind.OVERDUE],
        "supplement_reminders": counts[Kind.SUPPLEMENT_REMINDER],
        "owed_reminders": counts[Kind.MATERIALS_OWED],
    }


def close_expired(today: dt.date) -> dict[str, int]:
    """The steps the law takes by itself: unanswered requests for documents deemed withdrawn,
    silent intake deemed accepted (§32). Set-based (`workflow.deemed`): the plain cases in batches,
    a handful of statements each, writing what the engine writes; the others (fees, bundles,
    commitments and materials owed, effects of their own) through the engine one case at a time.
    A run with nothing due costs two indexed SELECTs."""
    return deemed.close_due(today)


# What the applicant's reminders read of a warning's case (notifications.to_applicants): no more,
# so a thousand of them decrypt no name or ID number and parse no form schema.
APPLICANT_RELATIONS = ("case__service_version", "case__applicant__user", "case__agent__user")
_PERSON_FIELDS = ("user_id", "phone", "user__preferred_language", "user__email")
APPLICANT_FIELDS = (
    "case_id", "kind", "deadline", "case__number", "case__state", "case__service_version_id",
    "case__applicant_id", "case__agent_id", "case__service_version__name",
    "case__service_version__name_en",
    *(f"case__{person}__{field}" for person in ("applicant", "agent") for field in _PERSON_FIELDS),
)  # fmt: skip


def _applicant_warnings(pks: list[int]) -> dict[str, list[DeadlineWarning]]:
    new: dict[str, list[DeadlineWarning]] = {}
    if pks:
        for warning in (
            DeadlineWarning.objects.filter(pk__in=pks)
            .select_related(*APPLICANT_RELATIONS)
            .only(*APPLICANT_FIELDS)
            .order_by("pk")
        ):
            new.setdefault(warning.kind, []).append(warning)
    return new
