"""Bundles (一件事一次办, issue 18 item 1): one combined form, one upload per material, one
submission that files one case per member in its own department; a member that waits for another's
result is filed when that result comes, prefilled from it; one combined status."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from cases import uploads, workflow
from cases.models import Attachment, BundleApplication, Case
from services import bundles
from services.models import Bundle, BundleDependency, BundleMember, LifeEvent

from . import files
from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)

pytestmark = pytest.mark.django_db


def _text(label, **extra):
    return {"type": "string", "maxLength": 40, "title": label,
            "x-label": {"zh-hans": label, "en": label}, **extra}  # fmt: skip


def _form(required, **fields):
    return {
        "type": "object",
        "x-order": ["applicant_name", *fields],
        "required": required,
        "properties": {
            "applicant_name": _text("申请人姓名", **{"x-prefill": "real_name"}),
            **fields,
        },
    }


BIRTH_FORM = _form(
    ["child_name", "birth_date", "certificate_number"],
    child_name=_text("新生儿姓名"),
    birth_date={"type": "string", "format": "date", "title": "出生日期"},
    certificate_number=_text("出生医学证明编号", pattern=r"^[A-Z][0-9]{9}$"),
)
INSURANCE_FORM = _form(
    ["insured_name", "category"],
    insured_name=_text("参保人姓名"),
    category={"type": "string", "enum": ["newborn", "adult"], "title": "参保类别"},
)
CARD_FORM = _form(
    ["child_name", "bank", "household_number"],
    child_name=_text("持卡人姓名"),
    bank={"type": "string", "enum": ["icbc", "boc"], "title": "金融服务银行"},
    household_number=_text("出生登记编号", maxLength=100),
)
CERTIFICATE = "出生医学证明"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def departments(db):
    return {
        code: DepartmentFactory(code=code, name=name)
        for code, name in (("psb", "公安局"), ("hsa", "医疗保障局"), ("hrss", "人社局"))
    }


@pytest.fixture
def staff(departments):
    return {
        code: {
            role: StaffMembershipFactory(department=department, role=role).user
            for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER)
        }
        for code, department in departments.items()
    }


@pytest.fixture
def services(departments):
    return {
        "birth": make_service(
            "PSB-BIRTH", department=departments["psb"], name="出生登记", form_schema=BIRTH_FORM,
            materials=[{"name": CERTIFICATE, "required": True}],
        ).service,
        "insurance": make_service(
            "HSA-ENROL", department=departments["hsa"], name="城乡居民医保参保",
            form_schema=INSURANCE_FORM,
            materials=[{"name": f" {CERTIFICATE} ", "required": True}],
        ).service,
        "card": make_service(
            "HRSS-CARD", department=departments["hrss"], name="社会保障卡申领",
            form_schema=CARD_FORM, materials=[{"name": "证件照片", "required": True}],
        ).service,
    }  # fmt: skip


DOCUMENT = {
    "format": bundles.FORMAT,
    "code": "YJS-BIRTH",
    "name": "出生一件事",
    "name_en": "Having a baby",
    "guide": "新生儿出生后一次申请出生登记、医保参保和社会保障卡。",
    "lead_department": "psb",
    "life_events": ["birth"],
    "members": [
        {"key": "birth", "service": "PSB-BIRTH",
         "fields": {"child_name": "child_name", "birth_date": "birth_date"}},
        {"key": "insurance", "service": "HSA-ENROL", "fields": {"child_name": "insured_name"}},
        {"key": "card", "service": "HRSS-CARD", "fields": {"child_name": "child_name"}},
    ],
    "dependencies": [
        {"member": "card", "waits_for": "birth",
         "prefill": {"household_number": "case.number"}},
    ],
}  # fmt: skip
ANSWERS = {
    "child_name": "王小宝",
    "birth_date": "2025-03-01",
    "birth": {"certificate_number": "A123456789"},
    "insurance": {"category": "newborn"},
    "card": {"bank": "icbc"},
}


@pytest.fixture
def bundle(services):
    LifeEvent.objects.get_or_create(code="birth", defaults={"name": "出生"})
    return bundles.import_bundle(document=DOCUMENT, publish=True)


@pytest.fixture
def parent(db):
    return CitizenProfileFactory(user__username="parent", real_name="王大明")


@pytest.fixture
def client(parent):
    client = Client()
    client.force_login(parent.user)
    return client


def _pdf(name="cert.pdf"):
    return SimpleUploadedFile(name, files.PDF, content_type="application/pdf")


def _material_id(client, name):
    materials = client.get("/api/v1/bundles/YJS-BIRTH/").json()["materials"]
    return next(m["id"] for m in materials if m["name"] == name)


def _create(client, data=None):
    return client.post(
        "/api/v1/bundle-applications/",
        {"bundle": "YJS-BIRTH", "data": ANSWERS if data is None else data},
        content_type="application/json",
    )


def _filed(client):
    number = _create(client).json()["number"]
    for name in (CERTIFICATE, "证件照片"):
        response = client.post(
            f"/api/v1/bundle-applications/{number}/attachments/",
            {"material": _material_id(client, name), "file": _pdf()},
        )
        assert response.status_code == 201, response.json()
    response = client.post(f"/api/v1/bundle-applications/{number}/submit/")
    assert response.status_code == 200, response.json()
    return response.json()


def _members(body):
    return {m["service"]: m for m in body["members"]}


def _decide(case: Case, people, name="approve") -> Case:
    case = workflow.apply_transition(case=case, name="accept", actor=people[Role.CASEWORKER])
    case = workflow.apply_transition(
        case=case, name="pass_review", actor=people[Role.REVIEWER], opinion="材料齐全"
    )
    return workflow.apply_transition(
        case=case, name=name, actor=people[Role.APPROVER], opinion="符合条件"
    )


# --- The catalog ---------------------------------------------------------------------------------


def test_the_bundle_guide_shows_members_one_form_and_each_material_once(bundle):
    body = Client().get("/api/v1/bundles/YJS-BIRTH/").json()
    assert body["name"] == "出生一件事" and body["guide"].startswith("新生儿")
    assert [(m["service"], m["department"]) for m in body["members"]] == [
        ("PSB-BIRTH", "psb"), ("HSA-ENROL", "hsa"), ("HRSS-CARD", "hrss"),
    ]  # fmt: skip
    assert _members(body)["HRSS-CARD"]["waits_for"] == ["PSB-BIRTH"]
    schema = body["form_schema"]
    # The child's name, asked by all three, is asked once; each member's own fields in its group.
    assert schema["x-order"] == ["child_name", "birth_date", "birth", "insurance", "card"]
    assert set(schema["required"]) == {"child_name", "birth_date", "birth", "insurance", "card"}
    assert list(schema["properties"]["birth"]["properties"]) == ["certificate_number"]
    assert list(schema["properties"]["insurance"]["properties"]) == ["category"]
    # Prefilled from the profile or from 出生登记's result: not asked.
    assert list(schema["properties"]["card"]["properties"]) == ["bank"]
    assert "applicant_name" not in schema["properties"]
    materials = {m["name"]: m for m in body["materials"]}
    assert materials[CERTIFICATE]["members"] == ["PSB-BIRTH", "HSA-ENROL"]
    assert materials["证件照片"]["members"] == ["HRSS-CARD"]
    assert Client().get("/api/v1/bundles/NOPE/").status_code == 404


def test_bundles_are_listed_by_life_event_in_a_fixed_number_of_queries(bundle, services):
    def listed():
        with CaptureQueriesContext(connection) as queries:
            response = Client().get("/api/v1/bundles/?life_event=birth")
        assert response.status_code == 200
        return response.json(), len(queries)

    body, one = listed()
    assert [b["code"] for b in body["results"]] == ["YJS-BIRTH"]
    for n in range(3):
        other = bundles.import_bundle(
            document={**DOCUMENT, "code": f"YJS-{n}", "dependencies": []}, publish=True
        )
        assert other.is_published
    body, four = listed()
    assert len(body["results"]) == 4 and four == one
    assert Client().get("/api/v1/bundles/?life_event=retirement").json()["results"] == []


# --- Filing --------------------------------------------------------------------------------------


def test_a_draft_is_answered_with_its_members_and_missing_materials(bundle, client):
    response = _create(client)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("YJS-BIRTH-") and body["state"] == "draft"
    assert [(m["service"], m["number"], m["department"], m["state"]) for m in body["members"]] == [
        ("PSB-BIRTH", None, "psb", "pending"),
        ("HSA-ENROL", None, "hsa", "pending"),
        ("HRSS-CARD", None, "hrss", "pending"),
    ]
    assert [m["name"] for m in body["missing_materials"]] == [CERTIFICATE, "证件照片"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"bundle": "NOPE", "data": {}}, "bundle"),
        ({"bundle": "YJS-BIRTH", "data": {"child_name": 5}}, "data.child_name"),
        ({"bundle": "YJS-BIRTH", "data": {"insurance": {"category": "x"}}}, "data.insurance.category"),
        ({"bundle": "YJS-BIRTH", "data": {"shoe_size": 42}}, "data.shoe_size"),
        ({"bundle": "YJS-BIRTH", "data": {"card": "icbc"}}, "data.card"),
        ({"bundle": "YJS-BIRTH", "data": []}, "data"),
    ],
)  # fmt: skip
def test_bad_answers_are_400_naming_the_combined_field(bundle, client, payload, field):
    response = client.post("/api/v1/bundle-applications/", payload, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_one_upload_serves_every_member_and_is_stored_once(bundle, client, parent):
    number = _create(client).json()["number"]
    response = client.post(
        f"/api/v1/bundle-applications/{number}/attachments/",
        {"material": _material_id(client, CERTIFICATE), "file": _pdf()},
    )
    assert response.status_code == 201
    assert response.json()["serves"] == ["PSB-BIRTH", "HSA-ENROL"]
    stored_name = BundleApplication.objects.get(number=number).attachments.get().stored_name
    assert uploads.stored_names_in_use([stored_name]) == {stored_name}
    body = client.get(f"/api/v1/bundle-applications/{number}/").json()
    assert [m["name"] for m in body["missing_materials"]] == ["证件照片"]
    client.post(
        f"/api/v1/bundle-applications/{number}/attachments/",
        {"material": _material_id(client, "证件照片"), "file": _pdf("photo.pdf")},
    )
    body = client.post(f"/api/v1/bundle-applications/{number}/submit/").json()
    birth, insurance = (Case.objects.get(number=_members(body)[c]["number"]) for c in ("PSB-BIRTH", "HSA-ENROL"))  # fmt: skip
    # One stored file, one record per member case that asks for it.
    names = {a.stored_name for a in Attachment.objects.filter(case__in=[birth, insurance])}
    assert names == {stored_name}
    assert birth.attachments.get().material.name == CERTIFICATE
    assert insurance.attachments.get().material.name == f" {CERTIFICATE} "
    assert uploads.delete_stored([stored_name]) == []  # still in use: kept
    assert uploads.path_of(stored_name).is_file()
    assert uploads.read_stored(stored_name) == files.PDF


def test_an_upload_for_no_material_of_the_bundle_is_refused(bundle, client):
    number = _create(client).json()["number"]
    response = client.post(
        f"/api/v1/bundle-applications/{number}/attachments/", {"material": 999999, "file": _pdf()}
    )
    assert response.status_code == 400 and "material" in response.json()["errors"]
    fake = SimpleUploadedFile("x.pdf", b"MZ not a pdf", content_type="application/pdf")
    response = client.post(
        f"/api/v1/bundle-applications/{number}/attachments/",
        {"material": _material_id(client, CERTIFICATE), "file": fake},
    )
    assert response.status_code == 400 and "file" in response.json()["errors"]


def test_submission_refuses_missing_materials_and_answers_of_a_member_filed_later(bundle, client):
    number = _create(client, {**ANSWERS, "card": {}}).json()["number"]
    response = client.post(f"/api/v1/bundle-applications/{number}/submit/")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors["materials"]) == 2
    assert CERTIFICATE in errors["materials"][0] and "证件照片" in errors["materials"][1]
    # 社会保障卡 is filed only after 出生登记's result, but its own answers are asked now.
    assert "data.card.bank" in errors
    assert "data.card.household_number" not in errors  # filled from 出生登记's result
    assert not Case.objects.exists()
    assert BundleApplication.objects.get(number=number).state == "draft"


def test_submit_files_each_member_in_its_department_and_the_waiting_one_after_the_result(
    bundle, client, parent, staff
):
    body = _filed(client)
    assert body["state"] == "in_progress" and body["missing_materials"] == []
    members = _members(body)
    assert members["PSB-BIRTH"]["state"] == "submitted"
    assert members["HSA-ENROL"]["state"] == "submitted"
    assert members["HRSS-CARD"] == {**members["HRSS-CARD"], "state": "waiting", "number": None}
    birth = Case.objects.get(number=members["PSB-BIRTH"]["number"])
    assert birth.department.code == "psb"
    assert birth.data["child_name"] == "王小宝" and birth.data["applicant_name"] == "王大明"
    insurance = Case.objects.get(number=members["HSA-ENROL"]["number"])
    assert insurance.department.code == "hsa" and insurance.data["insured_name"] == "王小宝"
    # Each member case is one of the citizen's applications.
    listed = {c["number"] for c in client.get("/api/v1/applications/").json()["results"]}
    assert listed == {birth.number, insurance.number}

    _decide(birth, staff["psb"])  # 出生登记 approved: 社会保障卡 is filed, prefilled from it
    body = client.get(f"/api/v1/bundle-applications/{body['number']}/").json()
    card = Case.objects.get(number=_members(body)["HRSS-CARD"]["number"])
    assert card.department.code == "hrss" and card.state == "submitted"
    assert card.data["household_number"] == birth.number
    assert card.data["child_name"] == "王小宝" and card.data["bank"] == "icbc"
    assert card.attachments.get().material.name == "证件照片"
    listed = {c["number"] for c in client.get("/api/v1/applications/").json()["results"]}
    assert card.number in listed
    assert body["state"] == "in_progress"


def test_the_bundle_is_completed_when_every_member_concluded(bundle, client, staff):
    number = _filed(client)["number"]
    application = BundleApplication.objects.get(number=number)

    def conclude(service, department):
        link = application.member_cases.get(service__code=service)
        case = _decide(link.case, staff[department])
        if case.state != "concluded":
            workflow.apply_transition(case=case, name="conclude", actor=staff[department][Role.CASEWORKER])  # fmt: skip

    conclude("PSB-BIRTH", "psb")
    conclude("HSA-ENROL", "hsa")
    assert client.get(f"/api/v1/bundle-applications/{number}/").json()["state"] == "in_progress"
    conclude("HRSS-CARD", "hrss")
    body = client.get(f"/api/v1/bundle-applications/{number}/").json()
    assert body["state"] == "completed" and body["finished_at"]
    assert {m["state"] for m in body["members"]} == {"concluded"}


def test_a_waiting_member_is_not_filed_when_its_dependency_is_rejected(bundle, client, staff):
    body = _filed(client)
    birth = Case.objects.get(number=_members(body)["PSB-BIRTH"]["number"])
    _decide(birth, staff["psb"], name="reject")
    body = client.get(f"/api/v1/bundle-applications/{body['number']}/").json()
    card = _members(body)["HRSS-CARD"]
    assert card["state"] == "cancelled" and card["number"] is None
    assert "出生登记" in card["problem"]
    assert Case.objects.filter(service__code="HRSS-CARD").count() == 0


def test_another_persons_bundle_application_is_404(bundle, client):
    number = _create(client).json()["number"]
    stranger = Client()
    stranger.force_login(CitizenProfileFactory().user)
    assert stranger.get(f"/api/v1/bundle-applications/{number}/").status_code == 404
    assert stranger.post(f"/api/v1/bundle-applications/{number}/submit/").status_code == 404
    response = stranger.post(
        f"/api/v1/bundle-applications/{number}/attachments/",
        {"material": _material_id(client, CERTIFICATE), "file": _pdf()},
    )
    assert response.status_code == 404
    assert Client().get(f"/api/v1/bundle-applications/{number}/").status_code in (401, 403)


def test_a_second_submission_is_409(bundle, client):
    number = _filed(client)["number"]
    assert client.post(f"/api/v1/bundle-applications/{number}/submit/").status_code == 409
    response = client.post(
        f"/api/v1/bundle-applications/{number}/attachments/",
        {"material": _material_id(client, CERTIFICATE), "file": _pdf()},
    )
    assert response.status_code == 409


# --- Definitions that cannot be published ----------------------------------------------------------


def test_a_bundle_with_an_unpublished_member_a_missing_field_or_a_cycle_is_refused(
    services, departments
):
    draft = make_service("PSB-DRAFT", department=departments["psb"], publish=False).service
    bundle = Bundle.objects.create(code="YJS-BAD", name="坏的一件事", lead_department=departments["psb"])  # fmt: skip
    birth = BundleMember.objects.create(
        bundle=bundle, key="birth", service=services["birth"], field_map={"child": "no_such_field"}
    )
    card = BundleMember.objects.create(bundle=bundle, key="card", service=services["card"], order=1)
    BundleMember.objects.create(bundle=bundle, key="draft", service=draft, order=2)
    BundleDependency.objects.create(member=card, waits_for=birth, prefill={"bank": "data.nothing"})
    BundleDependency.objects.create(member=birth, waits_for=card, prefill={})
    with pytest.raises(ValidationError) as refused:
        bundles.publish_bundle(bundle=bundle)
    text = " ".join(refused.value.messages)
    assert "draft (PSB-DRAFT)：该事项未发布" in text  # the service is not published
    assert "合并字段 child 对应的 no_such_field" in text
    assert "预填读取的 data.nothing" in text
    assert "循环等待：birth → card → birth" in text
    bundle.refresh_from_db()
    assert not bundle.is_published
    assert Client().get("/api/v1/bundles/YJS-BAD/").status_code == 404


def test_an_import_naming_an_unknown_service_writes_nothing(services, departments):
    document = {**DOCUMENT, "code": "YJS-X", "life_events": [],
                "members": [*DOCUMENT["members"], {"key": "x", "service": "NOPE"}]}  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        bundles.import_bundle(document=document)
    assert "members[3].service：没有该事项。" in refused.value.messages
    assert not Bundle.objects.filter(code="YJS-X").exists()
