"""Registry facts for 秒批 rules and 免申即享 (issue 18, item 4): a rule may name a registry's fact
(read under the service's grant, logged; a registry down sends the case to a person); a daily
set-based sweep finds the people the registries show eligible for a service, offers it to them (one
click to confirm) or grants it and tells them, and never twice; the cases it files run through the
normal engine."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.crypto import keyed_hash
from accounts.models import CitizenProfile, Role, User
from cases.models import (
    AutoDecisionCheck,
    Case,
    DemoRegistryRecord,
    Notification,
    NotificationEvent,
    ProactiveOffer,
    SharingRequest,
)
from cases.notifications.services import deliver
from cases.proactive import services as proactive
from cases.sharing.demo import demo_record, enter_in_demo_registry
from services.auto_rules import WHY_DIFFERS, WHY_UNAVAILABLE
from services.models import AutoApprovalPolicy, OuterState, ProactivePolicy, SharingGrant

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


# --- 免申即享: the sweep ------------------------------------------------------------------------------


def enable_proactive(service, mode="offer", rules=(RESIDENT, AGED_80)) -> ProactivePolicy:
    policy = ProactivePolicy(
        service=service, enabled=True, mode=mode, rules=list(rules), answers={"consent": True}
    )
    policy.full_clean()
    policy.save()
    return policy


def people(start: int, count: int) -> int:
    """`count` demo people with accounts, profiles and household records, bulk-created: one in
    ten aged 80 or more and resident (eligible), one in ten turning 80 tomorrow, one in ten aged 90
    but registered elsewhere now, the rest aged 40. Returns how many are eligible."""
    numbers = [id_number_for(start + i) for i in range(count)]
    users = User.objects.bulk_create(
        [User(username=f"elder{start + i}", email=f"elder{start + i}@example.com")
         for i in range(count)]
    )  # fmt: skip
    CitizenProfile.objects.bulk_create(
        [
            CitizenProfile(user=user, real_name=f"老人{start + i}", id_number=number,
                           id_number_hash=keyed_hash(number), phone=f"139{start + i:08d}")
            for i, (user, number) in enumerate(zip(users, numbers, strict=True))
        ]
    )  # fmt: skip
    kinds = [household(born(85)), household(born(80, days=1)),
             household(born(90), status="迁出"), *[household(born(40))] * 7]  # fmt: skip
    DemoRegistryRecord.objects.bulk_create(
        [
            demo_record(registry="household", id_number=number, data=kinds[(start + i) % 10])
            for i, number in enumerate(numbers)
        ]
    )
    return sum(1 for i in range(count) if (start + i) % 10 == 0)


def test_the_sweep_over_10000_people_finds_exactly_the_eligible_in_a_few_queries(civil):
    service = civil["service"]
    enable_proactive(service)
    eligible = people(0, 100)
    # Someone the register shows eligible who has no profile here is nobody to offer it to.
    DemoRegistryRecord.objects.bulk_create(
        [demo_record(registry="household", id_number=id_number_for(19000), data=household(born(88)))]
    )  # fmt: skip

    with CaptureQueriesContext(connection) as small:
        assert proactive.sweep() == {service.code: eligible}
    eligible += people(100, 9900)
    with CaptureQueriesContext(connection) as large:
        found = proactive.sweep()

    assert eligible == 1000
    assert found == {service.code: eligible - 10}  # the first ten were offered already
    assert len(large) == len(small) <= 15  # set-based: no query per person
    offers = ProactiveOffer.objects.filter(service=service)
    assert offers.count() == eligible
    assert set(offers.values_list("person__real_name", flat=True)) == {
        f"老人{i}" for i in range(0, 10000, 10)
    }
    # Each is told once: inbox, e-mail and text message.
    assert Notification.objects.filter(event=NotificationEvent.PROACTIVE_OFFERED).count() == (
        3 * eligible
    )
    # Run again: nobody new, nothing twice.
    assert proactive.sweep() == {service.code: 0}
    assert offers.count() == eligible
    assert Notification.objects.filter(event=NotificationEvent.PROACTIVE_OFFERED).count() == (
        3 * eligible
    )
    # The sweep asked the register once a run, under the service's grant, and logged it.
    asked = SharingRequest.objects.filter(purpose=SharingRequest.Purpose.ELIGIBILITY)
    assert asked.count() == 3 and {r.outcome for r in asked} == {SharingRequest.Outcome.FOUND}


def test_a_registry_down_skips_the_sweep_until_the_next_run(civil, settings):
    enable_proactive(civil["service"])
    people(0, 20)
    settings.DEMO_REGISTRIES_DOWN = ["household"]
    assert proactive.sweep() == {civil["service"].code: 0}
    settings.DEMO_REGISTRIES_DOWN = []
    assert proactive.sweep() == {civil["service"].code: 2}


def offered(service, number: int = 3) -> tuple[CitizenProfile, ProactiveOffer]:
    elder = CitizenProfileFactory(real_name="张秀兰", id_number=id_number_for(number))
    enter_in_demo_registry(
        registry="household", id_number=elder.id_number, data=household(born(80))
    )
    proactive.sweep()
    return elder, ProactiveOffer.objects.get(person=elder, service=service)


def test_the_offer_shows_in_the_inbox_and_on_the_home_page_and_confirm_files_a_case(
    civil, django_capture_on_commit_callbacks
):
    service = civil["service"]
    enable_proactive(service)
    elder, offer = offered(service)
    client = logged_in(elder.user)
    for row in Notification.objects.filter(recipient=elder.user):
        deliver(row.pk)

    inbox = client.get("/api/v1/notifications/").json()["results"]
    assert [n["subject"] for n in inbox] == ["您已符合高龄津贴申领"]
    assert "一键确认即可" in inbox[0]["body"] and "/offers/" in inbox[0]["body"]
    home = client.get("/").content.decode()
    assert "高龄津贴申领" in home and f"/offers/{offer.pk}/confirm/" in home
    page = client.get("/offers/").content.decode()
    assert "高龄津贴申领" in page and f"/offers/{offer.pk}/decline/" in page
    listed = client.get("/api/v1/offers/").json()["results"]
    assert [(o["service"], o["state"], o["case"]) for o in listed] == [
        (service.code, "offered", None)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/api/v1/offers/{offer.pk}/confirm/")

    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "confirmed"
    case = Case.objects.get(number=answer.json()["case"])
    # Filed through the normal engine: submitted, in the queue, on the applicant's list.
    assert case.state == OuterState.SUBMITTED and case.channel == "proactive"
    assert case.applicant == elder and case.events.filter(action="submit").exists()
    queue = logged_in(civil["caseworker"]).get("/api/v1/work/queue/").json()["results"]
    assert case.number in [row["number"] for row in queue]
    mine = client.get("/api/v1/applications/").json()["results"]
    assert case.number in [row["number"] for row in mine]
    # Answered once: a second click is a conflict, and the home page no longer offers it.
    assert client.post(f"/api/v1/offers/{offer.pk}/confirm/").status_code == 409
    assert f"/offers/{offer.pk}/confirm/" not in client.get("/").content.decode()


def test_confirm_with_秒批_decides_in_the_same_request(civil):
    service = civil["service"]
    enable_proactive(service)
    auto_approve(service, [RESIDENT, AGED_80])
    elder, offer = offered(service)
    answer = logged_in(elder.user).post(f"/api/v1/offers/{offer.pk}/confirm/")
    assert answer.json()["case_state"] == OuterState.CONCLUDED


def test_a_declined_offer_is_never_made_again(civil):
    service = civil["service"]
    enable_proactive(service)
    elder, offer = offered(service)
    client = logged_in(elder.user)

    answer = client.post(
        f"/api/v1/offers/{offer.pk}/decline/", {"reason": "不需要"}, content_type="application/json"
    )

    assert answer.status_code == 200 and answer.json()["state"] == "declined"
    assert proactive.sweep() == {service.code: 0}
    assert ProactiveOffer.objects.filter(person=elder).count() == 1
    assert not Case.objects.filter(applicant=elder).exists()
    assert client.post(f"/api/v1/offers/{offer.pk}/confirm/").status_code == 409
    # Someone else's offer is not found.
    other = logged_in(CitizenProfileFactory().user)
    assert other.post(f"/api/v1/offers/{offer.pk}/decline/").status_code == 404
    assert other.get("/api/v1/offers/").json()["results"] == []


def test_grant_mode_files_the_case_and_tells_the_person_who_may_opt_out(
    civil, django_capture_on_commit_callbacks
):
    service = civil["service"]
    enable_proactive(service, mode="grant")
    elder, offer = offered(service)

    offer.refresh_from_db()
    assert offer.state == "granted" and offer.case is not None
    case = offer.case
    assert case.state == OuterState.SUBMITTED and case.applicant == elder
    told = Notification.objects.filter(recipient=elder.user, channel="inbox")
    assert {n.event for n in told} >= {NotificationEvent.PROACTIVE_GRANTED, "submitted"}
    sms = Notification.objects.get(person=elder, event=NotificationEvent.PROACTIVE_GRANTED)
    assert sms.channel == "sms" and sms.context["number"] == case.number
    assert proactive.sweep() == {service.code: 0}  # granted once
    assert Case.objects.filter(applicant=elder).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        answer = logged_in(elder.user).post(f"/api/v1/offers/{offer.pk}/opt-out/")

    assert answer.status_code == 200 and answer.json()["state"] == "opted_out"
    case.refresh_from_db()
    assert case.state == OuterState.WITHDRAWN  # through the engine: the trail says so
    assert case.events.filter(to_state=OuterState.WITHDRAWN).exists()
    assert proactive.sweep() == {service.code: 0}


def test_grant_mode_with_秒批_concludes_without_anyone_applying(civil):
    service = civil["service"]
    enable_proactive(service, mode="grant")
    auto_approve(service, [RESIDENT, AGED_80])
    elder, offer = offered(service)
    offer.refresh_from_db()
    assert offer.case.state == OuterState.CONCLUDED


def test_a_policy_needs_set_based_registry_facts_and_a_grant(civil):
    bad = ProactivePolicy(
        service=civil["service"], enabled=True,
        rules=[{"fact": "applicant.age", "op": "gte", "value": 80},
               {"fact": "registry.household.name", "op": "eq", "value": "张三"}],
        answers={"no_such_field": 1},
    )  # fmt: skip
    with pytest.raises(ValidationError) as raised:
        bad.full_clean()
    errors = raised.value.message_dict
    assert len(errors["rules"]) == 2 and "registry.household.age" in errors["rules"][1]
    assert "no_such_field" in errors["answers"][0]
    SharingGrant.objects.filter(service=civil["service"]).update(fields=["name"])
    ungranted = ProactivePolicy(service=civil["service"], enabled=True, rules=[AGED_80])
    with pytest.raises(ValidationError) as raised:
        ungranted.full_clean()
    assert "birth_date" in raised.value.message_dict["rules"][0]


# --- The demo: 高龄津贴 -----------------------------------------------------------------------------


def test_the_demo_offers_高龄津贴_to_the_grandmother_and_nobody_else(db, settings, tmp_path):
    from accounts import demo as accounts_demo
    from cases.proactive import demo as proactive_demo
    from cases.sharing import demo as sharing_demo
    from services import demo as services_demo

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    accounts_demo.load("demo-password-for-tests-1")
    services_demo.load()
    sharing_demo.load()
    assert proactive_demo.load() == 1

    found = proactive.sweep()

    assert found == {proactive_demo.OLD_AGE_ALLOWANCE: 1}
    offer = ProactiveOffer.objects.get()
    grandmother = offer.person
    assert grandmother.real_name == "张秀兰" and offer.state == "offered"
    # She has no account yet: she is told by text message.
    sms = Notification.objects.get(person=grandmother, event=NotificationEvent.PROACTIVE_OFFERED)
    assert sms.channel == "sms" and sms.context["service"] == "高龄津贴申领"
    # Once she signs in, one click files her own application.
    grandmother.user = User.objects.create(username="grandma")
    grandmother.save(update_fields=["user"])
    answer = logged_in(grandmother.user).post(f"/api/v1/offers/{offer.pk}/confirm/")
    assert answer.status_code == 200, answer.content
    case = Case.objects.get(number=answer.json()["case"])
    assert case.state == OuterState.SUBMITTED and case.department.code == "street-wanghai"
    assert case.data["elder_id"] == grandmother.id_number and case.data["relation"] == "self"
    assert proactive.sweep() == {proactive_demo.OLD_AGE_ALLOWANCE: 0}


def test_the_interchange_format_carries_the_policy_switched_off_until_granted(civil):
    from services.interchange import export_service, import_service

    enable_proactive(civil["service"], mode="grant")
    document = export_service(civil["service"])
    assert document["proactive"] == {
        "enabled": True, "mode": "grant", "rules": [RESIDENT, AGED_80], "answers": {"consent": True}
    }  # fmt: skip

    copy = import_service(document=document, code="GL-2", department=civil["service"].department)

    policy = ProactivePolicy.objects.get(service=copy.service)
    assert (policy.enabled, policy.mode, policy.rules) == (False, "grant", [RESIDENT, AGED_80])
    document["proactive"]["answers"] = {"no_such_field": 1}
    with pytest.raises(ValidationError) as raised:
        import_service(document=document, code="GL-3", department=civil["service"].department)
    assert "proactive" in str(raised.value)


# --- 帮办代办: a proxy answers for the person ---------------------------------------------------------


def authorise(principal, *, days: int = 30, **extra):
    from accounts.models import ProxyAuthorisation

    son = CitizenProfileFactory(real_name="李建国", id_number=id_number_for(77))
    today = timezone.localdate()
    authorisation = ProxyAuthorisation.objects.create(
        principal=principal,
        agent=son,
        relationship="child",
        valid_from=today - dt.timedelta(days=1),
        valid_until=today + dt.timedelta(days=days),
        channel="online",
        recorded_by=principal.user,
        **extra,
    )
    return son, authorisation


def test_a_proxy_sees_the_principals_offer_and_confirms_it_for_them(
    civil, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    from auditlog.models import LogEntry

    service = civil["service"]
    enable_proactive(service)
    elder, offer = offered(service)
    son, authorisation = authorise(elder)
    client = logged_in(son.user)

    # On /offers/, grouped under the person (masked), with the proxy's buttons; no opt-out.
    with CaptureQueriesContext(connection) as one:
        page = client.get("/offers/")
    text = page.content.decode()
    more = [
        make_service(f"GL-{n}", department=service.department, form_schema=FORM).service
        for n in (5, 6)
    ]
    extra = [ProactiveOffer.objects.create(service=s, person=elder, mode="offer", state="offered")
             for s in more]  # fmt: skip
    with django_assert_max_num_queries(len(one)):
        assert client.get("/offers/").content.decode().count("/confirm/") == 3
    ProactiveOffer.objects.filter(pk__in=[o.pk for o in extra]).delete()
    assert page.status_code == 200 and "张*兰" in text and "张秀兰" not in text
    assert "高龄津贴申领" in text and f"/offers/{offer.pk}/confirm/" in text
    listed = client.get("/api/v1/offers/").json()["results"]
    assert [(o["id"], o["state"], o["principal"]) for o in listed] == [
        (offer.pk, "offered", {"name": "张*兰", "relationship": "child",
                               "authorisation": authorisation.pk})
    ]  # fmt: skip
    assert "张*兰" in listed[0]["message"]
    # The person sees their own offer as before, with no principal.
    assert logged_in(elder.user).get("/api/v1/offers/").json()["results"][0]["principal"] is None

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/api/v1/offers/{offer.pk}/confirm/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "confirmed" and answer.json()["principal"]["name"] == "张*兰"
    case = Case.objects.get(number=answer.json()["case"])
    # Filed exactly as an online proxy application: the person applies, the proxy files.
    assert (case.applicant, case.agent, case.authorisation, case.filed_by) == (
        elder, son, authorisation, son.user,
    )  # fmt: skip
    assert case.state == OuterState.SUBMITTED and case.channel == "proactive"
    assert {e.actor_id for e in case.events.filter(action__in=["create", "submit"])} == {
        son.user.pk
    }
    offer.refresh_from_db()
    assert (offer.state, offer.answered_by) == ("confirmed", son.user)
    entry = LogEntry.objects.get(additional_data__event="proactive_confirmed_by_proxy")
    assert entry.actor == son.user and entry.additional_data["case"] == case.number
    assert entry.additional_data["authorisation"] == authorisation.pk
    # Both follow the application.
    for who in (son, elder):
        mine = logged_in(who.user).get("/api/v1/applications/").json()["results"]
        assert case.number in [row["number"] for row in mine]
    assert client.post(f"/api/v1/offers/{offer.pk}/confirm/").status_code == 409


def test_a_proxy_declines_through_the_page_and_cannot_opt_the_person_out(civil):
    from auditlog.models import LogEntry

    service = civil["service"]
    enable_proactive(service)
    elder, offer = offered(service)
    son, _authorisation = authorise(elder)
    client = logged_in(son.user)

    response = client.post(f"/offers/{offer.pk}/decline/", {"reason": "已在外地领取"})
    assert response.status_code == 302
    offer.refresh_from_db()
    assert (offer.state, offer.answered_by) == ("declined", son.user)
    assert LogEntry.objects.filter(
        additional_data__event="proactive_declined_by_proxy", actor=son.user
    ).exists()
    assert "张*兰" in client.get("/offers/").content.decode()

    # A grant is the person's own to give up.
    granted = make_service("GL-2", department=service.department, name="尊老金", form_schema=FORM)
    grant = ProactiveOffer.objects.create(
        service=granted.service, person=elder, mode="grant", state="granted"
    )
    assert client.post(f"/api/v1/offers/{grant.pk}/opt-out/").status_code == 404
    assert client.post(f"/offers/{grant.pk}/opt-out/").status_code == 404
    assert grant.pk not in [o["id"] for o in client.get("/api/v1/offers/").json()["results"]]
    grant.refresh_from_db()
    assert grant.state == "granted"


def test_someone_without_a_current_authorisation_gets_404(civil):
    service = civil["service"]
    enable_proactive(service)
    elder, offer = offered(service)
    # A stranger: nothing listed, 404 on every answer.
    stranger = logged_in(CitizenProfileFactory().user)
    assert stranger.get("/api/v1/offers/").json()["results"] == []
    assert "张*兰" not in stranger.get("/offers/").content.decode()
    for action in ("confirm", "decline"):
        assert stranger.post(f"/api/v1/offers/{offer.pk}/{action}/").status_code == 404
        assert stranger.post(f"/offers/{offer.pk}/{action}/").status_code == 404
    # An authorisation that has ended, or been revoked, is refused the same way.
    son, authorisation = authorise(elder)
    client = logged_in(son.user)
    authorisation.valid_until = timezone.localdate() - dt.timedelta(days=1)
    authorisation.valid_from = authorisation.valid_until - dt.timedelta(days=10)
    authorisation.save(update_fields=["valid_from", "valid_until"])
    assert client.get("/api/v1/offers/").json()["results"] == []
    assert client.post(f"/api/v1/offers/{offer.pk}/confirm/").status_code == 404
    authorisation.valid_until = timezone.localdate() + dt.timedelta(days=10)
    authorisation.revoked_at = timezone.now()
    authorisation.save(update_fields=["valid_until", "revoked_at"])
    assert client.post(f"/api/v1/offers/{offer.pk}/confirm/").status_code == 404
    offer.refresh_from_db()
    assert offer.state == "offered" and not Case.objects.filter(applicant=elder).exists()
