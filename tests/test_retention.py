"""Retention and purge (cases/retention.py, accounts/closure.py): a stale draft is warned once, then
purged with its file gone from storage and its trail intact; message bodies are emptied after their
period; a closed case is archived after its service's retention period with its personal data gone
and the public figures unchanged; a citizen closes their account; `purge --dry-run` changes nothing."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import CitizenProfile, Role, User
from cases import retention, workflow
from cases.models import Attachment, Case, Event, Notification, OfficialDocument
from cases.notifications import services as notifications
from cases.trail import check_trail
from cases.transparency import statistics
from services.models import RetentionPeriod

from . import files
from .factories import PASSWORD, DepartmentFactory, StaffMembershipFactory, make_service


@pytest.fixture
def service(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.DRAFT_RETENTION_DAYS = 30
    settings.DRAFT_RETENTION_WARNING_DAYS = 7
    settings.NOTIFICATION_BODY_RETENTION_DAYS = 180
    department = DepartmentFactory(code="amr", name="市场监督管理局")
    return make_service(
        "AMR-FOOD",
        department=department,
        name="食品经营许可",
        materials=[{"name": "营业场所照片", "required": True}],
    ).service


def token_client(username: str, password: str = PASSWORD) -> tuple[Client, int]:
    response = Client().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
    )
    client = Client(headers={"authorization": f"Token {response.json().get('token')}"})
    return client, response.status_code


def start(api: Client, service) -> str:
    response = api.post(
        "/api/v1/applications/",
        {"service": service.code, "data": {"shop_area": 35}},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    number = response.json()["number"]
    material = service.current_version.materials.get()
    uploaded = api.post(
        f"/api/v1/applications/{number}/attachments/",
        {"material": material.pk, "file": SimpleUploadedFile("shop.pdf", files.PDF)},
    )
    assert uploaded.status_code == 201, uploaded.json()
    return number


def concluded(case: Case) -> Case:
    staff = {
        role: StaffMembershipFactory(department=case.department, role=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER)
    }
    for name, role in [("accept", Role.CASEWORKER), ("pass_review", Role.REVIEWER),
                       ("approve", Role.APPROVER), ("conclude", Role.CASEWORKER)]:  # fmt: skip
        case = workflow.apply_transition(
            case=case, name=name, actor=staff[role], opinion="符合条件"
        )
    return case


def stored_path(case: Case):
    from cases.uploads import path_of

    return path_of(Attachment.objects.get(case=case).stored_name)


@pytest.mark.django_db
def test_a_stale_draft_is_warned_once_then_purged_with_its_file(
    service, citizen, citizen_client, django_capture_on_commit_callbacks
):
    number = start(citizen_client, service)
    case = Case.objects.get(number=number)
    path = stored_path(case)
    assert path.is_file()
    now = timezone.now()

    # Day 24 (30 − 7 = 23 days untouched): warned on every channel, once; nothing removed.
    report = retention.purge(now=now + dt.timedelta(days=24))
    assert (report.drafts_warned, report.drafts_purged) == (1, 0)
    warnings = Notification.objects.filter(case=case, event="draft_expiring")
    assert sorted(warnings.values_list("channel", flat=True)) == ["email", "inbox", "sms"]
    inbox = warnings.get(channel="inbox")
    assert notifications.deliver(inbox.pk) == "sent"
    inbox.refresh_from_db()
    purge_day = timezone.localdate(now + dt.timedelta(days=31)).isoformat()
    assert number in inbox.body and "删除" in inbox.body and purge_day in inbox.body
    assert retention.purge(now=now + dt.timedelta(days=25)).drafts_warned == 0
    # Day 30: untouched for 30 days, but warned only 6 days ago: it waits for the 7 days promised.
    assert retention.purge(now=now + dt.timedelta(days=30)).drafts_purged == 0
    assert path.is_file()

    with django_capture_on_commit_callbacks(execute=True):
        report = retention.purge(now=now + dt.timedelta(days=31, hours=1))
    assert (report.drafts_purged, report.documents_removed) == (1, 1)
    assert not path.exists()
    case.refresh_from_db()
    assert case.data == {} and case.purged_at is not None
    assert not Attachment.objects.filter(case=case).exists()
    # Hidden everywhere the applicant looks; the trail is whole and says what happened.
    assert citizen_client.get(f"/api/v1/applications/{number}/").status_code == 404
    assert citizen_client.get("/api/v1/applications/").json()["results"] == []
    assert citizen_client.get(f"/applications/{number}/").status_code == 404
    assert list(Event.objects.filter(case=case).values_list("action", flat=True)) == [
        "create",
        "draft_purged",
    ]
    assert check_trail().intact
    # The warning's words went with it.
    inbox.refresh_from_db()
    assert (inbox.body, inbox.subject, inbox.state) == ("", "", "sent")
    # Running again finds nothing to do.
    assert retention.purge(now=now + dt.timedelta(days=32)).as_dict() == dict.fromkeys(
        report.as_dict(), 0
    )


@pytest.mark.django_db
def test_a_draft_touched_after_its_warning_is_kept_and_warned_again_later(
    service, citizen, citizen_client
):
    number = start(citizen_client, service)
    now = timezone.now()
    assert retention.purge(now=now + dt.timedelta(days=24)).drafts_warned == 1
    with time_machine.travel(now + dt.timedelta(days=26), tick=False):  # the applicant edits it
        workflow.update_draft(
            case=Case.objects.get(number=number), user=citizen, data={"shop_area": 40}
        )
    report = retention.purge(now=now + dt.timedelta(days=40))
    assert (report.drafts_purged, report.drafts_warned) == (0, 0)
    assert Case.objects.get(number=number).purged_at is None
    assert retention.purge(now=now + dt.timedelta(days=50)).drafts_warned == 1


@pytest.mark.django_db
def test_notification_bodies_are_purged_after_their_period_and_the_row_stays(
    service, citizen, settings
):
    settings.DRAFT_RETENTION_DAYS = 1000  # the draft below is only there to carry messages
    case, _created = workflow.create_draft(service=service, user=citizen, data={"shop_area": 3})
    rows = notifications.save_and_enqueue(
        notifications.to_applicants(case, "service_retired", {"number": case.number})
    )
    for row in rows:
        assert notifications.deliver(row.pk) == "sent"
    sms = Notification.objects.get(case=case, channel="sms")
    assert sms.address and sms.body
    pending = Notification.objects.create(
        recipient=citizen, channel="inbox", event="submitted", body="还在路上"
    )

    assert retention.purge(now=timezone.now() + dt.timedelta(days=179)).notifications_purged == 0
    report = retention.purge(now=timezone.now() + dt.timedelta(days=181))
    assert report.notifications_purged == 3
    for row in Notification.objects.filter(case=case, event="service_retired"):
        assert (row.subject, row.body, row.address, row.context) == ("", "", "", {})
        assert row.state == "sent" and row.sent_at is not None and row.purged_at is not None
    pending.refresh_from_db()
    assert pending.body == "还在路上" and pending.purged_at is None
    # The inbox still lists the delivered message, without its words.
    inbox = Client()
    inbox.force_login(citizen)
    listed = inbox.get("/api/v1/notifications/").json()["results"]
    assert [(m["event"], m["body"]) for m in listed] == [("service_retired", "")]


@pytest.mark.django_db
def test_a_closed_case_is_archived_after_its_services_period_and_the_figures_stay(
    service, citizen, citizen_client, django_capture_on_commit_callbacks, settings
):
    service.retention_years = RetentionPeriod.TEN_YEARS
    service.save(update_fields=["retention_years"])
    number = start(citizen_client, service)
    submitted = citizen_client.post(f"/api/v1/applications/{number}/submit/")
    assert submitted.status_code == 200, submitted.json()
    case = concluded(Case.objects.get(number=number))
    assert case.state == "concluded"
    path = stored_path(case)
    assert case.data["applicant_name"] == "张三"

    statistics.refresh_monthly_figures(statistics.ALL)
    figures_before = Client().get("/api/v1/stats/").json()
    assert figures_before["totals"]["received"] == 1 and figures_before["totals"]["concluded"] == 1

    nine_years = timezone.now() + dt.timedelta(days=9 * 366)
    assert retention.purge(now=nine_years).cases_archived == 0
    ten_years = timezone.now() + dt.timedelta(days=10 * 366)
    with django_capture_on_commit_callbacks(execute=True):
        report = retention.purge(now=ten_years)
    assert report.cases_archived == 1
    case.refresh_from_db()
    assert case.is_archived and case.data == {} and case.decision_reason == ""
    assert not Attachment.objects.filter(case=case).exists() and not path.exists()
    # Documents stay registered (number, kind, date) without what they said or their PDFs.
    documents = OfficialDocument.objects.filter(case=case)
    assert documents.exists()
    assert all(d.content == {} and not d.file for d in documents)
    assert all(n.body == "" and n.address == "" for n in Notification.objects.filter(case=case))
    # What the figures count is untouched, and the public figures are the same.
    assert (case.state, case.received_at is not None, case.decided_at is not None) == (
        "concluded",
        True,
        True,
    )
    statistics.refresh_monthly_figures(statistics.ALL)
    assert Client().get("/api/v1/stats/").json() == figures_before
    assert check_trail().intact
    assert Event.objects.filter(case=case).last().action == "archived"
    # The shell still shows, to the applicant and to staff, without a 500 on the missing data.
    page = citizen_client.get(f"/applications/{number}/")
    assert page.status_code == 200 and "保管期限" in page.content.decode()
    assert citizen_client.get(f"/api/v1/applications/{number}/").json()["data"] == {}
    settings.STAFF_2FA = False
    caseworker = case.department.memberships.filter(role=Role.CASEWORKER).first().user
    staff_client = Client()
    staff_client.force_login(caseworker)
    assert staff_client.get(f"/work/{number}/").status_code == 200
    # A permanent service's cases are never archived.
    service.retention_years = RetentionPeriod.PERMANENT
    service.save(update_fields=["retention_years"])
    assert not retention.cases_to_archive(ten_years + dt.timedelta(days=365 * 100)).exists()


@pytest.mark.django_db
def test_account_closure_is_refused_while_a_case_is_in_progress_then_done(
    service, citizen, citizen_client
):
    number = start(citizen_client, service)
    citizen_client.post(f"/api/v1/applications/{number}/submit/")
    api, status = token_client("zhang")
    assert status == 200

    refused = api.post("/api/v1/me/close/", {"password": PASSWORD}, content_type="application/json")
    assert refused.status_code == 400
    assert number in refused.json()["errors"]["account"][0]
    wrong = api.post("/api/v1/me/close/", {"password": "nope"}, content_type="application/json")
    assert wrong.status_code == 400 and "password" in wrong.json()["errors"]
    page = citizen_client.get("/accounts/close/")
    assert page.status_code == 200 and number in page.content.decode()
    assert api.get("/api/v1/me/").status_code == 200  # nothing changed

    withdrawn = citizen_client.post(
        f"/api/v1/applications/{number}/withdraw/",
        {"reason": "不开店了"},
        content_type="application/json",
    )
    assert withdrawn.status_code == 200
    second_draft = start(citizen_client, service)
    closed = api.post("/api/v1/me/close/", {"password": PASSWORD}, content_type="application/json")
    assert closed.status_code == 204, closed.content

    # The token is refused, the password signs in nowhere.
    assert api.get("/api/v1/me/").status_code == 401
    assert token_client("zhang")[1] == 400
    signed_in = Client().post("/accounts/login/", {"username": "zhang", "password": PASSWORD})
    assert signed_in.status_code == 200 and "_auth_user_id" not in signed_in.client.session
    user = User.objects.get(pk=citizen.pk)
    assert not user.is_active and user.closed_at is not None and not user.has_usable_password()
    assert (user.email, user.first_name) == ("", "") and user.username != "zhang"
    # The profile keeps what the withdrawn case on file needs, no more; the draft is gone.
    profile = CitizenProfile.objects.get(cases__number=number)
    assert profile.user_id is None and profile.phone == ""
    assert profile.real_name == "张三"
    assert Case.objects.get(number=second_draft).purged_at is not None


@pytest.mark.django_db
def test_account_closure_with_nothing_on_file_clears_the_profile(db, citizen):
    profile_pk = citizen.citizen_profile.pk
    client = Client()
    client.force_login(citizen)
    wrong = client.post("/accounts/close/", {"password": "nope", "confirm": "on"})
    assert wrong.status_code == 400 and CitizenProfile.objects.get(pk=profile_pk).user_id
    response = client.post("/accounts/close/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    profile = CitizenProfile.objects.get(pk=profile_pk)
    assert (profile.real_name, profile.phone, profile.id_number, profile.user_id) == (
        "",
        "",
        "",
        None,
    )
    assert client.get("/api/v1/me/").status_code in (401, 403)


@pytest.mark.django_db
def test_staff_accounts_cannot_be_closed_this_way(db, settings):
    settings.STAFF_2FA = False
    staff = StaffMembershipFactory(role=Role.CASEWORKER).user
    api, status = token_client(staff.username)
    assert status == 200
    response = api.post(
        "/api/v1/me/close/", {"password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 403
    staff.refresh_from_db()
    assert staff.is_active and staff.closed_at is None


@pytest.mark.django_db
def test_purge_dry_run_prints_the_counts_and_changes_nothing(service, citizen, citizen_client):
    number = start(citizen_client, service)
    case = Case.objects.get(number=number)
    retention.purge(now=timezone.now() + dt.timedelta(days=24))  # warned
    later = timezone.now() + dt.timedelta(days=200)

    def state():
        return (
            list(Case.objects.values_list("pk", "data", "purged_at", "draft_warned_at")),
            list(Notification.objects.values_list("pk", "body", "address", "purged_at")),
            Attachment.objects.count(),
            stored_path(case).is_file(),
        )

    before = state()
    out = io.StringIO()
    with time_machine.travel(later, tick=False):
        call_command("purge", "--dry-run", stdout=out)
    assert state() == before
    text = out.getvalue()
    assert "dry run" in text
    assert "     1  drafts purged" in text and "     1  uploaded documents" in text
    # The daily beat task runs the same purge.
    from django.conf import settings

    from cases.tasks import purge as purge_task

    assert settings.CELERY_BEAT_SCHEDULE["purge"]["task"] == "cases.tasks.purge"
    with time_machine.travel(later, tick=False):
        assert purge_task()["drafts_purged"] == 1
    assert Case.objects.get(pk=case.pk).purged_at is not None


@pytest.mark.django_db
def test_the_retention_period_is_set_in_the_designer_and_travels_in_the_interchange_document(
    service, client
):
    import json

    from services.models import ServiceItem

    admin = StaffMembershipFactory(department=service.department, role=Role.DEPARTMENT_ADMIN).user
    client.force_login(admin)
    page = client.get(f"/manage/{service.code}/").content.decode()
    assert "保管期限" in page and 'name="retention_years"' in page
    saved = client.post(f"/manage/{service.code}/retention/", {"retention_years": "10"})
    assert saved.status_code == 302
    service.refresh_from_db()
    assert service.retention_years == RetentionPeriod.TEN_YEARS
    refused = client.post(
        f"/manage/{service.code}/retention/", {"retention_years": "7"}, follow=True
    )
    assert "请选择保管期限" in refused.content.decode()  # Choose a retention period: ...
    service.refresh_from_db()
    assert service.retention_years == RetentionPeriod.TEN_YEARS

    document = client.get(f"/api/v1/manage/services/{service.code}/export/").json()
    assert document["retention_years"] == 10
    bad = {**document, "retention_years": "forever"}
    response = client.post(
        "/api/v1/manage/services/?code=AMR-COPY", json.dumps(bad), content_type="application/json"
    )
    assert response.status_code == 400 and "retention_years" in response.json()["errors"]
    assert not ServiceItem.objects.filter(code="AMR-COPY").exists()
    permanent = {**document, "retention_years": 0}
    response = client.post(
        "/api/v1/manage/services/?code=AMR-COPY",
        json.dumps(permanent),
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert ServiceItem.objects.get(code="AMR-COPY").retention_years == RetentionPeriod.PERMANENT


# --- Bundles (一件事) and sharing snapshots ---------------------------------------------------------


@pytest.fixture
def birth_bundle(service):
    """The birth bundle of tests/test_bundles.py: three members in three departments, the card
    filed after the birth registration's result."""
    from services import bundles
    from services.models import LifeEvent

    from .test_bundles import BIRTH_FORM, CARD_FORM, CERTIFICATE, DOCUMENT, INSURANCE_FORM

    made = {}
    for key, code, dept, name, form, material in (
        ("birth", "PSB-BIRTH", "psb", "出生登记", BIRTH_FORM, CERTIFICATE),
        ("insurance", "HSA-ENROL", "hsa", "城乡居民医保参保", INSURANCE_FORM, CERTIFICATE),
        ("card", "HRSS-CARD", "hrss", "社会保障卡申领", CARD_FORM, "证件照片"),
    ):
        made[key] = make_service(
            code,
            department=DepartmentFactory(code=dept, name=dept),
            name=name,
            form_schema=form,
            materials=[{"name": material, "required": True}],
        ).service
    LifeEvent.objects.get_or_create(code="birth", defaults={"name": "出生"})
    bundles.import_bundle(document=DOCUMENT, publish=True)
    return made


def _bundle_draft(api: Client) -> str:
    from .test_bundles import ANSWERS

    response = api.post(
        "/api/v1/bundle-applications/",
        {"bundle": "YJS-BIRTH", "data": ANSWERS},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    number = response.json()["number"]
    materials = api.get("/api/v1/bundles/YJS-BIRTH/").json()["materials"]
    for material in materials:
        if material["source"] != "upload":
            continue
        uploaded = api.post(
            f"/api/v1/bundle-applications/{number}/attachments/",
            {"material": material["id"], "file": SimpleUploadedFile("doc.pdf", files.PDF)},
        )
        assert uploaded.status_code == 201, uploaded.json()
    return number


def _bundle_paths(number: str):
    from cases.models import BundleAttachment
    from cases.uploads import path_of

    return [
        path_of(name)
        for name in BundleAttachment.objects.filter(application__number=number).values_list(
            "stored_name", flat=True
        )
    ]


@pytest.mark.django_db
def test_a_bundles_answers_and_uploads_go_once_every_member_case_is_archived(
    birth_bundle, citizen, citizen_client, django_capture_on_commit_callbacks
):
    from cases.models import BundleApplication, BundleAttachment, SharingRequest

    # The card's file is kept 30 years, the others' 10.
    for key, years in (("birth", 10), ("insurance", 10), ("card", 30)):
        birth_bundle[key].retention_years = RetentionPeriod(years)
        birth_bundle[key].save(update_fields=["retention_years"])
    number = _bundle_draft(citizen_client)
    paths = _bundle_paths(number)
    assert len(paths) == 2 and all(p.is_file() for p in paths)
    submitted = citizen_client.post(f"/api/v1/bundle-applications/{number}/submit/")
    assert submitted.status_code == 200, submitted.json()
    application = BundleApplication.objects.get(number=number)
    for code in ("PSB-BIRTH", "HSA-ENROL", "HRSS-CARD"):  # the card is filed after the birth
        concluded(application.member_cases.get(service__code=code).case)
    application.refresh_from_db()
    assert application.state == "completed"
    members = [link.case for link in application.member_cases.select_related("case")]
    # What a registry answered for a member case (the staff's "已核验" snapshot).
    birth = next(c for c in members if c.service.code == "PSB-BIRTH")
    snapshot = SharingRequest.objects.create(
        registry="household",
        service=birth.service,
        case=birth,
        purpose=SharingRequest.Purpose.MATERIAL,
        fields=["name"],
        outcome=SharingRequest.Outcome.FOUND,
        channel="online",
        data={"name": "王小宝"},
    )

    ten_years = timezone.now() + dt.timedelta(days=10 * 366)
    with django_capture_on_commit_callbacks(execute=True):
        report = retention.purge(now=ten_years)
    assert (report.cases_archived, report.bundles_purged) == (2, 0)
    assert report.sharing_snapshots_removed == 1
    snapshot.refresh_from_db()
    assert snapshot.data == {} and snapshot.outcome == "found"  # the request's row stays
    # The card's case still holds its data: so do the bundle's answers and files.
    application.refresh_from_db()
    assert application.data["child_name"] == "王小宝" and application.purged_at is None
    assert all(p.is_file() for p in paths)

    thirty_years = timezone.now() + dt.timedelta(days=30 * 366)
    out = io.StringIO()
    with time_machine.travel(thirty_years, tick=False):
        call_command("purge", "--dry-run", stdout=out)
    assert "     1  bundles whose combined answers and uploads are removed" in out.getvalue()
    assert "     3  uploaded documents" in out.getvalue()  # the card's own and the bundle's two
    assert all(p.is_file() for p in paths)

    with django_capture_on_commit_callbacks(execute=True):
        report = retention.purge(now=thirty_years)
    assert (report.cases_archived, report.bundles_purged, report.documents_removed) == (1, 1, 3)
    application.refresh_from_db()
    assert application.data == {} and application.purged_at is not None
    assert not BundleAttachment.objects.filter(application=application).exists()
    assert not any(p.exists() for p in paths)
    # Every member case's trail says so, and stays whole.
    for case in members:
        last = Event.objects.filter(case=case).last()
        assert last.action == "bundle_purged" and last.details["bundle"] == number
    assert check_trail().intact
    # The shell still shows to the applicant; a second run does nothing.
    page = citizen_client.get(f"/api/v1/bundle-applications/{number}/")
    assert page.status_code == 200 and page.json()["state"] == "completed"
    assert citizen_client.get(f"/applications/bundles/{number}/").status_code == 200
    assert not any(retention.purge(now=thirty_years + dt.timedelta(days=1)).as_dict().values())


@pytest.mark.django_db
def test_a_stale_bundle_draft_is_warned_once_then_purged_hidden_and_logged(
    birth_bundle, citizen, citizen_client, django_capture_on_commit_callbacks
):
    from auditlog.models import LogEntry

    from cases.models import BundleApplication, BundleAttachment

    number = _bundle_draft(citizen_client)
    paths = _bundle_paths(number)
    now = timezone.now()

    report = retention.purge(now=now + dt.timedelta(days=24))
    assert (report.bundle_drafts_warned, report.bundle_drafts_purged) == (1, 0)
    warnings = Notification.objects.filter(event="draft_expiring", context__number=number)
    assert sorted(warnings.values_list("channel", flat=True)) == ["email", "inbox", "sms"]
    inbox = warnings.get(channel="inbox")
    assert notifications.deliver(inbox.pk) == "sent"
    inbox.refresh_from_db()
    assert number in inbox.body and "出生一件事" in inbox.body and "删除" in inbox.body
    assert retention.purge(now=now + dt.timedelta(days=25)).bundle_drafts_warned == 0
    assert retention.purge(now=now + dt.timedelta(days=30)).bundle_drafts_purged == 0

    with django_capture_on_commit_callbacks(execute=True):
        report = retention.purge(now=now + dt.timedelta(days=31, hours=1))
    assert (report.bundle_drafts_purged, report.documents_removed) == (1, 2)
    application = BundleApplication.objects.get(number=number)
    assert application.data == {} and application.purged_at is not None
    assert not BundleAttachment.objects.filter(application=application).exists()
    assert paths and not any(p.exists() for p in paths)
    inbox.refresh_from_db()
    assert (inbox.body, inbox.subject) == ("", "")
    # Hidden from the applicant.
    assert citizen_client.get(f"/api/v1/bundle-applications/{number}/").status_code == 404
    assert citizen_client.get(f"/applications/bundles/{number}/form/").status_code == 404
    # No trail to write to: the audit log has it.
    entry = LogEntry.objects.get(additional_data__event="bundle_draft_purged")
    assert entry.additional_data["bundle"] == number and entry.additional_data["documents"] == 2
    assert not any(retention.purge(now=now + dt.timedelta(days=32)).as_dict().values())
