"""Who sees and works a case whose stages belong to other departments (issue 13): the owning
department, a review fixed to another department, a decision by the parent department, and an
expert consulted on one case. The same answers as tests/test_permissions.py: 200 for whoever may
see it, 404 for everyone else (as if it did not exist), 403 for someone who sees it but may not act."""

import pytest
from django.test import Client

from accounts.models import Department, Role
from cases import access, workflow
from cases.models import Case, Event
from services.models import (
    APPLICANT,
    DepartmentRule,
    Outcome,
    StageKind,
    WorkflowDefinition,
    WorkflowStage,
    WorkflowTransition,
)
from services.workflows import publish_workflow

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)

pytestmark = pytest.mark.django_db

ACTORS = ("caseworker_a", "reviewer_a", "reviewer_h", "approver_city", "reviewer_x", "expert_x")
OK, NF, DONE, FORBIDDEN = 200, 404, "done", 403

# Where the case is → what each actor gets: (read the case, take the stage's step, claim it).
# fmt: off
MATRIX = {
    # stage          caseworker_a      reviewer_a        reviewer_h        approver_city     reviewer_x    expert_x (consulted)
    "intake":   ((OK, DONE, DONE), (OK, FORBIDDEN, FORBIDDEN), (NF, NF, NF), (NF, NF, NF), (NF, NF, NF), (OK, FORBIDDEN, FORBIDDEN)),
    "health":   ((OK, FORBIDDEN, FORBIDDEN), (OK, FORBIDDEN, FORBIDDEN), (OK, DONE, DONE), (NF, NF, NF), (NF, NF, NF), (OK, FORBIDDEN, FORBIDDEN)),
    "decision": ((OK, FORBIDDEN, FORBIDDEN), (OK, FORBIDDEN, FORBIDDEN), (NF, NF, NF), (OK, DONE, DONE), (NF, NF, NF), (OK, FORBIDDEN, FORBIDDEN)),
}
# fmt: on
STEP = {"intake": "shouli", "health": "huishen", "decision": "pizhun"}


@pytest.fixture
def world(settings, tmp_path):
    return build_world(settings, tmp_path)


def build_world(settings, tmp_path):
    """A city, a bureau owning a service whose review is fixed to the health commission and whose
    decision is the parent's (the city's), another bureau, and one member of staff per role."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    city = DepartmentFactory(
        code="city-x", name="某市人民政府", kind=Department.Kind.CITY, parent=None
    )
    owner = DepartmentFactory(code="bureau-a", name="甲局", parent=city)
    health = DepartmentFactory(code="health-h", name="卫健委", parent=city)
    other = DepartmentFactory(code="other-x", name="丙局", parent=city)
    people = {
        "caseworker_a": (owner, Role.CASEWORKER),
        "reviewer_a": (owner, Role.REVIEWER),
        "reviewer_h": (health, Role.REVIEWER),
        "approver_city": (city, Role.APPROVER),
        "reviewer_x": (other, Role.REVIEWER),
        "expert_x": (other, Role.REVIEWER),
    }
    users = {
        actor: StaffMembershipFactory(user__username=actor, department=dept, role=role).user
        for actor, (dept, role) in people.items()
    }
    definition = WorkflowDefinition.objects.create(code="cross", name="跨部门", department=owner)
    stages = {}
    for order, (code, kind, role, rule, fixed) in enumerate(
        [("intake", StageKind.INTAKE, Role.CASEWORKER, DepartmentRule.SERVICE_DEPARTMENT, None),
         ("health", StageKind.REVIEW, Role.REVIEWER, DepartmentRule.FIXED, health),
         ("decision", StageKind.DECISION, Role.APPROVER, DepartmentRule.PARENT_DEPARTMENT, None),
         ("end", StageKind.END, "", DepartmentRule.SERVICE_DEPARTMENT, None)]
    ):  # fmt: skip
        stages[code] = WorkflowStage.objects.create(
            definition=definition, code=code, name=code, kind=kind, role=role, order=order,
            department_rule=rule, fixed_department=fixed,
        )  # fmt: skip
    for name, source, target, roles, outcome in [
        ("shouli", "intake", "health", [Role.CASEWORKER], Outcome.ACCEPTED),
        ("huishen", "health", "decision", [Role.REVIEWER], Outcome.PASSED),
        ("pizhun", "decision", "end", [Role.APPROVER], Outcome.APPROVED),
        ("bohui", "decision", "end", [Role.APPROVER], Outcome.REJECTED),
        ("chehui", None, "end", [APPLICANT], Outcome.WITHDRAWN),
    ]:
        WorkflowTransition.objects.create(
            definition=definition, name=name, label=name, source=stages[source] if source else None,
            target=stages[target], allowed_roles=[str(r) for r in roles], outcome=outcome,
        )  # fmt: skip
    publish_workflow(definition=definition)
    service = make_service(
        "CROSS-1", department=owner, workflow=definition,
        materials=[{"name": "申请书", "required": False}],
    ).service  # fmt: skip
    return users, service


def case_at(world, stage: str) -> Case:
    users, service = world
    applicant = CitizenProfileFactory().user
    case, _ = workflow.create_draft(service=service, user=applicant, data={"shop_area": 3})
    case = workflow.submit_application(case=case, user=applicant)
    path = {"intake": [], "health": ["caseworker_a"], "decision": ["caseworker_a", "reviewer_h"]}
    for actor in path[stage]:
        step = workflow.transitions_for(case, users[actor])[0].name
        case = workflow.apply_transition(case=case, name=step, actor=users[actor])
    workflow.consult(case=case, actor=users["caseworker_a"] if stage == "intake" else
                     users["reviewer_h"] if stage == "health" else users["approver_city"],
                     expert=users["expert_x"], question="请提出意见")  # fmt: skip
    return case


def api(users, actor) -> Client:
    client = Client()
    client.force_login(users[actor])
    return client


def _params():
    for stage, row in MATRIX.items():
        for actor, expected in zip(ACTORS, row, strict=True):
            yield pytest.param(stage, actor, expected, id=f"{stage} | {actor}")


def outcome_of(response) -> object:
    if response.status_code == 200:
        return DONE
    return response.status_code


@pytest.mark.parametrize(("stage", "actor", "expected"), list(_params()))
def test_stage_departments(world, stage, actor, expected):
    users, _service = world
    read, step, claim = expected
    case = case_at(world, stage)
    client = api(users, actor)
    assert client.get(f"/api/v1/work/cases/{case.number}/").status_code == read
    assert client.get(f"/work/{case.number}/").status_code == read
    queue = client.get("/api/v1/work/queue/").json()["results"]
    assert (case.number in {row["number"] for row in queue}) == (read == OK)
    before = Event.objects.filter(case=case).count()
    claimed = client.post(f"/api/v1/work/cases/{case.number}/claim/", {})
    assert outcome_of(claimed) == claim
    if claim == DONE:  # give it back, so the step below is judged on its own
        client.post(f"/api/v1/work/cases/{case.number}/claim/", {"release": True})
    acted = client.post(
        f"/api/v1/work/cases/{case.number}/transition/",
        {"transition": STEP[stage], "opinion": "同意"},
        content_type="application/json",
    )
    assert outcome_of(acted) == step
    if step != DONE and claim != DONE:
        assert Event.objects.filter(case=case).count() == before  # refused: nothing written


def test_the_consulted_expert_sees_one_case_until_the_opinion_is_given(world):
    users, _service = world
    case = case_at(world, "health")
    other = case_at(world, "health")
    expert = users["expert_x"]
    # Only the cases they were asked about; the other expert's department sees nothing.
    assert set(access.cases_visible_to_staff(expert)) == {case, other}
    client = api(users, "expert_x")
    response = client.post(f"/work/{case.number}/opinion/", {"opinion": "符合卫生要求"})
    assert response.status_code == 302
    assert client.get(f"/api/v1/work/cases/{case.number}/").status_code == 404
    assert client.get(f"/api/v1/work/cases/{other.number}/").status_code == 200
    event = Event.objects.filter(case=case).last()
    assert (event.action, event.opinion, event.actor) == (
        "consultation_answered", "符合卫生要求", expert,
    )  # fmt: skip
    # The opinion shows on the trail of those who work the case.
    trail = api(users, "reviewer_h").get(f"/api/v1/work/cases/{case.number}/").json()["timeline"]
    assert "符合卫生要求" in [entry["opinion"] for entry in trail]
    # And is never offered twice.
    assert (
        client.post(f"/api/v1/work/cases/{other.number}/opinion/", {"opinion": "同意"}).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/work/cases/{other.number}/opinion/", {"opinion": "同意"}).status_code
        == 404
    )


def test_the_sweep_and_messages_go_to_the_acting_department(world):
    import datetime as dt

    from cases import deadlines
    from cases.models import Notification

    from .support.clock import at

    users, _service = world
    health = users["reviewer_h"].memberships.get().department
    StaffMembershipFactory(user__username="head_h", department=health, role=Role.DEPARTMENT_HEAD)
    StaffMembershipFactory(
        user__username="head_a", department=users["caseworker_a"].memberships.get().department,
        role=Role.DEPARTMENT_HEAD,
    )  # fmt: skip
    with at("2026-11-02"):
        case = case_at(world, "health")
    told = set(
        Notification.objects.filter(case=case, event="new_case").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"caseworker_a", "reviewer_h"}  # intake at filing; the health review after

    def warned(kind):
        """Who the sweep's digests told of the case crossing `kind`."""
        return {
            row.recipient.username
            for row in Notification.objects.filter(event="deadline_digest").select_related(
                "recipient"
            )
            for listed in row.context["cases"]
            if listed["number"] == case.number and listed["kind"] == kind
        }

    assert case.due_date == dt.date(2026, 11, 16)
    with at("2026-11-13"):
        deadlines.sweep()
    assert warned("due_soon") == {"reviewer_h"}
    with at("2026-11-18"):
        deadlines.sweep()
    assert warned("overdue") == {"head_h"}  # the head of the department acting on it
