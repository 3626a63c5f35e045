"""The engine's checks: which transitions a case's definition allows now, and who may take them.

Every rule here reads outcomes and stage kinds, never a transition's name (DESIGN "The case
lifecycle"): an admin names transitions as they like and the engine still knows that a pause is
left only by a resuming outcome, that a decided case cannot be withdrawn, and who acts on a 即办件.
"""

from __future__ import annotations

from accounts.models import Role, StaffMembership, User
from services.models import (
    APPLICANT,
    DepartmentRule,
    Outcome,
    OuterState,
    StageKind,
    WorkflowStage,
    WorkflowTransition,
)

from ..models import CLOSED_STATES, Case, Channel

# What a paused case may do: leave the pause, or end (the applicant withdraws; intake refuses).
WHILE_SUSPENDED = {Outcome.RESUMED, Outcome.WITHDRAWN}
WHILE_DOCUMENTS_REQUESTED = {Outcome.SUPPLEMENT_ANSWERED, Outcome.WITHDRAWN, Outcome.NOT_ACCEPTED}
# 即办件: decided on the spot at intake with the decision stage's own transitions.
ON_THE_SPOT = {Outcome.APPROVED, Outcome.REJECTED}


def acting_department_id(case: Case, stage: WorkflowStage | None) -> int:
    """The department whose staff work `stage` of this case: its own, the parent, or a fixed one."""
    if stage is None or stage.department_rule == DepartmentRule.SERVICE_DEPARTMENT:
        return case.department_id
    if stage.department_rule == DepartmentRule.PARENT_DEPARTMENT:
        return case.department.parent_id or case.department_id
    return stage.fixed_department_id


def is_applicant_side(case: Case, user: User) -> bool:
    """The applicant themselves, or the proxy who applied for them (帮办代办)."""
    return user.is_authenticated and (
        case.applicant.user_id == user.pk
        or (case.filed_by_id == user.pk and case.channel != Channel.COUNTER)
        or (case.agent_id is not None and case.agent.user_id == user.pk)
    )


def roles_for(case: Case, user: User | None, stage: WorkflowStage | None = None) -> set[str]:
    """What `user` is for this case right now: 'applicant' and the staff roles they hold in the
    department that acts on the case's current stage (or on `stage`)."""
    if user is None or not user.is_authenticated:
        return set()
    roles: set[str] = set()
    if is_applicant_side(case, user):
        roles.add(APPLICANT)
    if stage is None and case.acting_department_id:
        department_id = case.acting_department_id
    else:
        department_id = acting_department_id(case, stage or case.stage)
    known = case.__dict__.get("_staff_roles")  # read by selectors.case_for_staff
    if known is not None and known[0] == user.pk:
        return roles | known[1].get(department_id, frozenset())
    roles |= set(
        StaffMembership.objects.filter(user=user, department_id=department_id).values_list(
            "role", flat=True
        )
    )
    return roles


def decides_on_the_spot(case: Case) -> bool:
    return (
        case.service_version.is_immediate
        and case.stage is not None
        and case.stage.kind == StageKind.INTAKE
        and case.state == OuterState.SUBMITTED
    )


def state_allows(case: Case, transition: WorkflowTransition) -> bool:
    """The outer lifecycle's own rules on top of the workflow's graph, by outcome."""
    outcome = transition.outcome
    state = case.state
    if state == OuterState.SUSPENDED:
        return outcome in WHILE_SUSPENDED
    if state == OuterState.SUPPLEMENT_REQUESTED:
        return outcome in WHILE_DOCUMENTS_REQUESTED
    if outcome in (Outcome.RESUMED, Outcome.SUPPLEMENT_ANSWERED):
        return False  # nothing to resume from
    if case.decided_at is not None and outcome in (
        Outcome.WITHDRAWN,
        Outcome.SUSPENDED,
        Outcome.SUPPLEMENT_REQUESTED,
        Outcome.ACCEPTED,
        Outcome.NOT_ACCEPTED,
        Outcome.EXTENDED,
    ):
        # Decided (行政许可法 §37-38): no withdrawing, pausing or extending a decision made.
        return False
    if outcome == Outcome.EXTENDED:
        return case.due_date is not None  # only an accepted case has a time limit to extend
    return True


def workflow_transitions(case: Case, definition_id: int) -> list[WorkflowTransition]:
    """Every transition of the workflow `definition_id`, with their source and target stages:
    read once for the case object (a request's page, its trail's labels and its actions all ask)."""
    known = case.__dict__.setdefault("_workflow_transitions", {})
    if definition_id not in known:
        known[definition_id] = list(
            WorkflowTransition.objects.filter(definition_id=definition_id)
            .select_related("target", "source")
            .order_by("pk")
        )
    return known[definition_id]


def available_transitions(case: Case) -> list[WorkflowTransition]:
    """The transitions the workflow allows from the case's stage and state (whoever takes them)."""
    if case.is_draft or case.state in CLOSED_STATES or case.stage is None:
        return []
    on_the_spot = decides_on_the_spot(case)
    stage_id = case.stage_id

    def leaves_here(t: WorkflowTransition) -> bool:
        return (
            t.source_id is None
            or t.source_id == stage_id
            or (on_the_spot and t.source.kind == StageKind.DECISION and t.outcome in ON_THE_SPOT)
        )

    return [
        t
        for t in workflow_transitions(case, case.stage.definition_id)
        if leaves_here(t) and state_allows(case, t)
    ]


def acting_roles(case: Case, transition: WorkflowTransition, roles: set[str]) -> set[str]:
    """Which of `roles` may take `transition` now. A transition available at every stage (suspend,
    resume ...) belongs to the actors of the current stage and the department head, not to every
    staff role it names: only actors of the current stage act."""
    allowed = roles & set(transition.allowed_roles)
    if transition.outcome in ON_THE_SPOT and decides_on_the_spot(case):
        # The intake actor decides a 即办件 at once, within the roles allowed to accept it.
        accept_roles = {
            role
            for t in workflow_transitions(case, case.stage.definition_id)
            if t.source_id == case.stage_id and t.outcome == Outcome.ACCEPTED
            for role in t.allowed_roles
        }
        return roles & (set(transition.allowed_roles) | accept_roles)
    if transition.source_id is None and case.stage is not None:
        allowed = {
            role for role in allowed if role in (APPLICANT, case.stage.role, Role.DEPARTMENT_HEAD)
        }
    return allowed


def held_by_someone_else(case: Case, user: User | None, roles: set[str]) -> bool:
    """A claimed case is worked by its holder; the department head may step in, others take it
    over first (with a reason)."""
    return (
        case.assignee_id is not None
        and user is not None
        and case.assignee_id != user.pk
        and Role.DEPARTMENT_HEAD not in roles
    )


def transitions_for(
    case: Case, user: User, *, roles: set[str] | None = None
) -> list[WorkflowTransition]:
    """What this user may do to this case now: what a page offers and the API lists as actions.
    `roles`: roles_for(case, user), when the caller has them already."""
    if roles is None:
        roles = roles_for(case, user)
    if not roles:
        return []
    blocked = held_by_someone_else(case, user, roles)
    result = []
    for transition in available_transitions(case):
        acting = acting_roles(case, transition, roles)
        if blocked:
            acting &= {APPLICANT}  # the applicant's own steps do not wait for a claim
        if acting:
            result.append(transition)
    return result


def transition_with_outcome(case: Case, user: User, outcome: str) -> WorkflowTransition | None:
    """The transition with this outcome that `user` may take now, whatever the workflow calls it
    (the counter's handover, same-day acceptance and the applicant's own pages use this)."""
    return next((t for t in transitions_for(case, user) if t.outcome == outcome), None)
