"""Real identity (issue 17 item 3): text-message codes, real-name verification through the identity
provider, and the squatting test: a verified ID number cannot be registered twice, and the verified
owner reclaims one an unverified account holds."""

import datetime as dt

import pytest
import time_machine
from auditlog.models import LogEntry
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.crypto import keyed_hash
from accounts.identity import enter_in_demo_register
from accounts.models import CitizenProfile, PopulationRecord, ProxyAuthorisation, SmsCode, User
from cases.models import Case, Notification
from cases.notifications.sms import ConsoleSMSBackend

from .factories import PASSWORD, CitizenProfileFactory, id_number_for, make_service
from .support.sms import code_sent_to, register, send_code

OWNER = {"real_name": "林晓", "id_number": id_number_for(901), "phone": "13688880001"}


def body(**changes):
    return {"username": "linxiao", "password": PASSWORD, **OWNER, **changes}


def later(minutes: float):
    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes))


def post_register(client, code, **changes):
    return client.post(
        "/api/v1/auth/register/",
        {**body(**changes), "sms_code": code},
        content_type="application/json",
    )


@pytest.fixture
def owner_in_register(db):
    enter_in_demo_register(**OWNER)


# --- Codes ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_code_is_six_digits_stored_only_as_a_keyed_hash(client):
    ConsoleSMSBackend.sent.clear()
    response = client.post(
        "/api/v1/auth/sms-codes/",
        {"phone": "+86 136 8888 0001", "purpose": "register"},
        content_type="application/json",
    )
    assert response.status_code == 202
    assert set(response.json()) == {"detail", "expires_at"}
    [(phone, text)] = ConsoleSMSBackend.sent
    code = code_sent_to("13688880001")
    assert phone == "13688880001" and len(code) == 6 and code.isdigit()
    assert "5" in text  # minutes it is valid for
    stored = SmsCode.objects.get()
    assert stored.phone_hash == keyed_hash("13688880001")
    assert stored.expires_at - stored.created_at <= dt.timedelta(minutes=5, seconds=1)
    # Neither the code nor the phone is anywhere in the table in clear.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_smscode")
        row = " ".join(str(value) for value in cursor.fetchone())
    assert code not in row and "13688880001" not in row


@pytest.mark.django_db
def test_bad_code_requests_get_field_errors(client):
    bad_phone = client.post(
        "/api/v1/auth/sms-codes/", {"phone": "12345", "purpose": "register"},
        content_type="application/json",
    )  # fmt: skip
    assert bad_phone.status_code == 400 and "phone" in bad_phone.json()["errors"]
    bad_purpose = client.post(
        "/api/v1/auth/sms-codes/", {"phone": "13688880001", "purpose": "anything"},
        content_type="application/json",
    )  # fmt: skip
    assert bad_purpose.status_code == 400 and "purpose" in bad_purpose.json()["errors"]
    assert not SmsCode.objects.exists()


@pytest.mark.django_db
def test_a_code_expires_after_five_minutes(client, owner_in_register):
    code = send_code(client, OWNER["phone"])
    with later(5.1):
        response = post_register(client, code)
    assert response.status_code == 400
    assert "已过期" in response.json()["errors"]["sms_code"][0]  # 验证码已过期，请重新获取。
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_code_is_used_once(client, owner_in_register):
    code = send_code(client, OWNER["phone"])
    assert post_register(client, code).status_code == 201
    again = post_register(client, code, username="linxiao2")
    assert again.status_code == 400
    assert "sms_code" in again.json()["errors"] or "id_number" in again.json()["errors"]
    assert User.objects.filter(username="linxiao2").exists() is False
    assert SmsCode.objects.get().used_at is not None


@pytest.mark.django_db
def test_a_few_wrong_tries_void_the_code(client, owner_in_register):
    code = send_code(client, OWNER["phone"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        refused = post_register(client, wrong)
        assert refused.status_code == 400 and "sms_code" in refused.json()["errors"]
    # The right code no longer helps: it is void.
    late = post_register(client, code)
    assert late.status_code == 400 and "sms_code" in late.json()["errors"]
    assert not User.objects.exists()
    # A new code works.
    with later(1.1):
        assert post_register(client, send_code(client, OWNER["phone"])).status_code == 201


@pytest.mark.django_db
def test_codes_are_rate_limited_per_phone(client, settings):
    settings.SMS_CODE_PHONE_LIMIT = 3
    for minute in range(3):
        with later(minute * 1.1):
            send_code(client, "13688880001")
    with later(0.5):
        resend = client.post(
            "/api/v1/auth/sms-codes/", {"phone": "13688880001", "purpose": "register"},
            content_type="application/json",
        )  # fmt: skip
    assert resend.status_code == 429 and "Retry-After" in resend.headers
    with later(4):  # past the resend interval, but the phone has had its 3 for the hour
        over = client.post(
            "/api/v1/auth/sms-codes/", {"phone": "13688880001", "purpose": "register"},
            content_type="application/json", REMOTE_ADDR="10.9.9.9",
        )  # fmt: skip
    assert over.status_code == 429
    # Another phone from the same address is not held up.
    send_code(client, "13688880002")
    # The limit is kept under a hash: the phone is not in the cache table.
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM portal_ratelimit")
        keys = " ".join(row[0] for row in cursor.fetchall())
    assert "13688880001" not in keys


@pytest.mark.django_db
def test_codes_are_rate_limited_per_address(settings):
    settings.SMS_CODE_ADDRESS_LIMIT = 3
    client = Client(REMOTE_ADDR="10.1.1.1")
    for n in range(3):
        send_code(client, f"1368888100{n}")
    over = client.post(
        "/api/v1/auth/sms-codes/", {"phone": "13688881009", "purpose": "register"},
        content_type="application/json",
    )  # fmt: skip
    assert over.status_code == 429
    # Another address may still ask for a code to that phone.
    send_code(Client(REMOTE_ADDR="10.2.2.2"), "13688881009")


@pytest.mark.django_db
def test_the_page_says_when_codes_are_limited(client, settings):
    settings.SMS_CODE_ADDRESS_LIMIT = 1
    form = {"username": "x", "real_name": "林晓", "phone": "13688880001", "send_code": "1"}
    assert client.post(reverse("accounts:register"), form).status_code == 200
    limited = client.post(reverse("accounts:register"), {**form, "phone": "13688880002"})
    assert limited.status_code == 429
    assert 'aria-invalid="true"' in limited.content.decode()
    assert 'value="林晓"' in limited.content.decode()  # typed values kept


# --- Verification ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_registration_refuses_whom_the_provider_does_not_confirm(client, owner_in_register):
    def attempt(**changes):
        phone = changes.get("phone", OWNER["phone"])
        with later(attempt.minutes):
            attempt.minutes += 1.1
            return post_register(client, send_code(client, phone), **changes)

    attempt.minutes = 0
    client.cookies["django_language"] = "en"
    mismatch = attempt(real_name="林晓晓")
    assert mismatch.status_code == 400
    assert "do not belong together" in mismatch.json()["errors"]["real_name"][0]
    unknown = attempt(id_number=id_number_for(902))
    assert "knows no person" in unknown.json()["errors"]["id_number"][0]
    not_theirs = attempt(phone="13688889999")
    assert "not registered in your name" in not_theirs.json()["errors"]["phone"][0]
    assert not User.objects.exists() and not CitizenProfile.objects.exists()
    verified = attempt()
    assert verified.status_code == 201
    profile = User.objects.get(username="linxiao").citizen_profile
    assert profile.is_verified and profile.verified_by == "demo"


@pytest.mark.django_db
def test_a_failing_provider_refuses_for_now_and_keeps_the_code(client, settings, owner_in_register):
    settings.IDENTITY_PROVIDER = "tests.test_identity.BrokenProvider"
    code = send_code(client, OWNER["phone"])
    response = post_register(client, code)
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["errors"]
    settings.IDENTITY_PROVIDER = "accounts.identity.DemoIdentityProvider"
    assert post_register(client, code).status_code == 201  # the code was not used up


class BrokenProvider:
    """Not even a subclass: the system check would refuse it; here it stands for an outage."""

    name = "broken"

    def verify(self, **kwargs):
        raise TimeoutError("provider unreachable")


def test_the_system_check_refuses_a_missing_provider(settings):
    from accounts.checks import identity_provider

    settings.IDENTITY_PROVIDER = "accounts.identity.NoSuchProvider"
    assert [e.id for e in identity_provider(None)] == ["accounts.E001"]
    settings.IDENTITY_PROVIDER = "tests.test_identity.BrokenProvider"
    assert [e.id for e in identity_provider(None)] == ["accounts.E001"]
    settings.IDENTITY_PROVIDER = "accounts.identity.DemoIdentityProvider"
    assert identity_provider(None) == []


@pytest.mark.django_db
def test_the_demo_data_puts_the_demo_citizens_in_the_register():
    from accounts import demo

    demo.load("demo-password-for-tests-1")
    for person in (demo.CITIZEN, demo.COMPANY_AGENT, demo.GRANDMOTHER, *demo.UNREGISTERED):
        assert PopulationRecord.objects.filter(id_number_hash=keyed_hash(person["id_number"]))
    assert User.objects.get(username="citizen").citizen_profile.is_verified
    # One of the unregistered demo people registers online.
    person = demo.UNREGISTERED[0]
    response = register(
        Client(), in_register=False, username="xiaohong", password=PASSWORD, **person
    )
    assert response.status_code == 201, response.json()


# --- Squatting ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_verified_id_number_cannot_be_registered_again(client, owner_in_register):
    assert register(client, **body()).status_code == 201
    with later(1.1):
        # Even with everything right (name, number, the owner's phone and its code).
        again = register(Client(), **body(username="linxiao-again"))
    assert again.status_code == 400
    assert "该身份证号码已注册账户" in again.json()["errors"]["id_number"][0]
    assert CitizenProfile.objects.get().user.username == "linxiao"
    # The page refuses it before any code is asked for.
    page = client.post(
        reverse("accounts:register"),
        {**body(username="third"), "password1": PASSWORD, "password2": PASSWORD, "sms_code": ""},
    )
    assert page.status_code == 400 and page.context["form"].errors["id_number"]


@pytest.mark.django_db
def test_the_owner_reclaims_a_number_an_unverified_account_holds(owner_in_register):
    # The squatter registered before verification existed, with the owner's name and number and
    # a phone of their own.
    squatted = CitizenProfileFactory(
        unverified=True,
        in_register=False,
        user__username="squatter",
        **{**OWNER, "phone": "13900009999"},
    )
    squatter = squatted.user
    make_service("SQ-1")
    squatter_client = Client()
    squatter_client.force_login(squatter)
    created = squatter_client.post(
        "/api/v1/applications/", {"service": "SQ-1", "data": {"shop_area": 20}},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    filed_online = Case.objects.get(number=created.json()["number"])
    friend = CitizenProfileFactory(real_name="朋友")
    grant = ProxyAuthorisation.objects.create(
        principal=squatted, agent=friend, relationship="agent", valid_from=timezone.localdate(),
        valid_until=timezone.localdate() + dt.timedelta(days=30), channel="online", recorded_by=squatter,
    )  # fmt: skip
    assert squatter_client.get(f"/api/v1/applications/{filed_online.number}/").status_code == 200
    Notification.objects.create(
        recipient=squatter, person=squatted, case=filed_online, event="submitted",
        channel="inbox", state="sent", subject="已提交", body="您的申请已提交。",
    )  # fmt: skip
    assert squatter_client.get("/api/v1/notifications/").json()["count"] == 1

    # The squatter cannot verify: the register holds the owner's phone, not theirs.
    refused = register(
        Client(), in_register=False, **body(username="squatter2", phone="13900009999")
    )
    assert refused.status_code == 400 and "phone" in refused.json()["errors"]

    # The owner verifies (the provider confirms name, number and phone; the code went to it).
    owner_client = Client()
    reclaimed = register(owner_client, **body())
    assert reclaimed.status_code == 201, reclaimed.json()
    owner = User.objects.get(username="linxiao")
    squatted.refresh_from_db()
    assert squatted.user == owner and squatted.is_verified
    assert squatted.phone == OWNER["phone"]
    squatter.refresh_from_db()
    assert not CitizenProfile.objects.filter(user=squatter).exists()  # the account stays, bare
    assert User.objects.filter(username="squatter").exists()
    # Its cases follow the profile: the owner sees them, the squatter no longer does.
    owner_client.force_login(owner)
    assert owner_client.get(f"/api/v1/applications/{filed_online.number}/").status_code == 200
    assert squatter_client.get(f"/api/v1/applications/{filed_online.number}/").status_code == 404
    assert squatter_client.get("/api/v1/applications/").json()["results"] == []
    assert Case.objects.get(pk=filed_online.pk).filed_by == owner
    # The messages about them too.
    assert squatter_client.get("/api/v1/notifications/").json()["count"] == 0
    assert owner_client.get("/api/v1/notifications/").json()["count"] >= 1
    # What the squatter authorised online under the number ends.
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    # And it is logged.
    entry = LogEntry.objects.get(additional_data__event="identity_reclaimed")
    assert entry.actor == owner
    assert entry.additional_data["from_account"] == "squatter"
    assert entry.additional_data["cases_moved"] == 1
    assert OWNER["id_number"] not in str(entry.changes) + entry.object_repr


# --- Phone change ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_phone_needs_the_code_sent_to_it(citizen):
    client = Client()
    client.force_login(citizen)
    old_phone = citizen.citizen_profile.phone

    def change(**fields):
        return client.patch("/api/v1/me/", fields, content_type="application/json")

    uncoded = change(phone="13711113333")
    assert uncoded.status_code == 400 and "sms_code" in uncoded.json()["errors"]
    # A code for another phone, or for registration, is not the code for this change.
    other = send_code(client, "13711114444", purpose="change_phone")
    assert change(phone="13711113333", sms_code=other).status_code == 400
    for_registering = send_code(client, "13711113333", purpose="register")
    assert change(phone="13711113333", sms_code=for_registering).status_code == 400
    citizen.citizen_profile.refresh_from_db()
    assert citizen.citizen_profile.phone == old_phone
    with later(1.1):
        code = send_code(client, "13711113333", purpose="change_phone")
        changed = change(phone="13711113333", sms_code=code)
    assert changed.status_code == 200 and changed.json()["phone"] == "137****3333"
    citizen.citizen_profile.refresh_from_db()
    assert citizen.citizen_profile.phone == "13711113333"
    # The same number again needs no code; other preferences change freely.
    assert change(phone="13711113333", elder_mode=True).status_code == 200


# --- The HTTPS adapter ------------------------------------------------------------------------------


@pytest.fixture
def identity_service():
    """A local stand-in for the identity service: answers by the rules below and records what it
    was asked, so the test sees the request the adapter makes."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            asked.append((self.headers["Authorization"], body))
            if body["real_name"] == "超时":
                self.send_response(503)
                self.end_headers()
                return
            outcome = "verified" if body["real_name"] == "林晓" else "mismatch"
            answer = json.dumps({"outcome": outcome}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/verify", asked
    server.shutdown()


def test_the_https_adapter_asks_the_service_and_reads_its_answer(identity_service, settings):
    from accounts.identity import Outcome, verify_identity

    url, asked = identity_service
    settings.IDENTITY_PROVIDER = "accounts.identity.HttpIdentityProvider"
    settings.IDENTITY_PROVIDER_URL, settings.IDENTITY_PROVIDER_TOKEN = url, "gateway-token"
    person = {"id_number": OWNER["id_number"].lower(), "phone": "136 8888 0001"}
    assert verify_identity(real_name=" 林晓 ", **person).outcome == Outcome.VERIFIED
    assert asked[-1] == (
        "Bearer gateway-token",
        {"real_name": "林晓", "id_number": OWNER["id_number"].upper(), "phone": "13688880001"},
    )
    assert verify_identity(real_name="林小", **person).outcome == Outcome.MISMATCH
    # An outage is "try again later", never a refusal for good.
    assert verify_identity(real_name="超时", **person).outcome == Outcome.UNAVAILABLE
    settings.IDENTITY_PROVIDER_URL = "http://127.0.0.1:1/closed"
    assert verify_identity(real_name="林晓", **person).outcome == Outcome.UNAVAILABLE


def test_the_https_adapter_must_be_given_an_https_address(settings):
    from accounts.checks import http_identity_provider

    settings.IDENTITY_PROVIDER = "accounts.identity.HttpIdentityProvider"
    settings.IDENTITY_PROVIDER_URL = "http://id.example.gov.cn/verify"
    assert [w.id for w in http_identity_provider(None)] == ["accounts.W002"]
    settings.IDENTITY_PROVIDER_URL = "https://id.example.gov.cn/verify"
    assert http_identity_provider(None) == []


# --- Verifying an account registered before verification ------------------------------------------


@pytest.mark.django_db
def test_an_unverified_account_verifies_in_place_and_then_cannot_be_squatted():
    profile = CitizenProfileFactory(unverified=True, phone="13688884444")
    client = Client()
    client.force_login(profile.user)
    assert "立即实名认证" in client.get(reverse("accounts:profile")).content.decode()
    page = client.get(reverse("accounts:verify"))
    assert page.status_code == 200 and "136****4444" in page.content.decode()
    sent = client.post(reverse("accounts:verify"), {"send_code": "1"})
    assert sent.status_code == 200 and 'role="status"' in sent.content.decode()
    wrong = client.post(reverse("accounts:verify"), {"verify": "1", "sms_code": "000000"})
    assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.content.decode()
    done = client.post(
        reverse("accounts:verify"), {"verify": "1", "sms_code": code_sent_to("13688884444")}
    )
    assert done.status_code == 302
    profile.refresh_from_db()
    assert profile.is_verified and profile.verified_by == "demo"
    # Now a second registration of the number is refused, even with everything right.
    with later(1.1):
        again = register(
            Client(),
            username="squatter",
            password=PASSWORD,
            real_name=profile.real_name,
            id_number=profile.id_number,
            phone="13688884444",
        )
    assert again.status_code == 400 and "id_number" in again.json()["errors"]
    assert CitizenProfile.objects.get(pk=profile.pk).user == profile.user


@pytest.mark.django_db
def test_verification_in_place_refuses_what_the_register_does_not_confirm():
    unknown = CitizenProfileFactory(unverified=True, in_register=False, phone="13688885555")
    api = Client()
    api.force_login(unknown.user)
    code = send_code(api, "13688885555", purpose="verify")
    refused = api.post("/api/v1/me/verify/", {"sms_code": code}, "application/json")
    assert refused.status_code == 400
    assert "服务窗口" in refused.json()["errors"]["non_field_errors"][0]  # ... visit a counter
    unknown.refresh_from_db()
    assert not unknown.is_verified

    known = CitizenProfileFactory(unverified=True, phone="13688886666")
    api.force_login(known.user)
    assert api.get("/api/v1/me/").json()["verified_at"] is None
    code = send_code(api, "13688886666", purpose="verify")
    verified = api.post("/api/v1/me/verify/", {"sms_code": code}, "application/json")
    assert verified.status_code == 200 and verified.json()["verified_at"]
    # A code sent to another phone does not verify anyone's account.
    other = CitizenProfileFactory(unverified=True, phone="13688887777")
    api.force_login(other.user)
    send_code(api, "13688889998", purpose="verify")
    stray = api.post("/api/v1/me/verify/", {"sms_code": code_sent_to("13688889998")}, "application/json")  # fmt: skip
    assert stray.status_code == 400 and "sms_code" in stray.json()["errors"]
