"""Staff confirm their sign-in with an authenticator code wherever STAFF_2FA is on; citizens never."""

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role

from .factories import PASSWORD, CitizenProfileFactory, StaffMembershipFactory


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
    setup = client.get("/accounts/2fa/setup/?next=/work/")
    assert setup.status_code == 200 and "<svg" in setup.content.decode()
    device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    wrong = client.post("/accounts/2fa/setup/", {"code": "000000", "next": "/work/"})
    assert wrong.status_code == 400
    done = client.post("/accounts/2fa/setup/", {"code": current_code(device), "next": "/work/"})
    assert done["Location"] == "/work/"
    assert client.get("/work/").status_code == 200


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
