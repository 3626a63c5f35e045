"""State change: every transition of a submitted case, and the steps the law takes without anyone
acting (deemed accepted, deemed withdrawn), composed of the same four steps:

1. check (rules.py): the definition allows it from this stage and state, the actor may take it;
2. change: the outer state by outcome, the stage, the clock, the effects of phase CHANGE;
3. record: one event on the trail, then the effects of phase RECORDED (the outbox);
4. after commit: the effects of phase COMMITTED (e.g. issuing the e-licence).

Each runs in one transaction with the case row locked.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from services.models import (
    APPLICANT,
    DECISION_OUTCOMES,
    OUTCOME_STATE,
    PAUSING_OUTCOMES,
    RESUMING_OUTCOMES,
    Outcome,
    OuterState,
    StageKind,
    WorkflowTransition,
    join_names,
)

from ..models import CLOSED_STATES, Case, Channel, SupplementRequest
from ..vocabulary import EventAction
from . import clock, effects, rules, trail
from .errors import CaseConflict

SYSTEM = "system"
# Outcomes that undo an approval already given: the e-licence issued for it is revoked.
REVERSING_OUTCOMES = (Outcome.REJECTED, Outcome.NOT_ACCEPTED, Outcome.RETURNED)


def _check_open(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != case.row_version:
        raise CaseConflict(
            _("Someone else changed this application in the meantime; reload it and try again."),
            code="stale",
        )
    if case.is_draft:
        raise CaseConflict(_("This application has not been submitted yet."), code="draft")
    if case.state in CLOSED_STATES:
        raise CaseConflict(
            _("This application is closed (%(state)s); nothing more can be done to it.")
            % {"state": case.get_state_display()},
            code="closed",
        )


def _refusal(case: Case, label: str) -> CaseConflict:
    if case.decided_at is not None:
        return CaseConflict(
            _("A decision has been made on this application; “%(name)s” is no longer possible.")
            % {"name": label},
            code="decided",
        )
    return CaseConflict(
        _("“%(name)s” is not possible while the application is %(state)s.")
        % {"name": label, "state": case.get_state_display()},
        code="not_allowed",
    )


def _check_actor(
    case: Case, transition: WorkflowTransition, actor: User | None
) -> tuple[set[str], set[str]]:
    """(the roles in which `actor` takes `transition`, all their roles on the case)."""
    roles = rules.roles_for(case, actor)
    acting = rules.acting_roles(case, transition, roles)
    if not acting:
        raise PermissionDenied(_("You may not do this for this application."))
    if APPLICANT not in acting and rules.held_by_someone_else(case, actor, roles):
        raise CaseConflict(
            _("%(holder)s handles this application; take it over first, with a reason.")
            % {"holder": case.assignee.get_full_name() or case.assignee.username},
            code="claimed",
        )
    return acting, roles


def _change(step: effects.Step) -> list[str]:
    """The outer state, stage and clock after `step.transition`, by its outcome and the stage kinds."""
    case, transition, day = step.case, step.transition, step.day
    outcome = transition.outcome
    now = timezone.now()
    from_state = case.state
    fields = ["state", "state_before_pause", "row_version", "updated_at"]

    if outcome in PAUSING_OUTCOMES:
        case.state_before_pause = case.state
        fields += clock.pause(case, day)
    new_state = OUTCOME_STATE.get(outcome)
    if new_state:
        case.state = new_state
    elif outcome in RESUMING_OUTCOMES:
        case.state = case.state_before_pause or case.state
        case.state_before_pause = ""
        fields += clock.resume(case, day)
    if outcome == Outcome.SUPPLEMENT_ANSWERED:
        _close_request_for_documents(case)
    fields += trail.move_to_stage(case, transition.target)

    if outcome == Outcome.ACCEPTED and case.accepted_at is None:
        case.accepted_at = step.details.pop("accepted_at", None) or now
        fields += ["accepted_at", *clock.start_decision_clock(case, day)]
    if outcome in (Outcome.APPROVED, Outcome.REJECTED) and case.accepted_at is None:
        case.accepted_at = now  # a 即办件 decided on the spot is accepted at the same moment
        case.due_date, case.due_date_provisional = timezone.localdate(now), False
        fields += ["accepted_at", "due_date", "due_date_provisional"]
    if from_state == OuterState.APPROVED and outcome == Outcome.RETURNED:
        # The approval is taken back: the case is under review again, the decision undone.
        case.state, case.decided_at, case.decision_reason = OuterState.ACCEPTED, None, ""
        case.decision_legal_basis = ""
        fields += ["decided_at", "decision_reason", "decision_legal_basis"]
    if outcome in DECISION_OUTCOMES:
        from ..decisions import basis_of

        case.decided_at, case.decision_reason = now, step.opinion
        case.decision_legal_basis = basis_of(case, step.details.get("legal_basis"))[0]
        fields += ["decided_at", "decision_reason", "decision_legal_basis"]
        fields += clock.record_outcome(case, day)
    if (
        outcome == Outcome.APPROVED
        and transition.target
        and transition.target.kind == StageKind.END
    ):
        case.state = OuterState.CONCLUDED  # approved straight into the end: decided and concluded
    if outcome == Outcome.CONCLUDED and step.channel == Channel.COUNTER:
        case.visits += 1  # the result was collected at a counter (最多跑一次 counts this trip)
        fields.append("visits")
    if case.state in CLOSED_STATES:
        case.closed_at, case.paused_since = now, None
        fields += ["closed_at", "paused_since"]
    return fields


def _close_request_for_documents(case: Case) -> None:
    request = case.supplement_requests.filter(state=SupplementRequest.State.OPEN).first()
    if request is None:
        raise CaseConflict(_("There is no open request for documents."))
    answered = set(request.attachments.values_list("material_id", flat=True))
    missing = [m.label for m in request.materials.all() if m.pk not in answered]
    if missing:
        raise ValidationError(
            {"materials": [_("Missing: %(material)s") % {"material": name} for name in missing]}
        )
    request.state = SupplementRequest.State.ANSWERED
    request.answered_at = timezone.now()
    request.save(update_fields=["state", "answered_at"])


def take(step: effects.Step, *, action: str, actor_role: str) -> Case:
    """Steps 2 to 4 for a checked transition; the caller holds the case row lock."""
    from .. import decisions, documents
    from ..bundles import services as bundles
    from ..licences import services as licences
    from ..notifications import services as notifications
    from ..payments import services as payments

    case = step.case
    payments.check_paid(step)  # a fee due and unpaid holds back the step it guards
    from_state, from_stage = case.state, case.stage.code if case.stage_id else ""
    from_department = case.acting_department_id
    fields = _change(step)
    fields += effects.run(step, effects.Phase.CHANGE)
    case.row_version += 1
    case.save(update_fields=sorted(set(fields)))
    step.event = trail.append_event(
        case,
        action=action,
        outcome=step.transition.outcome,
        actor=step.actor,
        actor_role=actor_role,
        channel=step.channel,
        from_state=from_state,
        from_stage=from_stage,
        opinion=step.opinion,
        details=step.details,
    )
    if from_state == OuterState.APPROVED and step.transition.outcome in REVERSING_OUTCOMES:
        decisions.take_back(case, step.event.at)
        licences.revoke_for_case(case=case, reason=step.opinion, event=step.event)
    decisions.record_decision(step)
    documents.issue_for_step(step)  # the outcome's document, before the messages that link to it
    if step.transition.outcome == Outcome.APPROVED and case.commitment_signed_at is not None:
        from .commitments import open_verification

        open_verification(case, step.day)  # 核查 of what was promised, by a deadline
    effects.run(step, effects.Phase.RECORDED)
    if case.acting_department_id != from_department and case.state not in CLOSED_STATES:
        notifications.tell_stage_staff(case, step.event)
    effects.run(step, effects.Phase.COMMITTED)
    payments.case_moved(step)  # a fee due after approval; refunds after a refusal or withdrawal
    bundles.case_moved(case)  # 一件事: a member waiting for this result is filed now
    return case


def apply_transition(
    *,
    case: Case,
    name: str,
    actor: User | None,
    opinion: str = "",
    expected_version: int | None = None,
    channel: str = Channel.ONLINE,
    details: dict | None = None,
) -> Case:
    """Move a case along its workflow by the transition called `name` in its definition.

    Refuses (CaseConflict, 409) what the definition does not allow from the current stage and
    state, a stale `expected_version`, a case closed or held by someone else; refuses
    (PermissionDenied) an actor without the role; refuses (ValidationError) a missing required
    opinion or what an effect needs (the materials of a request for documents, an extension's days).
    On success one event is written and the transition's effects run.
    """
    with transaction.atomic():
        case = trail.locked(case)
        _check_open(case, expected_version)
        transition = next((t for t in rules.available_transitions(case) if t.name == name), None)
        if transition is None:
            label = WorkflowTransition.objects.filter(
                definition_id=case.stage.definition_id if case.stage_id else None, name=name
            ).first()
            raise _refusal(case, label.localized_label if label else name)
        acting, roles = _check_actor(case, transition, actor)
        if transition.outcome == Outcome.APPROVED:
            from .drafts import owed_materials

            if owed := owed_materials(case):
                raise CaseConflict(
                    _(
                        "The decision waits for the materials accepted to follow (容缺): "
                        "%(materials)s. Approve once they have arrived."
                    )
                    % {"materials": join_names(m.label for m in owed)},
                    code="materials_owed",
                )
        opinion = (opinion or "").strip()
        if transition.opinion_required and not opinion:
            raise ValidationError({"opinion": [_("Give the reason; the applicant will read it.")]})
        step = effects.Step(
            case=case, transition=transition, actor=actor, roles=roles,
            details=dict(details or {}), day=clock.today(), opinion=opinion, channel=channel,
        )  # fmt: skip
        take(step, action=transition.name, actor_role=sorted(acting)[0])
    return case


def _by_outcome(case: Case, user: User, outcome: str, refusal: str) -> str:
    """The name of the transition with `outcome` that `user` may take now, whatever it is called."""
    case = Case.objects.select_related("service_version", "stage", "applicant").get(pk=case.pk)
    _check_open(case, None)
    transition = rules.transition_with_outcome(case, user, outcome)
    if transition is None:
        if case.decided_at is not None and case.state not in CLOSED_STATES:
            raise CaseConflict(
                _("A decision has been made on this application; it can no longer be withdrawn.")
                if outcome == Outcome.WITHDRAWN
                else refusal,
                code="decided",
            )
        raise CaseConflict(refusal, code="not_allowed")
    return transition.name


# --- The applicant's side --------------------------------------------------------------------------


def withdraw_case(*, case: Case, user: User, reason: str, channel: str = Channel.ONLINE) -> Case:
    """The applicant withdraws (撤回) an open application, with a reason; not once it is decided."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Tell the department why you withdraw.")]})
    name = _by_outcome(
        case, user, Outcome.WITHDRAWN, _("This application cannot be withdrawn now.")
    )
    return apply_transition(case=case, name=name, actor=user, opinion=reason, channel=channel)


def answer_supplement(
    *, case: Case, user: User, note: str = "", channel: str = Channel.ONLINE
) -> Case:
    """Hand in the documents a request asked for; the case returns to intake and the clock runs."""
    name = _by_outcome(
        case, user, Outcome.SUPPLEMENT_ANSWERED, _("There is no open request for documents.")
    )
    return apply_transition(case=case, name=name, actor=user, opinion=note, channel=channel)


def request_supplement(
    *,
    case: Case,
    actor: User,
    materials: list,
    note: str,
    channel: str = Channel.ONLINE,
    supervisor_reason: str = "",
    name: str | None = None,
) -> Case:
    """Staff ask for everything missing in one notice (一次性告知); the applicant answers by the
    deadline or the application is deemed withdrawn."""
    if not materials:
        raise ValidationError({"materials": [_("List everything that is missing, in one notice.")]})
    name = name or _by_outcome(
        case, actor, Outcome.SUPPLEMENT_REQUESTED, _("Documents cannot be requested now.")
    )
    return apply_transition(
        case=case,
        name=name,
        actor=actor,
        opinion=note,
        channel=channel,
        details={
            "materials": [getattr(m, "pk", m) for m in materials],
            "supervisor_reason": supervisor_reason,
        },
    )


# --- Rules the law sets without anyone acting ------------------------------------------------------


def intake_overdue_cases(today=None):
    """Submitted cases whose five working days for intake have passed (行政许可法 §32)."""
    return Case.objects.filter(
        state=OuterState.SUBMITTED,
        intake_due_date__lt=today or clock.today(),
        accepted_at__isnull=True,
    ).exclude(supplement_requests__state=SupplementRequest.State.OPEN)


def _official(text_function):
    """A record in the official language, whoever's request triggered the sweep."""
    with translation.override(settings.LANGUAGE_CODE):
        return text_function()


def deemed_acceptance_opinion() -> str:
    return _official(
        lambda: _("Deemed accepted: no decision within five working days of receipt (行政许可法 §32).")
    )  # fmt: skip


def deemed_withdrawal_opinion(deadline) -> str:
    return _official(
        lambda: (
            _("Deemed withdrawn: the documents requested were not sent by %(date)s.")
            % {"date": deadline.isoformat()}
        )
    )


def deem_accepted(*, case: Case) -> Case | None:
    """§32: intake let five working days pass without accepting or asking for documents, so the
    application counts as accepted on the day it was received: the intake stage's accepting
    transition is taken by the system, effects and all. Returns None when no longer due."""
    with transaction.atomic():
        case = trail.locked(case)
        if not intake_overdue_cases().filter(pk=case.pk).exists():
            return None
        from ..payments.services import blocks_deemed_acceptance

        if blocks_deemed_acceptance(case):
            return None
        transition = next(
            (t for t in rules.available_transitions(case) if t.outcome == Outcome.ACCEPTED), None
        )
        if transition is None:
            return None
        opinion = deemed_acceptance_opinion()
        step = effects.Step(
            case=case, transition=transition, actor=None, roles={SYSTEM},
            details={"accepted_at": case.received_at, "deemed": True}, day=clock.today(),
            opinion=opinion, channel=SYSTEM,
        )  # fmt: skip
        return take(step, action=EventAction.DEEMED_ACCEPTED, actor_role=SYSTEM)


def deem_withdrawn(*, case: Case) -> Case | None:
    """The documents asked for did not arrive by the deadline: the application is deemed withdrawn
    (视为撤回), closed in the workflow's end stage, and the applicant is told. Returns None when
    no longer due."""
    from ..models import NotificationEvent
    from ..notifications import services as notifications

    with transaction.atomic():
        case = trail.locked(case)
        request = case.supplement_requests.filter(
            state=SupplementRequest.State.OPEN, deadline__lt=clock.today()
        ).first()
        if case.state != OuterState.SUPPLEMENT_REQUESTED or request is None:
            return None
        request.state = SupplementRequest.State.EXPIRED
        request.save(update_fields=["state"])
        opinion = deemed_withdrawal_opinion(request.deadline)
        # The engine's own step: no transition of the definition, no effects but the message.
        withdrawal = WorkflowTransition(
            definition_id=case.stage.definition_id,
            outcome=Outcome.WITHDRAWN,
            target=trail.end_stage(case),
            effects=[],
        )
        step = effects.Step(
            case=case, transition=withdrawal, actor=None, roles={SYSTEM},
            details={"deemed": True}, day=clock.today(), opinion=opinion, channel=SYSTEM,
        )  # fmt: skip
        take(step, action=EventAction.DEEMED_WITHDRAWN, actor_role=SYSTEM)
        notifications.tell_applicant(case, NotificationEvent.DEEMED_WITHDRAWN, step.event)
        return case
