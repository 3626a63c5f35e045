"""SMS backends for the worker tests: they run inside a real Celery worker process, so they keep
their state in files named by environment variables."""

import os
import time
from pathlib import Path


class FileSMS:
    """Appends each message to $TEST_SMS_LOG; fails while $TEST_SMS_FAILURES counts down; waits
    while $TEST_SMS_HOLD exists (so a test can kill the worker mid-delivery)."""

    def send(self, phone: str, text: str) -> None:
        hold = os.environ.get("TEST_SMS_HOLD")
        while hold and Path(hold).exists():
            time.sleep(0.1)
        failures = (
            Path(os.environ["TEST_SMS_FAILURES"]) if os.environ.get("TEST_SMS_FAILURES") else None
        )
        if failures and failures.exists():
            left = int(failures.read_text() or "0")
            if left > 0:
                failures.write_text(str(left - 1))
                raise ConnectionError("SMS provider unreachable")
        with open(os.environ["TEST_SMS_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{phone}\t{text}\n")


def code_sent_to(phone: str) -> str:
    """The code of the last text message the console backend sent to `phone` (accounts.sms_codes)."""
    import re

    from cases.notifications.sms import ConsoleSMSBackend

    for to, text in reversed(ConsoleSMSBackend.sent):
        if to == phone and (found := re.search(r"(?<!\d)(\d{6})(?!\d)", text)):
            return found.group(1)
    raise AssertionError(f"No code was sent to {phone}")


def send_code(client, phone: str, purpose: str = "register") -> str:
    """Ask for a code through the API, as a client would, and read it from the text message."""
    response = client.post(
        "/api/v1/auth/sms-codes/",
        {"phone": phone, "purpose": purpose},
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    return code_sent_to(phone)


def register(client, *, in_register: bool = True, **body):
    """Register through the API as a person does: in the demo population register (unless told
    otherwise) with the phone they give, a code asked for and read from the text message."""
    from accounts.identity import enter_in_demo_register

    if in_register:
        enter_in_demo_register(
            real_name=body["real_name"], id_number=body["id_number"], phone=body["phone"]
        )
    code = send_code(client, body["phone"])
    return client.post(
        "/api/v1/auth/register/", {**body, "sms_code": code}, content_type="application/json"
    )


def register_in_page(client, *, in_register: bool = True, **fields):
    """Register through the page without JavaScript: "Send code" first, then the form with the
    code read from the text message."""
    from django.urls import reverse

    from accounts.identity import enter_in_demo_register

    if in_register:
        enter_in_demo_register(
            real_name=fields["real_name"], id_number=fields["id_number"], phone=fields["phone"]
        )
    sent = client.post(reverse("accounts:register"), {**fields, "send_code": "1"})
    assert sent.status_code == 200, sent.content
    code = code_sent_to(fields["phone"].replace(" ", ""))
    return client.post(reverse("accounts:register"), {**fields, "sms_code": code})
