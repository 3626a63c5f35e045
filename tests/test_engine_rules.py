"""The engine obeys its configuration (issue 13): publishing refuses what cannot work, effects have
exactly one handler, claims follow the stage, decided cases cannot be withdrawn, a stranded case can
be repaired, a missed licence is issued by the sweep."""

import threading

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import connections

from accounts.models import Role
from cases import workflow
from cases.licences import services as licences
from cases.models import Case, Event, Licence
from cases.workflow import effects
from services.models import (
    APPLICANT,
    Effect,
    LicenceType,
    Outcome,
    OuterState,
    StageKind,
    WorkflowDefinition,
    WorkflowStage,
    WorkflowTransition,
)
from services.workflows import publish_workflow, workflow_problems

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support.clock import at

# --- Publishing refuses what cannot work ----------------------------------------------------------


def minimal(**overrides):
    """intake → decision → end, with a transition list to bend per test."""
    code = overrides.pop("code", None) or f"mini-{WorkflowDefinition.objects.count()}"
    definition = WorkflowDefinition.objects.create(code=code, name="小流程")
    stage = {}
    for order, (code, name, kind, role) in enumerate(
        [("in", "收件", StageKind.INTAKE, Role.CASEWORKER),
         ("dec", "决定", StageKind.DECISION, Role.APPROVER),
         ("end", "结束", StageKind.END, "")]
    ):  # fmt: skip
        stage[code] = WorkflowStage.objects.create(
            definition=definition, code=code, name=name, kind=kind, role=role, order=order
        )
    rows = {
        "shou": ("受", "in", "dec", [Role.CASEWORKER], Outcome.ACCEPTED, []),
        "zhun": ("准", "dec", "end", [Role.APPROVER], Outcome.APPROVED, []),
        "bo": ("驳", "dec", "end", [Role.APPROVER], Outcome.REJECTED, []),
    }
    rows.update(overrides)
    for name, row in rows.items():
        if row is None:
            continue
        label, source, target, roles, outcome, effect_list = row
        WorkflowTransition.objects.create(
            definition=definition, name=name, label=label, source=stage.get(source),
            target=stage.get(target), allowed_roles=roles, outcome=outcome, effects=effect_list,
        )  # fmt: skip
    return definition


def problems_of(**overrides):
    return workflow_problems(minimal(**overrides))


@pytest.mark.django_db
def test_the_minimal_workflow_publishes():
    assert problems_of() == []


@pytest.mark.django_db
def test_a_pause_without_a_resuming_way_out_is_refused():
    found = problems_of(ting=("暂停核查", None, None, [Role.APPROVER], Outcome.SUSPENDED, []))
    assert any("暂停核查" in p and "恢复办理" in p for p in found), found
    # With a way out (whatever it is called) it publishes.
    assert (
        problems_of(
            ting=("暂停核查", None, None, [Role.APPROVER], Outcome.SUSPENDED, []),
            hui=("接着办", None, None, [Role.APPROVER], Outcome.RESUMED, []),
        )
        == []
    )


@pytest.mark.django_db
def test_a_request_for_documents_needs_the_applicants_answer_and_its_effect():
    found = problems_of(bu=("补", "in", None, [Role.CASEWORKER], Outcome.SUPPLEMENT_REQUESTED, []))
    assert any("补" in p and "提交补正材料" in p for p in found), found
    assert any("补正告知" in p for p in found), found  # needs "open a request for documents"


@pytest.mark.django_db
def test_an_approval_that_never_concludes_is_refused():
    definition = minimal(code="never")
    delivery = WorkflowStage.objects.create(
        definition=definition, code="deliver", name="送达", kind=StageKind.DELIVERY,
        role=Role.CASEWORKER, order=5,
    )  # fmt: skip
    WorkflowTransition.objects.filter(definition=definition, name="zhun").update(target=delivery)
    # Only a "passed" move out of delivery, into the end: no conclusion anywhere.
    found = workflow_problems(definition)
    assert any("准" in p and "办结" in p for p in found), found


@pytest.mark.django_db
def test_closing_outcomes_must_end_and_others_must_not():
    found = problems_of(bo=("驳", "dec", "in", [Role.APPROVER], Outcome.REJECTED, []))
    assert [p for p in found if "驳（bo）" in p], found
    found = problems_of(guo=("过", "in", "end", [Role.CASEWORKER], Outcome.PASSED, []))
    assert [p for p in found if "过（guo）" in p], found


@pytest.mark.django_db
def test_unknown_roles_and_effects_are_named_with_the_valid_ones():
    found = problems_of(
        shou=("受", "in", "dec", ["clerk"], Outcome.ACCEPTED, ["send_fax"]),
    )
    text = " ".join(found)
    assert "clerk" in text and "caseworker" in text and "counter_clerk" in text
    assert "send_fax" in text and "notify_applicant" in text and "issue_licence" in text


@pytest.mark.django_db
def test_effects_that_contradict_the_outcome_are_refused():
    found = problems_of(
        shou=("受", "in", "dec", [Role.CASEWORKER], Outcome.ACCEPTED, [Effect.PAUSE_CLOCK]),
        zhun=("准", "dec", "end", [Role.APPROVER], Outcome.APPROVED, [Effect.RESUME_CLOCK]),
        bo=("驳", "dec", "end", [Role.APPROVER], Outcome.REJECTED, [Effect.ISSUE_LICENCE]),
    )
    assert sum("contradicts" in p or "矛盾" in p for p in found) == 3, found


@pytest.mark.django_db
def test_decisions_belong_to_decision_stages_and_withdrawal_to_the_applicant():
    found = problems_of(
        kuai=("快批", "in", "end", [Role.CASEWORKER], Outcome.APPROVED, []),
        che=("撤", None, "end", [Role.CASEWORKER], Outcome.WITHDRAWN, []),
    )
    assert any("快批" in p for p in found), found
    assert any("撤" in p and "applicant" in p for p in found), found
    assert any(
        "claim" in p
        for p in problems_of(claim=("认领", "in", None, [APPLICANT], Outcome.PASSED, []))
    )


@pytest.mark.django_db
def test_publishing_says_every_problem_at_once():
    definition = minimal(ting=("暂停", None, None, [Role.APPROVER], Outcome.SUSPENDED, []))
    with pytest.raises(ValidationError) as refused:
        publish_workflow(definition=definition)
    assert any("暂停" in message for message in refused.value.messages)
    definition.refresh_from_db()
    assert definition.status == WorkflowDefinition.Status.DRAFT


# --- Effects: one handler each, checked at start-up -----------------------------------------------


def test_every_effect_has_exactly_one_handler():
    assert effects.missing_handlers() == []
    assert not [m for m in run_checks() if m.id == "cases.E001"]


def test_the_system_check_fails_when_an_effect_has_no_handler(monkeypatch):
    monkeypatch.delitem(effects._handlers, Effect.ACCEPTANCE_NOTICE)
    errors = [m for m in run_checks() if m.id == "cases.E001"]
    assert len(errors) == 1 and "acceptance_notice" in errors[0].msg


def test_registering_an_effect_twice_is_an_error():
    with pytest.raises(ImproperlyConfigured, match="already has a handler"):

        @effects.effect_handler(Effect.ISSUE_LICENCE, phase=effects.Phase.COMMITTED)
        def another(step):  # pragma: no cover - never registered
            return None


# --- Cases in the standard workflow ---------------------------------------------------------------


@pytest.fixture
def department(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return DepartmentFactory(code="amr", name="市场监督管理局")


@pytest.fixture
def staff(department):
    return {
        role: StaffMembershipFactory(department=department, role=role, user__username=str(role)).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD,
                     Role.DEPARTMENT_ADMIN)
    }  # fmt: skip


@pytest.fixture
def service(department):
    licence_type = LicenceType.objects.create(code="food", name="食品经营许可证", issuer=department)
    return make_service(
        "AMR-R", department=department, result_type="licence", licence_type=licence_type,
        materials=[{"name": "申请书", "required": False}],
    ).service  # fmt: skip


def submitted(service):
    user = CitizenProfileFactory().user
    case, _ = workflow.create_draft(service=service, user=user, data={"shop_area": 5})
    return workflow.submit_application(case=case, user=user), user


def act(case, name, actor, **kwargs):
    return workflow.apply_transition(case=case, name=name, actor=actor, opinion="符合", **kwargs)


@pytest.mark.django_db
def test_a_claim_belongs_to_its_stage(service, staff):
    case, _ = submitted(service)
    other = StaffMembershipFactory(department=case.department, role=Role.CASEWORKER).user
    case = workflow.claim_case(case=case, user=staff[Role.CASEWORKER])
    # Another caseworker sees who holds it and may not act until they take it over.
    assert workflow.transitions_for(case, other) == []
    with pytest.raises(workflow.CaseConflict) as held:
        act(case, "accept", other)
    assert held.value.code == "claimed"
    case = act(case, "accept", staff[Role.CASEWORKER])
    # In the next stage the claim is gone: the reviewer acts without a 409.
    assert case.assignee is None
    case = act(case, "pass_review", staff[Role.REVIEWER])
    assert case.stage.code == "decision"


@pytest.mark.django_db
def test_the_department_head_acts_on_a_claimed_case_and_others_take_it_over(service, staff):
    case, _ = submitted(service)
    case = act(case, "accept", staff[Role.CASEWORKER])
    case = workflow.claim_case(case=case, user=staff[Role.REVIEWER])
    second = StaffMembershipFactory(department=case.department, role=Role.REVIEWER).user
    with pytest.raises(ValidationError):
        workflow.take_over_case(case=case, user=second, reason="")
    case = workflow.take_over_case(case=case, user=second, reason="原承办人休假")
    assert case.assignee == second
    event = Event.objects.filter(case=case).last()
    assert (event.action, event.opinion, event.details) == (
        "take_over", "原承办人休假", {"from": str(Role.REVIEWER)},
    )  # fmt: skip
    head_extends = act(case, "extend", staff[Role.DEPARTMENT_HEAD], details={"days": 2})
    assert head_extends.extended_days == 2


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_give_one_holder_and_one_event(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr-c")
    service = make_service("AMR-CC", department=department,
                           materials=[{"name": "x", "required": False}]).service  # fmt: skip
    case, _ = submitted(service)
    workers = [StaffMembershipFactory(department=department, role=Role.CASEWORKER).user
               for _ in range(4)]  # fmt: skip
    clicks = [workers[0]] * 3 + workers[1:]  # one worker double-clicks, three others race
    barrier = threading.Barrier(len(clicks))
    results = []

    def claim(user):
        try:
            barrier.wait()
            workflow.claim_case(case=case, user=user)
            results.append("ok")
        except workflow.CaseConflict as exc:
            results.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(user,)) for user in clicks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    case.refresh_from_db()
    assert Event.objects.filter(case=case, action="claim").count() == 1
    holder_clicks = 3 if case.assignee == workers[0] else 1
    assert results.count("ok") == holder_clicks
    assert results.count("claimed") == len(clicks) - holder_clicks


@pytest.mark.django_db
def test_a_decided_case_cannot_be_withdrawn(service, staff, client):
    case, applicant = submitted(service)
    for name, role in [("accept", Role.CASEWORKER), ("pass_review", Role.REVIEWER),
                       ("approve", Role.APPROVER)]:  # fmt: skip
        case = act(case, name, staff[role])
    client.force_login(applicant)
    page = client.get(f"/applications/{case.number}/")
    assert f"/applications/{case.number}/withdraw/" not in page.content.decode()
    response = client.post(
        f"/api/v1/applications/{case.number}/withdraw/",
        {"reason": "不要了"},
        content_type="application/json",
    )
    assert response.status_code == 409 and response.json()["code"] == "decided"
    case.refresh_from_db()
    assert case.state == OuterState.APPROVED


@pytest.mark.django_db
def test_approving_straight_into_the_end_decides_and_concludes(department, staff):
    definition = minimal(code="direct")
    publish_workflow(definition=definition)
    service = make_service(
        "AMR-D", department=department, workflow=definition,
        materials=[{"name": "x", "required": False}],
    ).service  # fmt: skip
    case, _ = submitted(service)
    case = act(case, "shou", staff[Role.CASEWORKER])
    case = act(case, "zhun", staff[Role.APPROVER])
    assert (case.state, case.stage.kind) == (OuterState.CONCLUDED, StageKind.END)
    assert case.decided_at is not None and case.closed_at is not None
    from cases import selectors

    assert not selectors.work_queue(staff[Role.CASEWORKER]).filter(pk=case.pk).exists()


@pytest.mark.django_db
def test_documents_not_sent_are_deemed_withdrawn_in_any_workflow(department, staff):
    definition = minimal(
        code="deemed",
        bu=("补材料", "in", None, [Role.CASEWORKER], Outcome.SUPPLEMENT_REQUESTED,
            [Effect.REQUEST_DOCUMENTS, Effect.NOTIFY_APPLICANT]),
        jiao=("交材料", "in", None, [APPLICANT], Outcome.SUPPLEMENT_ANSWERED, []),
    )  # fmt: skip
    publish_workflow(definition=definition)
    service = make_service(
        "AMR-DW", department=department, workflow=definition,
        materials=[{"name": "申请书", "required": False}],
    ).service  # fmt: skip
    with at("2026-11-02"):
        case, _ = submitted(service)
        material = case.service_version.materials.get()
        case = workflow.request_supplement(
            case=case, actor=staff[Role.CASEWORKER], materials=[material], note="缺"
        )
        assert case.paused_since is not None  # the outcome pauses, ticked or not
    with at("2026-12-31"):
        case = workflow.deem_withdrawn(case=case)
    assert (case.state, case.stage.code) == (OuterState.WITHDRAWN, "end")
    assert Event.objects.filter(case=case).last().action == "deemed_withdrawn"


@pytest.mark.django_db
def test_a_department_admin_repairs_a_stranded_case(service, staff):
    case, _ = submitted(service)
    case = act(case, "accept", staff[Role.CASEWORKER])
    case = act(case, "suspend", staff[Role.REVIEWER])
    review = case.stage
    intake = WorkflowStage.objects.get(definition=review.definition, code="intake")
    with pytest.raises(PermissionDenied):
        workflow.repair_case(case=case, actor=staff[Role.CASEWORKER], stage=intake, reason="x")
    with pytest.raises(ValidationError):
        workflow.repair_case(case=case, actor=staff[Role.DEPARTMENT_ADMIN], stage=intake, reason="")
    case = workflow.repair_case(
        case=case, actor=staff[Role.DEPARTMENT_ADMIN], stage=intake, reason="流程配置错误，移回受理"
    )
    assert (case.state, case.stage.code, case.paused_since) == (OuterState.ACCEPTED, "intake", None)
    event = Event.objects.filter(case=case).last()
    assert (event.action, event.opinion) == ("repaired", "流程配置错误，移回受理")


@pytest.mark.django_db
def test_the_sweep_issues_a_licence_that_after_commit_missed(service, staff):
    case, _ = submitted(service)
    for name, role in [("accept", Role.CASEWORKER), ("pass_review", Role.REVIEWER),
                       ("approve", Role.APPROVER)]:  # fmt: skip
        case = act(case, name, staff[role])  # on_commit never runs here: as if it had crashed
    assert not Licence.objects.filter(case=case).exists()
    assert list(licences.cases_missing_their_licence()) == [Case.objects.get(pk=case.pk)]
    assert licences.issue_missing() == 1
    assert licences.issue_missing() == 0
    assert Licence.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_the_admin_shows_outcomes_in_chinese_and_warns_of_an_empty_acting_department(client):
    from .factories import UserFactory

    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    nobody = DepartmentFactory(code="nobody", name="无人局")
    definition = minimal(code="warned")
    WorkflowStage.objects.filter(definition=definition, code="dec").update(
        department_rule="fixed", fixed_department=nobody
    )
    client.force_login(admin)
    page = client.get(f"/admin/services/workflowdefinition/{definition.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and "恢复办理" in html and "message_en" in html
    response = client.post(
        "/admin/services/workflowdefinition/",
        {"action": "validate_and_publish", "_selected_action": [definition.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "无人局" in text and "决定" in text
    definition.refresh_from_db()
    assert definition.is_published
