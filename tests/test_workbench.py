"""The caseworker's side: the engine's legal rules and deadlines, claiming, stale and concurrent
actions, the queue and its pages."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from cases import workflow
from cases.models import Case, Event
from services.models import OuterState

from . import files
from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support.clock import at


@pytest.fixture
def department(db):
    return DepartmentFactory(code="amr", name="市场监督管理局")


@pytest.fixture
def staff(department):
    people = {}
    for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD):
        people[role] = StaffMembershipFactory(
            department=department, role=role, user__username=str(role)
        ).user
    return people


@pytest.fixture
def service(department, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return make_service(
        "AMR-W",
        department=department,
        promised_limit_days=5,
        statutory_limit_days=20,
        materials=[{"name": "申请书", "required": False}],
    ).service


def submitted_case(service, applicant=None) -> Case:
    user = applicant or CitizenProfileFactory().user
    case, _ = workflow.create_draft(service=service, user=user, data={"shop_area": 10})
    return workflow.submit_application(case=case, user=user)


def act(case, name, actor, **kwargs):
    return workflow.apply_transition(
        case=case, name=name, actor=actor, opinion=kwargs.pop("opinion", "符合条件"), **kwargs
    )


# --- Deadlines in working days ---------------------------------------------------------------------


@pytest.mark.django_db
def test_accepted_before_national_day_gets_its_due_date_after_the_holiday(service, staff):
    with at("2026-09-29"):
        case = submitted_case(service)
        # §32's five working days: 09-30, 10-08, 10-09, 10-10 (make-up Saturday), 10-12.
        assert case.intake_due_date == dt.date(2026, 10, 12)
        case = act(case, "accept", staff[Role.CASEWORKER])
    # The promised five working days count from the day after acceptance, the same way.
    assert case.due_date == dt.date(2026, 10, 12)
    assert case.due_date_provisional is False


@pytest.mark.django_db
def test_special_procedure_pauses_the_clock_and_resume_moves_the_due_date(service, staff):
    with at("2026-11-02"):  # Monday
        case = act(submitted_case(service), "accept", staff[Role.CASEWORKER])
        assert case.due_date == dt.date(2026, 11, 9)
        # Accepted cases are at review: the reviewer, who acts there, suspends; the caseworker may not.
        with pytest.raises(PermissionDenied):
            act(case, "suspend", staff[Role.CASEWORKER], opinion="需要现场核查")
        case = act(case, "suspend", staff[Role.REVIEWER], opinion="需要现场核查")
        assert (case.state, case.paused_since) == (OuterState.SUSPENDED, dt.date(2026, 11, 2))
        # While suspended only resume (or the applicant's withdrawal) is possible.
        with pytest.raises(workflow.CaseConflict):
            act(case, "pass_review", staff[Role.REVIEWER])
    with at("2026-11-05"):  # Thursday: three working days stood still
        case = act(case, "resume", staff[Role.REVIEWER], opinion="核查完毕")
    assert case.state == OuterState.ACCEPTED
    assert case.paused_since is None
    assert case.due_date == dt.date(2026, 11, 12)


@pytest.mark.django_db
def test_answered_request_for_documents_restarts_the_five_intake_days(service, staff):
    material = service.current_version.materials.get()
    with at("2026-11-02"):
        case = submitted_case(service)
        case = workflow.request_supplement(
            case=case, actor=staff[Role.CASEWORKER], materials=[material], note="缺申请书"
        )
        assert case.paused_since == dt.date(2026, 11, 2)
    upload_owner = case.applicant.user
    from django.core.files.uploadedfile import SimpleUploadedFile

    with at("2026-11-05"):
        workflow.add_attachment(
            case=case,
            material_id=material.pk,
            upload=SimpleUploadedFile("a.pdf", files.PDF),
            user=upload_owner,
        )
        case = workflow.answer_supplement(case=case, user=upload_owner)
    assert case.state == OuterState.SUBMITTED
    assert case.intake_due_date == dt.date(2026, 11, 12)


@pytest.mark.django_db
def test_request_for_documents_rules(service, staff):
    material = service.current_version.materials.get()
    with at("2026-11-02"):
        case = submitted_case(service)
    with at("2026-11-10"), pytest.raises(workflow.CaseConflict) as excinfo:
        # Six working days after receipt: too late to ask, the application counts as accepted.
        workflow.request_supplement(
            case=case, actor=staff[Role.CASEWORKER], materials=[material], note="缺"
        )
    assert excinfo.value.code == "intake_period_over"
    with at("2026-11-03"):
        with pytest.raises(ValidationError):
            workflow.request_supplement(
                case=case, actor=staff[Role.CASEWORKER], materials=[], note="缺"
            )
        case = workflow.request_supplement(
            case=case, actor=staff[Role.CASEWORKER], materials=[material], note="缺"
        )
        request = case.supplement_requests.get()
        request.state = "answered"
        request.save()
        case.state = OuterState.SUBMITTED
        case.save()
        # A second notice needs the department head's reason.
        with pytest.raises(ValidationError) as excinfo:
            workflow.request_supplement(
                case=case, actor=staff[Role.CASEWORKER], materials=[material], note="再缺"
            )
        assert "supervisor_reason" in excinfo.value.message_dict
        head = staff[Role.DEPARTMENT_HEAD]
        StaffMembershipFactory(user=head, department=case.department, role=Role.CASEWORKER)
        case = workflow.request_supplement(
            case=case,
            actor=head,
            materials=[material],
            note="再缺",
            supervisor_reason="原件模糊无法辨认",
        )
    assert case.supplement_requests.count() == 2


@pytest.mark.django_db
def test_extension_needs_the_department_head_a_reason_and_at_most_ten_days(service, staff):
    with at("2026-11-02"):
        case = act(submitted_case(service), "accept", staff[Role.CASEWORKER])
        with pytest.raises(PermissionDenied):
            act(case, "extend", staff[Role.CASEWORKER], details={"days": 5})
        with pytest.raises(ValidationError):
            act(case, "extend", staff[Role.DEPARTMENT_HEAD], opinion="", details={"days": 5})
        with pytest.raises(ValidationError):
            act(case, "extend", staff[Role.DEPARTMENT_HEAD], details={"days": 11})
        case = act(
            case, "extend", staff[Role.DEPARTMENT_HEAD], opinion="需专家论证", details={"days": 5}
        )
    assert case.due_date == dt.date(2026, 11, 16)
    assert case.extended_days == 5
    with pytest.raises(ValidationError):
        act(case, "extend", staff[Role.DEPARTMENT_HEAD], opinion="再延", details={"days": 6})


@pytest.mark.django_db
def test_intake_silence_counts_as_acceptance_on_the_day_of_receipt(service, staff):
    with at("2026-11-02"):
        case = submitted_case(service)
    with at("2026-11-09"):
        assert workflow.deem_accepted(case=case) is None  # the fifth working day is not over yet
    with at("2026-11-10"):
        case = workflow.deem_accepted(case=case)
        assert workflow.deem_accepted(case=case) is None  # once
    assert case.state == OuterState.ACCEPTED
    assert case.accepted_at == case.received_at
    assert case.due_date == dt.date(2026, 11, 9)  # counted from receipt: it is already due
    event = case.events.order_by("-sequence").first()
    assert (event.action, event.outcome, event.actor, event.actor_role) == (
        "deemed_accepted",
        "accepted",
        None,
        "system",
    )
    assert event.details == {"deemed": True}
    assert "第三十二条" in event.opinion  # kept in the official language


@pytest.mark.django_db
def test_not_accepting_needs_a_reason_and_the_applicant_reads_their_rights(service, staff):
    case = submitted_case(service)
    with pytest.raises(ValidationError):
        act(case, "not_accept", staff[Role.CASEWORKER], opinion="  ")
    case = act(case, "not_accept", staff[Role.CASEWORKER], opinion="不属于本部门职权范围")
    client = Client()
    client.force_login(case.applicant.user)
    page = client.get(f"/applications/{case.number}/").content.decode()
    assert "不属于本部门职权范围" in page
    assert "行政复议" in page or "administrative review" in page


# --- Claiming, stale and concurrent actions --------------------------------------------------------


@pytest.mark.django_db
def test_claim_and_release(service, department, staff):
    case = submitted_case(service)
    other = StaffMembershipFactory(department=department, role=Role.CASEWORKER).user
    case = workflow.claim_case(case=case, user=staff[Role.CASEWORKER])
    assert case.assignee == staff[Role.CASEWORKER]
    with pytest.raises(workflow.CaseConflict):
        workflow.claim_case(case=case, user=other)
    with pytest.raises(workflow.CaseConflict):
        workflow.claim_case(case=case, user=other, release=True)
    workflow.claim_case(case=case, user=staff[Role.CASEWORKER], release=True)
    assert workflow.claim_case(case=case, user=other).assignee == other
    outsider = StaffMembershipFactory(role=Role.CASEWORKER).user
    with pytest.raises(PermissionDenied):
        workflow.claim_case(case=case, user=outsider)
    assert [e.action for e in case.events.order_by("sequence")][-3:] == [
        "claim",
        "release",
        "claim",
    ]


@pytest.mark.django_db
def test_stale_action_is_a_409_in_the_api_and_changes_nothing(service, staff):
    case = submitted_case(service)
    client = Client()
    client.force_login(staff[Role.CASEWORKER])
    seen = client.get(f"/api/v1/work/cases/{case.number}/").json()
    assert {a["name"] for a in seen["actions"]} >= {"accept", "not_accept", "request_supplement"}
    workflow.claim_case(case=case, user=staff[Role.CASEWORKER])  # someone changed it meanwhile
    before = (Case.objects.get(pk=case.pk).row_version, Event.objects.count())
    response = client.post(
        f"/api/v1/work/cases/{case.number}/transition/",
        {"transition": "accept", "expected_version": seen["row_version"]},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "stale"
    assert (Case.objects.get(pk=case.pk).row_version, Event.objects.count()) == before
    fresh = client.get(f"/api/v1/work/cases/{case.number}/").json()
    ok = client.post(
        f"/api/v1/work/cases/{case.number}/transition/",
        {"transition": "accept", "expected_version": fresh["row_version"]},
        content_type="application/json",
    )
    assert ok.status_code == 200
    assert ok.json()["state"] == "accepted"
    assert "pass_review" not in {
        a["name"] for a in ok.json()["actions"]
    }  # the reviewer's, not mine


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_caseworkers_accepting_at_once_accept_once(department, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    service = make_service(
        "AMR-C", department=department, materials=[{"name": "x", "required": False}]
    ).service
    workers = [
        StaffMembershipFactory(department=department, role=Role.CASEWORKER).user for _ in range(8)
    ]
    case = submitted_case(service)
    barrier = threading.Barrier(len(workers))
    results = [None] * len(workers)

    def accept(index):
        try:
            barrier.wait()
            workflow.apply_transition(case=case, name="accept", actor=workers[index])
            results[index] = "ok"
        except workflow.CaseConflict as exc:
            results[index] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 1, results
    assert set(results) == {"ok", "not_allowed"}
    assert Event.objects.filter(case=case, action="accept").count() == 1


# --- The queue -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_queue_orders_by_deadline_filters_and_pages(service, staff):
    caseworker = staff[Role.CASEWORKER]
    with at("2026-11-02"):
        early = act(submitted_case(service), "accept", caseworker)  # due 11-09
    with at("2026-11-04"):
        late = submitted_case(service)  # intake due 11-11
    with at("2026-11-10"):
        client = Client()
        client.force_login(caseworker)
        body = client.get("/api/v1/work/queue/").json()
        assert [c["number"] for c in body["results"]] == [early.number, late.number]
        overdue = client.get("/api/v1/work/queue/", {"due": "overdue"}).json()["results"]
        assert [c["number"] for c in overdue] == [early.number]
        soon = client.get("/api/v1/work/queue/", {"due": "soon"}).json()["results"]
        assert [c["number"] for c in soon] == [late.number]
        assert (
            client.get("/api/v1/work/queue/", {"stage": "intake"}).json()["results"][0]["number"]
            == late.number
        )
        page = client.get("/work/", {"due": "overdue"}).content.decode()
        assert early.number in page and late.number not in page


@pytest.mark.django_db
def test_queue_pages_run_constant_queries(service, staff, settings):
    from cases import work_api, work_views

    client = Client()
    client.force_login(staff[Role.CASEWORKER])

    def count(url):
        # The first request in a process fills Django's ContentType cache (read by guardian's
        # checks); a running worker holds it already. Counted alone, this test used to compare a
        # cold first request with a warm one.
        assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    submitted_case(service)
    # The first request caches the account's facts (accounts/facts.py): compare warm requests.
    count("/work/")
    one = (count("/work/"), count("/api/v1/work/queue/"))
    for _ in range(59):
        submitted_case(service)
    sixty = (count("/work/"), count("/api/v1/work/queue/"))
    assert one == sixty
    body = client.get("/api/v1/work/queue/").json()
    assert len(body["results"]) == work_api.PAGE_SIZE == work_views.PAGE_SIZE
    following = client.get(body["next"]).json()
    assert len(following["results"]) == 10
    assert following["next"] is None
    numbers = [c["number"] for c in body["results"] + following["results"]]
    assert len(set(numbers)) == 60


@pytest.mark.django_db
def test_workbench_case_page_shows_only_allowed_actions(service, staff):
    case = submitted_case(service)
    reviewer = Client()
    reviewer.force_login(staff[Role.REVIEWER])
    page = reviewer.get(f"/work/{case.number}/").content.decode()
    assert case.number in page
    assert 'value="accept"' not in page  # intake belongs to the caseworker
    caseworker = Client()
    caseworker.force_login(staff[Role.CASEWORKER])
    page = caseworker.get(f"/work/{case.number}/").content.decode()
    assert 'value="accept"' in page and 'value="not_accept"' in page
    response = caseworker.post(
        f"/work/{case.number}/act/", {"transition": "accept", "opinion": "材料齐全"}
    )
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == OuterState.ACCEPTED
    # Acting again on the stale page is refused with a message, not a 500.
    again = caseworker.post(f"/work/{case.number}/act/", {"transition": "accept"}, follow=True)
    assert again.status_code == 200
    assert Event.objects.filter(case=case, action="accept").count() == 1


@pytest.mark.django_db
def test_every_transition_of_the_standard_workflow(service, staff, department):
    """Each transition name clients rely on, taken by its actor, moves the case as the law says."""
    cw, rev, appr, head = (
        staff[r] for r in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD)
    )
    material = service.current_version.materials.get()
    from django.core.files.uploadedfile import SimpleUploadedFile

    def path(case, *steps):
        for name, actor, *extra in steps:
            if name == "request_supplement":
                case = workflow.request_supplement(
                    case=case, actor=actor, materials=[material], note="缺材料"
                )
            elif name == "supplement":
                workflow.add_attachment(
                    case=case,
                    material_id=material.pk,
                    upload=SimpleUploadedFile("a.pdf", files.PDF),
                    user=actor,
                )
                case = workflow.answer_supplement(case=case, user=actor)
            else:
                case = act(case, name, actor, **(extra[0] if extra else {}))
        return case

    owner = CitizenProfileFactory().user
    case = path(
        submitted_case(service, owner),
        ("request_supplement", cw), ("supplement", owner), ("accept", cw), ("return_to_intake", rev),
        ("accept", cw), ("suspend", rev), ("resume", rev), ("extend", head, {"details": {"days": 3}}),
        ("pass_review", rev), ("approve", appr), ("conclude", cw),
    )  # fmt: skip
    assert case.state == OuterState.CONCLUDED and case.stage.code == "closed"
    trail = [e.action for e in case.events.order_by("sequence")]
    assert trail == ["create", "submit", "request_supplement", "supplement", "accept", "return_to_intake",
                     "accept", "suspend", "resume", "extend", "pass_review", "approve", "conclude"]  # fmt: skip
    rejected = path(
        submitted_case(service),
        ("accept", cw),
        ("pass_review", rev),
        ("reject", appr, {"opinion": "不符合条件"}),
    )
    assert rejected.state == OuterState.REJECTED and rejected.closed_at is not None
    refused = path(submitted_case(service), ("not_accept", cw, {"opinion": "不属于本部门职权"}))
    assert refused.state == OuterState.NOT_ACCEPTED
    applicant = CitizenProfileFactory().user
    withdrawn = workflow.withdraw_case(
        case=submitted_case(service, applicant), user=applicant, reason="不需要了"
    )
    assert withdrawn.state == OuterState.WITHDRAWN
    # A transition from another stage is refused, and so is the wrong role at the right stage.
    fresh = submitted_case(service)
    with pytest.raises(workflow.CaseConflict):
        act(fresh, "approve", appr)
    with pytest.raises(PermissionDenied):
        act(fresh, "accept", rev)


@pytest.mark.django_db
def test_an_immediate_service_is_decided_on_the_spot_at_intake(
    department, staff, settings, tmp_path
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    immediate = make_service(
        "AMR-NOW", department=department, promised_limit_days=0, statutory_limit_days=1,
        materials=[{"name": "x", "required": False}],
    ).service  # fmt: skip
    case = submitted_case(immediate)
    offered = {t.name for t in workflow.transitions_for(case, staff[Role.CASEWORKER])}
    assert {"accept", "approve", "reject"} <= offered
    with at("2026-11-03"):
        case = act(case, "approve", staff[Role.CASEWORKER], opinion="当场办结")
    assert case.state == OuterState.APPROVED
    assert case.accepted_at == case.decided_at
    assert case.due_date == dt.date(2026, 11, 3)
    # An ordinary service is not decided at intake.
    ordinary = make_service(
        "AMR-LATER", department=department, materials=[{"name": "x", "required": False}]
    ).service
    assert "approve" not in {
        t.name for t in workflow.transitions_for(submitted_case(ordinary), staff[Role.CASEWORKER])
    }


@pytest.mark.django_db
def test_queue_page_queries_are_the_same_for_10_or_1000_cases(service, staff):
    client = Client()
    client.force_login(staff[Role.CASEWORKER])
    template = submitted_case(service)

    def grow_to(total):
        from cases.models import Case as CaseModel

        existing = CaseModel.objects.count()
        CaseModel.objects.bulk_create(
            [
                CaseModel(
                    number=f"BULK-{n:05d}", service=template.service, service_version=template.service_version,
                    department=template.department, applicant=template.applicant, filed_by=template.filed_by,
                    channel="online", state="submitted", stage=template.stage, received_at=template.received_at,
                    intake_due_date=template.intake_due_date, data={"shop_area": 1},
                )
                for n in range(existing, total)
            ]
        )  # fmt: skip

    def count(url):
        # The first request in a process fills Django's ContentType cache (read by guardian's
        # checks); a running worker holds it already. Counted alone, this test used to compare a
        # cold first request with a warm one.
        assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    grow_to(10)
    # The first request caches the account's facts (accounts/facts.py): compare warm requests.
    count("/work/")
    ten = (count("/work/"), count("/api/v1/work/queue/"))
    grow_to(1000)
    thousand = (count("/work/"), count("/api/v1/work/queue/"))
    assert ten == thousand


@pytest.mark.django_db
def test_workbench_previews_images_and_the_first_page_of_pdfs(service, staff, tmp_path):
    import subprocess

    from django.core.files.uploadedfile import SimpleUploadedFile

    pdf = tmp_path / "one.pdf"
    from weasyprint import HTML

    HTML(string="<p>第一页</p>").write_pdf(pdf)
    owner = CitizenProfileFactory().user
    case, _ = workflow.create_draft(service=service, user=owner, data={"shop_area": 3})
    material = service.current_version.materials.get()
    attachment = workflow.add_attachment(
        case=case,
        material_id=material.pk,
        upload=SimpleUploadedFile("one.pdf", pdf.read_bytes()),
        user=owner,
    )
    workflow.submit_application(case=case, user=owner)
    client = Client()
    client.force_login(staff[Role.CASEWORKER])
    page = client.get(f"/work/{case.number}/").content.decode()
    assert f"/work/{case.number}/documents/{attachment.pk}/preview.png" in page
    preview = client.get(f"/work/{case.number}/documents/{attachment.pk}/preview.png")
    assert preview.status_code == 200
    assert preview["Content-Type"] == "image/png"
    assert preview.content.startswith(b"\x89PNG")
    assert "sandbox" in preview["Content-Security-Policy"]
    stranger = Client()
    stranger.force_login(StaffMembershipFactory(role=Role.CASEWORKER).user)
    assert (
        stranger.get(f"/work/{case.number}/documents/{attachment.pk}/preview.png").status_code
        == 404
    )
    assert subprocess.run(["pdftoppm", "-v"], capture_output=True).returncode == 0


@pytest.mark.django_db
def test_deem_accepted_command_is_idempotent(service, staff, capsys):
    from django.core.management import call_command

    with at("2026-11-02"):
        case = submitted_case(service)
    with at("2026-11-10"):
        call_command("deem_accepted")
        call_command("deem_accepted")
    out = capsys.readouterr().out
    assert out.count(f"deemed accepted: {case.number}") == 1
    assert Case.objects.get(pk=case.pk).state == OuterState.ACCEPTED
