"""E-licences (电子证照): approving a licensing service issues one licence to the applicant, which they
find in their wallet (page and API), download as a certificate with a QR code, anyone can verify in
public without seeing personal data, and later applications take from the wallet instead of an upload."""

import datetime as dt
import subprocess

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from cases import workflow
from cases.licences import services as licences
from cases.models import Case, Licence
from services.models import LicenceType

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)


@pytest.fixture
def department(db):
    return DepartmentFactory(code="amr", name="市场监督管理局")


@pytest.fixture
def licence_type(department):
    return LicenceType.objects.create(
        code="food-ops",
        name="食品经营许可证",
        name_en="Food business licence",
        issuer=department,
        validity_years=5,
    )


@pytest.fixture
def licensing_service(department, licence_type):
    return make_service(
        "AMR-FOOD-LIC",
        department=department,
        name="食品经营许可",
        result_type="licence",
        result_name="食品经营许可证",
        licence_type=licence_type,
        materials=[{"name": "申请书", "required": False}],
    ).service


@pytest.fixture
def holder(db):
    return CitizenProfileFactory(user__username="zhangsm", real_name="张三明")


def client_for(user, language="en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def submitted_case(service, profile) -> Case:
    case, _created = workflow.create_draft(
        service=service, user=profile.user, data={"shop_area": 35}
    )
    return workflow.submit_application(case=case, user=profile.user)


def approve(case: Case, capture) -> Case:
    """Accept, review and approve with staff of the case's department; run what follows commit."""
    staff = {
        role: StaffMembershipFactory(department=case.department, role=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER)
    }
    case = workflow.apply_transition(case=case, name="accept", actor=staff[Role.CASEWORKER])
    case = workflow.apply_transition(
        case=case, name="pass_review", actor=staff[Role.REVIEWER], opinion="材料齐全"
    )
    with capture(execute=True):
        return workflow.apply_transition(
            case=case, name="approve", actor=staff[Role.APPROVER], opinion="符合条件"
        )


@pytest.fixture
def issued(licensing_service, holder, django_capture_on_commit_callbacks) -> Licence:
    case = approve(submitted_case(licensing_service, holder), django_capture_on_commit_callbacks)
    return Licence.objects.get(case=case)


def test_approval_issues_one_licence_to_the_applicant(
    licensing_service, holder, licence_type, django_capture_on_commit_callbacks
):
    case = submitted_case(licensing_service, holder)
    case = approve(case, django_capture_on_commit_callbacks)
    assert case.state == "approved"
    licence = Licence.objects.get()
    today = timezone.localdate()
    assert licence.case == case
    assert licence.holder == holder
    assert licence.licence_type == licence_type
    assert licence.organisation is None
    assert licence.number == f"FOOD-OPS-{today.year}-000001"
    assert licence.valid_from == today
    leap_day = (today.month, today.day) == (2, 29)
    assert licence.valid_until == dt.date(
        today.year + 5, today.month, 28 if leap_day else today.day
    )
    assert 16 <= len(licence.verification_code) <= 32
    # Idempotent: the effect running again returns the same licence; the next case gets the next number.
    assert licences.issue_licence(case=case) == licence
    assert Licence.objects.count() == 1
    other = approve(
        submitted_case(licensing_service, CitizenProfileFactory()),
        django_capture_on_commit_callbacks,
    )
    second = Licence.objects.get(case=other)
    assert second.number == f"FOOD-OPS-{today.year}-000002"
    assert second.verification_code != licence.verification_code


def test_approving_a_service_whose_result_is_not_a_licence_issues_none(
    department, holder, django_capture_on_commit_callbacks
):
    service = make_service(
        "AMR-NOTICE", department=department, materials=[{"name": "申请书", "required": False}]
    ).service
    case = approve(submitted_case(service, holder), django_capture_on_commit_callbacks)
    assert case.state == "approved"
    assert not Licence.objects.exists()


def test_wallet_page_and_api_list_the_licence_for_its_holder_only(issued, holder):
    client = client_for(holder.user)
    page = client.get("/licences/")
    assert page.status_code == 200
    html = page.content.decode()
    assert issued.number in html and "Food business licence" in html
    assert f'href="/licences/{issued.number}/pdf/"' in html
    assert f'href="/verify/{issued.verification_code}/"' in html

    body = client.get("/api/v1/licences/").json()
    assert body["count"] == 1 and body["next"] is None
    [entry] = body["results"]
    assert entry["number"] == issued.number
    assert entry["licence_type"] == "food-ops"
    assert entry["licence_type_name"] == "Food business licence"
    assert entry["issuer"] == "市场监督管理局"
    assert entry["organisation"] is None
    assert entry["valid_from"] == issued.valid_from.isoformat()
    assert entry["valid_until"] == issued.valid_until.isoformat()
    assert entry["status"] == "valid"
    # Under the portal's own address, as printed in the certificate's QR code.
    assert entry["verify_url"] == f"{settings.PORTAL_BASE_URL}/verify/{issued.verification_code}/"

    stranger = client_for(CitizenProfileFactory(real_name="李四").user)
    assert stranger.get("/api/v1/licences/").json()["results"] == []
    assert issued.number not in stranger.get("/licences/").content.decode()
    assert stranger.get(f"/licences/{issued.number}/pdf/").status_code == 404

    anonymous = Client()
    assert anonymous.get("/api/v1/licences/").status_code in (401, 403)
    assert anonymous.get(f"/licences/{issued.number}/pdf/").status_code == 302  # to sign-in


def test_certificate_pdf_names_the_number_and_the_holder(issued, holder):
    response = client_for(holder.user).get(f"/licences/{issued.number}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    assert issued.number in text
    assert "张三明" in text
    assert "食品经营许可证" in text and "市场监督管理局" in text
    assert issued.case.number in text
    assert holder.masked_id_number in text and holder.id_number not in text


def test_public_verification_page(issued, holder):
    public = Client()
    public.cookies["django_language"] = "en"
    response = public.get(f"/verify/{issued.verification_code}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "This licence is valid." in html
    assert issued.number in html
    assert "张*明" in html and "张三明" not in html
    assert holder.id_number not in html and holder.masked_id_number not in html
    assert "市场监督管理局" in html
    assert issued.valid_until.isoformat() in html
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]

    assert public.get("/verify/not-a-real-code/").status_code == 404
    code = issued.verification_code
    wrong = code[:-1] + ("y" if code.endswith("x") else "x")  # one character off, never the same
    assert public.get(f"/verify/{wrong}/").status_code == 404

    Licence.objects.filter(pk=issued.pk).update(revoked_at=timezone.now())
    html = public.get(f"/verify/{issued.verification_code}/").content.decode()
    assert "This licence has been revoked." in html and "is valid" not in html

    Licence.objects.filter(pk=issued.pk).update(
        revoked_at=None, valid_until=timezone.localdate() - dt.timedelta(days=1)
    )
    html = public.get(f"/verify/{issued.verification_code}/").content.decode()
    assert "This licence has expired." in html
    assert (
        client_for(holder.user).get("/api/v1/licences/").json()["results"][0]["status"] == "expired"
    )


def test_a_later_application_takes_the_licence_from_the_wallet(
    department, licence_type, licensing_service, holder, django_capture_on_commit_callbacks
):
    later = make_service(
        "AMR-FOOD-CHANGE",
        department=department,
        name="食品经营许可变更",
        materials=[
            {
                "name": "食品经营许可证",
                "required": True,
                "source": "licence",
                "licence_type": licence_type,
            }
        ],
    ).service
    material = later.current_version.materials.get()
    api = client_for(holder.user)
    draft, _created = workflow.create_draft(service=later, user=holder.user, data={"shop_area": 50})
    before = api.get(f"/api/v1/applications/{draft.number}/").json()
    assert before["missing_materials"] == [{"id": material.pk, "name": "食品经营许可证"}]

    approve(submitted_case(licensing_service, holder), django_capture_on_commit_callbacks)
    assert set(workflow.held_licences(draft)) == {licence_type.pk}
    after = api.get(f"/api/v1/applications/{draft.number}/").json()
    assert after["missing_materials"] == []
    submitted = api.post(f"/api/v1/applications/{draft.number}/submit/")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["state"] == "submitted"

    # A revoked licence is no longer taken: the material is missing again for a new draft.
    Licence.objects.update(revoked_at=timezone.now())
    again, _created = workflow.create_draft(service=later, user=holder.user, data={"shop_area": 50})
    assert [m.pk for m in workflow.missing_materials(again)] == [material.pk]


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三明", "张*明"), ("张三", "张*"), ("欧阳小明", "欧**明"), ("王", "*"), ("", "")],
)
def test_mask_name(name, masked):
    assert licences.mask_name(name) == masked
