"""Every staff view of a person's data is written down, one INSERT per request, and the person
reads it on “谁查看了我的信息” and `GET me/access-log/`: department and role, never a name."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from accounts.models import PersonalDataAccess, Role
from cases import documents, workflow

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)

PHONE = "13912345678"


def png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="PNG")
    return SimpleUploadedFile("photo.png", out.getvalue(), content_type="image/png")


@pytest.fixture
def world(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr", name="示范市市场监督管理局")
    staff = {
        role: StaffMembershipFactory(department=department, role=role).user
        for role in (Role.CASEWORKER, Role.COUNTER_CLERK)
    }
    service = make_service("LOG-1", department=department).service
    applicant = CitizenProfileFactory(real_name="王小明", phone=PHONE)
    case, _ = workflow.create_draft(service=service, user=applicant.user, data={"shop_area": 3})
    material = service.current_version.materials.get()
    attachment = workflow.add_attachment(
        case=case, material_id=material.pk, user=applicant.user, upload=png()
    )
    case = workflow.submit_application(case=case, user=applicant.user)
    return case, attachment, staff, applicant


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def inserts_of_the_log(queries) -> int:
    return sum(
        1
        for q in queries
        if q["sql"].lstrip().upper().startswith("INSERT")
        and "accounts_personaldataaccess" in q["sql"]
    )


@pytest.mark.django_db
def test_every_staff_view_of_a_case_is_written_down_once(world):
    case, attachment, staff, applicant = world
    caseworker = client_for(staff[Role.CASEWORKER])
    receipt = documents.receipt_of(case)
    paths = [
        ("viewed", f"/work/{case.number}/"),
        ("viewed", f"/api/v1/work/cases/{case.number}/"),
        ("document", f"/work/{case.number}/documents/{attachment.pk}/"),
        ("document", f"/work/{case.number}/documents/{attachment.pk}/preview.png"),
        ("document", f"/work/{case.number}/official/{receipt.pk}.pdf"),
        ("document", f"/api/v1/work/cases/{case.number}/documents/{receipt.pk}.pdf"),
    ]
    for action, path in paths:
        before = PersonalDataAccess.objects.count()
        with CaptureQueriesContext(connection) as queries:
            response = caseworker.get(path)
        assert response.status_code == 200, path
        assert inserts_of_the_log(queries) == 1, path  # one INSERT per request
        row = PersonalDataAccess.objects.order_by("-pk").first()
        assert PersonalDataAccess.objects.count() == before + 1, path
        assert (row.action, row.profile, row.viewer) == (action, applicant, staff[Role.CASEWORKER])
        assert (row.role, row.department, row.case_number) == (
            Role.CASEWORKER,
            case.department,
            case.number,
        )
    # The citizen looking at their own case is not a staff view.
    client_for(applicant.user).get(f"/applications/{case.number}/")
    assert PersonalDataAccess.objects.count() == len(paths)


@pytest.mark.django_db
def test_a_counter_look_up_is_written_down(world):
    _case, _attachment, staff, applicant = world
    clerk = client_for(staff[Role.COUNTER_CLERK])
    found = clerk.post(
        "/api/v1/counter/citizens/lookup/",
        {"id_number": applicant.id_number},
        content_type="application/json",
    )
    assert found.status_code == 200 and found.json()["found"]
    assert PHONE not in found.content.decode()  # masked
    row = PersonalDataAccess.objects.get()
    assert (row.action, row.role, row.profile) == ("looked_up", Role.COUNTER_CLERK, applicant)
    clerk.post("/counter/", {"id_number": applicant.id_number})  # the desk's look-up
    assert PersonalDataAccess.objects.filter(action="looked_up").count() == 2


@pytest.mark.django_db
def test_a_full_number_is_shown_only_with_a_reason_and_the_citizen_reads_it(world):
    case, _attachment, staff, applicant = world
    caseworker = client_for(staff[Role.CASEWORKER])
    page = caseworker.get(f"/work/{case.number}/").content.decode()
    assert PHONE not in page and applicant.id_number not in page
    url = f"/api/v1/work/cases/{case.number}/reveal/"
    refused = caseworker.post(url, {"field": "phone", "reason": " "}, "application/json")
    assert refused.status_code == 400 and "reason" in refused.json()["errors"]
    shown = caseworker.post(
        url, {"field": "phone", "reason": "电话核实经营场所"}, "application/json"
    )
    assert shown.status_code == 200 and shown.json()["value"] == PHONE
    assert "no-store" in shown["Cache-Control"]
    page = caseworker.post(
        f"/work/{case.number}/reveal/", {"field": "id_number", "reason": "核对身份证复印件"}
    ).content.decode()
    assert applicant.id_number in page
    revealed = PersonalDataAccess.objects.filter(action="revealed").order_by("pk")
    assert [(r.field, r.purpose) for r in revealed] == [
        ("phone", "电话核实经营场所"),
        ("id_number", "核对身份证复印件"),
    ]
    # A stranger from another department neither sees the case nor leaves a trace.
    stranger = StaffMembershipFactory(role=Role.CASEWORKER).user
    assert client_for(stranger).post(url, {"field": "phone", "reason": "x"}, "application/json").status_code == 404  # fmt: skip

    citizen = client_for(applicant.user)
    log = citizen.get("/api/v1/me/access-log/").json()
    assert log["count"] == PersonalDataAccess.objects.filter(profile=applicant).count() == 3
    newest = log["results"][0]
    assert newest["action"] == "revealed" and newest["case"] == case.number
    assert (
        newest["department"] == "示范市市场监督管理局" and newest["purpose"] == "核对身份证复印件"
    )
    assert set(newest) == {"at", "department", "role", "action", "action_label", "case", "purpose"}
    viewer = staff[Role.CASEWORKER]
    body = citizen.get("/accounts/access-log/").content.decode()
    assert (
        "谁查看了我的信息" in body and "示范市市场监督管理局" in body and "核对身份证复印件" in body
    )
    assert viewer.username not in body and (viewer.get_full_name() or "§") not in body
    # Someone else's log is not mine.
    assert (
        client_for(CitizenProfileFactory().user).get("/api/v1/me/access-log/").json()["count"] == 0
    )
