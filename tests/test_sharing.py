"""Data shared between departments (issue 18, item 2): a shared material fetched at submission and
at the counter, shown to staff with its source and time, logged for the owning department; purpose
limitation; a registry that is down; prefill from a registry."""

import pytest
from django.core import checks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from accounts.models import Role
from cases.models import Case, DemoRegistryRecord, SharingRequest
from cases.sharing.demo import HouseholdRegistry, enter_in_demo_registry
from cases.sharing.registry import Person
from services.models import SharingGrant

from .factories import (
    SIMPLE_SCHEMA,
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    id_number_for,
    logged_in,
    make_service,
)
from .files import PDF
from .support.registries import CountingHouseholdRegistry

ADDRESS = "示范市滨江区望海街道江畔路 12 号 3 幢 201 室"
HOUSEHOLD = {"name": "张三", "gender": "男", "birth_date": "1990-03-07", "ethnicity": "汉族",
             "address": ADDRESS, "household_head": "张三", "relation_to_head": "户主",
             "status": "正常"}  # fmt: skip
COUNTING = "tests.support.registries.CountingHouseholdRegistry"


@pytest.fixture
def world(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.DATA_REGISTRIES = [COUNTING, "cases.sharing.demo.MarriageRegistry"]
    CountingHouseholdRegistry.asked = []
    psb = DepartmentFactory(code="city-psb", name="示范市公安局")
    amr = DepartmentFactory(code="amr", name="示范市市场监督管理局")
    schema = {
        **SIMPLE_SCHEMA,
        "properties": {
            **SIMPLE_SCHEMA["properties"],
            "home_address": {"type": "string", "maxLength": 120, "title": "户籍地址",
                             "x-prefill": "household.address"},
        },
    }  # fmt: skip
    version = make_service(
        "SH-1", department=amr, form_schema=schema,
        materials=[{"name": "户籍信息", "name_en": "Household data", "required": True,
                    "source": "shared", "shared_by": psb}],
    )  # fmt: skip
    service = version.service
    SharingGrant.objects.create(
        service=service, registry="household", fields=["name", "address", "status"],
        purpose="核验申请人户籍",
    )  # fmt: skip
    applicant = CitizenProfileFactory(user__username="zhang", real_name="张三")
    applicant.user.preferred_language = "en"
    applicant.user.save(update_fields=["preferred_language"])
    enter_in_demo_registry(registry="household", id_number=applicant.id_number, data=HOUSEHOLD)
    caseworker = StaffMembershipFactory(department=amr, role=Role.CASEWORKER).user
    owner_admin = StaffMembershipFactory(department=psb, role=Role.DEPARTMENT_ADMIN).user
    for user in (caseworker, owner_admin):
        user.preferred_language = "en"
        user.save(update_fields=["preferred_language"])
    return {
        "service": service, "material": version.materials.get(), "applicant": applicant,
        "citizen": logged_in(applicant.user), "caseworker": caseworker, "owner_admin": owner_admin,
        "psb": psb, "amr": amr,
    }  # fmt: skip


def apply(client: Client, service, data=None) -> str:
    made = client.post(
        "/api/v1/applications/", {"service": service.code, "data": data or {"shop_area": 12}},
        content_type="application/json",
    )  # fmt: skip
    assert made.status_code == 201, made.json()
    return made.json()["number"]


def submit(client: Client, number: str):
    return client.post(f"/api/v1/applications/{number}/submit/")


@pytest.mark.django_db
def test_a_shared_material_is_fetched_at_submission_and_shown_to_staff_with_source_and_time(
    world,
):
    number = apply(world["citizen"], world["service"])
    CountingHouseholdRegistry.asked.clear()  # the draft's prefill asked already (see below)
    submitted = submit(world["citizen"], number)
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["state"] == "submitted"
    (shared,) = submitted.json()["shared_materials"]
    assert shared["verified"] is True and shared["outcome"] == "found"
    assert shared["may_upload"] is False and shared["message"] == ""
    # Only the granted fields were asked for, once.
    assert CountingHouseholdRegistry.asked == [["name", "address", "status"]]

    request = SharingRequest.objects.get(case__number=number, purpose="material")
    when = request.requested_at.astimezone().strftime("%Y-%m-%d %H:%M")
    page = logged_in(world["caseworker"]).get(f"/work/{number}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f"Verified: from {HouseholdRegistry.name_en}, at {when}" in text
    assert ADDRESS in text
    api = logged_in(world["caseworker"]).get(f"/api/v1/work/cases/{number}/").json()
    (row,) = api["shared_data"]
    assert row["verified"] is True and row["registry"] == "household"
    assert row["label"].startswith("Verified: from ") and row["fetched_at"]
    assert {d["field"]: d["value"] for d in row["data"]} == {
        "name": "张三", "address": ADDRESS, "status": "正常"
    }  # fmt: skip
    # The snapshot is encrypted at rest: neither the address nor the name is in the row.
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM cases_sharingrequest WHERE id = %s", [request.pk])
        (stored,) = cursor.fetchone()
    assert ADDRESS not in stored and "张三" not in stored


@pytest.mark.django_db
def test_the_owning_department_lists_the_sharing_log_and_no_one_else_does(world):
    number = apply(world["citizen"], world["service"])
    submit(world["citizen"], number)
    owner = logged_in(world["owner_admin"])
    listed = owner.get("/api/v1/work/sharing-requests/").json()["results"]
    material = next(r for r in listed if r["purpose"] == "material")
    assert material["case"] == number and material["service"] == "SH-1"
    assert material["registry"] == "household" and material["outcome"] == "found"
    assert material["fields"] == ["name", "address", "status"] and material["channel"] == "api"
    assert "data" not in material  # the log says who asked for what, not the answer
    page = owner.get("/work/sharing/")
    assert page.status_code == 200 and number in page.content.decode()
    # The service's caseworker is no admin of the registry's department: nothing to see.
    caseworker = logged_in(world["caseworker"])
    assert caseworker.get("/api/v1/work/sharing-requests/").json()["results"] == []
    assert caseworker.get("/work/sharing/").status_code == 404
    # Another department's admin sees nothing of it either.
    stranger = StaffMembershipFactory(department=world["amr"], role=Role.DEPARTMENT_ADMIN).user
    assert logged_in(stranger).get("/api/v1/work/sharing-requests/").json()["results"] == []


@pytest.mark.django_db
def test_a_request_outside_the_grant_is_refused_and_never_reaches_the_registry(world):
    SharingGrant.objects.filter(service=world["service"]).delete()
    number = apply(world["citizen"], world["service"])
    submitted = submit(world["citizen"], number)
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"
    (shared,) = submitted.json()["shared_materials"]
    assert shared["outcome"] == "refused" and shared["may_upload"] is True
    assert "may not ask" in shared["message"]
    assert CountingHouseholdRegistry.asked == []  # neither the prefill nor the material
    refused = SharingRequest.objects.filter(case__number=number)
    assert {r.outcome for r in refused} == {"refused"} and refused.count() == 2
    assert Case.objects.get(number=number).data.get("home_address") is None
    # A grant of some fields does not open the others: the address stays unasked.
    SharingGrant.objects.create(
        service=world["service"], registry="household", fields=["name"], purpose="核验姓名"
    )
    other = apply(world["citizen"], world["service"])
    assert CountingHouseholdRegistry.asked == []
    assert SharingRequest.objects.get(case__number=other, purpose="prefill").outcome == "refused"


@pytest.mark.django_db
def test_when_the_registry_is_down_the_citizen_is_told_uploads_instead_and_the_case_submits(
    world, settings
):
    settings.DATA_REGISTRIES = ["cases.sharing.demo.HouseholdRegistry"]
    settings.DEMO_REGISTRIES_DOWN = ["household"]
    citizen = world["citizen"]
    number = apply(citizen, world["service"])
    submitted = submit(citizen, number)
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["state"] == "submitted"  # never blocked by the registry
    (shared,) = submitted.json()["shared_materials"]
    assert shared["outcome"] == "unavailable" and shared["may_upload"] is True
    assert "could not be reached" in shared["message"]
    page = citizen.get(f"/applications/{number}/").content.decode()
    assert "could not be reached" in page and f"/applications/{number}/shared/" in page
    # The citizen uploads the document instead, on the page.
    uploaded = citizen.post(
        f"/applications/{number}/shared/",
        {"material": world["material"].pk,
         "file": SimpleUploadedFile("hukou.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    assert uploaded.status_code == 302
    detail = citizen.get(f"/api/v1/applications/{number}/").json()
    (shared,) = detail["shared_materials"]
    assert shared["uploaded"] is True and shared["may_upload"] is False
    assert [(a["material"], a["file_name"]) for a in detail["attachments"]] == [
        (world["material"].pk, "hukou.pdf")
    ]
    staff = logged_in(world["caseworker"]).get(f"/work/{number}/").content.decode()
    assert "Not verified" in staff and "uploaded the document instead" in staff
    assert SharingRequest.objects.get(case__number=number, purpose="material").outcome == (
        "unavailable"
    )
    # Nothing on record is told the same way, and a verified material takes no upload.
    settings.DEMO_REGISTRIES_DOWN = []
    DemoRegistryRecord.objects.all().delete()
    second = apply(citizen, world["service"])
    (shared,) = submit(citizen, second).json()["shared_materials"]
    assert shared["outcome"] == "not_found" and "holds no record" in shared["message"]


@pytest.mark.django_db
def test_a_department_without_a_registry_here_means_uploading_it(world, settings):
    settings.DATA_REGISTRIES = []
    number = apply(world["citizen"], world["service"])
    (shared,) = submit(world["citizen"], number).json()["shared_materials"]
    assert shared["outcome"] == "no_registry" and shared["may_upload"] is True
    assert "does not share it with this portal" in shared["message"]
    uploaded = world["citizen"].post(
        f"/api/v1/applications/{number}/attachments/",
        {"material": world["material"].pk,
         "file": SimpleUploadedFile("hukou.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    assert uploaded.status_code == 201, uploaded.json()


@pytest.mark.django_db
def test_counter_filing_fetches_the_shared_material_the_same_way(world):
    clerk = StaffMembershipFactory(department=world["amr"], role=Role.COUNTER_CLERK).user
    walk_in = {"id_number": id_number_for(861), "real_name": "王大爷", "phone": "13512345678"}
    enter_in_demo_registry(
        registry="household", id_number=walk_in["id_number"],
        data={**HOUSEHOLD, "name": "王大爷"},
    )  # fmt: skip
    filed = logged_in(clerk).post(
        "/api/v1/counter/applications/",
        {"citizen": walk_in, "service": "SH-1", "data": {"shop_area": 12},
         "materials_received": []},
        content_type="application/json",
    )  # fmt: skip
    assert filed.status_code == 201, filed.json()
    (shared,) = filed.json()["shared_materials"]
    assert shared["verified"] is True
    request = SharingRequest.objects.get(case__number=filed.json()["number"], purpose="material")
    assert request.channel == "counter" and request.requested_by == clerk
    assert request.data["name"] == "王大爷"
    # The clerk's page shows where it came from.
    clerk.preferred_language = "en"
    clerk.save(update_fields=["preferred_language"])
    done = logged_in(clerk).get(f"/counter/done/{filed.json()['number']}/")
    assert done.status_code == 200 and "Verified: from" in done.content.decode()


@pytest.mark.django_db
def test_a_form_field_is_prefilled_from_the_registry_where_the_grant_allows(world):
    number = apply(world["citizen"], world["service"])
    case = Case.objects.get(number=number)
    assert case.data["home_address"] == ADDRESS
    prefill = SharingRequest.objects.get(case=case, purpose="prefill")
    assert prefill.outcome == "found" and prefill.fields == ["address"]
    # It stays the applicant's answer: not read-only in the published schema, and editable.
    schema = world["citizen"].get("/api/v1/services/SH-1/").json()["form_schema"]
    assert "readOnly" not in schema["properties"]["home_address"]
    form = world["citizen"].get(f"/applications/{number}/form/").content.decode()
    assert ADDRESS in form and 'name="home_address"' in form
    # What the applicant typed is kept: the registry fills only what is empty.
    typed = apply(world["citizen"], world["service"], {"shop_area": 12, "home_address": "别处"})
    assert Case.objects.get(number=typed).data["home_address"] == "别处"


@pytest.mark.django_db
def test_registries_are_checked_at_start_up(settings):
    from cases.sharing.checks import data_registries

    settings.DATA_REGISTRIES = ["cases.sharing.demo.HouseholdRegistry"]
    assert data_registries(None) == []
    settings.DATA_REGISTRIES = ["accounts.models.User", "no.such.Registry"]
    assert [e.id for e in data_registries(None)] == ["cases_sharing.E001"] * 2
    settings.DATA_REGISTRIES = [
        "cases.sharing.demo.HouseholdRegistry", "tests.support.registries.CountingHouseholdRegistry"
    ]  # fmt: skip
    assert [e.id for e in data_registries(None)] == ["cases_sharing.E003"]
    assert all(isinstance(e, checks.CheckMessage) for e in data_registries(None))


@pytest.mark.django_db
def test_the_demo_registries_know_the_demo_people_by_keyed_hash_only(settings):
    from accounts import demo as accounts_demo
    from cases.sharing import demo as sharing_demo
    from services import demo as services_demo

    accounts_demo.load("demo-password-for-tests")
    services_demo.load()
    assert sharing_demo.load() == sharing_demo.load()  # idempotent
    citizen = Person(accounts_demo.CITIZEN["id_number"])
    answer = HouseholdRegistry().lookup(citizen, ["name", "address"])
    assert answer.found and answer.data["name"] == "张小明" and answer.as_of
    grandmother = Person(accounts_demo.GRANDMOTHER["id_number"])
    assert HouseholdRegistry().lookup(grandmother, ["birth_date"]).data == {
        "birth_date": "1946-05-12"
    }
    numbers = [citizen.id_number, grandmother.id_number, accounts_demo.COMPANY_AGENT["id_number"]]
    with connection.cursor() as cursor:
        cursor.execute("SELECT person_hash, data FROM cases_demoregistryrecord")
        rows = cursor.fetchall()
    assert rows and not any(n in value for n in numbers for row in rows for value in row)
    # The demo services that use household data may ask for it (purpose limitation).
    grant = SharingGrant.objects.get(service__code="330100-PSB-QR-001", registry="household")
    assert "address" in grant.fields and "ethnicity" not in grant.fields


@pytest.mark.django_db
def test_the_export_lists_the_grants_which_an_import_does_not_give_itself(world):
    from services.interchange import export_service, import_service

    document = export_service(world["service"])
    assert document["sharing_grants"] == [
        {"registry": "household", "fields": ["name", "address", "status"],
         "purpose": "核验申请人户籍"}
    ]  # fmt: skip
    copy = import_service(document=document, code="SH-2", department=world["amr"])
    assert not SharingGrant.objects.filter(service=copy.service).exists()
