"""The demo bundles (issue 18): 出生一件事 and 开办企业一件事 load with the demo catalog, once, in the
bundle import format, and work end to end: the waiting member is filed and prefilled from the
result of the one it waits for."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from accounts.models import Role, User
from cases import workflow
from cases.models import BundleApplication, Case
from services import bundles
from services.demo_bundles import BIRTH, BUSINESS
from services.models import Bundle, BundleMember, ServiceItem

from . import files
from .factories import StaffMembershipFactory

pytestmark = pytest.mark.django_db

BIRTH_ANSWERS = {
    "child_name": "张小宝",
    "child_sex": "female",
    "birth_date": "2025-03-01",
    "consent": True,
    "birth": {"birth_place": "示范市妇幼保健院", "certificate_number": "P123456789",
              "register_with": "father", "relation": "father"},
    "insurance": {"relation": "child", "category": "newborn"},
    "card": {"bank": "icbc", "delivery": "mail"},
}  # fmt: skip


@pytest.fixture
def demo(settings, tmp_path):
    settings.DEBUG = True
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    call_command("load_demo")


def staff_of(code: str) -> dict:
    from accounts.models import Department

    department = Department.objects.get(code=code)
    return {
        role: StaffMembershipFactory(department=department, role=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER)
    }


def decide(case: Case, people: dict, until: str = "concluded") -> Case:
    """Take the case through its workflow, whatever its transitions are called, to `until`."""
    for outcome in ("accepted", "passed", "approved", "concluded"):
        for user in people.values():
            transition = workflow.transition_with_outcome(case, user, outcome)
            if transition is not None:
                article = case.service.articles.first() if outcome == "approved" else None
                case = workflow.apply_transition(
                    case=case, name=transition.name, actor=user, opinion="符合条件",
                    details={"legal_basis": article.pk} if article else None,
                )  # fmt: skip
                break
        if case.state == until:
            break
    case.refresh_from_db()
    return case


def pdf(name="file.pdf"):
    return SimpleUploadedFile(name, files.PDF, content_type="application/pdf")


def test_the_demo_bundles_load_once_published_and_as_their_documents(demo):
    call_command("load_demo")  # every `make run` loads again
    assert Bundle.objects.filter(code__in=[BIRTH["code"], BUSINESS["code"]], is_published=True).count() == 2  # fmt: skip
    assert BundleMember.objects.filter(bundle__code=BIRTH["code"]).count() == 3
    for document in (BIRTH, BUSINESS):
        assert bundles.export_bundle(Bundle.objects.get(code=document["code"])) == document
    birth = Bundle.objects.get(code=BIRTH["code"])
    departments = [m.service.department.code for m in bundles.members_of(birth)]
    assert departments == ["city-psb", "city-hsa", "city-hrss"]
    schema = bundles.combined_schema(birth)
    assert schema["x-order"][:4] == ["child_name", "child_sex", "birth_date", "consent"]
    # The newborn has no ID number yet: not required for category newborn.
    insurance = schema["properties"]["insurance"]
    assert "insured_id" not in insurance["required"]
    assert "birth_registration" not in schema["properties"]["card"]["properties"]
    materials = {m["name"]: m for m in bundles.combined_materials(birth)}
    assert materials["出生医学证明"]["members"] == [
        "330100-PSB-QR-001", "330100-YB-DJ-001", "330100-RS-GG-002",
    ]  # fmt: skip
    assert (
        Client().get("/api/v1/bundles/?life_event=birth").json()["results"][0]["code"]
        == (BIRTH["code"])
    )


def test_an_older_demo_database_gets_the_newborn_insurance_form(demo):
    from services.catalog import publish_version, start_new_draft, update_draft
    from services.demo_bundles import load_bundles

    item = ServiceItem.objects.get(code="330100-YB-DJ-001")
    old = dict(item.current_version.form_schema)
    old["required"] = [*old["required"], "insured_id"]
    old.pop("allOf")
    publish_version(version=update_draft(version=start_new_draft(service=item), fields={"form_schema": old}))  # fmt: skip
    load_bundles()
    item.refresh_from_db()
    assert "insured_id" not in item.current_version.form_schema["required"]
    assert item.current_version.number == 3


def test_the_demo_citizen_applies_for_the_birth_bundle_and_the_card_waits_for_the_birth(demo):
    citizen = User.objects.get(username="citizen")
    client = Client()
    client.force_login(citizen)
    response = client.post(
        "/api/v1/bundle-applications/",
        {"bundle": BIRTH["code"], "data": BIRTH_ANSWERS},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [m["name"] for m in body["missing_materials"]] == ["出生医学证明"]
    material = body["missing_materials"][0]["id"]
    number = body["number"]
    response = client.post(
        f"/api/v1/bundle-applications/{number}/attachments/", {"material": material, "file": pdf()}
    )
    assert response.status_code == 201, response.json()
    assert len(response.json()["serves"]) == 3
    body = client.post(f"/api/v1/bundle-applications/{number}/submit/").json()
    members = {m["service"]: m for m in body["members"]}
    assert members["330100-RS-GG-002"]["state"] == "waiting"
    birth = Case.objects.get(number=members["330100-PSB-QR-001"]["number"])
    insurance = Case.objects.get(number=members["330100-YB-DJ-001"]["number"])
    assert insurance.data["insured_name"] == "张小宝" and "insured_id" not in insurance.data

    assert decide(birth, staff_of("city-psb")).state == "concluded"
    application = BundleApplication.objects.get(number=number)
    card = application.member_cases.get(service__code="330100-RS-GG-002").case
    assert card.data["birth_registration"] == birth.number
    assert card.data["child_name"] == "张小宝" and card.department.code == "city-hrss"
    assert decide(insurance, staff_of("city-hsa")).state == "concluded"
    assert decide(card, staff_of("city-hrss")).state == "concluded"
    application.refresh_from_db()
    assert application.state == "completed"


def test_the_business_bundle_files_the_seal_record_with_the_licence_number(demo):
    agent = User.objects.get(username="citizen")
    client = Client()
    client.force_login(agent)
    data = {
        "business_name": "示范市滨江区小明便利店",
        "consent": True,
        "registration": {"operation": "personal", "premises": "示范市滨江区市民路 2 号",
                         "postcode": "310000", "business_scope": "预包装食品销售",
                         "staff_count": 2},
        "seal": {"seals": "official", "engraver": "binjiang"},
    }  # fmt: skip
    body = client.post(
        "/api/v1/bundle-applications/",
        {"bundle": BUSINESS["code"], "data": data},
        content_type="application/json",
    ).json()
    number = body["number"]
    assert body["missing_materials"] == []
    premises = next(
        m for m in client.get(f"/api/v1/bundles/{BUSINESS['code']}/").json()["materials"]
        if m["name"].startswith("经营场所")
    )  # fmt: skip
    client.post(
        f"/api/v1/bundle-applications/{number}/attachments/",
        {"material": premises["id"], "file": pdf()},
    )
    body = client.post(f"/api/v1/bundle-applications/{number}/submit/").json()
    assert body["state"] == "in_progress", body
    members = {m["service"]: m for m in body["members"]}
    registration = Case.objects.get(number=members["330100-AMR-DJ-001"]["number"])
    decide(registration, staff_of("city-amr"), until="approved")
    seal = BundleApplication.objects.get(number=number).member_cases.get(
        service__code="330100-PSB-BA-001"
    )
    assert seal.case is not None, seal.problem
    licence = registration.licences.get()
    assert seal.case.data["licence_number"] == licence.number
    assert seal.case.department.code == "city-psb"
