"""The steps the law takes by itself, set-based: silent intake deemed accepted (行政许可法 §32) and
unanswered requests for documents deemed withdrawn (视为撤回).

The due cases are taken in batches of BATCH, each batch in one transaction with its rows locked
(SELECT ... FOR UPDATE SKIP LOCKED: a case someone is acting on right now is left for the next
sweep). A plain case gets in a handful of statements per batch exactly what the engine
(`transitions.deem_accepted` / `deem_withdrawn` through `transitions.take`) writes for it: the state,
stage and clock, one event on its hash-chained trail and its chain head, the acceptance notice
(numbers reserved per counter in one statement) and the messages to the applicant, the proxy and the
staff of a stage another department works, published once per batch. Every other case goes through
the engine, one case and one transaction at a time, after the batch commits:

- a fee rule (`payments.check_paid`, `blocks_deemed_acceptance`, `payments.case_moved`);
- a member of a bundle (一件事: `bundles.case_moved` files what waited for it);
- a signed commitment (告知承诺) or a service that accepts materials to follow (容缺): the notice and
  the decision wait on what is owed;
- an immediate service (即办件), a case without a stage, an accepting transition with effects other
  than notifying the applicant and the acceptance notice (each effect has its one handler, in the
  engine).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import Role, StaffMembership
from services.calendar import add_working_days_provisional_many
from services.models import Effect, Outcome, OuterState, StageKind, WorkflowStage
from services.models import WorkflowTransition as Transition

from ..models import (
    CLOSED_STATES,
    Case,
    CaseChainHead,
    Event,
    Notification,
    NotificationEvent,
    OfficialDocument,
    SupplementRequest,
)
from ..vocabulary import EventAction
from . import effects, rules, trail, transitions

BATCH = 500
SYSTEM = transitions.SYSTEM
# Effects of an accepting transition the set-based path carries out itself: the applicant's
# messages, and the acceptance notice (`issue_for_step` issues it for every acceptance before the
# effects run, so the effect's own handler finds it issued and adds nothing).
BATCHED_EFFECTS = {Effect.NOTIFY_APPLICANT, Effect.ACCEPTANCE_NOTICE}
RELATIONS = (
    "service_version",
    "service",
    "stage",
    "department",
    "organisation",
    "applicant__user",
    "agent__user",
)
ACCEPTED_FIELDS = [
    "state", "stage", "acting_department", "assignee", "claimed_at", "accepted_at", "due_date",
    "due_date_provisional", "paused_working_days", "row_version", "updated_at",
]  # fmt: skip
WITHDRAWN_FIELDS = [
    "state", "stage", "acting_department", "assignee", "claimed_at", "closed_at", "paused_since",
    "row_version", "updated_at",
]  # fmt: skip


def close_due(today: dt.date) -> dict[str, int]:
    """Every case due on `today`, deemed withdrawn or accepted; how many of each."""
    return {"deemed_withdrawn": withdraw_due(today), "deemed_accepted": accept_due(today)}


def withdrawal_due_cases(today: dt.date):
    """Cases whose request for documents went unanswered past its deadline."""
    return Case.objects.filter(
        state=OuterState.SUPPLEMENT_REQUESTED,
        pk__in=SupplementRequest.objects.filter(
            state=SupplementRequest.State.OPEN, deadline__lt=today
        ).values("case_id"),
    )


def accept_due(today: dt.date) -> int:
    due = transitions.intake_overdue_cases(today)
    return _in_batches(due, _accept_batch, transitions.deem_accepted, today)


def withdraw_due(today: dt.date) -> int:
    return _in_batches(
        withdrawal_due_cases(today), _withdraw_batch, transitions.deem_withdrawn, today
    )


def _in_batches(due, handle, engine, today: dt.date) -> int:
    """Lock BATCH due cases at a time (keyset by pk, so a case the engine leaves as it is is not
    taken again), handle the plain ones in the batch's transaction, then the others one by one."""
    done, last = 0, 0
    while True:
        with transaction.atomic():
            ids = list(
                due.filter(pk__gt=last)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                return done
            last = ids[-1]
            cases = list(Case.objects.filter(pk__in=ids).select_related(*RELATIONS).order_by("pk"))
            plain, others = handle(cases, today)
            done += plain
        done += sum(1 for case in others if engine(case=case))
        if len(ids) < BATCH:
            return done


def _bundle_members(cases: list[Case]) -> set[int]:
    from ..models import BundleMemberCase

    return set(
        BundleMemberCase.objects.filter(case_id__in=[c.pk for c in cases]).values_list(
            "case_id", flat=True
        )
    )


def _engine_only(case: Case, members: set[int]) -> bool:
    """What only the engine may do for `case` (the module's docstring says why)."""
    from ..payments.services import rule_of

    return case.stage_id is None or rule_of(case) is not None or case.pk in members


def _accepting_transitions(cases: list[Case]) -> dict[int, Transition | None]:
    """Per stage, the transition `deem_accepted` takes: the first accepting one from that stage
    (or from any stage), in the definition's order, that the outer state allows."""
    stages = {case.stage_id: case for case in cases}
    candidates = list(
        Transition.objects.filter(
            definition_id__in={case.stage.definition_id for case in cases},
            outcome=Outcome.ACCEPTED,
        )
        .filter(Q(source_id__in=list(stages)) | Q(source__isnull=True))
        .select_related("target", "source")
    )
    return {
        stage_id: next(
            (
                t
                for t in candidates
                if t.definition_id == case.stage.definition_id
                and t.source_id in (None, stage_id)
                and rules.state_allows(case, t)
            ),
            None,
        )
        for stage_id, case in stages.items()
    }


def _chain(cases: list[Case]) -> dict[int, tuple[int, str]]:
    """(sequence, hash) of each case's last event: the chain heads, and the events of a case
    without one (a trail begun before heads were kept)."""
    ends = {
        case_id: (sequence, digest)
        for case_id, sequence, digest in CaseChainHead.objects.filter(
            case_id__in=[c.pk for c in cases]
        ).values_list("case_id", "sequence", "hash")
    }
    if headless := [case.pk for case in cases if case.pk not in ends]:
        last = Event.objects.filter(case_id=OuterRef("case_id")).order_by("-sequence")
        for case_id, sequence, digest in Event.objects.filter(
            case_id__in=headless, sequence=Subquery(last.values("sequence")[:1])
        ).values_list("case_id", "sequence", "hash"):
            ends[case_id] = (sequence, digest)
    return ends


def _event(case: Case, ends, *, action, outcome, from_state, from_stage, opinion, at) -> Event:
    """The event `trail.append_event` writes, chained to the case's last one."""
    sequence, previous = ends.get(case.pk, (0, "0" * 64))
    event = Event(
        case=case, sequence=sequence + 1, action=action, outcome=outcome, actor=None,
        actor_role=SYSTEM, channel=SYSTEM, from_state=from_state, to_state=case.state,
        from_stage=from_stage, to_stage=case.stage.code if case.stage_id else "", opinion=opinion,
        details={"deemed": True}, at=at, previous_hash=previous,
    )  # fmt: skip
    event.hash = event.compute_hash()
    return event


def _record(cases: list[Case], events: list[Event], fields: list[str]) -> None:
    """The cases, their events and their chain heads: three statements."""
    _update(cases, fields)
    Event.objects.bulk_create(events)
    CaseChainHead.objects.bulk_create(
        [CaseChainHead(case_id=e.case_id, sequence=e.sequence, hash=e.hash, updated_at=e.at)
         for e in events],
        update_conflicts=True,
        unique_fields=["case"],
        update_fields=["sequence", "hash", "updated_at"],
    )  # fmt: skip


def _update(cases: list[Case], fields: list[str]) -> None:
    """`fields` of every case in one UPDATE ... FROM (VALUES ...) on PostgreSQL (bulk_update's
    CASE WHEN per field and row costs more to build than to run); bulk_update elsewhere."""
    if connection.vendor != "postgresql":
        Case.objects.bulk_update(cases, fields)
        return
    quote = connection.ops.quote_name
    columns = [Case._meta.pk, *(Case._meta.get_field(name) for name in fields)]
    row = "(" + ", ".join(f"%s::{column.cast_db_type(connection)}" for column in columns) + ")"
    params = [
        column.get_db_prep_save(getattr(case, column.attname), connection)
        for case in cases
        for column in columns
    ]
    names = ", ".join(quote(column.column) for column in columns)
    assignments = ", ".join(f"{quote(c.column)} = v.{quote(c.column)}" for c in columns[1:])
    pk = quote(Case._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Case._meta.db_table)} AS c SET {assignments} "  # noqa: S608
            f"FROM (VALUES {', '.join([row] * len(cases))}) AS v ({names}) WHERE c.{pk} = v.{pk}",
            params,
        )


def _publish(rows: list[Notification]) -> None:
    """The batch's outbox rows, handed to Celery in one message after commit."""
    from ..notifications import services as notifications

    notifications.save_and_enqueue(rows)


# --- Deemed accepted -------------------------------------------------------------------------------


def _accept_batch(cases: list[Case], today: dt.date) -> tuple[int, list[Case]]:
    members = _bundle_members(cases)
    candidates = [case for case in cases if not _engine_only(case, members)]
    chosen = _accepting_transitions(candidates) if candidates else {}
    batched = {case.pk for case in candidates}
    plain, others = [], []
    for case in cases:
        version = case.service_version
        transition = chosen.get(case.stage_id) if case.pk in batched else None
        if (
            transition is None
            or not set(transition.effects) <= BATCHED_EFFECTS
            or version.is_immediate
            or version.allows_tolerance
            or case.commitment_signed_at is not None
            or case.decided_at is not None
        ):
            others.append(case)
        else:
            plain.append((case, transition))
    if plain:
        _accept(plain, today)
    return len(plain), others


def _accept(plain: list[tuple[Case, Transition]], today: dt.date) -> None:
    """What `transitions.take` writes for `deem_accepted` of each plain case (see `_change`: the
    state, the stage and its holder, accepted on the day of receipt, the decision clock)."""
    from .. import documents
    from ..notifications import services as notifications

    now = timezone.now()
    opinion = transitions.deemed_acceptance_opinion()
    cases = [case for case, _t in plain]
    ends = _chain(cases)
    start = {
        case.pk: timezone.localdate(case.received_at or now)
        for case in cases
        if case.due_date is None
    }
    clocks = add_working_days_provisional_many(
        (start[case.pk], case.service_version.promised_limit_days)
        for case in cases
        if case.pk in start
    )
    events, steps, moved = [], [], []
    for case, transition in plain:
        from_state, from_stage = case.state, case.stage.code
        from_department = case.acting_department_id
        case.state = OuterState.ACCEPTED
        trail.move_to_stage(case, transition.target)
        case.accepted_at = case.received_at or now
        if case.pk in start:
            key = (start[case.pk], case.service_version.promised_limit_days)
            case.due_date, case.due_date_provisional = clocks[key]
            case.paused_working_days = 0
        case.row_version += 1
        case.updated_at = now
        event = _event(
            case, ends, action=EventAction.DEEMED_ACCEPTED, outcome=Outcome.ACCEPTED,
            from_state=from_state, from_stage=from_stage, opinion=opinion, at=now,
        )  # fmt: skip
        events.append(event)
        steps.append(
            effects.Step(
                case=case,
                transition=transition,
                actor=None,
                roles={SYSTEM},
                details={"deemed": True},
                day=today,
                opinion=opinion,
                channel=SYSTEM,
                event=event,
            )  # fmt: skip
        )
        if case.acting_department_id != from_department and case.state not in CLOSED_STATES:
            moved.append(case)  # `take` tells the staff of a stage another department works
    _record(cases, events, ACCEPTED_FIELDS)

    kind = OfficialDocument.Kind.ACCEPTANCE_NOTICE
    notices = [
        documents.unsaved_document(case=s.case, kind=kind, event=s.event, step=s, owed=[])
        for s in steps
    ]
    numbers = documents.reserve_document_numbers(
        [documents.document_number_prefix(case=s.case, kind=kind) for s in steps]
    )
    for notice, number in zip(notices, numbers, strict=True):
        notice.number = number
    OfficialDocument.objects.bulk_create(notices)

    staff, arrived = _stage_staff(moved), {case.pk for case in moved}
    rows = []
    for step, notice in zip(steps, notices, strict=True):
        if Effect.NOTIFY_APPLICANT in step.transition.effects:
            rows += notifications.transition_rows(
                step.case, step.transition, step.event, document=notice
            )
        if step.case.pk in arrived:
            rows += notifications.arrival_rows(step.case, step.event, staff(step.case))
    _publish(rows)


def _stage_staff(cases: list[Case]):
    """`access.staff_working_stage` of each case, from one query for all of them."""
    wanted = {
        (case.acting_department_id or case.department_id, case.stage.role or Role.CASEWORKER)
        for case in cases
    }
    found: dict[tuple[int, str], list] = {}
    if wanted:
        for membership in (
            StaffMembership.objects.filter(
                department_id__in={d for d, _r in wanted}, role__in={r for _d, r in wanted}
            )
            .select_related("user")
            .order_by("pk")
        ):
            found.setdefault((membership.department_id, membership.role), []).append(
                membership.user
            )

    def staff(case: Case) -> list:
        role = case.stage.role if case.stage_id and case.stage.role else Role.CASEWORKER
        return found.get((case.acting_department_id or case.department_id, role), [])

    return staff


# --- Deemed withdrawn ------------------------------------------------------------------------------


def _withdraw_batch(cases: list[Case], today: dt.date) -> tuple[int, list[Case]]:
    members = _bundle_members(cases)
    plain = [case for case in cases if not _engine_only(case, members)]
    others = [case for case in cases if _engine_only(case, members)]
    if plain:
        _withdraw(plain, today)
    return len(plain), others


def _end_stages(cases: list[Case]) -> dict[int, WorkflowStage]:
    """`trail.end_stage` of each case's workflow, from one query."""
    ends: dict[int, WorkflowStage] = {}
    for stage in WorkflowStage.objects.filter(
        definition_id__in={case.stage.definition_id for case in cases}, kind=StageKind.END
    ).order_by("order", "pk"):
        ends.setdefault(stage.definition_id, stage)
    return ends


def _withdraw(cases: list[Case], today: dt.date) -> None:
    """What `deem_withdrawn` writes for each case: its request expired, the case closed in the
    workflow's end stage (holder released, clock stopped), the event, the applicant told."""
    from ..notifications import services as notifications

    now = timezone.now()
    requests = {
        request.case_id: request
        for request in SupplementRequest.objects.filter(
            case__in=cases, state=SupplementRequest.State.OPEN, deadline__lt=today
        )
    }
    SupplementRequest.objects.filter(pk__in=[r.pk for r in requests.values()]).update(
        state=SupplementRequest.State.EXPIRED
    )
    end_stages = _end_stages(cases)
    ends = _chain(cases)
    events = []
    for case in cases:
        from_state, from_stage = case.state, case.stage.code
        case.state = OuterState.WITHDRAWN
        trail.move_to_stage(case, end_stages.get(case.stage.definition_id))
        case.closed_at, case.paused_since = now, None
        case.row_version += 1
        case.updated_at = now
        opinion = transitions.deemed_withdrawal_opinion(requests[case.pk].deadline)
        events.append(
            _event(
                case,
                ends,
                action=EventAction.DEEMED_WITHDRAWN,
                outcome=Outcome.WITHDRAWN,
                from_state=from_state,
                from_stage=from_stage,
                opinion=opinion,
                at=now,
            )  # fmt: skip
        )
    _record(cases, events, WITHDRAWN_FIELDS)
    rows = []
    for case, event in zip(cases, events, strict=True):
        rows += notifications.applicant_rows(
            case, NotificationEvent.DEEMED_WITHDRAWN, event, document=None
        )
    _publish(rows)
