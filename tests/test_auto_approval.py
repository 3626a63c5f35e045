"""秒批 with the right to a human (issue 18, item 3): a service's rules, as data, checked at
submission; when every rule holds the system approves and concludes the case in the submit request
as 系统自动审批, issues the decision and the e-licence and records the rules that held; a failing rule
sends the case to the queue with the rule shown to staff. The decision says it was automated and
how to ask for a person (PIPL art. 24): asked within the period, a caseworker decides and their
decision replaces the automated one; after the period the request is refused. A share of
automated approvals is sampled into the post-check queue, and the statistics count automated
decisions apart."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from cases import documents
from cases.models import Case, Decision, HumanReview, Licence, OfficialDocument, Verification
from cases.transparency import statistics
from services.models import AutoApprovalPolicy, LicenceType, OuterState

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    logged_in,
    make_service,
)
from .support import clock

ADULT = {"fact": "applicant.age", "op": "gte", "value": 18, "label": "年满18周岁"}
SMALL_SHOP = {
    "fact": "form.shop_area",
    "op": "lte",
    "value": 200,
    "label": "经营面积不超过200平方米",
}
NO_UPLOAD = {
    "fact": "materials.none_uploaded",
    "op": "eq",
    "value": True,
    "label": "材料全部免提交",
}


@pytest.fixture
def office(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.AUTO_DECISION_SAMPLE_PERCENT = 0
    settings.AUTO_DECISION_REVIEW_DAYS = 30
    department = DepartmentFactory(code="amr", name="示范市市场监督管理局")
    staff = {
        role: StaffMembershipFactory(department=department, role=role).user
        for role in (Role.CASEWORKER, Role.APPROVER, Role.DEPARTMENT_HEAD)
    }
    licence_type = LicenceType.objects.create(
        code="shop-permit", name="小店经营许可证", issuer=department
    )
    version = make_service(
        "AUTO-1",
        department=department,
        result_type="licence",
        licence_type=licence_type,
        materials=[
            {"name": "户籍证明", "required": True, "source": "shared", "shared_by": department}
        ],
    )
    return version.service, staff


def enable(service, rules, **fields) -> AutoApprovalPolicy:
    policy = AutoApprovalPolicy(service=service, enabled=True, rules=rules, **fields)
    policy.full_clean()
    policy.save()
    return policy


def apply(service, area=50, **profile) -> tuple[Client, str]:
    """A citizen fills in and submits the form through the API; (their client, the case number)."""
    applicant = CitizenProfileFactory(real_name="王小明", **profile)
    client = logged_in(applicant.user)
    created = client.post(
        "/api/v1/applications/",
        {"service": service.code, "data": {"shop_area": area}},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    return client, created.json()["number"]


def submit(client, number):
    return client.post(f"/api/v1/applications/{number}/submit/")


def test_every_rule_holding_approves_and_concludes_in_the_submit_request(
    office, django_capture_on_commit_callbacks
):
    service, staff = office
    enable(service, [ADULT, SMALL_SHOP, NO_UPLOAD])
    client, number = apply(service)

    with django_capture_on_commit_callbacks(execute=True):
        answer = submit(client, number)

    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == OuterState.CONCLUDED
    case = Case.objects.get(number=number)
    decision = Decision.objects.get(case=case)
    assert decision.automated and decision.outcome == "approved" and decision.decided_by is None
    assert Licence.objects.filter(case=case, revoked_at__isnull=True).exists()
    # The applicant reads that the decision was automated, and until when to ask for a person.
    detail = client.get(f"/api/v1/applications/{number}/").json()
    assert detail["decision"]["automated"] is True
    assert detail["human_review"]["may_ask"] is True
    assert detail["automatic_approval"]["approved"] is True
    page = client.get(reverse("cases:detail", args=[number])).content.decode()
    assert "human-review" in page
    # Staff see the rules that held and the system as the actor.
    work = logged_in(staff[Role.CASEWORKER]).get(f"/api/v1/work/cases/{number}/").json()
    assert [r["label"] for r in work["automatic_approval"]["rules"] if r["held"]] == [
        "年满18周岁",
        "经营面积不超过200平方米",
        "材料全部免提交",
    ]
    deciders = [e["actor"] for e in work["timeline"] if e["outcome"] == "approved"]
    assert deciders == ["系统自动审批"]  # Automatic approval (系统自动审批)
    # The decision document says it was automated and how to ask for a human review.
    document = OfficialDocument.objects.get(case=case, kind=OfficialDocument.Kind.DECISION)
    html = documents.render_html(document)
    assert "《个人信息保护法》第二十四条" in html and "申请人工复核" in html
    assert document.content["human_review_until"]


def test_a_failing_rule_sends_the_case_to_the_queue_with_the_rule_shown_to_staff(office):
    service, staff = office
    enable(service, [ADULT, SMALL_SHOP])
    client, number = apply(service, area=500)

    answer = submit(client, number)

    assert answer.json()["state"] == OuterState.SUBMITTED
    assert not Decision.objects.filter(case__number=number).exists()
    caseworker = logged_in(staff[Role.CASEWORKER])
    queue = caseworker.get("/api/v1/work/queue/").json()["results"]
    assert [row["number"] for row in queue] == [number]
    work = caseworker.get(f"/api/v1/work/cases/{number}/").json()
    assert work["automatic_approval"]["approved"] is False
    assert work["automatic_approval"]["failed"] == ["经营面积不超过200平方米"]
    page = caseworker.get(reverse("work:case", args=[number])).content.decode()
    assert "经营面积不超过200平方米" in page


def test_rules_are_checked_when_saved(office):
    service, _staff = office
    with pytest.raises(ValidationError) as unknown:
        enable(service, [{"fact": "form.no_such_field", "op": "eq", "value": 1}])
    assert "no_such_field" in str(unknown.value)
    with pytest.raises(ValidationError) as operator:
        enable(service, [{"fact": "applicant.age", "op": "contains", "value": 18}])
    assert "contains" in str(operator.value)
    with pytest.raises(ValidationError) as value:
        enable(service, [{"fact": "applicant.age", "op": "gte", "value": "eighteen"}])
    assert "数值" in str(value.value)  # this fact is a number: ...
    with pytest.raises(ValidationError) as licence:
        enable(service, [{"fact": "licences.held", "op": "contains", "value": "no-such-type"}])
    assert "no-such-type" in str(licence.value)


def test_a_licence_held_in_force_is_a_rule(office):
    service, _staff = office
    enable(service, [{"fact": "licences.held", "op": "contains", "value": "shop-permit"}])
    client, first = apply(service)
    assert submit(client, first).json()["state"] == OuterState.SUBMITTED  # holds none yet


def test_human_review_within_the_period_is_decided_by_a_caseworker(
    office, django_capture_on_commit_callbacks
):
    service, staff = office
    enable(service, [ADULT])
    client, number = apply(service)
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, number)
    assert Licence.objects.filter(case__number=number, revoked_at__isnull=True).exists()
    automated = Decision.objects.get(case__number=number)

    asked = client.post(
        f"/api/v1/applications/{number}/human-review/",
        {"reason": "我希望由工作人员复核"},
        content_type="application/json",
    )

    assert asked.status_code == 201, asked.content
    caseworker = logged_in(staff[Role.CASEWORKER])
    reviews = caseworker.get("/api/v1/work/human-reviews/").json()["results"]
    assert [r["number"] for r in reviews] == [number]
    page = caseworker.get(reverse("work:case", args=[number])).content.decode()
    assert reverse("work:human-review", args=[reviews[0]["id"]]) in page  # decide it there too
    decided = caseworker.post(
        f"/api/v1/work/human-reviews/{reviews[0]['id']}/decide/",
        {"approve": False, "reason": "经核查经营场所不符合条件"},
        content_type="application/json",
    )
    assert decided.status_code == 200, decided.content
    automated.refresh_from_db()
    assert automated.superseded_at is not None
    detail = client.get(f"/api/v1/applications/{number}/").json()
    assert detail["state"] == OuterState.REJECTED
    assert detail["decision"]["automated"] is False
    assert detail["decision"]["reason"] == "经核查经营场所不符合条件"
    assert not Licence.objects.filter(case__number=number, revoked_at__isnull=True).exists()
    assert OfficialDocument.objects.filter(case__number=number, kind="decision").count() == 2
    assert HumanReview.objects.get().state == HumanReview.State.DECIDED


def test_human_review_after_the_period_is_refused(office):
    service, _staff = office
    enable(service, [ADULT])
    with clock.at("2026-03-02"):
        client, number = apply(service)
        submit(client, number)
    with clock.at("2026-04-02"):
        client = logged_in(Case.objects.get(number=number).applicant.user)  # a new session
        asked = client.post(
            f"/api/v1/applications/{number}/human-review/",
            {"reason": "我希望由工作人员复核"},
            content_type="application/json",
        )
    assert asked.status_code == 409
    assert "2026-04-01" in asked.json()["detail"]
    assert not HumanReview.objects.exists()


def test_a_share_of_automated_approvals_is_sampled_for_the_post_check(office):
    service, staff = office
    enable(service, [ADULT], sample_percent=100)
    client, number = apply(service)
    submit(client, number)
    verification = Verification.objects.get(case__number=number)
    assert verification.kind == Verification.Kind.AUTOMATED
    page = logged_in(staff[Role.CASEWORKER]).get(reverse("work:verifications"))
    assert number in page.content.decode()


def test_statistics_count_automated_decisions_apart(office):
    service, _staff = office
    enable(service, [SMALL_SHOP])
    for area in (50, 60, 500):
        client, number = apply(service, area=area)
        submit(client, number)
    client, number = apply(service, area=70)
    submit(client, number)
    client.post(
        f"/api/v1/applications/{number}/human-review/", {"reason": "请人工复核"},
        content_type="application/json",
    )  # fmt: skip
    statistics.refresh_monthly_figures()

    totals = Client().get("/api/v1/stats/").json()["totals"]

    assert (totals["concluded"], totals["automated"], totals["human_reviews"]) == (3, 3, 1)
    assert totals["received"] == 4  # the one the rules sent to a caseworker is not decided yet
    page = Client().get(reverse("stats")).content.decode()
    assert 'id="automated-decisions">3 ' in page


def test_the_designer_saves_rules_and_names_a_bad_one(office):
    service, staff = office
    admin = StaffMembershipFactory(
        department=service.department, role=Role.DEPARTMENT_ADMIN, user__username="amr-admin"
    ).user
    client = logged_in(admin)
    page = client.get(reverse("designer:item", args=[service.code])).content.decode()
    assert "applicant.age" in page and "form.shop_area" in page  # the facts one may use

    refused = client.post(
        reverse("designer:auto-approval", args=[service.code]),
        {"enabled": "1", "rules": '[{"fact": "form.shop_aera", "op": "lte", "value": 200}]'},
        follow=True,
    )
    assert "form.shop_aera" in refused.content.decode()
    assert not AutoApprovalPolicy.objects.exists()

    client.post(
        reverse("designer:auto-approval", args=[service.code]),
        {"enabled": "1", "rules": '[{"fact": "form.shop_area", "op": "lte", "value": 200}]',
         "sample_percent": "5"},
    )  # fmt: skip
    policy = AutoApprovalPolicy.objects.get(service=service)
    assert policy.enabled and policy.sample_percent == 5


def test_the_interchange_format_carries_the_rules(office):
    from services import interchange

    service, _staff = office
    enable(service, [ADULT, SMALL_SHOP], sample_percent=20)
    document = interchange.export_service(service)
    assert document["auto_approval"]["rules"] == [ADULT, SMALL_SHOP]

    copy = interchange.import_service(
        document=document, code="AUTO-COPY", department=service.department
    )
    policy = AutoApprovalPolicy.objects.get(service=copy.service)
    assert (policy.enabled, policy.rules, policy.sample_percent) == (True, [ADULT, SMALL_SHOP], 20)

    document["auto_approval"]["rules"] = [{"fact": "applicant.age", "op": "like", "value": 1}]
    with pytest.raises(ValidationError) as refused:
        interchange.import_service(
            document=document, code="AUTO-BAD", department=service.department
        )
    assert "like" in str(refused.value)
