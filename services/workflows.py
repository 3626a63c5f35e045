"""Workflow definitions as data: validation before publishing, the standard template, copying.

The engine that moves cases (cases/workflow.py) reads published definitions only; here they are made.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, Role

from .models import (
    APPLICANT,
    Effect,
    OuterState,
    StageKind,
    WorkflowDefinition,
    WorkflowStage,
    WorkflowTransition,
)

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
    for transition in transitions:
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
    return problems


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
     OuterState.ACCEPTED, [Effect.ACCEPTANCE_NOTICE, Effect.NOTIFY_APPLICANT]),
    ("not_accept", "不予受理", "Do not accept", "intake", "closed", [Role.CASEWORKER], True,
     OuterState.NOT_ACCEPTED, [Effect.NOTIFY_APPLICANT]),
    ("request_supplement", "一次性告知补正", "Request missing documents", "intake", None,
     [Role.CASEWORKER, Role.COUNTER_CLERK], True, OuterState.SUPPLEMENT_REQUESTED,
     [Effect.REQUEST_DOCUMENTS, Effect.PAUSE_CLOCK, Effect.NOTIFY_APPLICANT]),
    ("supplement", "提交补正材料", "Send the missing documents", "intake", None, [APPLICANT], False,
     OuterState.SUBMITTED, [Effect.RESUME_CLOCK]),
    ("pass_review", "审查通过", "Pass review", "review", "decision", [Role.REVIEWER], True, "", []),
    ("return_to_intake", "退回受理", "Return to intake", "review", "intake", [Role.REVIEWER], True,
     "", []),
    ("approve", "准予许可", "Approve", "decision", "delivery", [Role.APPROVER], True,
     OuterState.APPROVED, [Effect.ISSUE_LICENCE, Effect.NOTIFY_APPLICANT]),
    ("reject", "不予许可", "Reject", "decision", "closed", [Role.APPROVER], True,
     OuterState.REJECTED, [Effect.NOTIFY_APPLICANT]),
    ("conclude", "办结送达", "Conclude and deliver", "delivery", "closed",
     [Role.CASEWORKER, Role.COUNTER_CLERK], False, OuterState.CONCLUDED, [Effect.NOTIFY_APPLICANT]),
    ("suspend", "特别程序", "Suspend (hearing, inspection, expert review)", None, None, STAFF, True,
     OuterState.SUSPENDED, [Effect.PAUSE_CLOCK, Effect.NOTIFY_APPLICANT]),
    ("resume", "恢复办理", "Resume", None, None, STAFF, True, "",
     [Effect.RESUME_CLOCK, Effect.NOTIFY_APPLICANT]),
    ("extend", "延期", "Extend the time limit", None, None, [Role.DEPARTMENT_HEAD], True, "",
     [Effect.EXTEND_DEADLINE, Effect.NOTIFY_APPLICANT]),
    ("withdraw", "撤回申请", "Withdraw", None, "closed", [APPLICANT], False, OuterState.WITHDRAWN,
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
