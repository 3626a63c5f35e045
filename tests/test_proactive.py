"""Registry facts for 秒批 rules and 免申即享 (issue 18, item 4): a rule may name a registry's fact
(read under the service's grant, logged; a registry down sends the case to a person); a daily
set-based sweep finds the people the registries show eligible for a service, offers it to them (one
click to confirm) or grants it and tells them, and never twice; the cases it files run through the
normal engine."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from accounts.models import Role
from cases.models import AutoDecisionCheck, Case, SharingRequest
from cases.sharing.demo import enter_in_demo_registry
from services.auto_rules import WHY_DIFFERS, WHY_UNAVAILABLE
from services.models import AutoApprovalPolicy, OuterState, SharingGrant

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    id_number_for,
    logged_in,
    make_service,
)

RESIDENT = {"fact": "registry.household.resident", "op": "eq", "value": True, "label": "本市户籍"}
AGED_80 = {"fact": "registry.household.age", "op": "gte", "value": 80, "label": "年满80周岁"}
FORM = {
    "type": "object",
    "x-order": ["name", "consent"],
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 30, "title": "姓名", "x-prefill": "real_name"},
        "consent": {"type": "boolean", "title": "本人同意"},
    },
}


def official(text) -> str:
    """The words of a rule's record, written in the official language whoever submits."""
    with translation.override("zh-hans"):
        return str(text)


def household(birth: str, status: str = "正常") -> dict:
    return {"name": "某某", "gender": "女", "birth_date": birth,
            "address": "示范市青山区松林街道松林路 5 号", "status": status}  # fmt: skip


def born(years_ago: int, *, days: int = 0) -> str:
    today = timezone.localdate()
    return (today.replace(year=today.year - years_ago) + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def civil(db, settings, tmp_path):
    """A benefit service of the civil affairs bureau whose materials all come from the household
    register, with a grant for the fields its rules read, and a caseworker."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.AUTO_DECISION_SAMPLE_PERCENT = 0
    psb = DepartmentFactory(code="city-psb", name="示范市公安局")
    department = DepartmentFactory(code="city-civil", name="示范市民政局")
    version = make_service(
        "GL-1", department=department, name="高龄津贴申领", kind="benefit", form_schema=FORM,
        materials=[{"name": "户籍信息", "required": True, "source": "shared", "shared_by": psb}],
    )  # fmt: skip
    SharingGrant.objects.create(
        service=version.service, registry="household",
        fields=["name", "birth_date", "address", "status"], purpose="核验年龄和户籍",
    )  # fmt: skip
    caseworker = StaffMembershipFactory(department=department, role=Role.CASEWORKER).user
    return {"service": version.service, "caseworker": caseworker}


def auto_approve(service, rules) -> None:
    policy = AutoApprovalPolicy(service=service, enabled=True, rules=rules)
    policy.full_clean()
    policy.save()


def apply_and_submit(service, profile):
    client = logged_in(profile.user)
    made = client.post(
        "/api/v1/applications/", {"service": service.code, "data": {"consent": True}},
        content_type="application/json",
    )  # fmt: skip
    assert made.status_code == 201, made.content
    number = made.json()["number"]
    answer = client.post(f"/api/v1/applications/{number}/submit/")
    assert answer.status_code == 200, answer.content
    return Case.objects.get(number=number), answer.json()


# --- Registry facts in 秒批 rules --------------------------------------------------------------------


def test_registry_rules_that_hold_approve_at_submission_and_are_logged(civil):
    auto_approve(civil["service"], [RESIDENT, AGED_80])
    elder = CitizenProfileFactory(id_number=id_number_for(7))
    enter_in_demo_registry(
        registry="household", id_number=elder.id_number, data=household(born(85))
    )

    case, answer = apply_and_submit(civil["service"], elder)

    assert answer["state"] == OuterState.CONCLUDED
    check = AutoDecisionCheck.objects.get(case=case)
    assert check.approved and [r["label"] for r in check.results] == ["本市户籍", "年满80周岁"]
    # Read through the sharing door: under the grant, logged for the register's department.
    asked = SharingRequest.objects.get(case=case, purpose=SharingRequest.Purpose.RULE)
    assert asked.registry == "household" and asked.outcome == SharingRequest.Outcome.FOUND
    assert asked.fields == ["status", "birth_date"] and asked.department.code == "city-psb"


@pytest.mark.parametrize(
    ("record", "why"),
    [
        (household(born(80, days=1)), WHY_DIFFERS),  # 80 tomorrow
        (household(born(90), status="迁出"), WHY_DIFFERS),  # moved away
        (None, WHY_DIFFERS),  # not in the register: no resident
    ],
)
def test_a_registry_rule_that_does_not_hold_sends_the_case_to_a_person(civil, record, why):
    auto_approve(civil["service"], [RESIDENT, AGED_80])
    person = CitizenProfileFactory(id_number=id_number_for(8))
    if record is not None:
        enter_in_demo_registry(registry="household", id_number=person.id_number, data=record)

    case, answer = apply_and_submit(civil["service"], person)

    assert answer["state"] == OuterState.SUBMITTED
    failed = [r for r in AutoDecisionCheck.objects.get(case=case).results if not r["held"]]
    assert failed and failed[0]["why"] == official(why)
    queue = logged_in(civil["caseworker"]).get("/api/v1/work/queue/").json()
    assert case.number in [row["number"] for row in queue["results"]]


def test_a_registry_down_fails_the_rule_to_a_person_and_never_blocks(civil, settings):
    auto_approve(civil["service"], [RESIDENT, AGED_80])
    elder = CitizenProfileFactory(id_number=id_number_for(9))
    enter_in_demo_registry(
        registry="household", id_number=elder.id_number, data=household(born(85))
    )
    settings.DEMO_REGISTRIES_DOWN = ["household"]

    case, answer = apply_and_submit(civil["service"], elder)

    assert answer["state"] == OuterState.SUBMITTED  # filed; a caseworker decides
    results = AutoDecisionCheck.objects.get(case=case).results
    assert {r["why"] for r in results} == {official(WHY_UNAVAILABLE)}
    assert SharingRequest.objects.filter(
        case=case, purpose=SharingRequest.Purpose.RULE, outcome=SharingRequest.Outcome.UNAVAILABLE
    ).exists()


def test_a_registry_fact_outside_the_grant_is_refused_and_does_not_hold(civil):
    rule = {"fact": "registry.household.ethnicity", "op": "eq", "value": "汉族"}
    auto_approve(civil["service"], [rule])
    person = CitizenProfileFactory(id_number=id_number_for(10))
    enter_in_demo_registry(
        registry="household", id_number=person.id_number,
        data={**household(born(40)), "ethnicity": "汉族"},
    )  # fmt: skip

    case, answer = apply_and_submit(civil["service"], person)

    assert answer["state"] == OuterState.SUBMITTED
    asked = SharingRequest.objects.get(case=case, purpose=SharingRequest.Purpose.RULE)
    assert asked.outcome == SharingRequest.Outcome.REFUSED and asked.data == {}


def test_a_rule_naming_an_unknown_registry_fact_is_refused_when_saved(civil):
    policy = AutoApprovalPolicy(
        service=civil["service"], enabled=True,
        rules=[{"fact": "registry.household.shoe_size", "op": "eq", "value": "42"}],
    )  # fmt: skip
    with pytest.raises(ValidationError) as raised:
        policy.full_clean()
    assert "registry.household.age" in str(raised.value)  # the known facts are listed
