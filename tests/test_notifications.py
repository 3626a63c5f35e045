"""The notification outbox: rows written with the change that causes them, delivered once from the
pending state, retried with backoff, requeued after an outage; the inbox page and API."""

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from cases import workflow
from cases.models import Case, Notification, NotificationTemplate
from cases.notifications import services as notifications
from cases.notifications.sms import ConsoleSMSBackend

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support.broker import broker_down


@pytest.fixture
def service(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr")
    StaffMembershipFactory(department=department, role=Role.CASEWORKER, user__username="cw")
    return make_service(
        "N-1", department=department, materials=[{"name": "x", "required": False}]
    ).service


def submit(service, user):
    case, _ = workflow.create_draft(service=service, user=user, data={"shop_area": 4})
    return workflow.submit_application(case=case, user=user)


@pytest.mark.django_db
def test_submission_writes_messages_for_the_applicant_and_the_queue(service, citizen):
    case = submit(service, citizen)
    rows = Notification.objects.filter(case=case)
    channels = sorted(rows.filter(recipient=citizen).values_list("channel", flat=True))
    assert channels == ["email", "inbox", "sms"]
    assert rows.filter(event="new_case", recipient__username="cw", channel="inbox").count() == 1
    assert set(rows.values_list("state", flat=True)) == {"pending"}


@pytest.mark.django_db
def test_messages_roll_back_with_the_change(service, citizen):
    case, _ = workflow.create_draft(service=service, user=citizen, data={"shop_area": 4})
    with pytest.raises(RuntimeError), transaction.atomic():
        workflow.submit_application(case=case, user=citizen)
        raise RuntimeError("the change fails after the event was written")
    assert not Notification.objects.exists()
    assert Case.objects.get(pk=case.pk).state == "draft"


@pytest.mark.django_db(transaction=True)
def test_a_submission_while_the_broker_is_down_succeeds_and_waits_in_the_outbox(service, citizen):
    with broker_down():
        started = timezone.now()
        case = submit(service, citizen)
        assert (timezone.now() - started).total_seconds() < 10
    assert Case.objects.get(pk=case.pk).state == "submitted"
    pending = Notification.objects.filter(case=case, state="pending")
    assert pending.count() == 4
    # Delivered later, once each, whoever runs it how often.
    for row in pending:
        assert notifications.deliver(row.pk) == "sent"
        assert notifications.deliver(row.pk) == "skipped"
    assert len([m for m in mail.outbox if case.number in m.body]) == 1


@pytest.mark.django_db
def test_delivery_on_every_channel_in_the_recipients_language(service, citizen):
    citizen.preferred_language = "en"
    citizen.save()
    ConsoleSMSBackend.sent.clear()
    case = submit(service, citizen)
    for row in Notification.objects.filter(case=case):
        notifications.deliver(row.pk)
    email = next(m for m in mail.outbox if case.number in m.body)
    assert email.subject == "Application received" and email.to == [citizen.email]
    assert any(
        case.number in text and text.startswith("【") for _phone, text in ConsoleSMSBackend.sent
    )
    staff_message = Notification.objects.get(case=case, event="new_case")
    assert "新办件" in staff_message.subject  # the caseworker reads Chinese


@pytest.mark.django_db
def test_admins_edit_the_words(service, citizen):
    template = NotificationTemplate.objects.get(
        event="submitted", channel="inbox", language="zh-hans"
    )
    template.subject = "收件通知 {{ number }}"
    template.save()
    case = submit(service, citizen)
    row = Notification.objects.get(case=case, recipient=citizen, channel="inbox")
    notifications.deliver(row.pk)
    row.refresh_from_db()
    assert row.subject == f"收件通知 {case.number}"


class FlakySMS:
    failures = 0

    def send(self, phone, text):
        if FlakySMS.failures:
            FlakySMS.failures -= 1
            raise ConnectionError("provider unreachable")
        ConsoleSMSBackend.sent.append((phone, text))


@pytest.mark.django_db
def test_a_message_that_fails_twice_then_succeeds_is_sent_once(service, citizen, settings):
    settings.SMS_BACKEND = "tests.test_notifications.FlakySMS"
    FlakySMS.failures = 2
    ConsoleSMSBackend.sent.clear()
    case = submit(service, citizen)
    sms = Notification.objects.get(case=case, channel="sms")
    assert [notifications.deliver(sms.pk) for _ in range(4)] == [
        "retry",
        "retry",
        "sent",
        "skipped",
    ]
    sms.refresh_from_db()
    assert (sms.state, sms.attempts) == ("sent", 3)
    assert "ConnectionError" in sms.last_error
    assert len(ConsoleSMSBackend.sent) == 1
    assert [notifications.retry_delay(n) for n in (1, 2, 3, 10)] == [30, 60, 120, 1800]


@pytest.mark.django_db
def test_a_message_that_keeps_failing_ends_failed(service, citizen, settings):
    settings.SMS_BACKEND = "tests.test_notifications.FlakySMS"
    FlakySMS.failures = 100
    case = submit(service, citizen)
    sms = Notification.objects.get(case=case, channel="sms")
    outcomes = [notifications.deliver(sms.pk) for _ in range(notifications.MAX_ATTEMPTS + 1)]
    assert outcomes[-2:] == ["failed", "skipped"]
    FlakySMS.failures = 0


@pytest.mark.django_db
def test_requeue_hands_over_only_rows_left_pending(service, citizen, monkeypatch):
    handed: list[int] = []
    monkeypatch.setattr(notifications, "enqueue", handed.extend)
    case = submit(service, citizen)
    assert notifications.requeue_pending() == 0  # just written: the on-commit hand-over is theirs
    later = timezone.now() + dt.timedelta(minutes=10)
    inbox = Notification.objects.get(case=case, recipient=citizen, channel="inbox")
    notifications.deliver(inbox.pk)
    assert notifications.requeue_pending(now=later) == 3
    assert inbox.pk not in handed


@pytest.mark.django_db
def test_inbox_page_and_api(service, citizen):
    case = submit(service, citizen)
    for row in Notification.objects.filter(case=case):
        notifications.deliver(row.pk)
    client = Client()
    client.force_login(citizen)
    page = client.get("/messages/").content.decode()
    assert case.number in page
    assert 'class="badge">1' in client.get("/").content.decode()
    body = client.get("/api/v1/notifications/").json()
    assert body["unread"] == 1 and body["results"][0]["case"] == case.number
    message_id = body["results"][0]["id"]
    assert client.post(f"/api/v1/notifications/{message_id}/read/").json()["read_at"]
    assert client.get("/api/v1/notifications/").json()["unread"] == 0
    stranger = Client()
    stranger.force_login(CitizenProfileFactory().user)
    assert stranger.post(f"/api/v1/notifications/{message_id}/read/").status_code == 404
    assert stranger.get("/api/v1/notifications/").json()["results"] == []
