"""What the state already holds is not asked again, 容缺受理 and 告知承诺 (issue 15, items 3 to 5).

- Every applicant holds the resident ID e-licence from real-name verification: identity materials
  are satisfied, and the materials step says which licence was taken, the number masked.
- The application form (申请表) is made from the answers as a PDF, never uploaded.
- A material that may follow (容缺) is owed after submission, by a date; the citizen uploads it from
  the case page, is reminded, staff see it, and the approval waits for it.
- A signed commitment (告知承诺) replaces the materials it covers; its text, name and time are in
  the trail and a PDF; after the approval a check (核查) lands with the department; a false one
  lets the department head revoke the licence with a reason.
"""

import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from accounts.models import Role
from cases import deadlines, workflow
from cases.models import Case, Licence, Notification, OfficialDocument, Verification
from cases.notifications import services as notifications
from services.models import RESIDENT_ID_CARD, LicenceType

from . import files
from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)

pytestmark = pytest.mark.django_db

PDF = files.PDF


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def police(db):
    return DepartmentFactory(code="psb", name="公安局")


@pytest.fixture
def department(db):
    return DepartmentFactory(code="amr", name="市场监督管理局")


@pytest.fixture
def identity(police):
    return LicenceType.objects.create(
        code=RESIDENT_ID_CARD, name="居民身份证", name_en="Resident identity card", issuer=police
    )


@pytest.fixture
def citizen(db):
    return CitizenProfileFactory(
        user__username="xiaoming", real_name="王小明", id_number="330108199003071239"
    )


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _staff(department) -> dict:
    return {
        role: StaffMembershipFactory(department=department, role=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD)
    }


def _service(department, identity, **fields):
    licence_type = LicenceType.objects.create(code="food", name="食品经营许可证", issuer=department)
    return make_service(
        "AMR-FOOD",
        department=department,
        name="食品经营许可",
        result_type="licence",
        result_name="食品经营许可证",
        licence_type=licence_type,
        materials=[
            {"name": "食品经营许可申请书", "source": "form"},
            {"name": "经营者身份证明", "source": "licence", "licence_type": identity},
            {"name": "食品安全管理制度", "tolerable": True},
            {"name": "设备布局图", "covered_by_commitment": True},
        ],
        **fields,
    ).service


def _draft(service, citizen) -> Case:
    case, _created = workflow.create_draft(
        service=service, user=citizen.user, data={"shop_area": 35}
    )
    return case


def test_identity_and_the_application_form_are_never_asked(department, identity, citizen):
    service = _service(department, identity)
    case = _draft(service, citizen)
    assert [m.name for m in workflow.missing_materials(case)] == ["食品安全管理制度", "设备布局图"]
    page = _client(citizen.user).get(f"/applications/{case.number}/materials/").content.decode()
    assert "已为您调取：居民身份证 330***********1239" in page  # 3 + 11 + 4: masked
    assert "330108199003071239" not in page
    assert "这是您在线填写的申请表，根据您的答复生成，无需上传或签字。" in page
    # Nothing can be uploaded for the application form itself.
    form_material = case.service_version.materials.get(source="form")
    response = _client(citizen.user).post(
        f"/applications/{case.number}/materials/",
        {"material": form_material.pk, "file": SimpleUploadedFile("a.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 400 and not case.attachments.exists()


def test_the_application_form_is_a_pdf_made_from_the_answers(
    department, identity, citizen, tmp_path
):
    service = _service(department, identity)
    case = _draft(service, citizen)
    for name in ("设备布局图", "食品安全管理制度"):
        workflow.add_attachment(
            case=case,
            material_id=case.service_version.materials.get(name=name).pk,
            upload=SimpleUploadedFile(f"{name}.pdf", PDF, "application/pdf"),
            user=citizen.user,
        )
    case = workflow.submit_application(case=case, user=citizen.user)
    response = _client(citizen.user).get(f"/applications/{case.number}/application-form.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    path = tmp_path / "form.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "食品经营许可申请表" in text and case.number in text and "王小明" in text
    assert "35" in text  # the answer given
    assert "330108199003071239" not in text
    caseworker = StaffMembershipFactory(department=department, role=Role.CASEWORKER).user
    staff = _client(caseworker).get(f"/work/{case.number}/application-form.pdf")
    assert staff.status_code == 200
    stranger = CitizenProfileFactory(user__username="stranger").user
    assert (
        _client(stranger).get(f"/applications/{case.number}/application-form.pdf").status_code
        == 404
    )


def test_a_tolerated_material_follows_and_the_approval_waits_for_it(
    department, identity, citizen, django_capture_on_commit_callbacks
):
    service = _service(department, identity, allows_tolerance=True)
    case = _draft(service, citizen)
    layout = case.service_version.materials.get(name="设备布局图")
    workflow.add_attachment(
        case=case, material_id=layout.pk,
        upload=SimpleUploadedFile("layout.pdf", PDF, "application/pdf"), user=citizen.user,
    )  # fmt: skip
    review = _client(citizen.user).get(f"/applications/{case.number}/review/").content.decode()
    assert "食品安全管理制度" in review and "容缺" in review
    case = workflow.submit_application(case=case, user=citizen.user)  # not refused
    assert case.materials_owed_by is not None
    assert [m.name for m in workflow.owed_materials(case)] == ["食品安全管理制度"]
    submitted = _client(citizen.user).get(f"/applications/{case.number}/submitted/")
    assert case.materials_owed_by.isoformat() in submitted.content.decode()
    staff = _staff(department)
    case = workflow.apply_transition(case=case, name="accept", actor=staff[Role.CASEWORKER])
    case = workflow.apply_transition(
        case=case, name="pass_review", actor=staff[Role.REVIEWER], opinion="材料齐全"
    )
    work_page = _client(staff[Role.APPROVER]).get(f"/work/{case.number}/").content.decode()
    assert "容缺" in work_page and "食品安全管理制度" in work_page
    with pytest.raises(workflow.CaseConflict) as refused:
        workflow.apply_transition(
            case=case, name="approve", actor=staff[Role.APPROVER], opinion="符合条件"
        )
    assert "食品安全管理制度" in refused.value.message
    # The sweep reminds the applicant once, with what is owed and by when.
    deadlines.sweep(today=case.materials_owed_by)
    deadlines.sweep(today=case.materials_owed_by)
    reminders = Notification.objects.filter(event="materials_owed", case=case)
    assert reminders.exists()
    for reminder in reminders:
        _subject, body = notifications._render(reminder)
        assert "食品安全管理制度" in body and case.materials_owed_by.isoformat() in body
    assert (
        reminders.count()
        == Notification.objects.filter(event="materials_owed", case=case)
        .values("channel")
        .distinct()
        .count()
    )
    # The citizen hands it in from the case page; staff are told; the approval goes through.
    detail = _client(citizen.user).get(f"/applications/{case.number}/").content.decode()
    assert 'id="owed"' in detail
    rules = case.service_version.materials.get(name="食品安全管理制度")
    response = _client(citizen.user).post(
        f"/applications/{case.number}/owed/",
        {"material": rules.pk, "file": SimpleUploadedFile("rules.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 302
    assert workflow.owed_materials(case) == []
    assert case.events.filter(action="material_delivered").exists()
    with django_capture_on_commit_callbacks(execute=True):
        case = workflow.apply_transition(
            case=case, name="approve", actor=staff[Role.APPROVER], opinion="符合条件"
        )
    assert case.state == "approved"


def test_without_tolerance_the_same_material_stops_the_submission(department, identity, citizen):
    service = _service(department, identity, allows_tolerance=False)
    case = _draft(service, citizen)
    with pytest.raises(Exception) as refused:
        workflow.submit_application(case=case, user=citizen.user)
    assert "食品安全管理制度" in str(refused.value)


COMMITMENT = "本单位承诺：经营场所和设备设施符合许可条件，所填报信息真实。"


def test_a_signed_commitment_replaces_materials_and_is_checked_after_the_decision(
    department, identity, citizen, django_capture_on_commit_callbacks, tmp_path
):
    service = _service(
        department, identity, allows_tolerance=True, allows_commitment=True,
        commitment_text=COMMITMENT,
    )  # fmt: skip
    case = _draft(service, citizen)
    client = _client(citizen.user)
    page = client.get(f"/applications/{case.number}/materials/").content.decode()
    assert COMMITMENT in page
    refused = client.post(f"/applications/{case.number}/materials/", {"commitment": "sign"})
    assert refused.status_code == 400  # the box not ticked
    client.post(f"/applications/{case.number}/materials/", {"commitment": "sign", "agree": "1"})
    case.refresh_from_db()
    assert case.commitment_signed_at is not None
    signed = case.events.get(action="commitment_signed")
    assert signed.details["name"] == "王小明" and signed.details["text"] == COMMITMENT
    assert [m.name for m in workflow.outstanding_materials(case)] == ["食品安全管理制度"]
    rules = case.service_version.materials.get(name="食品安全管理制度")
    workflow.add_attachment(
        case=case, material_id=rules.pk,
        upload=SimpleUploadedFile("rules.pdf", PDF, "application/pdf"), user=citizen.user,
    )  # fmt: skip
    case = workflow.submit_application(case=case, user=citizen.user)
    document = OfficialDocument.objects.get(case=case, kind="commitment")
    response = client.get(f"/applications/{case.number}/official/{document.pk}.pdf")
    path = tmp_path / "commitment.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "告知承诺书" in text and "王小明" in text and "设备布局图" in text
    staff = _staff(department)
    case = workflow.apply_transition(case=case, name="accept", actor=staff[Role.CASEWORKER])
    case = workflow.apply_transition(
        case=case, name="pass_review", actor=staff[Role.REVIEWER], opinion="材料齐全"
    )
    with django_capture_on_commit_callbacks(execute=True):
        case = workflow.apply_transition(
            case=case, name="approve", actor=staff[Role.APPROVER], opinion="符合条件"
        )
    verification = Verification.objects.get(case=case)
    assert verification.department == department and verification.state == "open"
    licence = Licence.objects.get(case=case)
    # The check lands with the department: listed, then found false with what was found.
    caseworker = _client(staff[Role.CASEWORKER])
    assert case.number in caseworker.get("/work/verifications/").content.decode()
    assert "核查" in caseworker.get("/work/").content.decode()
    empty = caseworker.post(
        "/work/verifications/", {"verification": verification.pk, "do": "false"}
    )
    assert empty.status_code == 400  # no finding given
    caseworker.post(
        "/work/verifications/",
        {"verification": verification.pk, "do": "false", "finding": "现场无设备，与承诺不符"},
    )
    verification.refresh_from_db()
    assert verification.state == "false"
    # Only the department head revokes, with a reason the applicant reads.
    not_head = caseworker.post(
        "/work/verifications/",
        {"verification": verification.pk, "do": "revoke", "reason": "承诺不实"},
    )
    assert not_head.status_code == 409
    licence.refresh_from_db()
    assert licence.revoked_at is None
    head = _client(staff[Role.DEPARTMENT_HEAD])
    head.post(
        "/work/verifications/",
        {"verification": verification.pk, "do": "revoke", "reason": "告知承诺不实，依法撤销"},
    )
    licence.refresh_from_db()
    assert licence.revoked_at is not None and licence.revocation_reason == "告知承诺不实，依法撤销"
    assert case.events.filter(action="licence_annulled", opinion="告知承诺不实，依法撤销").exists()
    verify = Client().get(f"/verify/{licence.verification_code}/").content.decode()
    assert "该证照已撤销。" in verify  # anyone checking the licence sees it annulled (撤销, §69)


def test_a_service_offering_a_commitment_needs_its_text_to_be_published(department):
    from services.catalog import publication_problems

    version = make_service(
        "AMR-NOTEXT", department=department, publish=False, allows_commitment=True,
        materials=[{"name": "设备布局图", "covered_by_commitment": True}],
    )  # fmt: skip
    problems = " ".join(str(p) for p in publication_problems(version))
    assert "告知承诺书" in problems


def test_the_demo_catalog_makes_its_application_forms_and_takes_premises_proof_later(settings):
    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    from services.models import MaterialSource, ServiceMaterial

    uploads = ServiceMaterial.objects.filter(
        version__state="published", source=MaterialSource.UPLOAD
    )
    assert not uploads.filter(name__regex=r"申请[书表]$").exists()
    generated = ServiceMaterial.objects.filter(source=MaterialSource.FORM)
    assert generated.count() >= 9
    shop = ServiceMaterial.objects.get(
        version__service__code="330100-AMR-DJ-001", name__startswith="经营场所使用证明"
    )
    assert shop.tolerable and shop.version.allows_tolerance


def test_the_api_signs_the_commitment_and_takes_an_owed_material(department, identity, citizen):
    service = _service(
        department, identity, allows_tolerance=True, allows_commitment=True,
        commitment_text=COMMITMENT,
    )  # fmt: skip
    client = _client(citizen.user)
    created = client.post(
        "/api/v1/applications/",
        {"service": service.code, "data": {"shop_area": 35}},
        content_type="application/json",
    ).json()
    number = created["number"]
    signed = client.post(
        f"/api/v1/applications/{number}/commitment/", {"signed": True},
        content_type="application/json",
    )  # fmt: skip
    assert signed.status_code == 200, signed.json()
    detail = client.get(f"/api/v1/applications/{number}/").json()
    assert detail["commitment_signed_at"] and [m["name"] for m in detail["missing_materials"]] == []
    assert client.post(f"/api/v1/applications/{number}/submit/").status_code == 200
    detail = client.get(f"/api/v1/applications/{number}/").json()
    owed = detail["owed_materials"]
    assert [m["name"] for m in owed] == ["食品安全管理制度"] and detail["materials_owed_by"]
    again = client.post(
        f"/api/v1/applications/{number}/commitment/", {"signed": False},
        content_type="application/json",
    )  # fmt: skip
    assert again.status_code == 409  # submitted: the commitment stands
    uploaded = client.post(
        f"/api/v1/applications/{number}/attachments/",
        {"material": owed[0]["id"], "file": SimpleUploadedFile("r.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.json()
    assert client.get(f"/api/v1/applications/{number}/").json()["owed_materials"] == []
    layout = Case.objects.get(number=number).service_version.materials.get(name="设备布局图")
    refused = client.post(
        f"/api/v1/applications/{number}/attachments/",
        {"material": layout.pk, "file": SimpleUploadedFile("l.pdf", PDF, "application/pdf")},
    )
    assert refused.status_code == 409  # nothing owed for it: not a way to add documents at will


def test_the_wallet_shows_the_identity_held_from_verification(identity, citizen):
    page = _client(citizen.user).get("/licences/").content.decode()
    assert "居民身份证 330***********1239" in page and "330108199003071239" not in page


def test_a_request_for_documents_cannot_ask_for_the_generated_form(department, identity, citizen):
    service = _service(department, identity, allows_tolerance=True)
    case = _draft(service, citizen)
    layout = case.service_version.materials.get(name="设备布局图")
    workflow.add_attachment(
        case=case, material_id=layout.pk, user=citizen.user,
        upload=SimpleUploadedFile("layout.pdf", PDF, "application/pdf"),
    )  # fmt: skip
    case = workflow.submit_application(case=case, user=citizen.user)
    form = case.service_version.materials.get(source="form")
    caseworker = StaffMembershipFactory(department=department, role=Role.CASEWORKER).user
    with pytest.raises(ValidationError) as refused:
        workflow.request_supplement(case=case, actor=caseworker, materials=[form], note="请补正")
    assert "申请表" in str(refused.value)
    page = _client(caseworker).get(f"/work/{case.number}/").content.decode()
    assert f'name="materials" value="{form.pk}"' not in page
