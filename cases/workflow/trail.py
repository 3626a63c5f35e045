"""Recording: one event per change on the case's append-only, hash-chained trail."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from services.models import StageKind, WorkflowStage

from ..models import Case, CaseChainHead, Event
from .rules import acting_department_id


def locked(case: Case) -> Case:
    """The case row, locked until the surrounding transaction ends (select_for_update).

    The lock is taken on the row alone, then the case is read with its relations: when another
    transaction changed the row while we waited, PostgreSQL re-checks a locked join and may
    return NULL for the outer-joined stage, which made a waiting actor see a case without one.
    """
    list(Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True))
    return Case.objects.select_related(
        "service_version", "service", "stage", "applicant__user", "department"
    ).get(pk=case.pk)


def append_event(
    case: Case,
    *,
    first: bool = False,
    action: str,
    actor: User | None,
    actor_role: str = "",
    channel: str = "",
    from_state: str = "",
    from_stage: str = "",
    outcome: str = "",
    opinion: str = "",
    details: dict | None = None,
) -> Event:
    """Append one event with the hash of the one before, and move the case's chain head to it;
    the caller holds the case row lock (and so the head's) until its transaction ends."""
    last = (
        None
        if first
        else Event.objects.filter(case=case)
        .order_by("-sequence")
        .values("sequence", "hash")
        .first()
    )
    event = Event(
        case=case,
        sequence=(last["sequence"] + 1) if last else 1,
        action=action,
        outcome=outcome,
        actor=actor,
        actor_role=actor_role,
        channel=channel,
        from_state=from_state,
        to_state=case.state,
        from_stage=from_stage,
        to_stage=case.stage.code if case.stage_id else "",
        opinion=opinion,
        details=details or {},
        at=timezone.now(),
        previous_hash=last["hash"] if last else "0" * 64,
    )
    event.hash = event.compute_hash()
    with transaction.atomic(savepoint=False):  # the event and its head, or neither
        event.save()
        # One statement, first event or not: INSERT ... ON CONFLICT (case) DO UPDATE.
        CaseChainHead.objects.bulk_create(
            [
                CaseChainHead(
                    case=case, sequence=event.sequence, hash=event.hash, updated_at=event.at
                )
            ],
            update_conflicts=True,
            unique_fields=["case"],
            update_fields=["sequence", "hash", "updated_at"],
        )
    return event


def move_to_stage(case: Case, stage: WorkflowStage | None) -> list[str]:
    """Put the case in `stage`: the acting department follows the stage's rule, and a claim made
    in the stage it leaves is released (a claim belongs to a stage)."""
    if stage is None or stage.pk == case.stage_id:
        return []
    case.stage = stage
    case.acting_department_id = acting_department_id(case, stage)
    changed = ["stage", "acting_department"]
    if case.assignee_id is not None:
        case.assignee, case.claimed_at = None, None
        changed += ["assignee", "claimed_at"]
    return changed


def end_stage(case: Case) -> WorkflowStage:
    """The end stage of the case's workflow where a case closed by the engine itself goes."""
    return (
        WorkflowStage.objects.filter(
            definition_id=case.stage.definition_id if case.stage_id else None,
            kind=StageKind.END,
        )
        .order_by("order", "pk")
        .first()
    )


def intake_stage(definition_id: int) -> WorkflowStage:
    return WorkflowStage.objects.get(Q(definition_id=definition_id) & Q(kind=StageKind.INTAKE))
