"""Proxies (帮办代办, issue 8): authorisations given online or checked at a counter; cases filed under
them name both people, and both follow them; revoking stops new filings; scans at the counter."""

import datetime as dt
import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import CitizenProfile, ProxyAuthorisation, Role, User
from cases.models import Attachment, Case, Notification
from services.models import ServiceItem

from . import files
from .factories import (
    PASSWORD,
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    id_number_for,
    logged_in,
    make_service,
)
from .support.sms import register

PDF = files.PDF


@pytest.fixture
def family(db, settings, tmp_path):
    """An elderly mother with an account she rarely uses, her son, and a stranger."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    mother = CitizenProfileFactory(user__username="mother", real_name="刘秀英", phone="13700000001")
    son = CitizenProfileFactory(user__username="son", real_name="陈明", phone="13700000002")
    stranger = CitizenProfileFactory(user__username="stranger", real_name="路人")
    department = DepartmentFactory(code="civil")
    service = make_service("P-1", department=department).service
    return {"mother": mother, "son": son, "stranger": stranger, "service": service,
            "department": department}  # fmt: skip


def grant(client, son, **changes):
    body = {"agent_real_name": son.real_name, "agent_id_number": son.id_number,
            "relationship": "child", **changes}  # fmt: skip
    return client.post("/api/v1/authorisations/", body, content_type="application/json")


@pytest.mark.django_db
def test_only_the_named_registered_person_can_be_authorised(family):
    mother = logged_in(family["mother"].user)
    son = family["son"]
    assert grant(mother, son, agent_real_name="陈明明").status_code == 400  # wrong name
    wrong_digit = (
        son.id_number[:-2] + ("0" if son.id_number[-2] != "0" else "1") + son.id_number[-1]
    )
    assert grant(mother, son, agent_id_number=wrong_digit).status_code == 400
    walk_in = CitizenProfileFactory(walk_in=True, real_name="没账号")
    response = grant(mother, walk_in)
    assert response.status_code == 400
    assert "注册" in response.json()["errors"]["agent_id_number"][0]  # they must register first
    assert grant(mother, family["mother"]).status_code == 400  # not oneself
    too_long = (timezone.localdate() + dt.timedelta(days=5 * 365)).isoformat()
    assert "valid_until" in grant(mother, son, valid_until=too_long).json()["errors"]
    assert grant(mother, son, relationship="boss").status_code == 400
    assert ProxyAuthorisation.objects.count() == 0
    created = grant(mother, son)
    assert created.status_code == 201, created.json()
    assert created.json()["agent"] == "陈明" and created.json()["relationship"] == "child"
    # The son sees it among what he holds; the stranger holds nothing.
    held = logged_in(son.user).get("/api/v1/authorisations/").json()["held"]
    assert [a["principal"] for a in held] == ["刘秀英"]
    assert logged_in(family["stranger"].user).get("/api/v1/authorisations/").json()["held"] == []


@pytest.mark.django_db
def test_a_proxy_applies_online_and_both_follow_the_case(family):
    authorisation = grant(logged_in(family["mother"].user), family["son"]).json()["id"]
    son = logged_in(family["son"].user)
    body = {"service": "P-1", "data": {"shop_area": 30}, "on_behalf_of": authorisation}
    created = son.post("/api/v1/applications/", body, content_type="application/json")
    assert created.status_code == 201, created.json()
    number = created.json()["number"]
    case = Case.objects.get(number=number)
    assert case.applicant == family["mother"] and case.agent == family["son"]
    assert case.filed_by == family["son"].user and case.authorisation_id == authorisation
    # The mother's name is filled in from her record, not typed by the son.
    assert case.data["applicant_name"] == "刘秀英"
    material = family["service"].current_version.materials.get()
    upload = SimpleUploadedFile("form.pdf", PDF, "application/pdf")
    attached = son.post(f"/api/v1/applications/{number}/attachments/",
                        {"material": material.pk, "file": upload})  # fmt: skip
    assert attached.status_code == 201, attached.json()
    assert son.post(f"/api/v1/applications/{number}/submit/").status_code == 200
    for person in ("mother", "son"):
        client = logged_in(family[person].user)
        assert number in [
            c["number"] for c in client.get("/api/v1/applications/").json()["results"]
        ]
        assert client.get(f"/api/v1/applications/{number}/").status_code == 200
        assert Notification.objects.filter(
            case=case, recipient=family[person].user, event="submitted", channel="inbox"
        ).exists()
    stranger = logged_in(family["stranger"].user)
    assert stranger.get(f"/api/v1/applications/{number}/").status_code == 404
    # Someone else's authorisation cannot be borrowed.
    borrowed = stranger.post("/api/v1/applications/", body, content_type="application/json")
    assert borrowed.status_code == 400 and "on_behalf_of" in borrowed.json()["errors"]


@pytest.mark.django_db
def test_revoking_stops_new_applications_but_keeps_the_old_ones_visible(family):
    mother = logged_in(family["mother"].user)
    authorisation = grant(mother, family["son"]).json()["id"]
    son = logged_in(family["son"].user)
    body = {"service": "P-1", "data": {"shop_area": 30}, "on_behalf_of": authorisation}
    number = son.post("/api/v1/applications/", body, content_type="application/json").json()[
        "number"
    ]
    # Only the principal may revoke.
    assert son.post(f"/api/v1/authorisations/{authorisation}/revoke/").status_code == 404
    assert mother.post(f"/api/v1/authorisations/{authorisation}/revoke/").status_code == 200
    refused = son.post("/api/v1/applications/", body, content_type="application/json")
    assert refused.status_code == 400 and "on_behalf_of" in refused.json()["errors"]
    assert son.get(f"/api/v1/applications/{number}/").status_code == 200
    assert logged_in(family["son"].user).get("/api/v1/authorisations/").json()["held"] == []


@pytest.mark.django_db
def test_an_expired_authorisation_cannot_be_used(family):
    expired = ProxyAuthorisation.objects.create(
        principal=family["mother"], agent=family["son"], relationship="child",
        valid_from=timezone.localdate() - dt.timedelta(days=30),
        valid_until=timezone.localdate() - dt.timedelta(days=1),
        channel="online", recorded_by=family["mother"].user,
    )  # fmt: skip
    body = {"service": "P-1", "data": {}, "on_behalf_of": expired.pk}
    response = logged_in(family["son"].user).post(
        "/api/v1/applications/", body, content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_authorisations_page_grants_and_revokes(family):
    mother = logged_in(family["mother"].user)
    page = mother.get("/accounts/authorisations/")
    assert page.status_code == 200 and "授权" in page.content.decode()
    bad = mother.post("/accounts/authorisations/", {"grant": "1", "agent_real_name": "陈明",
                      "agent_id_number": "123", "relationship": "child"})  # fmt: skip
    assert bad.status_code == 400 and 'role="alert"' in bad.content.decode()
    son = family["son"]
    good = mother.post("/accounts/authorisations/", {"grant": "1", "agent_real_name": son.real_name,
                       "agent_id_number": son.id_number, "relationship": "child"}, follow=True)  # fmt: skip
    assert good.status_code == 200 and "陈明" in good.content.decode()
    authorisation = ProxyAuthorisation.objects.get()
    assert authorisation.valid_until == timezone.localdate() + dt.timedelta(days=365)
    # The son chooses his mother when he starts an application.
    start = logged_in(son.user).get("/applications/new/P-1/")
    assert "刘秀英" in start.content.decode()
    created = logged_in(son.user).post("/applications/new/P-1/", {"token": "t1",
                                       "on_behalf_of": str(authorisation.pk)})  # fmt: skip
    assert created.status_code == 302
    assert Case.objects.get().applicant == family["mother"]
    mother.post("/accounts/authorisations/", {"revoke": str(authorisation.pk)})
    authorisation.refresh_from_db()
    assert authorisation.revoked_at is not None


@pytest.fixture
def desk(family):
    clerk = StaffMembershipFactory(
        department=family["department"], role=Role.COUNTER_CLERK, user__username="clerk"
    ).user
    return {**family, "clerk": clerk, "client": logged_in(clerk)}


ELDER = {"id_number": id_number_for(950), "real_name": "周老太", "phone": "13800000950"}
NEIGHBOUR = {"id_number": id_number_for(951), "real_name": "吴邻居", "phone": "13800000951"}


def file_at_counter(client, **changes):
    received = [m.pk for m in ServiceItem.objects.get(code="P-1").current_version.materials.all()]
    body = {"citizen": ELDER, "service": "P-1", "data": {"shop_area": 8},
            "materials_received": received, **changes}  # fmt: skip
    return client.post("/api/v1/counter/applications/", body, content_type="application/json")


@pytest.mark.django_db
def test_a_proxy_at_the_counter_needs_the_letter_and_the_case_names_both(desk):
    refused = file_at_counter(desk["client"], agent={**NEIGHBOUR, "relationship": "agent"})
    assert refused.status_code == 400
    assert "agent.letter_checked" in refused.json()["errors"]
    # Nothing half-done: no case, nobody registered.
    assert not Case.objects.exists() and not CitizenProfile.objects.filter(real_name="周老太")
    agent = {**NEIGHBOUR, "relationship": "agent", "letter_checked": True}
    mistyped = file_at_counter(desk["client"], agent={**agent, "id_number": "123"})
    assert mistyped.status_code == 400 and "agent.id_number" in mistyped.json()["errors"]
    filed = file_at_counter(desk["client"], agent=agent)
    assert filed.status_code == 201, filed.json()
    case = Case.objects.get(number=filed.json()["number"])
    elder, neighbour = (CitizenProfile.objects.get(real_name=n) for n in ("周老太", "吴邻居"))
    assert (case.applicant, case.agent) == (elder, neighbour)
    assert (
        case.authorisation.channel == "counter" and case.authorisation.recorded_by == desk["clerk"]
    )
    assert case.authorisation.valid_until == timezone.localdate()  # the letter covers today
    assert case.data["applicant_name"] == "周老太"
    # The receipt names both.
    pdf = desk["client"].get(f"/counter/done/{case.number}/receipt.pdf").content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    assert "周老太" in text.stdout.decode() and "代办人" in text.stdout.decode()
    assert "吴邻居" in text.stdout.decode()
    # Both are told, by text message (neither has an account).
    assert {n.address for n in Notification.objects.filter(case=case, channel="sms")} == {
        ELDER["phone"],
        NEIGHBOUR["phone"],
    }
    # The neighbour signs up online later and follows the case too; the elder still owns it.
    client = Client()
    registered = register(client, username="wu", password=PASSWORD, **NEIGHBOUR)
    assert registered.status_code == 201, registered.json()
    client.force_login(User.objects.get(username="wu"))
    assert client.get(f"/api/v1/applications/{case.number}/").status_code == 200


@pytest.mark.django_db
def test_a_proxy_with_an_online_authorisation_needs_no_letter_at_the_counter(desk):
    grant(logged_in(desk["mother"].user), desk["son"])
    mother, son = desk["mother"], desk["son"]
    agent = {"id_number": son.id_number, "real_name": son.real_name, "phone": son.phone,
             "relationship": "child"}  # fmt: skip
    citizen = {"id_number": mother.id_number, "real_name": mother.real_name, "phone": mother.phone}
    filed = file_at_counter(desk["client"], citizen=citizen, agent=agent)
    assert filed.status_code == 201, filed.json()
    case = Case.objects.get(number=filed.json()["number"])
    assert case.authorisation.channel == "online" and case.agent == son
    assert ProxyAuthorisation.objects.count() == 1


@pytest.mark.django_db
def test_the_counter_page_keeps_scans_and_the_letter_and_refuses_a_disguised_file(desk):
    from cases import uploads

    client = desk["client"]
    client.post("/counter/", {"id_number": ELDER["id_number"], "real_name": ELDER["real_name"],
                "phone": ELDER["phone"], "service": "P-1", "continue": "1"})  # fmt: skip
    material = desk["service"].current_version.materials.first()
    fields = {"shop_area": "8", "received": [str(material.pk)], "agent-id_number":
              NEIGHBOUR["id_number"], "agent-real_name": NEIGHBOUR["real_name"], "agent-phone":
              NEIGHBOUR["phone"], "agent-relationship": "relative", "agent-letter_checked": "on"}  # fmt: skip
    wrong_id = client.post("/counter/apply/", {**fields, "agent-id_number": "12345"})
    assert wrong_id.status_code == 400
    assert "18 位" in " ".join(wrong_id.context["form"].errors["agent-id_number"])
    disguised = SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")
    refused = client.post("/counter/apply/", {**fields, f"scan-{material.pk}": disguised})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "scan.pdf" in page and NEIGHBOUR["real_name"] in page  # typed values kept
    assert not Case.objects.exists()
    assert not [p for p in uploads.storage_root().rglob("*") if p.is_file()]
    scans = [SimpleUploadedFile(f"page{n}.pdf", PDF, "application/pdf") for n in (1, 2)]
    letter = SimpleUploadedFile("letter.pdf", PDF, "application/pdf")
    filed = client.post("/counter/apply/", {**fields, f"scan-{material.pk}": scans,
                        "agent-letter": letter})  # fmt: skip
    assert filed.status_code == 302, filed.content.decode()[:2000]
    case = Case.objects.get()
    assert sorted(a.original_name for a in Attachment.objects.filter(case=case)) == [
        "page1.pdf",
        "page2.pdf",
    ]
    assert case.authorisation.letter_original_name == "letter.pdf"
    assert uploads.read_stored(case.authorisation.letter_stored_name) == PDF
    assert case.agent.real_name == "吴邻居"
