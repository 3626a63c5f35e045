"""Workflow definitions as data: validation before publishing, the standard template, copying.

The engine that moves cases (the cases/workflow/ package) reads published definitions only; here they are made.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, Role, StaffMembership

from .models import (
    ACTOR_CHOICES,
    APPLICANT,
    CLOSING_OUTCOMES,
    PAUSING_OUTCOMES,
    RESUMING_OUTCOMES,
    DepartmentRule,
    Effect,
    Outcome,
    StageKind,
    WorkflowDefinition,
    WorkflowStage,
    WorkflowTransition,
    effect_list,
    role_list,
)

# Names the engine writes in the trail for its own steps; a transition may not take one.
RESERVED_NAMES = {
    "create", "submit", "claim", "release", "take_over", "deemed_accepted", "deemed_withdrawn",
    "repaired", "licence_revoked", "consulted", "consultation_answered", "consultation_withdrawn",
    "rated", "rating_answered",
}  # fmt: skip

# Which effects belong to which outcomes: anything else contradicts the outcome.
EFFECT_OUTCOMES = {
    Effect.PAUSE_CLOCK: set(PAUSING_OUTCOMES),
    Effect.RESUME_CLOCK: set(RESUMING_OUTCOMES),
    Effect.EXTEND_DEADLINE: {Outcome.EXTENDED},
    Effect.REQUEST_DOCUMENTS: {Outcome.SUPPLEMENT_REQUESTED},
    Effect.ISSUE_LICENCE: {Outcome.APPROVED},
    Effect.ACCEPTANCE_NOTICE: {Outcome.ACCEPTED},
}
# Outcomes that need an effect to do what they say.
REQUIRED_EFFECTS = {
    Outcome.EXTENDED: Effect.EXTEND_DEADLINE,
    Outcome.SUPPLEMENT_REQUESTED: Effect.REQUEST_DOCUMENTS,
}
# Where an outcome may be taken from: the law's steps belong to their stage kinds.
SOURCE_KINDS = {
    Outcome.ACCEPTED: {StageKind.INTAKE},
    Outcome.NOT_ACCEPTED: {StageKind.INTAKE},
    Outcome.SUPPLEMENT_REQUESTED: {StageKind.INTAKE},
    Outcome.APPROVED: {StageKind.DECISION},
    Outcome.REJECTED: {StageKind.DECISION},
}

STANDARD_TEMPLATE_CODE = "standard"


def workflow_problems(definition: WorkflowDefinition) -> list[str]:
    """Everything that stops a definition from being published, in words an admin can act on.

    Rules: one intake stage and at least one end stage; every stage reachable from intake; from every
    stage staff can bring the case to an end stage (no dead ends, no closed loops; the
    applicant's withdrawal does not count); stages other than end name the
    role that acts; transitions name who may take them; shares of the time limit add up to 100 or less.
    """
    stages = list(definition.stages.all())
    transitions = list(definition.transitions.select_related("source", "target"))
    problems: list[str] = []
    intake = [s for s in stages if s.kind == StageKind.INTAKE]
    ends = {s.pk for s in stages if s.kind == StageKind.END}
    if len(intake) != 1:
        problems.append(
            _("A workflow needs exactly one intake stage (it has %(n)d).") % {"n": len(intake)}
        )
    if not ends:
        problems.append(_("A workflow needs at least one end stage."))
    for stage in stages:
        if stage.kind != StageKind.END and not stage.role:
            problems.append(
                _('Stage "%(stage)s" does not say which role acts on it.') % {"stage": stage.name}
            )
    valid_roles = {value for value, _label in ACTOR_CHOICES}
    for stage in stages:
        if stage.role and stage.role not in valid_roles:
            problems.append(
                _('Stage "%(stage)s" names an unknown role "%(role)s". Valid roles: %(valid)s.')
                % {"stage": stage.name, "role": stage.role, "valid": role_list()}
            )
    for transition in transitions:
        problems += _transition_problems(transition, valid_roles)
        if not transition.allowed_roles:
            problems.append(
                _('Transition "%(name)s" does not say who may take it.') % {"name": transition.name}
            )
        if transition.source_id in ends:
            problems.append(
                _('Transition "%(name)s" leaves an end stage; a concluded case stays concluded.')
                % {"name": transition.name}
            )
    if sum(s.time_share for s in stages) > 100:
        problems.append(_("The stages' shares of the time limit add up to more than 100%."))
    if len(intake) != 1 or not ends:
        return problems

    open_stages = [s.pk for s in stages if s.pk not in ends]
    edges: dict[int, set[int]] = defaultdict(set)
    staff_edges: dict[int, set[int]] = defaultdict(set)
    for transition in transitions:
        if transition.target_id is None:
            continue  # stays where it is
        sources = [transition.source_id] if transition.source_id else open_stages
        by_staff = any(role != APPLICANT for role in transition.allowed_roles or [])
        for source in sources:
            edges[source].add(transition.target_id)
            if by_staff:
                staff_edges[source].add(transition.target_id)

    reachable = _walk(intake[0].pk, edges)
    for stage in stages:
        if stage.pk not in reachable:
            problems.append(
                _('Stage "%(stage)s" cannot be reached from intake.') % {"stage": stage.name}
            )
    # Every stage must be able to end by staff action: the applicant's withdrawal does not count.
    reverse: dict[int, set[int]] = defaultdict(set)
    for source, targets in staff_edges.items():
        for target in targets:
            reverse[target].add(source)
    can_finish: set[int] = set()
    for end in ends:
        can_finish |= _walk(end, reverse)
    for stage in stages:
        if stage.pk not in can_finish:
            problems.append(
                _('From stage "%(stage)s" no path leads to an end stage.') % {"stage": stage.name}
            )
    problems += _pause_problems(transitions, open_stages, {s.pk: s for s in stages})
    problems += _decision_problems(transitions, ends, staff_edges)
    return problems


def _label(transition: WorkflowTransition) -> str:
    return f"{transition.label}（{transition.name}）" if transition.label else transition.name


def _transition_problems(transition: WorkflowTransition, valid_roles: set[str]) -> list[str]:
    """One transition on its own: known words, and an outcome its stages and effects agree with."""
    problems = []
    name = _label(transition)
    roles = transition.allowed_roles if isinstance(transition.allowed_roles, list) else []
    effects = transition.effects if isinstance(transition.effects, list) else []
    if unknown := sorted(set(map(str, roles)) - valid_roles):
        problems.append(
            _('Transition "%(name)s" names unknown roles: %(roles)s. Valid roles: %(valid)s.')
            % {"name": name, "roles": ", ".join(unknown), "valid": role_list()}
        )
    if unknown := sorted(set(map(str, effects)) - set(Effect.values)):
        problems.append(
            _('Transition "%(name)s" names unknown effects: %(effects)s. Valid effects: %(valid)s.')
            % {"name": name, "effects": ", ".join(unknown), "valid": effect_list()}
        )
    if transition.name in RESERVED_NAMES:
        problems.append(
            _(
                'Transition "%(name)s" uses a name the engine keeps for its own steps; choose another.'
            )
            % {"name": name}
        )
    outcome = transition.outcome
    if outcome not in Outcome.values:
        problems.append(
            _('Transition "%(name)s" has no outcome; choose one of: %(valid)s.')
            % {"name": name, "valid": "; ".join(f"{v} ({label})" for v, label in Outcome.choices)}
        )
        return problems
    outcome_label = Outcome(outcome).label
    target = transition.target
    if outcome in CLOSING_OUTCOMES and (target is None or target.kind != StageKind.END):
        problems.append(
            _('Transition "%(name)s" (%(outcome)s) closes the application: it must lead to an end '
              "stage.") % {"name": name, "outcome": outcome_label}
        )  # fmt: skip
    if (
        outcome not in CLOSING_OUTCOMES
        and outcome != Outcome.APPROVED
        and target is not None
        and target.kind == StageKind.END
    ):
        problems.append(
            _('Transition "%(name)s" (%(outcome)s) leads to an end stage but does not close the '
              "application; choose a concluding outcome or another stage.")
            % {"name": name, "outcome": outcome_label}
        )  # fmt: skip
    kinds = SOURCE_KINDS.get(outcome)
    if kinds and (transition.source is None or transition.source.kind not in kinds):
        problems.append(
            _('Transition "%(name)s" (%(outcome)s) must start from a stage of kind %(kinds)s.')
            % {
                "name": name,
                "outcome": outcome_label,
                "kinds": "、".join(str(StageKind(k).label) for k in sorted(kinds)),
            }
        )
    if outcome in (Outcome.WITHDRAWN, Outcome.SUPPLEMENT_ANSWERED) and APPLICANT not in roles:
        problems.append(
            _('Transition "%(name)s" (%(outcome)s) is the applicant\'s step: allow "applicant".')
            % {"name": name, "outcome": outcome_label}
        )
    for effect in effects:
        allowed = EFFECT_OUTCOMES.get(effect)
        if allowed is not None and outcome not in allowed:
            problems.append(
                _('Transition "%(name)s" (%(outcome)s) has the effect "%(effect)s", which '
                  "contradicts its outcome (it belongs to: %(outcomes)s).")
                % {"name": name, "outcome": outcome_label, "effect": Effect(effect).label,
                   "outcomes": "、".join(str(Outcome(o).label) for o in sorted(allowed))}
            )  # fmt: skip
    required = REQUIRED_EFFECTS.get(outcome)
    if required and required not in effects:
        problems.append(
            _('Transition "%(name)s" (%(outcome)s) needs the effect "%(effect)s".')
            % {"name": name, "outcome": outcome_label, "effect": Effect(required).label}
        )
    return problems


def _pause_problems(transitions, open_stages: list[int], stages: dict) -> list[str]:
    """Every pause has a way out: from the stage a paused case is in, a resuming transition
    (行政许可法 §45: staff resume a special procedure; the applicant answers a request for documents)."""
    problems = []
    for pause in transitions:
        if pause.outcome not in PAUSING_OUTCOMES:
            continue
        wanted = (
            Outcome.RESUMED if pause.outcome == Outcome.SUSPENDED else Outcome.SUPPLEMENT_ANSWERED
        )
        sources = [pause.source_id] if pause.source_id else open_stages
        paused_in = {pause.target_id or source for source in sources}
        for stage_id in sorted(paused_in):
            exits = [
                t for t in transitions if t.outcome == wanted and t.source_id in (None, stage_id)
            ]
            if not exits:
                problems.append(
                    _('Transition "%(name)s" (%(outcome)s) pauses the application in stage '
                      '"%(stage)s", but no transition with the outcome "%(wanted)s" leads out of '
                      "that pause there.")
                    % {"name": _label(pause), "outcome": Outcome(pause.outcome).label,
                       "stage": stages[stage_id].name, "wanted": Outcome(wanted).label}
                )  # fmt: skip
    return problems


def _decision_problems(transitions, ends: set[int], staff_edges) -> list[str]:
    """An approval either ends in an end stage (and so concludes the case) or leads to a stage from
    which staff conclude it."""
    concluding = {t.source_id for t in transitions if t.outcome == Outcome.CONCLUDED}
    problems = []
    if None in concluding:
        return problems  # a conclusion possible from every stage
    for approval in transitions:
        if approval.outcome != Outcome.APPROVED or approval.target_id in ends:
            continue
        start = approval.target_id or approval.source_id
        if start is None or not (_walk(start, staff_edges) & concluding):
            problems.append(
                _('Transition "%(name)s" approves, but from where it leads no transition with the '
                  'outcome "%(concluded)s" concludes the application.')
                % {"name": _label(approval), "concluded": Outcome.CONCLUDED.label}
            )  # fmt: skip
    return problems


def workflow_warnings(definition: WorkflowDefinition, department=None) -> list[str]:
    """What does not stop publishing but will stall cases: a stage whose acting department has
    nobody holding the acting role. `department`: the service's (for own and parent rules)."""
    department = department or definition.department
    warnings = []
    for stage in definition.stages.select_related("fixed_department"):
        if stage.kind == StageKind.END or not stage.role:
            continue
        if stage.department_rule == DepartmentRule.FIXED:
            acting = stage.fixed_department
        elif department is None:
            continue  # a template: the department is known only when a service uses it
        elif stage.department_rule == DepartmentRule.PARENT_DEPARTMENT:
            acting = department.parent or department
        else:
            acting = department
        if not StaffMembership.objects.filter(department=acting, role=stage.role).exists():
            warnings.append(
                _('Stage "%(stage)s": nobody in %(department)s holds the role "%(role)s"; its '
                  "cases would wait for no one.")
                % {"stage": stage.name, "department": acting.name,
                   "role": stage.get_role_display()}
            )  # fmt: skip
    return warnings


def _walk(start: int, edges: dict[int, set[int]]) -> set[int]:
    seen = {start}
    todo = [start]
    while todo:
        for following in edges.get(todo.pop(), ()):
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


def validate_workflow(definition: WorkflowDefinition) -> None:
    problems = workflow_problems(definition)
    if problems:
        raise ValidationError(problems, code="invalid_workflow")


@transaction.atomic
def publish_workflow(*, definition: WorkflowDefinition) -> WorkflowDefinition:
    """Freeze a definition after checking it; published definitions never change again."""
    definition = WorkflowDefinition.objects.select_for_update().get(pk=definition.pk)
    if definition.is_published:
        return definition
    validate_workflow(definition)
    definition.status = WorkflowDefinition.Status.PUBLISHED
    definition.published_at = timezone.now()
    definition.save(update_fields=["status", "published_at"])
    return definition


@transaction.atomic
def copy_workflow(
    *,
    definition: WorkflowDefinition,
    department: Department | None,
    code: str | None = None,
    name: str | None = None,
) -> WorkflowDefinition:
    """A new draft with the same stages and transitions: how admins adapt the template or make a
    new version of a published workflow. Same code → next version number; a new code → version 1."""
    code = code or definition.code
    next_version = (
        WorkflowDefinition.objects.filter(code=code).aggregate(m=Max("version"))["m"] or 0
    ) + 1
    copy = WorkflowDefinition.objects.create(
        code=code,
        version=next_version,
        name=name or definition.name,
        name_en=definition.name_en,
        department=department,
        is_template=False,
        copied_from=definition,
    )
    stage_map: dict[int, WorkflowStage] = {}
    for stage in definition.stages.all():
        old_pk = stage.pk
        stage.pk = None
        stage.definition = copy
        stage.save()
        stage_map[old_pk] = stage
    for transition in definition.transitions.all():
        transition.pk = None
        transition.definition = copy
        transition.source = stage_map.get(transition.source_id)
        transition.target = stage_map.get(transition.target_id)
        transition.save()
    return copy


# --- The standard template (受理 → 审查 → 决定 → 办结) -------------------------------------------------

STANDARD_STAGES = [
    # code, name, English, kind, role, share of the time limit
    ("intake", "受理", "Intake", StageKind.INTAKE, Role.CASEWORKER, 20),
    ("review", "审查", "Review", StageKind.REVIEW, Role.REVIEWER, 40),
    ("decision", "决定", "Decision", StageKind.DECISION, Role.APPROVER, 30),
    ("delivery", "送达", "Delivery of the result", StageKind.DELIVERY, Role.CASEWORKER, 10),
    ("closed", "办结", "Closed", StageKind.END, "", 0),
]
STAFF = [Role.CASEWORKER, Role.REVIEWER, Role.APPROVER]
STANDARD_TRANSITIONS = [
    # name, label, English label, source, target, roles, opinion required, outcome, effects
    ("accept", "受理", "Accept", "intake", "review", [Role.CASEWORKER, Role.COUNTER_CLERK], False,
     Outcome.ACCEPTED, [Effect.ACCEPTANCE_NOTICE, Effect.NOTIFY_APPLICANT]),
    ("not_accept", "不予受理", "Do not accept", "intake", "closed", [Role.CASEWORKER], True,
     Outcome.NOT_ACCEPTED, [Effect.NOTIFY_APPLICANT]),
    ("request_supplement", "一次性告知补正", "Request missing documents", "intake", None,
     [Role.CASEWORKER, Role.COUNTER_CLERK], True, Outcome.SUPPLEMENT_REQUESTED,
     [Effect.REQUEST_DOCUMENTS, Effect.PAUSE_CLOCK, Effect.NOTIFY_APPLICANT]),
    ("supplement", "提交补正材料", "Send the missing documents", "intake", None, [APPLICANT], False,
     Outcome.SUPPLEMENT_ANSWERED, [Effect.RESUME_CLOCK]),
    ("pass_review", "审查通过", "Pass review", "review", "decision", [Role.REVIEWER], True, Outcome.PASSED, []),
    ("return_to_intake", "退回受理", "Return to intake", "review", "intake", [Role.REVIEWER], True,
     Outcome.RETURNED, []),
    ("approve", "准予许可", "Approve", "decision", "delivery", [Role.APPROVER], True,
     Outcome.APPROVED, [Effect.ISSUE_LICENCE, Effect.NOTIFY_APPLICANT]),
    ("reject", "不予许可", "Reject", "decision", "closed", [Role.APPROVER], True,
     Outcome.REJECTED, [Effect.NOTIFY_APPLICANT]),
    ("conclude", "办结送达", "Conclude and deliver", "delivery", "closed",
     [Role.CASEWORKER, Role.COUNTER_CLERK], False, Outcome.CONCLUDED, [Effect.NOTIFY_APPLICANT]),
    ("suspend", "特别程序", "Suspend (hearing, inspection, expert review)", None, None, STAFF, True,
     Outcome.SUSPENDED, [Effect.PAUSE_CLOCK, Effect.NOTIFY_APPLICANT]),
    ("resume", "恢复办理", "Resume", None, None, STAFF, True, Outcome.RESUMED,
     [Effect.RESUME_CLOCK, Effect.NOTIFY_APPLICANT]),
    ("extend", "延期", "Extend the time limit", None, None, [Role.DEPARTMENT_HEAD], True, Outcome.EXTENDED,
     [Effect.EXTEND_DEADLINE, Effect.NOTIFY_APPLICANT]),
    ("withdraw", "撤回申请", "Withdraw", None, "closed", [APPLICANT], False, Outcome.WITHDRAWN,
     [Effect.NOTIFY_APPLICANT]),
]  # fmt: skip


@transaction.atomic
def ensure_standard_template() -> WorkflowDefinition:
    """The published standard template that admins copy (idempotent)."""
    existing = WorkflowDefinition.objects.filter(
        code=STANDARD_TEMPLATE_CODE, is_template=True, status=WorkflowDefinition.Status.PUBLISHED
    ).first()
    if existing:
        return existing
    definition = WorkflowDefinition.objects.create(
        code=STANDARD_TEMPLATE_CODE,
        version=(
            WorkflowDefinition.objects.filter(code=STANDARD_TEMPLATE_CODE).aggregate(
                m=Max("version")
            )["m"]
            or 0
        )
        + 1,
        name="标准审批流程（受理—审查—决定—办结）",
        name_en="Standard procedure (intake, review, decision, conclusion)",
        is_template=True,
    )
    stages = {}
    for order, (code, name, name_en, kind, role, share) in enumerate(STANDARD_STAGES):
        stages[code] = WorkflowStage.objects.create(
            definition=definition,
            code=code,
            name=name,
            name_en=name_en,
            kind=kind,
            role=role,
            time_share=share,
            order=order,
        )
    for order, (
        name,
        label,
        label_en,
        source,
        target,
        roles,
        opinion,
        outcome,
        effects,
    ) in enumerate(STANDARD_TRANSITIONS):
        WorkflowTransition.objects.create(
            definition=definition,
            name=name,
            label=label,
            label_en=label_en,
            source=stages.get(source),
            target=stages.get(target),
            allowed_roles=[str(r) for r in roles],
            opinion_required=opinion,
            outcome=outcome,
            effects=[str(e) for e in effects],
            order=order,
        )
    return publish_workflow(definition=definition)


# --- Editing a draft definition (the designer's workflow editor) -----------------------------------


def _editable(definition: WorkflowDefinition) -> WorkflowDefinition:
    definition = WorkflowDefinition.objects.select_for_update().get(pk=definition.pk)
    if definition.is_published:
        raise ValidationError(
            _("A published workflow cannot be changed; make an editable copy first."),
            code="published",
        )
    return definition


@transaction.atomic
def save_stage(
    *, definition: WorkflowDefinition, fields: dict, stage: WorkflowStage | None = None
) -> WorkflowStage:
    """Add a stage to a draft definition, or change one; codes are unique within it."""
    definition = _editable(definition)
    stage = stage or WorkflowStage(
        definition=definition,
        order=(definition.stages.aggregate(m=Max("order"))["m"] or 0) + 1,
    )
    for name, value in fields.items():
        setattr(stage, name, value)
    clash = definition.stages.filter(code=stage.code).exclude(pk=stage.pk).exists()
    if clash:
        raise ValidationError({"code": [_("Another stage of this workflow has this code.")]})
    stage.full_clean()
    stage.save()
    return stage


@transaction.atomic
def remove_stage(*, definition: WorkflowDefinition, stage: WorkflowStage) -> None:
    """Remove a stage and the transitions that lead to or from it."""
    _editable(definition)
    WorkflowTransition.objects.filter(definition=definition).filter(
        Q(source=stage) | Q(target=stage)
    ).delete()
    stage.delete()


@transaction.atomic
def save_transition(
    *,
    definition: WorkflowDefinition,
    fields: dict,
    transition: WorkflowTransition | None = None,
) -> WorkflowTransition:
    """Add a transition to a draft definition, or change one (validated as admin validates it)."""
    definition = _editable(definition)
    transition = transition or WorkflowTransition(
        definition=definition,
        order=(definition.transitions.aggregate(m=Max("order"))["m"] or 0) + 1,
    )
    for name, value in fields.items():
        setattr(transition, name, value)
    clash = (
        definition.transitions.filter(name=transition.name, source=transition.source)
        .exclude(pk=transition.pk)
        .exists()
    )
    if clash:
        raise ValidationError({"name": [_("Another transition from this stage has this name.")]})
    transition.full_clean()
    transition.save()
    return transition


@transaction.atomic
def remove_transition(*, definition: WorkflowDefinition, transition: WorkflowTransition) -> None:
    _editable(definition)
    transition.delete()
