"""A workflow an admin builds (issue 13): every transition renamed, a field inspection with its own
pause and resume, a review stage fixed to another department, an approval that issues a licence and
an acceptance notice. Built only through what the admin uses (model validation, then publishing),
run end to end through the engine."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import proxies
from accounts.models import Role
from cases import access, workflow
from cases.licences import services as licences
from cases.models import Event, Licence, Notification, OfficialDocument
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
from services.workflows import publish_workflow, workflow_problems, workflow_warnings

from . import files
from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support.clock import at

E = Effect


def admin_saves(obj):
    """What the admin's forms do: validate the row, then save it."""
    obj.full_clean()
    obj.save()
    return obj


def build_inspection_workflow(owner, reviewing, *, with_resume=True, code="inspection"):
    definition = admin_saves(
        WorkflowDefinition(code=code, name="现场核查许可流程", department=owner)
    )
    stages = {}
    for order, (key, name, kind, role, rule, fixed) in enumerate(
        [
            ("shouli", "窗口受理", StageKind.INTAKE, Role.CASEWORKER, "service", None),
            ("hecha", "现场核查", StageKind.REVIEW, Role.REVIEWER, "service", None),
            ("huiqian", "卫生部门会审", StageKind.REVIEW, Role.REVIEWER, "fixed", reviewing),
            ("jueding", "审批决定", StageKind.DECISION, Role.APPROVER, "service", None),
            ("songda", "证照送达", StageKind.DELIVERY, Role.CASEWORKER, "service", None),
            ("wanjie", "完结", StageKind.END, "", "service", None),
        ]
    ):
        stages[key] = admin_saves(
            WorkflowStage(
                definition=definition, code=key, name=name, kind=kind, role=role, order=order,
                department_rule=rule, fixed_department=fixed,
            )
        )  # fmt: skip
    rows = [
        ("jieshou", "收件受理", "shouli", "hecha", [Role.CASEWORKER], Outcome.ACCEPTED,
         [E.ACCEPTANCE_NOTICE, E.NOTIFY_APPLICANT]),
        ("tuijian", "不予受理", "shouli", "wanjie", [Role.CASEWORKER], Outcome.NOT_ACCEPTED,
         [E.NOTIFY_APPLICANT]),
        ("buqi", "告知补齐材料", "shouli", None, [Role.CASEWORKER], Outcome.SUPPLEMENT_REQUESTED,
         [E.REQUEST_DOCUMENTS, E.PAUSE_CLOCK, E.NOTIFY_APPLICANT]),
        ("jiaoqi", "补齐材料", "shouli", None, [APPLICANT], Outcome.SUPPLEMENT_ANSWERED,
         [E.RESUME_CLOCK, E.NOTIFY_APPLICANT]),
        ("qu_xianchang", "赴现场核查", "hecha", None, [Role.REVIEWER], Outcome.SUSPENDED,
         [E.PAUSE_CLOCK, E.NOTIFY_APPLICANT]),
        ("hecha_jieshu", "核查结束", "hecha", None, [Role.REVIEWER], Outcome.RESUMED,
         [E.RESUME_CLOCK, E.NOTIFY_APPLICANT]),
        ("songshen", "送卫生部门会审", "hecha", "huiqian", [Role.REVIEWER], Outcome.PASSED,
         [E.NOTIFY_APPLICANT]),
        ("huishen_tongguo", "会审通过", "huiqian", "jueding", [Role.REVIEWER], Outcome.PASSED, []),
        ("dahui", "退回核查", "huiqian", "hecha", [Role.REVIEWER], Outcome.RETURNED, []),
        ("tongyi", "同意发证", "jueding", "songda", [Role.APPROVER], Outcome.APPROVED,
         [E.ISSUE_LICENCE, E.NOTIFY_APPLICANT]),
        ("butongyi", "不同意", "jueding", "wanjie", [Role.APPROVER], Outcome.REJECTED,
         [E.NOTIFY_APPLICANT]),
        ("fazheng", "发证办结", "songda", "wanjie", [Role.CASEWORKER], Outcome.CONCLUDED,
         [E.NOTIFY_APPLICANT]),
        ("chexiao", "撤销准予重新决定", "songda", "jueding", [Role.APPROVER], Outcome.RETURNED,
         [E.NOTIFY_APPLICANT]),
        ("quxiao", "我要撤回", None, "wanjie", [APPLICANT], Outcome.WITHDRAWN,
         [E.NOTIFY_APPLICANT]),
        ("yanchang", "延长期限", None, None, [Role.DEPARTMENT_HEAD], Outcome.EXTENDED,
         [E.EXTEND_DEADLINE, E.NOTIFY_APPLICANT]),
    ]  # fmt: skip
    if not with_resume:
        rows = [row for row in rows if row[0] != "hecha_jieshu"]
    for order, (name, label, source, target, roles, outcome, effects) in enumerate(rows):
        admin_saves(
            WorkflowTransition(
                definition=definition, name=name, label=label, order=order,
                source=stages.get(source), target=stages.get(target),
                allowed_roles=[str(r) for r in roles], outcome=outcome,
                effects=[str(e) for e in effects], opinion_required=False,
                message="【自定义】您的申请 {{ number }} 已送卫生部门会审。" if name == "songshen" else "",
            )
        )  # fmt: skip
    return definition


@pytest.fixture
def setting(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    owner = DepartmentFactory(code="amr", name="市场监督管理局")
    health = DepartmentFactory(code="health", name="卫生健康委员会")
    people = {
        role: StaffMembershipFactory(department=owner, role=role, user__username=f"amr-{role}").user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD)
    }
    people["health-reviewer"] = StaffMembershipFactory(
        department=health, role=Role.REVIEWER, user__username="health-reviewer"
    ).user
    definition = publish_workflow(definition=build_inspection_workflow(owner, health))
    licence_type = LicenceType.objects.create(code="food", name="食品经营许可证", issuer=owner)
    service = make_service(
        "AMR-INSPECT", department=owner, workflow=definition, promised_limit_days=10,
        result_type="licence", licence_type=licence_type,
        materials=[{"name": "申请书", "required": False}, {"name": "平面图", "required": False}],
    ).service  # fmt: skip
    return owner, health, people, service


def inbox_events(user):
    return list(
        Notification.objects.filter(recipient=user, channel="inbox")
        .order_by("pk")
        .values_list("event", flat=True)
    )


@pytest.mark.django_db
def test_a_custom_workflow_runs_end_to_end(setting, django_capture_on_commit_callbacks):
    owner, health, people, service = setting
    grandmother = CitizenProfileFactory(real_name="张秀兰")
    grandson = CitizenProfileFactory(real_name="张小明")
    authorisation = proxies.grant(
        principal_user=grandmother.user, agent_id_number=grandson.id_number,
        agent_real_name="张小明", relationship="relative",
    )  # fmt: skip
    with at("2026-11-02"):
        case, _ = workflow.create_draft(
            service=service, user=grandson.user, data={"shop_area": 30},
            authorisation=authorisation,
        )  # fmt: skip
        case = workflow.submit_application(case=case, user=grandson.user)
        material = case.service_version.materials.get(name="平面图")
        case = workflow.request_supplement(
            case=case, actor=people[Role.CASEWORKER], materials=[material], note="缺平面图"
        )
        assert case.state == OuterState.SUPPLEMENT_REQUESTED and case.paused_since is not None
        # The applicant's side answers through the transition with the answering outcome.
        workflow.add_attachment(
            case=case, material_id=material.pk, user=grandson.user,
            upload=_pdf("plan.pdf"),
        )  # fmt: skip
        case = workflow.answer_supplement(case=case, user=grandson.user)
        assert case.state == OuterState.SUBMITTED and case.paused_since is None
        case = workflow.apply_transition(case=case, name="jieshou", actor=people[Role.CASEWORKER])
    assert case.due_date == dt.date(2026, 11, 16)  # ten working days from the day after
    notice = OfficialDocument.objects.get(case=case, kind="acceptance_notice")
    assert notice.kind == "acceptance_notice" and notice.number.startswith("AMR-SL-2026-")

    with at("2026-11-03"):
        case = workflow.apply_transition(
            case=case, name="qu_xianchang", actor=people[Role.REVIEWER], opinion="现场核查"
        )
        assert case.state == OuterState.SUSPENDED
        # While paused, only the way out (and the applicant's withdrawal) is offered.
        names = {t.name for t in workflow.transitions_for(case, people[Role.REVIEWER])}
        assert names == {"hecha_jieshu"}
    with at("2026-11-06"):
        case = workflow.apply_transition(
            case=case, name="hecha_jieshu", actor=people[Role.REVIEWER]
        )
    assert case.state == OuterState.ACCEPTED
    assert case.due_date == dt.date(2026, 11, 19)  # three working days stood still

    with at("2026-11-06"):
        case = workflow.apply_transition(case=case, name="songshen", actor=people[Role.REVIEWER])
    # The review stage fixed to the health commission: its reviewer finds and works it.
    assert case.acting_department == health
    reviewer = people["health-reviewer"]
    assert access.cases_visible_to_staff(reviewer).filter(pk=case.pk).exists()
    assert "new_case" in inbox_events(reviewer)
    assert workflow.transitions_for(case, people[Role.REVIEWER]) == []  # the owner waits
    with at("2026-11-09"):
        case = workflow.apply_transition(case=case, name="huishen_tongguo", actor=reviewer)
        with django_capture_on_commit_callbacks(execute=True):
            case = workflow.apply_transition(case=case, name="tongyi", actor=people[Role.APPROVER])
    assert not access.cases_visible_to_staff(reviewer).filter(pk=case.pk).exists()
    assert case.state == OuterState.APPROVED
    licence = Licence.objects.get(case=case)
    assert licence.holder == grandmother and licence.revoked_at is None
    # Decided: the applicant's side can no longer withdraw it.
    assert workflow.transition_with_outcome(case, grandson.user, Outcome.WITHDRAWN) is None
    with pytest.raises(workflow.CaseConflict) as refused:
        workflow.withdraw_case(case=case, user=grandmother.user, reason="不要了")
    assert refused.value.code == "decided"
    with at("2026-11-10"):
        case = workflow.apply_transition(case=case, name="fazheng", actor=people[Role.CASEWORKER])
    assert case.state == OuterState.CONCLUDED and case.closed_at is not None

    expected = ["submitted", "supplement_requested", "progressed", "accepted", "suspended",
                "resumed", "progressed", "decided", "ready_for_pickup"]  # fmt: skip
    for person in (grandmother.user, grandson.user):
        assert inbox_events(person) == expected
    custom = (
        Notification.objects.filter(recipient=grandmother.user, event="progressed")
        .order_by("pk")
        .last()
    )
    assert custom.context["text"].startswith("【自定义】")
    outcomes = list(
        Event.objects.filter(case=case).exclude(outcome="").values_list("outcome", flat=True)
    )
    assert outcomes == ["supplement_requested", "supplement_answered", "accepted", "suspended",
                        "resumed", "passed", "passed", "approved", "concluded"]  # fmt: skip


def _pdf(name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, files.PDF, content_type="application/pdf")


@pytest.mark.django_db
def test_a_reversed_approval_revokes_the_licence_and_verify_says_so(
    setting, client, django_capture_on_commit_callbacks
):
    owner, health, people, service = setting
    applicant = CitizenProfileFactory()
    with at("2026-11-02"):
        case, _ = workflow.create_draft(service=service, user=applicant.user, data={"shop_area": 3})
        case = workflow.submit_application(case=case, user=applicant.user)
        for name, actor in [("jieshou", people[Role.CASEWORKER]), ("songshen", people[Role.REVIEWER]),
                            ("huishen_tongguo", people["health-reviewer"]),
                            ("tongyi", people[Role.APPROVER])]:  # fmt: skip
            with django_capture_on_commit_callbacks(execute=True):
                case = workflow.apply_transition(case=case, name=name, actor=actor)
    licence = Licence.objects.get(case=case)
    assert (
        client.get(reverse("verify-licence", args=[licence.verification_code])).status_code == 200
    )
    # The approval is taken back before delivery: the licence it gave is revoked, with the reason.
    case = workflow.apply_transition(
        case=case, name="chexiao", actor=people[Role.APPROVER], opinion="核查发现虚假材料"
    )
    assert case.state == OuterState.ACCEPTED and case.decided_at is None
    licence.refresh_from_db()
    assert licence.revoked_at is not None and licence.revocation_reason == "核查发现虚假材料"
    page = client.get(reverse("verify-licence", args=[licence.verification_code]))
    assert "核查发现虚假材料" in page.content.decode()
    assert Event.objects.filter(case=case, action="licence_annulled").count() == 1
    # Decided again: a new licence; the revoked one stays revoked.
    with django_capture_on_commit_callbacks(execute=True):
        case = workflow.apply_transition(case=case, name="tongyi", actor=people[Role.APPROVER])
    fresh = Licence.objects.get(case=case, revoked_at__isnull=True)
    assert fresh.pk != licence.pk
    # The sweep leaves a licence revoked on purpose after its approval alone.
    Licence.objects.filter(pk=fresh.pk).update(revoked_at=timezone.now())
    assert licences.issue_missing() == 0


@pytest.mark.django_db
def test_publishing_refuses_a_pause_without_a_way_out(setting):
    owner, health, people, service = setting
    draft = build_inspection_workflow(owner, health, with_resume=False, code="no-resume")
    with pytest.raises(ValidationError) as refused:
        publish_workflow(definition=draft)
    assert any(
        "赴现场核查" in message and "现场核查" in message for message in refused.value.messages
    )


@pytest.mark.django_db
def test_a_stage_of_a_department_with_nobody_in_the_role_is_a_warning(setting):
    owner, health, people, service = setting
    empty = DepartmentFactory(code="empty", name="空无一人局")
    draft = build_inspection_workflow(owner, empty, code="empty-review")
    assert workflow_problems(draft) == []
    warnings = workflow_warnings(draft)
    assert len(warnings) == 1 and "空无一人局" in warnings[0] and "卫生部门会审" in warnings[0]


@pytest.mark.django_db
def test_the_acceptance_notice_is_the_applicants_to_read_and_print(setting, client):
    import subprocess

    owner, health, people, service = setting
    applicant = CitizenProfileFactory(real_name="王五")
    with at("2026-11-02"):
        case, _ = workflow.create_draft(service=service, user=applicant.user, data={"shop_area": 3})
        case = workflow.submit_application(case=case, user=applicant.user)
        case = workflow.apply_transition(case=case, name="jieshou", actor=people[Role.CASEWORKER])
    client.force_login(applicant.user)
    listed = client.get(f"/api/v1/applications/{case.number}/documents/").json()
    assert [d["kind"] for d in listed] == ["receipt", "acceptance_notice"]
    notice = listed[1]
    pdf = client.get(notice["url"])
    assert pdf["Content-Type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "受理通知书" in text and case.number in text and "2026年11月16日" in text
    page = client.get(f"/applications/{case.number}/").content.decode()
    assert notice["number"] in page
    # Nobody else reads it.
    stranger = CitizenProfileFactory().user
    client.force_login(stranger)
    assert client.get(notice["url"]).status_code == 404
