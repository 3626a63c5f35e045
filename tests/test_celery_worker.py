"""Notifications through a real Celery worker on the real (throwaway) Redis: a broker outage during a
submission, a provider failing twice, and a worker killed in the middle of a delivery."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from cases import workflow
from cases.models import Notification
from cases.notifications import services as notifications

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support.broker import broker_down

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Worker:
    """`celery -A portal worker` in a subprocess, on the test database and the test Redis."""

    def __init__(self, tmp_path: Path, **extra_env: str):
        db = connection.settings_dict
        self.sms_log = tmp_path / "sms.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "SMS_BACKEND": "tests.support.sms.FileSMS",
            "TEST_SMS_LOG": str(self.sms_log),
            "NOTIFICATION_RETRY_BASE_SECONDS": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(tmp_path / "mail"),
            "PYTHONPATH": str(ROOT),
            **extra_env,
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def sms_lines(self) -> list[str]:
        return (
            self.sms_log.read_text(encoding="utf-8").splitlines() if self.sms_log.exists() else []
        )


def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def service(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    department = DepartmentFactory(code="amr")
    StaffMembershipFactory(department=department, role=Role.CASEWORKER)
    return make_service(
        "W-1", department=department, materials=[{"name": "x", "required": False}]
    ).service


def submit(service, user):
    case, _ = workflow.create_draft(service=service, user=user, data={"shop_area": 2})
    return workflow.submit_application(case=case, user=user)


def test_submission_during_a_broker_outage_is_delivered_when_it_is_back(service, tmp_path):
    citizen = CitizenProfileFactory().user
    with broker_down():
        case = submit(service, citizen)  # succeeds: the hand-over to Celery fails quietly
    assert Notification.objects.filter(case=case, state="pending").count() == 4
    worker = Worker(tmp_path).start()
    try:
        # Beat's requeue, a few minutes later, once Redis answers again.
        assert notifications.requeue_pending(now=timezone.now() + dt.timedelta(minutes=10)) == 4
        assert wait_for(
            lambda: not Notification.objects.filter(case=case, state="pending").exists()
        )
    finally:
        worker.stop()
    assert set(Notification.objects.filter(case=case).values_list("state", flat=True)) == {"sent"}
    assert len([line for line in worker.sms_lines() if case.number in line]) == 1
    assert len(list((tmp_path / "mail").iterdir())) == 1


def test_a_message_failing_twice_then_succeeding_is_sent_once(service, tmp_path):
    failures = tmp_path / "failures"
    failures.write_text("2")
    worker = Worker(tmp_path, TEST_SMS_FAILURES=str(failures)).start()
    try:
        case = submit(service, CitizenProfileFactory().user)  # handed over on commit
        sms = Notification.objects.get(case=case, channel="sms")
        assert wait_for(lambda: Notification.objects.get(pk=sms.pk).state == "sent")
    finally:
        worker.stop()
    sms.refresh_from_db()
    assert sms.attempts == 3
    assert "ConnectionError" in sms.last_error
    assert len([line for line in worker.sms_lines() if case.number in line]) == 1


def test_a_killed_worker_loses_nothing(service, tmp_path):
    hold = tmp_path / "hold"
    hold.write_text("hold")
    worker = Worker(tmp_path, TEST_SMS_HOLD=str(hold)).start()
    case = submit(service, CitizenProfileFactory().user)
    sms = Notification.objects.get(case=case, channel="sms")
    # The worker is inside the SMS delivery, its transaction open, when it is killed.
    assert wait_for(lambda: any(
        row["state"] == "sent" for row in Notification.objects.filter(case=case).exclude(channel="sms").values("state")
    ))  # fmt: skip
    time.sleep(1)
    worker.kill()
    hold.unlink()
    sms.refresh_from_db()
    assert sms.state == "pending"  # nothing committed, nothing lost
    second = Worker(tmp_path).start()
    try:
        notifications.requeue_pending(now=timezone.now() + dt.timedelta(minutes=10))
        assert wait_for(lambda: Notification.objects.get(pk=sms.pk).state == "sent")
    finally:
        second.stop()
    assert len([line for line in second.sms_lines() if case.number in line]) == 1


def test_a_submission_publishes_one_message_carrying_all_its_rows(service, settings, tmp_path):
    """Issue 20: one Celery message per transaction, not one per outbox row."""
    import base64
    import json

    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")
    case = submit(service, CitizenProfileFactory().user)  # no worker runs: the message waits
    ids = sorted(Notification.objects.filter(case=case).values_list("pk", flat=True))
    assert len(ids) == 4  # inbox, e-mail and text to the applicant; inbox to the caseworker
    messages = [json.loads(raw) for raw in broker.lrange("celery", 0, -1)]
    assert [m["headers"]["task"] for m in messages] == ["cases.tasks.send_notifications"]
    args = json.loads(base64.b64decode(messages[0]["body"]))[0]
    assert sorted(args[0]) == ids
    worker = Worker(tmp_path).start()
    try:
        assert wait_for(
            lambda: not Notification.objects.filter(case=case, state="pending").exists()
        )
    finally:
        worker.stop()
    assert set(Notification.objects.filter(case=case).values_list("state", flat=True)) == {"sent"}
