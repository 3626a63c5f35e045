"""API tokens that honour 2FA, sign-in limits per address, staff idle sessions, and the client
address behind the shipped nginx (issue 17, item 5)."""

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, Role, StaffMembership
from accounts.sign_in_limit import SignInRateThrottle
from cases.transparency import tracking
from portal.client_address import client_address

from .factories import PASSWORD, DepartmentFactory, StaffMembershipFactory
from .test_health_and_settings import production_env, run_manage
from .test_second_factor import current_code

ROOT = Path(__file__).resolve().parent.parent
NGINX_ADDRESS = "172.18.0.5"  # nginx's container address: REMOTE_ADDR of everything it forwards


def me(token: str, **extra):
    return Client().get("/api/v1/me/", headers={"authorization": f"Token {token}"}, **extra)


def get_token(username: str, password: str = PASSWORD, **data):
    return Client().post(
        "/api/v1/auth/token/", {"username": username, "password": password, **data}
    )


@pytest.fixture
def caseworker(db):
    return StaffMembershipFactory(role=Role.CASEWORKER, user__username="worker").user


# --- Tokens ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tokens_are_hashed_new_at_every_sign_in_and_expire(citizen, settings):
    first = get_token("zhang").json()
    second = get_token("zhang").json()
    assert first["token"] != second["token"]
    assert first["expiry"] and me(first["token"]).status_code == 200
    # Only a digest is kept: the token itself is nowhere in the table.
    stored = ApiToken.objects.filter(user=citizen)
    assert stored.count() == 2
    assert not stored.filter(digest=first["token"]).exists()
    later = dt.datetime.now(tz=dt.UTC) + settings.API_TOKEN_TTL_CITIZEN
    with time_machine.travel(later - dt.timedelta(hours=1)):
        assert me(first["token"]).status_code == 200
    with time_machine.travel(later + dt.timedelta(minutes=1)):
        assert me(first["token"]).status_code in (401, 403)
        assert me(second["token"]).status_code in (401, 403)


@pytest.mark.django_db
def test_staff_tokens_live_shorter(caseworker, settings):
    settings.STAFF_2FA = False
    token = get_token("worker").json()["token"]
    now = dt.datetime.now(tz=dt.UTC)
    assert settings.API_TOKEN_TTL_STAFF < settings.API_TOKEN_TTL_CITIZEN
    with time_machine.travel(now + settings.API_TOKEN_TTL_STAFF - dt.timedelta(minutes=5)):
        assert me(token).status_code == 200
    with time_machine.travel(now + settings.API_TOKEN_TTL_STAFF + dt.timedelta(minutes=1)):
        assert me(token).status_code in (401, 403)


@pytest.mark.django_db
def test_a_token_from_before_2fa_was_switched_on_is_refused(caseworker, settings):
    settings.STAFF_2FA = False
    token = get_token("worker").json()["token"]
    assert me(token).status_code == 200
    settings.STAFF_2FA = True
    refused = me(token)
    assert refused.status_code in (401, 403)
    assert "动态码" in refused.json()["detail"]  # issued without an authenticator code
    assert not ApiToken.objects.filter(user=caseworker).exists()
    # Switching it off again does not bring the token back.
    settings.STAFF_2FA = False
    assert me(token).status_code in (401, 403)


@pytest.mark.django_db
def test_a_citizen_token_is_refused_once_the_account_becomes_staff(citizen, settings):
    settings.STAFF_2FA = True
    token = get_token("zhang").json()["token"]
    assert me(token).status_code == 200
    StaffMembership.objects.create(
        user=citizen, department=DepartmentFactory(), role=Role.COUNTER_CLERK
    )
    assert me(token).status_code in (401, 403)


@pytest.mark.django_db
def test_staff_token_only_with_a_valid_code_and_each_code_sign_in_a_new_token(caseworker, settings):
    settings.STAFF_2FA = True
    device = TOTPDevice.objects.create(user=caseworker, name="app", confirmed=True)
    assert "otp" in get_token("worker").json()["errors"]
    assert "otp" in get_token("worker", otp="000000").json()["errors"]
    first = get_token("worker", otp=current_code(device)).json()["token"]
    device.refresh_from_db()
    device.last_t = -1  # the next period: the app shows a new code
    device.save()
    second = get_token("worker", otp=current_code(device)).json()["token"]
    assert first != second
    assert me(first).status_code == 200 and me(second).status_code == 200
    assert ApiToken.objects.filter(user=caseworker, second_factor=True).count() == 2


@pytest.mark.django_db
def test_a_password_reset_ends_every_token(client, citizen):
    token = get_token("zhang").json()["token"]
    client.post(reverse("accounts:password_reset"), {"email": "zhang@example.com"})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    form_page = client.get(link.group(1), follow=True)
    assert me(token).status_code == 200  # asking for a reset alone changes nothing
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "reset-Good-passphrase-9", "new_password2": "reset-Good-passphrase-9"},
    )
    assert done.status_code == 302
    assert me(token).status_code in (401, 403)
    assert get_token("zhang", "reset-Good-passphrase-9").status_code == 200


@pytest.mark.django_db
def test_a_password_change_ends_every_token_but_other_saves_do_not(citizen_client, citizen):
    token = get_token("zhang").json()["token"]
    citizen.email = "new@example.com"
    citizen.save()
    assert me(token).status_code == 200
    changed = citizen_client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-Good-passphrase-7",
            "new_password2": "another-Good-passphrase-7",
        },
    )
    assert changed.status_code == 302
    assert me(token).status_code in (401, 403)


@pytest.mark.django_db
def test_a_client_revokes_its_own_token(citizen):
    token = get_token("zhang").json()["token"]
    other = get_token("zhang").json()["token"]
    response = Client().post(
        "/api/v1/auth/token/revoke/", headers={"authorization": f"Token {token}"}
    )
    assert response.status_code == 204
    assert me(token).status_code in (401, 403)
    assert me(other).status_code == 200


def test_no_browsable_api_in_production():
    code = (
        "from rest_framework.settings import api_settings;"
        "print(sorted(c.__name__ for c in api_settings.DEFAULT_RENDERER_CLASSES))"
    )
    result = run_manage("shell", "--no-imports", "-c", code, env=production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['JSONRenderer']"


# --- Sign-in limits per address ---------------------------------------------------------------------


def sign_in_page(username: str, password: str, **meta):
    return Client().post(
        reverse("accounts:login"), {"username": username, "password": password}, **meta
    )


def api_sign_in(username: str, password: str, **meta):
    return Client().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, **meta
    )


@pytest.mark.django_db
def test_password_spraying_from_one_address_is_stopped_for_pages_and_api(citizen, settings):
    spray = {"REMOTE_ADDR": "198.51.100.7"}
    answers = [
        (sign_in_page if n % 2 else api_sign_in)(f"person{n}", "Spring2026!", **spray).status_code
        for n in range(25)
    ]
    limit = settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
    assert all(code in (200, 400) for code in answers[:limit])
    assert answers[limit:] == [429] * (25 - limit)
    # Later attempts from that address are refused before any password is looked at, the right
    # one included, on the page and in the API, with a clear message.
    page = sign_in_page("zhang", PASSWORD, **spray)
    assert page.status_code == 429 and page["Retry-After"]
    assert (
        "network address"
        in sign_in_page(
            "zhang", PASSWORD, HTTP_COOKIE="django_language=en", **spray
        ).content.decode()
    )
    api = api_sign_in("zhang", PASSWORD, **spray)
    assert api.status_code == 429
    assert set(api.json()) == {"detail", "errors"} and api.json()["detail"]
    # Another address is not affected.
    assert sign_in_page("zhang", PASSWORD, REMOTE_ADDR="198.51.100.8").status_code == 302
    # After the window the address may try again.
    with time_machine.travel(
        dt.datetime.now(tz=dt.UTC)
        + dt.timedelta(seconds=settings.SIGN_IN_ADDRESS_WINDOW_SECONDS + 60)
    ):
        assert sign_in_page("zhang", PASSWORD, **spray).status_code == 302


def test_the_api_sign_in_throttle_is_shared_by_every_web_process():
    from django.core.cache.backends.db import DatabaseCache

    assert isinstance(SignInRateThrottle().cache, DatabaseCache)


# --- Staff sessions -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_idle_staff_session_ends_and_a_citizen_session_does_not(caseworker, citizen, settings):
    settings.STAFF_2FA = False
    staff, person = Client(), Client()
    staff.post(reverse("accounts:login"), {"username": "worker", "password": PASSWORD})
    person.post(reverse("accounts:login"), {"username": "zhang", "password": PASSWORD})
    start = dt.datetime.now(tz=dt.UTC)
    idle = dt.timedelta(seconds=settings.STAFF_SESSION_IDLE_SECONDS)
    # Working keeps the session alive: a request every 20 minutes for an hour.
    for step in range(1, 4):
        with time_machine.travel(start + step * idle * 2 / 3):
            assert staff.get("/work/").status_code == 200
    with time_machine.travel(start + 3 * idle + dt.timedelta(minutes=1)):
        gone = staff.get("/work/")
        assert gone.status_code == 302 and gone["Location"].startswith(reverse("accounts:login"))
        assert staff.get("/work/").status_code == 302  # signed out, not only redirected once
        assert person.get(reverse("accounts:profile")).status_code == 200


# --- Behind the shipped nginx ------------------------------------------------------------------------


def nginx_proxy_headers() -> dict[str, str]:
    """The headers deploy/nginx.conf sets on what it passes to gunicorn (`location /`)."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    location = text[text.index("location / {") :]
    return dict(re.findall(r"^\s*proxy_set_header\s+(\S+)\s+([^;]+);", location, re.MULTILINE))


def production_proxy_count() -> int:
    """TRUSTED_PROXY_COUNT as docker-compose.yml configures the web service behind that nginx."""
    compose = (ROOT / "docker-compose.yml").read_text()
    return int(re.search(r"TRUSTED_PROXY_COUNT: \$\{TRUSTED_PROXY_COUNT:-(\d+)\}", compose)[1])


def through_nginx(client: str, **sent) -> dict[str, str]:
    """request.META of a request from `client` (with the headers it sent itself), as the shipped
    nginx forwards it: nginx's X-Forwarded-For is $proxy_add_x_forwarded_for (what the client
    claimed, then the address nginx saw); other headers, X-Real-IP included, pass unchanged."""
    headers = nginx_proxy_headers()
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert "X-Real-IP" not in headers
    claimed = sent.pop("HTTP_X_FORWARDED_FOR", "")
    return {
        **sent,
        "REMOTE_ADDR": NGINX_ADDRESS,
        "HTTP_X_FORWARDED_FOR": f"{claimed}, {client}" if claimed else client,
    }


@pytest.fixture
def behind_nginx():
    with override_settings(TRUSTED_PROXY_COUNT=production_proxy_count()):
        yield


def test_the_client_address_behind_the_shipped_nginx(behind_nginx):
    factory = RequestFactory()

    def seen(client, **sent):
        return client_address(factory.get("/", **through_nginx(client, **sent)))

    assert seen("203.0.113.7") == "203.0.113.7"
    assert seen("10.20.30.40") == "10.20.30.40"  # a counter hall's intranet address too
    # What a client claims itself is not believed.
    assert seen("203.0.113.7", HTTP_X_FORWARDED_FOR="1.2.3.4") == "203.0.113.7"
    assert seen("203.0.113.7", HTTP_X_REAL_IP="1.2.3.4") == "203.0.113.7"
    # Two clients behind nginx are two tracking buckets, not one shared by everybody.
    one = factory.post("/track/", **through_nginx("203.0.113.7"))
    two = factory.post("/track/", **through_nginx("203.0.113.8"))
    assert tracking._client_key(one) != tracking._client_key(two)


@pytest.mark.django_db
def test_behind_nginx_a_wrong_password_elsewhere_does_not_lock_the_account(
    citizen, settings, behind_nginx
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in_page("zhang", "wrong-password", **through_nginx("203.0.113.7"))
    assert sign_in_page("zhang", PASSWORD, **through_nginx("203.0.113.7")).status_code == 429
    assert sign_in_page("zhang", PASSWORD, **through_nginx("203.0.113.9")).status_code == 302
    assert api_sign_in("zhang", PASSWORD, **through_nginx("203.0.113.9")).status_code == 200


@pytest.mark.django_db
def test_behind_nginx_spraying_is_counted_per_client(citizen, settings, behind_nginx):
    for n in range(settings.SIGN_IN_ADDRESS_FAILURE_LIMIT):
        sign_in_page(f"person{n}", "Spring2026!", **through_nginx("203.0.113.7"))
    assert sign_in_page("zhang", PASSWORD, **through_nginx("203.0.113.7")).status_code == 429
    # Forging a header does not get the sprayer a fresh bucket.
    forged = through_nginx("203.0.113.7", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert sign_in_page("zhang", PASSWORD, **forged).status_code == 429
    assert sign_in_page("zhang", PASSWORD, **through_nginx("203.0.113.8")).status_code == 302
