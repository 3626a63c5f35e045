"""Who works a case: claims (one holder per stage), taking over, a department admin's repair of a
stranded case, and consulting a member of another department (征求意见 / 会签)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, StaffMembership, User
from services.models import APPLICANT, OuterState, StageKind, WorkflowStage

from ..models import CLOSED_STATES, Case, Consultation
from ..vocabulary import EventAction
from . import clock, rules, trail
from .errors import CaseConflict


def _staff_roles_on_stage(case: Case, user: User) -> set[str]:
    """The user's staff roles if they may act on the case's current stage (or head it)."""
    staff_roles = rules.roles_for(case, user) - {APPLICANT}
    may_act = any(
        rules.acting_roles(case, t, staff_roles) for t in rules.available_transitions(case)
    )
    if not staff_roles or not (may_act or Role.DEPARTMENT_HEAD in staff_roles):
        raise PermissionDenied(_("You may not do this for this application."))
    return staff_roles


def _record(case: Case, *, action: str, user: User, role: str, opinion: str = "", details=None):
    case.row_version += 1
    case.save(update_fields=["assignee", "claimed_at", "row_version", "updated_at"])
    return trail.append_event(
        case,
        action=action,
        actor=user,
        actor_role=role,
        from_state=case.state,
        from_stage=case.stage.code if case.stage_id else "",
        opinion=opinion,
        details=details,
    )


def claim_case(*, case: Case, user: User, release: bool = False) -> Case:
    """A caseworker takes a case from the queue (or gives it back); one holder at a time, and a
    claim lasts while the case stays in its stage. Claiming what one already holds changes nothing
    (concurrent clicks write one event)."""
    with transaction.atomic():
        case = trail.locked(case)
        if case.is_draft or case.state in CLOSED_STATES:
            raise CaseConflict(_("Only open applications can be claimed."))
        staff_roles = _staff_roles_on_stage(case, user)
        if release:
            if case.assignee_id != user.pk:
                raise CaseConflict(_("You do not hold this application."), code="not_holder")
            case.assignee, case.claimed_at, action = None, None, EventAction.RELEASE
        else:
            if case.assignee_id == user.pk:
                return case
            if case.assignee_id:
                raise CaseConflict(
                    _("%(holder)s already handles this application; take it over with a reason.")
                    % {"holder": case.assignee.get_full_name() or case.assignee.username},
                    code="claimed",
                )
            case.assignee, case.claimed_at, action = user, timezone.now(), EventAction.CLAIM
        _record(case, action=action, user=user, role=sorted(staff_roles)[0])
    return case


def take_over_case(*, case: Case, user: User, reason: str) -> Case:
    """Take a case someone else holds (they are away, it is urgent); the reason goes in the trail."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why you take this application over.")]})
    with transaction.atomic():
        case = trail.locked(case)
        if case.is_draft or case.state in CLOSED_STATES:
            raise CaseConflict(_("Only open applications can be claimed."))
        staff_roles = _staff_roles_on_stage(case, user)
        if case.assignee_id is None or case.assignee_id == user.pk:
            raise CaseConflict(_("Nobody else holds this application."), code="not_claimed")
        previous = case.assignee
        case.assignee, case.claimed_at = user, timezone.now()
        _record(
            case,
            action=EventAction.TAKE_OVER,
            user=user,
            role=sorted(staff_roles)[0],
            opinion=reason,
            details={"from": previous.username},
        )
    return case


# --- Repair ------------------------------------------------------------------------------------------


def may_repair(user: User, case: Case) -> bool:
    if not user.is_authenticated:
        return False
    known = case.__dict__.get("_staff_roles")  # read by selectors.case_for_staff
    if known is not None and known[0] == user.pk:
        return user.is_superuser or Role.DEPARTMENT_ADMIN in known[1].get(case.department_id, ())
    return user.is_authenticated and (
        user.is_superuser
        or StaffMembership.objects.filter(
            user=user, department_id=case.department_id, role=Role.DEPARTMENT_ADMIN
        ).exists()
    )


def repair_case(*, case: Case, actor: User, stage: WorkflowStage, reason: str) -> Case:
    """A department admin moves a case stranded by a workflow published before the engine checked
    definitions (a pause with no way out, an approval left open in an end stage) to a stage of its
    own workflow. A pause is lifted (its days do not count); an approved case moved to an end stage
    is concluded. The reason goes in the trail."""
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = [_("Say why the application is moved.")]
    with transaction.atomic():
        case = trail.locked(case)
        if not may_repair(actor, case):
            raise PermissionDenied(_("You may not do this for this application."))
        if case.is_draft or case.state in CLOSED_STATES:
            raise CaseConflict(_("Only open applications can be moved."), code="closed")
        if stage.definition_id != case.stage.definition_id:
            errors["stage"] = [_("Choose a stage of the application's own workflow.")]
        if errors:
            raise ValidationError(errors)
        from_state, from_stage = case.state, case.stage.code
        fields = ["state", "state_before_pause", "row_version", "updated_at"]
        if case.state in (OuterState.SUSPENDED, OuterState.SUPPLEMENT_REQUESTED):
            case.state = case.state_before_pause or OuterState.SUBMITTED
            case.state_before_pause = ""
            fields += clock.resume(case, clock.today())
        fields += trail.move_to_stage(case, stage)
        if stage.kind == StageKind.END:
            if case.state != OuterState.APPROVED:
                raise ValidationError(
                    {"stage": [_("Only an approved application can be moved to an end stage.")]}
                )
            case.state, case.closed_at = OuterState.CONCLUDED, timezone.now()
            fields.append("closed_at")
        case.row_version += 1
        case.save(update_fields=sorted(set(fields)))
        trail.append_event(
            case,
            action=EventAction.REPAIRED,
            actor=actor,
            actor_role=Role.DEPARTMENT_ADMIN,
            from_state=from_state,
            from_stage=from_stage,
            opinion=reason,
        )
    return case


# --- Consulting another department (征求意见 / 会签) ------------------------------------------------------


def consult(*, case: Case, actor: User, expert: User, question: str) -> Consultation:
    """Ask `expert` (usually of another department) for an opinion on this one case: they may see
    it, and only it, until they answer or the request is withdrawn (a django-guardian grant)."""
    from guardian.shortcuts import assign_perm

    from ..notifications import services as notifications

    question = (question or "").strip()
    if not question:
        raise ValidationError({"question": [_("Write what you ask.")]})
    with transaction.atomic():
        case = trail.locked(case)
        if case.is_draft or case.state in CLOSED_STATES:
            raise CaseConflict(_("Only open applications can be consulted on."), code="closed")
        roles = _staff_roles_on_stage(case, actor)
        if expert.pk == actor.pk or not StaffMembership.objects.filter(user=expert).exists():
            raise ValidationError({"expert": [_("Choose a member of staff other than yourself.")]})
        if Consultation.objects.filter(
            case=case, expert=expert, state=Consultation.State.OPEN
        ).exists():
            raise CaseConflict(_("This person has already been asked."), code="already_asked")
        consultation = Consultation.objects.create(
            case=case, expert=expert, requested_by=actor, question=question
        )
        assign_perm("cases.consult_case", expert, case)
        event = trail.append_event(
            case,
            action=EventAction.CONSULTED,
            actor=actor,
            actor_role=sorted(roles)[0],
            from_state=case.state,
            from_stage=case.stage.code,
            opinion=question,
            details={"expert": expert.username},
        )
        notifications.tell_expert(case, expert, event)
    return consultation


def _end_consultation(consultation: Consultation, state: str) -> None:
    from guardian.shortcuts import remove_perm

    consultation.state = state
    consultation.answered_at = timezone.now()
    consultation.save(update_fields=["state", "answered_at", "opinion"])
    still_open = Consultation.objects.filter(
        case_id=consultation.case_id, expert=consultation.expert, state=Consultation.State.OPEN
    ).exists()
    if not still_open:
        remove_perm("cases.consult_case", consultation.expert, consultation.case)


def give_opinion(*, case: Case, expert: User, opinion: str) -> Consultation:
    """The consulted expert answers; the opinion lands in the trail and their access ends."""
    opinion = (opinion or "").strip()
    if not opinion:
        raise ValidationError({"opinion": [_("Write your opinion.")]})
    with transaction.atomic():
        case = trail.locked(case)
        consultation = (
            Consultation.objects.select_for_update()
            .filter(case=case, expert=expert, state=Consultation.State.OPEN)
            .first()
        )
        if consultation is None:
            raise PermissionDenied(_("You may not do this for this application."))
        consultation.opinion = opinion
        _end_consultation(consultation, Consultation.State.ANSWERED)
        trail.append_event(
            case,
            action=EventAction.CONSULTATION_ANSWERED,
            actor=expert,
            actor_role="expert",
            from_state=case.state,
            from_stage=case.stage.code if case.stage_id else "",
            opinion=opinion,
            details={"consultation": consultation.pk},
        )
    return consultation


def withdraw_consultation(*, consultation: Consultation, actor: User) -> Consultation:
    with transaction.atomic():
        case = trail.locked(consultation.case)
        roles = _staff_roles_on_stage(case, actor)
        consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
        if consultation.state != Consultation.State.OPEN:
            raise CaseConflict(_("This request has already ended."), code="ended")
        _end_consultation(consultation, Consultation.State.WITHDRAWN)
        trail.append_event(
            case,
            action=EventAction.CONSULTATION_WITHDRAWN,
            actor=actor,
            actor_role=sorted(roles)[0],
            from_state=case.state,
            from_stage=case.stage.code if case.stage_id else "",
            details={"expert": consultation.expert.username},
        )
    return consultation
