"""A citizen applies online, end to end, in the API and in the pages; and every bad input is refused
with a clear 4xx while the database stays as it was."""

import io
import subprocess
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from cases import uploads, workflow
from cases.models import Attachment, Case, Event
from services.models import ServiceMaterial

from . import files
from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)

PDF = files.PDF
PNG = files.PNG
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


@pytest.fixture
def service(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    department = DepartmentFactory(code="amr", name="市场监督管理局")
    return make_service(
        "AMR-FOOD",
        department=department,
        name="食品经营许可",
        materials=[
            {"name": "营业场所照片", "required": True},
            {"name": "其他说明", "required": False},
        ],
    ).service


@pytest.fixture
def api(citizen) -> Client:
    client = Client()
    client.force_login(citizen)
    client.cookies["django_language"] = "en"
    return client


def create(api, **body):
    return api.post(
        "/api/v1/applications/",
        {"service": "AMR-FOOD", "data": {"shop_area": 35}, **body},
        content_type="application/json",
    )


def upload(api, number, material, content=PDF, name="photo.pdf"):
    return api.post(
        f"/api/v1/applications/{number}/attachments/",
        {"material": material, "file": SimpleUploadedFile(name, content)},
    )


def required_material(service) -> ServiceMaterial:
    return service.current_version.materials.get(required=True)


def db_state():
    return (Case.objects.count(), Attachment.objects.count(), Event.objects.count(),
            list(Case.objects.values_list("state", "row_version")))  # fmt: skip


@pytest.mark.django_db
def test_full_flow_in_the_api(api, citizen, service):
    response = create(api)
    assert response.status_code == 201, response.json()
    body = response.json()
    number = body["number"]
    assert number.startswith("AMR-FOOD-") and number.endswith("-0001")
    assert body["state"] == "draft"
    # The applicant's name is filled in from the verified profile, never typed.
    assert body["data"] == {"shop_area": 35, "applicant_name": "张三"}
    assert body["missing_materials"] == [
        {"id": required_material(service).pk, "name": "营业场所照片"}
    ]
    assert upload(api, number, required_material(service).pk).status_code == 201
    submitted = api.post(f"/api/v1/applications/{number}/submit/")
    assert submitted.status_code == 200, submitted.json()
    body = submitted.json()
    assert body["state"] == "submitted"
    assert body["intake_due_date"]
    detail = api.get(f"/api/v1/applications/{number}/").json()
    assert [entry["action"] for entry in detail["timeline"]] == ["create", "submit"]
    listing = api.get("/api/v1/applications/").json()
    assert [c["number"] for c in listing["results"]] == [number]
    receipt = api.get(f"/api/v1/applications/{number}/receipt.pdf")
    assert receipt.status_code == 200
    assert receipt["Content-Type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=b"".join(receipt.streaming_content) if receipt.streaming else receipt.content,
        capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    assert number in text
    # The receipt is in the applicant's language (their account's: Chinese), whatever the
    # language of the request (English here); it is made once, and the same file comes back.
    assert "营业场所照片" in text and "收件凭证" in text and "Receipt" not in text
    api.cookies["django_language"] = "zh-hans"
    again = api.get(f"/api/v1/applications/{number}/receipt.pdf")
    api.cookies["django_language"] = "en"
    assert again.content == receipt.content
    withdrawn = api.post(
        f"/api/v1/applications/{number}/withdraw/",
        {"reason": "不开店了"},
        content_type="application/json",
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"] == "withdrawn"


@pytest.mark.django_db
def test_schema_violation_is_a_400_with_field_messages_and_nothing_is_created(api, service):
    before = db_state()
    response = create(api, data={"shop_area": 0, "colour": "red"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    # Each message names the field and the fix.
    assert errors["shop_area"] == ["Floor area (m²) must be at least 1: enter 1 or more."]
    assert "no such field" in errors["colour"][0]
    assert db_state() == before


@pytest.mark.django_db
def test_unknown_service_and_bad_body(api, service):
    assert create(api, service="NOPE").status_code == 400
    assert (
        api.post("/api/v1/applications/", "[1,2", content_type="application/json").status_code
        == 400
    )


@pytest.mark.django_db
def test_submit_without_required_material_or_required_field(api, service):
    number = create(api, data={}).json()["number"]
    before = db_state()
    response = api.post(f"/api/v1/applications/{number}/submit/")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "营业场所照片" in errors["materials"][0]
    assert errors["data.shop_area"] == ["Enter Floor area (m²), e.g. 12.5."]
    assert db_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (EXE, "invoice.pdf", "none of them, whatever its name"),
        (b"", "empty.pdf", "empty"),
        (PDF + b"x" * (1024 * 1024), "big.pdf", "larger than 1 MB"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    api, service, settings, content, name, message
):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    number = create(api).json()["number"]
    before = db_state()
    response = upload(api, number, required_material(service).pk, content=content, name=name)
    assert response.status_code == 400
    assert message in response.json()["errors"]["file"][0]
    assert db_state() == before
    stored = settings.PRIVATE_MEDIA_ROOT
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))


@pytest.mark.django_db
def test_upload_is_stored_outside_the_web_root_and_served_only_to_its_owner(api, service, settings):
    number = create(api).json()["number"]
    attachment_id = upload(
        api, number, required_material(service).pk, content=PNG, name="shop.png"
    ).json()["id"]
    attachment = Attachment.objects.get(pk=attachment_id)
    assert attachment.content_type == "image/png"
    assert attachment.stored_name.endswith(".png") and "shop" not in attachment.stored_name
    path = settings.PRIVATE_MEDIA_ROOT / attachment.stored_name
    assert path.is_file() and PNG[:64] not in path.read_bytes()  # encrypted at rest
    assert uploads.read_stored(attachment.stored_name) == PNG
    download = api.get(f"/applications/{number}/documents/{attachment_id}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG  # served decrypted
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    stranger = Client()
    stranger.force_login(CitizenProfileFactory().user)
    assert stranger.get(f"/applications/{number}/documents/{attachment_id}/").status_code == 404


@pytest.mark.django_db
def test_submitting_twice_is_a_409_and_changes_nothing(api, service):
    number = create(api).json()["number"]
    upload(api, number, required_material(service).pk)
    assert api.post(f"/api/v1/applications/{number}/submit/").status_code == 200
    before = db_state()
    again = api.post(f"/api/v1/applications/{number}/submit/")
    assert again.status_code == 409
    assert "already been submitted" in again.json()["detail"]
    assert db_state() == before


@pytest.mark.django_db
def test_another_citizens_application_is_invisible(api, service):
    number = create(api).json()["number"]
    other = Client()
    other.force_login(CitizenProfileFactory().user)
    before = db_state()
    for method, url in [
        ("get", f"/api/v1/applications/{number}/"),
        ("post", f"/api/v1/applications/{number}/submit/"),
        ("post", f"/api/v1/applications/{number}/withdraw/"),
        ("post", f"/api/v1/applications/{number}/attachments/"),
        ("get", f"/api/v1/applications/{number}/receipt.pdf"),
        ("get", f"/applications/{number}/"),
        ("get", f"/applications/{number}/form/"),
        ("post", f"/applications/{number}/withdraw/"),
    ]:
        assert getattr(other, method)(url).status_code == 404, url
    assert other.get("/api/v1/applications/").json()["results"] == []
    assert db_state() == before


@pytest.mark.django_db
def test_withdrawing_a_concluded_case_is_refused(api, service, citizen):
    number = create(api).json()["number"]
    upload(api, number, required_material(service).pk)
    api.post(f"/api/v1/applications/{number}/submit/")
    case = Case.objects.get(number=number)
    staff = {}
    for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER):
        staff[role] = StaffMembershipFactory(department=case.department, role=role).user
    for name, role in [("accept", Role.CASEWORKER), ("pass_review", Role.REVIEWER),
                       ("approve", Role.APPROVER), ("conclude", Role.CASEWORKER)]:  # fmt: skip
        case = workflow.apply_transition(
            case=case, name=name, actor=staff[role], opinion="符合条件"
        )
    assert case.state == "concluded"
    before = db_state()
    response = api.post(
        f"/api/v1/applications/{number}/withdraw/", {"reason": "x"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "closed" in response.json()["detail"]
    missing_reason = api.post(
        f"/api/v1/applications/{number}/withdraw/", {}, content_type="application/json"
    )
    assert missing_reason.status_code == 400
    assert db_state() == before
    # The decision and its reason are on the applicant's page, with the legal basis.
    page = api.get(f"/applications/{number}/").content.decode()
    assert "符合条件" in page and "《中华人民共和国行政许可法》" in page


@pytest.mark.django_db
def test_supplement_request_answered_with_a_document(api, service):
    number = create(api).json()["number"]
    upload(api, number, required_material(service).pk)
    api.post(f"/api/v1/applications/{number}/submit/")
    case = Case.objects.get(number=number)
    clerk = StaffMembershipFactory(department=case.department, role=Role.CASEWORKER).user
    optional = service.current_version.materials.get(required=False)
    workflow.request_supplement(case=case, actor=clerk, materials=[optional], note="请补充其他说明")
    detail = api.get(f"/api/v1/applications/{number}/").json()
    assert detail["state"] == "supplement_requested"
    early = api.post(
        f"/api/v1/applications/{number}/supplement/", {}, content_type="application/json"
    )
    assert early.status_code == 400
    assert "其他说明" in early.json()["errors"]["materials"][0]
    assert upload(api, number, optional.pk).status_code == 201
    answered = api.post(
        f"/api/v1/applications/{number}/supplement/",
        {"note": "已补充"},
        content_type="application/json",
    )
    assert answered.status_code == 200
    assert answered.json()["state"] == "submitted"
    timeline = api.get(f"/api/v1/applications/{number}/").json()["timeline"]
    assert [e["action"] for e in timeline][-2:] == ["request_supplement", "supplement"]


@pytest.mark.django_db
def test_event_trail_is_hash_chained_and_append_only(api, service):
    number = create(api).json()["number"]
    upload(api, number, required_material(service).pk)
    api.post(f"/api/v1/applications/{number}/submit/")
    events = list(Event.objects.filter(case__number=number).order_by("sequence"))
    assert [e.sequence for e in events] == [1, 2]
    assert events[1].previous_hash == events[0].hash
    assert all(e.hash == e.compute_hash() for e in events)
    with pytest.raises(ValueError):
        events[0].save()
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(pk=events[0].pk).update(opinion="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(pk=events[0].pk).delete()


@pytest.mark.django_db
def test_my_applications_runs_constant_queries(citizen, service):
    client = Client()
    client.force_login(citizen)

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    workflow.create_draft(service=service, user=citizen, data={})
    # The first request caches the account's facts (accounts/facts.py): compare warm requests.
    count("/applications/")
    one = (count("/applications/"), count("/api/v1/applications/"))
    for _ in range(99):
        workflow.create_draft(service=service, user=citizen, data={})
    hundred = (count("/applications/"), count("/api/v1/applications/"))
    assert one == hundred
    assert Case.objects.filter(applicant__user=citizen).count() == 100


# --- Concurrency (real threads against PostgreSQL) -------------------------------------------------


def _in_threads(count: int, target) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_posts_with_one_idempotency_key_create_one_case(citizen, service):
    def post(_index):
        client = Client()
        client.force_login(citizen)
        response = client.post(
            "/api/v1/applications/",
            {"service": "AMR-FOOD", "data": {}},
            content_type="application/json",
            headers={"idempotency-key": "same-key-123"},
        )
        return response.status_code, response.json()["number"]

    results = _in_threads(20, post)
    assert all(isinstance(r, tuple) for r in results), results
    assert {status for status, _ in results} == {201}
    assert len({number for _, number in results}) == 1
    assert Case.objects.count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_submissions_get_fifty_distinct_numbers(service):
    users = [CitizenProfileFactory().user for _ in range(50)]

    def file(index):
        case, _created = workflow.create_draft(service=service, user=users[index], data={})
        return case.number

    numbers = _in_threads(50, file)
    assert all(isinstance(n, str) for n in numbers), numbers
    assert len(set(numbers)) == 50
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, 51))


# --- The pages -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_apply_in_the_pages_with_a_double_clicked_submit(citizen_client, citizen, service):
    page = citizen_client.get(f"/applications/new/{service.code}/")
    assert page.status_code == 200
    started = citizen_client.post(f"/applications/new/{service.code}/", {"token": "t-1"})
    case = Case.objects.get()
    assert started["Location"] == f"/applications/{case.number}/form/"
    form = citizen_client.get(started["Location"]).content.decode()
    # Verified identity is shown, not asked for again, and the ID number is masked.
    assert "张三" in form and 'name="applicant_name"' not in form
    bad = citizen_client.post(started["Location"], {"shop_area": "-5", "next": ""})
    assert bad.status_code == 400
    ok = citizen_client.post(started["Location"], {"shop_area": "40", "next": ""})
    assert ok["Location"] == f"/applications/{case.number}/materials/"
    exe = citizen_client.post(
        ok["Location"],
        {"material": required_material(service).pk, "file": SimpleUploadedFile("x.pdf", EXE)},
    )
    assert exe.status_code == 400
    assert not Attachment.objects.exists()
    citizen_client.post(
        ok["Location"],
        {"material": required_material(service).pk, "file": SimpleUploadedFile("shop.pdf", PDF)},
    )
    review = citizen_client.get(f"/applications/{case.number}/review/").content.decode()
    assert "shop.pdf" in review and "40" in review
    first = citizen_client.post(f"/applications/{case.number}/review/")
    second = citizen_client.post(f"/applications/{case.number}/review/")
    assert first["Location"] == second["Location"] == f"/applications/{case.number}/submitted/"
    assert Event.objects.filter(case=case, action="submit").count() == 1
    done = citizen_client.get(first["Location"]).content.decode()
    assert case.number in done
    mine = citizen_client.get("/applications/").content.decode()
    assert case.number in mine


@pytest.mark.django_db
def test_draft_is_saved_and_resumed(citizen_client, service):
    citizen_client.post(f"/applications/new/{service.code}/")
    case = Case.objects.get()
    citizen_client.post(f"/applications/{case.number}/form/", {"shop_area": "12", "save": ""})
    case.refresh_from_db()
    assert case.data["shop_area"] == 12
    # Starting again resumes the draft instead of making a second one.
    again = citizen_client.post(f"/applications/new/{service.code}/")
    assert again["Location"] == f"/applications/{case.number}/form/"
    assert Case.objects.count() == 1
    assert 'value="12"' in citizen_client.get(again["Location"]).content.decode()


def test_upload_sniffing_ignores_the_name():
    from cases.uploads import sniff_content_type

    assert sniff_content_type(PDF[:16]) == "application/pdf"
    assert sniff_content_type(PNG[:16]) == "image/png"
    assert sniff_content_type(b"\xff\xd8\xff\xe0" + b"\x00" * 12) == "image/jpeg"
    assert sniff_content_type(EXE[:16]) is None
    assert sniff_content_type(io.BytesIO(b"<html>").read()) is None


@pytest.mark.django_db
def test_autosave_keeps_what_is_valid_and_answers_204(citizen_client, service):
    citizen_client.post(f"/applications/new/{service.code}/")
    case = Case.objects.get()
    response = citizen_client.post(
        f"/applications/{case.number}/form/", {"shop_area": "77", "_autosave": "1"}
    )
    assert response.status_code == 204
    case.refresh_from_db()
    assert case.data["shop_area"] == 77
    # An invalid value is not saved, and nothing valid is lost.
    citizen_client.post(f"/applications/{case.number}/form/", {"shop_area": "-1", "_autosave": "1"})
    case.refresh_from_db()
    assert case.data["shop_area"] == 77
