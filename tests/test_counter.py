"""Counter intake (issue 8, first part): lookup by ID number, walk-in registration, filing through
the engine with channel `counter`, same-day acceptance, claiming counter cases online."""

import pytest
from django.test import Client

from accounts.models import CitizenProfile, Role, User
from cases.models import Case, Notification

from .factories import (
    PASSWORD,
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    id_number_for,
    make_service,
)
from .support.broker import broker_down

WALK_IN = {"id_number": id_number_for(801), "real_name": "王大爷", "phone": "13512345678"}


@pytest.fixture
def counter(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr")
    service = make_service(
        "C-1", department=department,
        materials=[{"name": "申请书", "required": True}, {"name": "照片", "required": False}],
    ).service  # fmt: skip
    clerk = StaffMembershipFactory(
        department=department, role=Role.COUNTER_CLERK, user__username="clerk"
    ).user
    client = Client()
    client.force_login(clerk)
    return {"service": service, "clerk": clerk, "client": client, "department": department}


def file(client, service, **changes):
    body = {
        "citizen": WALK_IN,
        "service": service.code,
        "data": {"shop_area": 12},
        "materials_received": [service.current_version.materials.get(required=True).pk],
        **changes,
    }
    return client.post("/api/v1/counter/applications/", body, content_type="application/json")


@pytest.mark.django_db
def test_lookup_is_exact_and_never_reveals_the_full_number(counter):
    existing = CitizenProfileFactory(id_number=id_number_for(802), real_name="李四")
    client = counter["client"]
    found = client.post("/api/v1/counter/citizens/lookup/", {"id_number": existing.id_number})
    body = found.json()
    assert body["found"] is True and body["citizen"]["real_name"] == "李四"
    assert existing.id_number not in found.content.decode()
    assert body["citizen"]["id_number"] == existing.masked_id_number
    # One wrong digit, a prefix, or an invalid number never matches anyone.
    for wrong in (existing.id_number[:-1] + "0", existing.id_number[:10], "123"):
        assert (
            client.post("/api/v1/counter/citizens/lookup/", {"id_number": wrong}).json()["found"]
            is False
        )


@pytest.mark.django_db
def test_a_walk_in_citizen_is_registered_once_and_the_case_filed_at_the_counter(counter):
    response = file(counter["client"], counter["service"], queue_ticket="A017")
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "submitted" and response.json()["channel"] == "counter"
    again = file(counter["client"], counter["service"])
    assert again.status_code == 201
    assert CitizenProfile.objects.filter(real_name="王大爷").count() == 1
    profile = CitizenProfile.objects.get(real_name="王大爷")
    assert profile.user is None and profile.registered_at_counter
    case = Case.objects.get(number=response.json()["number"])
    assert (case.applicant, case.filed_by, case.queue_ticket) == (profile, counter["clerk"], "A017")
    # Without an account the citizen is told by text message.
    assert Notification.objects.filter(case=case, channel="sms", person=profile).exists()


@pytest.mark.django_db
def test_a_name_that_does_not_match_the_id_number_on_file_is_refused(counter):
    file(counter["client"], counter["service"])
    before = Case.objects.count()
    response = file(
        counter["client"], counter["service"], citizen={**WALK_IN, "real_name": "王小二"}
    )
    assert response.status_code == 400
    assert "real_name" in response.json()["errors"]
    assert Case.objects.count() == before


@pytest.mark.django_db
def test_missing_paper_material_and_bad_input_are_refused_whole(counter):
    before = (Case.objects.count(), CitizenProfile.objects.count())
    missing = file(counter["client"], counter["service"], materials_received=[])
    assert missing.status_code == 400 and "materials" in missing.json()["errors"]
    bad_id = file(counter["client"], counter["service"], citizen={**WALK_IN, "id_number": "110105"})
    assert bad_id.status_code == 400 and "id_number" in bad_id.json()["errors"]
    assert (Case.objects.count(), CitizenProfile.objects.count()) == before


@pytest.mark.django_db
def test_same_day_acceptance_only_for_a_clerk_who_may_accept(counter):
    response = file(counter["client"], counter["service"], accept=True)
    assert (
        response.json()["state"] == "accepted"
    )  # the standard workflow lets counter clerks accept
    other_clerk = StaffMembershipFactory(role=Role.COUNTER_CLERK).user  # another department
    client = Client()
    client.force_login(other_clerk)
    queued = file(client, counter["service"], accept=True)
    assert queued.json()["state"] == "submitted"  # goes to the department's queue instead


@pytest.mark.django_db
def test_only_clerks_use_the_counter(counter):
    citizen = Client()
    citizen.force_login(CitizenProfileFactory().user)
    assert file(citizen, counter["service"]).status_code == 403
    assert (
        citizen.post(
            "/api/v1/counter/citizens/lookup/", {"id_number": WALK_IN["id_number"]}
        ).status_code
        == 403
    )


@pytest.mark.django_db
def test_counter_intake_works_while_the_broker_is_down(counter):
    with broker_down():
        response = file(counter["client"], counter["service"])
    assert response.status_code == 201
    assert Notification.objects.filter(
        case__number=response.json()["number"], state="pending"
    ).exists()


@pytest.mark.django_db
def test_the_right_citizen_claims_their_counter_cases_online(counter):
    number = file(counter["client"], counter["service"]).json()["number"]
    impostor = Client()
    refused = impostor.post(
        "/api/v1/auth/register/",
        {"username": "fake", "password": PASSWORD, **WALK_IN, "real_name": "冒名者"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "id_number" in refused.json()["errors"]
    wrong_phone = impostor.post(
        "/api/v1/auth/register/",
        {"username": "fake", "password": PASSWORD, **WALK_IN, "phone": "13900000000"},
        content_type="application/json",
    )
    assert wrong_phone.status_code == 400
    citizen = Client()
    claimed = citizen.post(
        "/api/v1/auth/register/",
        {"username": "wangdaye", "password": PASSWORD, **WALK_IN},
        content_type="application/json",
    )
    assert claimed.status_code == 201, claimed.json()
    assert CitizenProfile.objects.filter(real_name="王大爷").count() == 1
    citizen.force_login(User.objects.get(username="wangdaye"))
    mine = citizen.get("/api/v1/applications/").json()["results"]
    assert [c["number"] for c in mine] == [number]
    timeline = citizen.get(f"/api/v1/applications/{number}/").json()["timeline"]
    assert [e["action"] for e in timeline] == ["create", "submit"]
    # The clerk who filed it does not keep it among their own applications.
    assert counter["client"].get("/api/v1/applications/").json()["results"] == []


@pytest.mark.django_db
def test_result_handover_at_the_counter(counter):
    from cases import workflow

    number = file(counter["client"], counter["service"], accept=True).json()["number"]
    case = Case.objects.get(number=number)
    department = counter["department"]
    reviewer = StaffMembershipFactory(department=department, role=Role.REVIEWER).user
    approver = StaffMembershipFactory(department=department, role=Role.APPROVER).user
    case = workflow.apply_transition(case=case, name="pass_review", actor=reviewer, opinion="符合")
    case = workflow.apply_transition(case=case, name="approve", actor=approver, opinion="准予")
    client = counter["client"]
    listed = client.post("/counter/pickup/", {"id_number": WALK_IN["id_number"]}).content.decode()
    assert number in listed and WALK_IN["id_number"] not in listed
    # The hand-over forms carry only the case: the number typed stays in the session.
    unchecked = client.post("/counter/pickup/", {"hand_over": number, "collected_by": "王大爷"})
    assert unchecked.status_code == 302
    assert Case.objects.get(pk=case.pk).state == "approved"
    client.post(
        "/counter/pickup/",
        {
            "hand_over": number,
            "collected_by": "王小明（子）",
            "identity_checked": "on",
        },
    )
    case.refresh_from_db()
    assert case.state == "concluded"
    last = case.events.order_by("-sequence").first()
    assert (last.action, last.details["collected_by"]) == ("conclude", "王小明（子）")


@pytest.mark.django_db
def test_clerks_see_a_banner_when_messages_are_delayed(counter):
    from django.core.cache import cache

    cache.delete("portal:broker-up")
    assert (
        "notification service is unreachable"
        not in counter["client"].get("/counter/").content.decode()
    )
    cache.delete("portal:broker-up")
    counter["client"].cookies["django_language"] = "en"
    with broker_down():
        page = counter["client"].get("/counter/").content.decode()
    assert "notification service is unreachable" in page
    cache.delete("portal:broker-up")
