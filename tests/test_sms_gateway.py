"""The production SMS backend (cases.notifications.sms.HttpSMSBackend): one HTTPS POST per
message to the gateway; a failing gateway makes a case message wait for its retry instead of
being lost, and the deploy check refuses the console backend in production."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from cases.notifications.sms import HttpSMSBackend


@pytest.fixture
def gateway():
    received, failing = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.headers["Authorization"], body))
            self.send_response(502 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/send", received, failing
    server.shutdown()


def test_a_message_is_posted_to_the_gateway_and_a_failure_raises(gateway, settings):
    url, received, failing = gateway
    settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TOKEN = url, "sms-token"
    HttpSMSBackend().send("13800138000", "【一网通办】您的申请已受理。")
    assert received == [
        ("Bearer sms-token", {"phone": "13800138000", "text": "【一网通办】您的申请已受理。"})
    ]
    failing.append(True)
    with pytest.raises(OSError):  # urllib's HTTPError is an OSError: the outbox retries it
        HttpSMSBackend().send("13800138000", "x")


@pytest.mark.django_db
def test_a_case_message_waits_for_its_retry_while_the_gateway_fails(gateway, settings):
    from cases.models import Notification
    from cases.notifications import services

    from .factories import CitizenProfileFactory, make_service
    from .test_access_log import png  # a small valid picture

    url, received, failing = gateway
    settings.SMS_BACKEND = "cases.notifications.sms.HttpSMSBackend"
    settings.SMS_GATEWAY_URL = url
    from cases import workflow

    applicant = CitizenProfileFactory(phone="13912340000")
    service = make_service("SMS-1").service
    case, _ = workflow.create_draft(service=service, user=applicant.user, data={"shop_area": 3})
    material = service.current_version.materials.get()
    workflow.add_attachment(case=case, material_id=material.pk, user=applicant.user, upload=png())
    failing.append(True)
    workflow.submit_application(case=case, user=applicant.user)
    sms = Notification.objects.get(case=case, channel="sms")
    assert services.deliver(sms.pk) == "retry"
    sms.refresh_from_db()
    assert sms.state == Notification.State.PENDING and "HTTPError" in sms.last_error
    failing.clear()
    assert services.deliver(sms.pk) == "sent"
    assert received[-1][1]["phone"] == "13912340000"


def test_production_refuses_the_console_backend_and_a_clear_gateway(settings):
    from cases.checks import sms_backend

    settings.SMS_BACKEND = "cases.notifications.sms.ConsoleSMSBackend"
    assert [w.id for w in sms_backend(None)] == ["cases.W001"]
    settings.SMS_BACKEND = "cases.notifications.sms.HttpSMSBackend"
    settings.SMS_GATEWAY_URL = "http://sms.example.gov.cn/send"
    assert [w.id for w in sms_backend(None)] == ["cases.W002"]
    settings.SMS_GATEWAY_URL = "https://sms.example.gov.cn/send"
    assert sms_backend(None) == []


@pytest.mark.django_db
def test_a_code_the_gateway_cannot_send_is_a_clear_error_and_leaves_no_code(gateway, settings):
    from django.test import Client

    from accounts.models import SmsCode

    url, received, failing = gateway
    settings.SMS_BACKEND = "cases.notifications.sms.HttpSMSBackend"
    settings.SMS_GATEWAY_URL = url
    failing.append(True)
    response = Client().post(
        "/api/v1/auth/sms-codes/",
        {"phone": "13688880123", "purpose": "register"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "短信暂时无法发送" in response.json()["errors"]["phone"][0]
    assert not SmsCode.objects.exists() and len(received) == 1
    page = Client().post(
        "/accounts/register/", {"username": "x", "phone": "13688880124", "send_code": "1"}
    )
    assert page.status_code == 400 and "短信暂时无法发送" in page.content.decode()
