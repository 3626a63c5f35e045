"""Staff confirm their sign-in with an authenticator code wherever STAFF_2FA is on; citizens never."""

import base64
import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP, totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import second_factor
from accounts.models import EnrolmentCode, Role

from .factories import PASSWORD, CitizenProfileFactory, StaffMembershipFactory, UserFactory


def current_code(device: TOTPDevice) -> str:
    """The code the app shows now. A wrong code makes django-otp wait before the next try (1 s,
    then doubling); the tests stand for a person who waited by resetting that pause."""
    device.refresh_from_db()
    device.throttle_reset()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def two_factor(settings):
    settings.STAFF_2FA = True


@pytest.fixture
def caseworker(db):
    return StaffMembershipFactory(role=Role.CASEWORKER, user__username="worker").user


def sign_in(client, username):
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


@pytest.mark.django_db
def test_staff_without_an_authenticator_must_set_one_up_first(two_factor, caseworker):
    client = Client()
    sign_in(client, "worker")
    blocked = client.get("/work/")
    assert blocked.status_code == 302
    assert blocked["Location"].startswith("/accounts/2fa/setup/")
    assert client.get("/admin/").status_code == 302
    assert client.get("/api/v1/work/queue/").status_code == 403
    # The password alone shows no secret: an enrolment code from an admin comes first.
    asked = client.get("/accounts/2fa/setup/?next=/work/")
    assert asked.status_code == 200
    assert (
        "<svg" not in asked.content.decode() and 'name="enrolment_code"' in asked.content.decode()
    )
    refused = client.post("/accounts/2fa/setup/", {"enrolment_code": "ABCDE-FGHJK"})
    assert refused.status_code == 400 and "<svg" not in refused.content.decode()
    assert client.post("/accounts/2fa/setup/", {"code": "123456"}).status_code == 400
    code = second_factor.issue_enrolment_code(user=caseworker, issued_by=None)
    setup = client.post("/accounts/2fa/setup/", {"enrolment_code": code.lower(), "next": "/work/"})
    assert setup.status_code == 200 and "<svg" in setup.content.decode()
    device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    wrong = client.post("/accounts/2fa/setup/", {"code": "000000", "next": "/work/"})
    assert wrong.status_code == 400
    done = client.post("/accounts/2fa/setup/", {"code": current_code(device), "next": "/work/"})
    assert done["Location"] == "/work/"
    assert client.get("/work/").status_code == 200


def enrol_page(client: Client, code: str):
    return client.post("/accounts/2fa/setup/", {"enrolment_code": code})


@pytest.mark.django_db
def test_an_enrolment_code_works_once_for_its_own_account_until_it_expires(
    two_factor, caseworker, settings
):
    colleague = StaffMembershipFactory(role=Role.REVIEWER, user__username="colleague").user
    code = second_factor.issue_enrolment_code(user=caseworker, issued_by=None)
    stored = EnrolmentCode.objects.get(user=caseworker)
    assert code not in stored.code_hash and code.replace("-", "") not in stored.code_hash
    other = Client()
    sign_in(other, "colleague")
    assert enrol_page(other, code).status_code == 400  # not the colleague's code
    client = Client()
    sign_in(client, "worker")
    assert enrol_page(client, code).status_code == 200
    device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    client.post("/accounts/2fa/setup/", {"code": current_code(device)})
    assert TOTPDevice.objects.get(user=caseworker).confirmed
    # Used: the same code does not enrol another app (an admin removed the first one).
    TOTPDevice.objects.filter(user=caseworker).delete()
    again = Client()
    sign_in(again, "worker")
    assert enrol_page(again, code).status_code == 400
    # Expired: a fresh code is refused after ENROLMENT_CODE_VALID_HOURS.
    late = second_factor.issue_enrolment_code(user=colleague, issued_by=None)
    with time_machine.travel(
        dt.datetime.now(tz=dt.UTC)
        + dt.timedelta(hours=settings.ENROLMENT_CODE_VALID_HOURS, minutes=1)
    ):
        fresh = Client()
        sign_in(fresh, "colleague")
        assert enrol_page(fresh, late).status_code == 400


@pytest.mark.django_db
def test_wrong_enrolment_codes_void_the_open_ones(two_factor, caseworker):
    code = second_factor.issue_enrolment_code(user=caseworker, issued_by=None)
    client = Client()
    sign_in(client, "worker")
    for _ in range(second_factor.ENROLMENT_MAX_FAILURES):
        assert enrol_page(client, "WRONG-GUESS").status_code == 400
    assert enrol_page(client, code).status_code == 400


@pytest.mark.django_db
def test_the_secret_seen_before_an_enrolment_code_is_never_the_one_confirmed(
    two_factor, caseworker
):
    """Whoever holds only the password cannot watch the secret the real owner then confirms."""
    intruder, owner = Client(), Client()
    sign_in(intruder, "worker")
    sign_in(owner, "worker")
    code = second_factor.issue_enrolment_code(user=caseworker, issued_by=None)
    enrol_page(owner, code)
    assert "<svg" not in intruder.get("/accounts/2fa/setup/").content.decode()
    assert intruder.post("/accounts/2fa/setup/", {"code": "123456"}).status_code == 400
    device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    assert owner.post("/accounts/2fa/setup/", {"code": current_code(device)}).status_code == 302


@pytest.mark.django_db
def test_the_manual_key_is_base32_and_gives_the_codes_the_portal_accepts(two_factor, caseworker):
    client = Client()
    sign_in(client, "worker")
    page = enrol_page(client, second_factor.issue_enrolment_code(user=caseworker, issued_by=None))
    shown = re.search(r'id="manual-key">([^<]+)<', page.content.decode())[1]
    key = base64.b32decode(shown.replace(" ", ""))  # what an authenticator app does with it
    device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    assert key == device.bin_key
    assert f"secret={shown.replace(' ', '')}" in device.config_url  # the QR code's otpauth URI
    app = TOTP(key, step=30, digits=6)
    assert client.post("/accounts/2fa/setup/", {"code": f"{app.token():06d}"}).status_code == 302


@pytest.mark.django_db
def test_an_admin_issues_enrolment_codes_shown_once(two_factor, caseworker):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    client = Client()
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=admin).persistent_id
    session.save()
    citizen = CitizenProfileFactory(user__username="plain").user
    page = client.post(
        "/admin/accounts/user/",
        {"action": "issue_enrolment_codes", "_selected_action": [caseworker.pk, citizen.pk]},
    )
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]
    codes = re.findall(r'class="enrolment-code">([A-Z0-9-]+)<', page.content.decode())
    assert len(codes) == 1 and EnrolmentCode.objects.get().user == caseworker
    assert not EnrolmentCode.objects.filter(user=citizen).exists()
    assert codes[0] not in str(list(client.session.items()))
    worker = Client()
    sign_in(worker, "worker")
    assert enrol_page(worker, codes[0]).status_code == 200


@pytest.mark.django_db
def test_setting_up_an_authenticator_ends_the_tokens_issued_without_it(settings, caseworker):
    settings.STAFF_2FA = False
    token = Client().post("/api/v1/auth/token/", {"username": "worker", "password": PASSWORD})
    token = token.json()["token"]
    settings.STAFF_2FA = True
    client = Client()
    sign_in(client, "worker")
    enrol_page(client, second_factor.issue_enrolment_code(user=caseworker, issued_by=None))
    device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    client.post("/accounts/2fa/setup/", {"code": current_code(device)})
    settings.STAFF_2FA = False  # even with the policy off again, that token is gone
    me = Client().get("/api/v1/me/", headers={"authorization": f"Token {token}"})
    assert me.status_code in (401, 403)


@pytest.mark.django_db
def test_staff_with_an_authenticator_enter_a_code_at_every_sign_in(two_factor, caseworker):
    device = TOTPDevice.objects.create(user=caseworker, name="app", confirmed=True)
    client = Client()
    sign_in(client, "worker")
    assert client.get("/work/")["Location"].startswith("/accounts/2fa/verify/")
    assert client.post("/accounts/2fa/verify/", {"code": "123456"}).status_code == 400
    assert client.get("/work/").status_code == 302
    verified = client.post(
        "/accounts/2fa/verify/", {"code": current_code(device), "next": "/work/"}
    )
    assert verified["Location"] == "/work/"
    assert client.get("/work/").status_code == 200
    # An off-site next is not followed.
    other = Client()
    sign_in(other, "worker")
    device.refresh_from_db()
    device.last_t = -1  # a new period: the same code may be used once more
    device.save()
    away = other.post(
        "/accounts/2fa/verify/", {"code": current_code(device), "next": "https://evil.example/"}
    )
    assert away["Location"] == "/"


@pytest.mark.django_db
def test_staff_api_tokens_need_a_code(two_factor, caseworker, client):
    device = TOTPDevice.objects.create(user=caseworker, name="app", confirmed=True)
    without = client.post("/api/v1/auth/token/", {"username": "worker", "password": PASSWORD})
    assert without.status_code == 400
    assert "otp" in without.json()["errors"]
    wrong = client.post(
        "/api/v1/auth/token/", {"username": "worker", "password": PASSWORD, "otp": "000000"}
    )
    assert wrong.status_code == 400
    ok = client.post(
        "/api/v1/auth/token/",
        {"username": "worker", "password": PASSWORD, "otp": current_code(device)},
    )
    assert ok.status_code == 200 and ok.json()["token"]


@pytest.mark.django_db
def test_citizens_are_never_asked(two_factor):
    citizen = CitizenProfileFactory(user__username="plain").user
    client = Client()
    sign_in(client, "plain")
    assert client.get("/applications/").status_code == 200
    token = Client().post("/api/v1/auth/token/", {"username": "plain", "password": PASSWORD})
    assert token.status_code == 200
    assert citizen.is_authenticated


@pytest.mark.django_db
def test_switched_off_for_the_demo(settings, caseworker):
    settings.STAFF_2FA = False
    client = Client()
    sign_in(client, "worker")
    assert client.get("/work/").status_code == 200
