"""Signing in and out, tokens, lockouts, passwords, the profile page and the preferences."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User

from .factories import PASSWORD, CitizenProfileFactory
from .support.sms import code_sent_to


def login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


@pytest.mark.django_db
def test_sign_in_stores_the_session_in_the_database_and_sign_out_ends_it(client, citizen):
    response = login(client, "zhang", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    assert Session.objects.count() == 1
    page = client.get(reverse("accounts:profile"))
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store, private"
    client.post(reverse("accounts:logout"))
    assert Session.objects.count() == 0
    assert client.get(reverse("accounts:profile")).status_code == 302


@pytest.mark.django_db
def test_wrong_password_is_a_form_error_not_a_500(client, citizen):
    client.cookies["django_language"] = "en"
    response = login(client, "zhang", "wrong-password")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


@pytest.mark.django_db
def test_lockout_is_per_account_and_address(citizen, settings):
    other = CitizenProfileFactory(user__username="wang").user
    hall = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(hall, "zhang", "wrong-password", ip="10.0.0.1")
    # The right password from the same address is refused now ...
    locked = login(hall, "zhang", PASSWORD, ip="10.0.0.1")
    assert locked.status_code == 429
    assert "<h1>" in locked.content.decode()
    # ... but the same account from elsewhere signs in,
    assert login(Client(), "zhang", PASSWORD, ip="10.0.0.2").status_code == 302
    # and another citizen at the same counter-hall address is not affected.
    assert login(Client(), other.username, PASSWORD, ip="10.0.0.1").status_code == 302
    # After the cool-off the account signs in again from the first address.
    with time_machine.travel(
        dt.datetime.now(tz=dt.UTC) + settings.AXES_COOLOFF_TIME + dt.timedelta(minutes=1)
    ):
        assert login(Client(), "zhang", PASSWORD, ip="10.0.0.1").status_code == 302


@pytest.mark.django_db
def test_api_token_and_me(client, citizen):
    response = client.post("/api/v1/auth/token/", {"username": "zhang", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    me = Client().get("/api/v1/me/", headers={"authorization": f"Token {token}"})
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "zhang"
    assert body["real_name"] == "张三"
    assert body["id_number"] == citizen.citizen_profile.masked_id_number
    assert body["memberships"] == []
    assert me["Cache-Control"] == "no-store, private"


@pytest.mark.django_db
def test_api_token_errors(client, citizen, settings):
    missing = client.post("/api/v1/auth/token/", {"username": "zhang"})
    assert missing.status_code == 400
    assert "password" in missing.json()["errors"]
    wrong = client.post("/api/v1/auth/token/", {"username": "zhang", "password": "nope"})
    assert wrong.status_code == 400
    assert wrong.json()["errors"]["non_field_errors"]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token/", {"username": "zhang", "password": "nope"})
    locked = client.post("/api/v1/auth/token/", {"username": "zhang", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["detail"]


@pytest.mark.django_db
def test_me_requires_authentication(client):
    response = client.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"detail", "errors"}


@pytest.mark.django_db
def test_password_change(citizen_client, citizen):
    citizen_client.cookies["django_language"] = "en"
    weak = citizen_client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"},
    )
    assert weak.status_code == 200
    assert "too short" in weak.content.decode()
    response = citizen_client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-Good-passphrase-7",
            "new_password2": "another-Good-passphrase-7",
        },
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.check_password("another-Good-passphrase-7")


@pytest.mark.django_db
def test_password_reset_by_email(client, citizen):
    response = client.post(reverse("accounts:password_reset"), {"email": "zhang@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(
        r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body
    ).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "reset-Good-passphrase-9", "new_password2": "reset-Good-passphrase-9"},
    )
    assert done.status_code == 302
    citizen.refresh_from_db()
    assert citizen.check_password("reset-Good-passphrase-9")
    # Unknown addresses get the same answer and no mail: nobody learns who has an account.
    assert (
        client.post(reverse("accounts:password_reset"), {"email": "x@example.com"}).status_code
        == 302
    )
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_profile_update_and_bad_phone(citizen_client, citizen):
    citizen_client.cookies["django_language"] = "en"
    bad = citizen_client.post(
        reverse("accounts:profile"),
        {"phone": "999", "email": "new@example.com", "preferred_language": "en"},
    )
    assert bad.status_code == 400
    assert "mainland mobile number" in bad.content.decode()
    citizen.refresh_from_db()
    assert citizen.email == "zhang@example.com"  # nothing saved from the refused form
    typed = {
        "phone": "+86 13711112222",
        "email": "new@example.com",
        "preferred_language": "en",
        "elder_mode": "on",
    }
    # A new number needs the code sent to it.
    uncoded = citizen_client.post(reverse("accounts:profile"), typed)
    assert uncoded.status_code == 400
    assert "6-digit code" in uncoded.content.decode()
    citizen.refresh_from_db()
    assert citizen.email == "zhang@example.com"
    sent = citizen_client.post(reverse("accounts:profile"), {**typed, "send_code": "1"})
    assert sent.status_code == 200 and "137****2222" in sent.content.decode()
    assert 'value="new@example.com"' in sent.content.decode()  # what was typed is kept
    good = citizen_client.post(
        reverse("accounts:profile"), {**typed, "sms_code": code_sent_to("13711112222")}
    )
    assert good.status_code == 302
    citizen.refresh_from_db()
    assert (citizen.email, citizen.preferred_language, citizen.elder_mode) == (
        "new@example.com",
        "en",
        True,
    )
    assert citizen.citizen_profile.phone == "13711112222"


@pytest.mark.django_db
def test_pages_are_chinese_by_default_and_switch_to_english(client, citizen):
    home = client.get("/")
    assert '<html lang="zh-Hans">' in home.content.decode()
    assert "登录" in home.content.decode()
    client.post(reverse("accounts:switch_language"), {"language": "en", "next": "/"})
    english = client.get("/").content.decode()
    assert '<html lang="en">' in english
    assert "Sign in" in english
    # Signed in, the choice is remembered on the account and follows the person to a new device.
    client.force_login(citizen)
    client.post(reverse("accounts:switch_language"), {"language": "en", "next": "/"})
    citizen.refresh_from_db()
    assert citizen.preferred_language == "en"
    elsewhere = Client()
    elsewhere.post(reverse("accounts:login"), {"username": "zhang", "password": PASSWORD})
    assert '<html lang="en">' in elsewhere.get("/").content.decode()


@pytest.mark.django_db
def test_elder_mode_switch(client, citizen):
    assert '<body class="">' in client.get("/").content.decode()
    response = client.post(reverse("accounts:elder_mode"), {"elder_mode": "on", "next": "/"})
    assert response.status_code == 302
    assert '<body class="elder">' in client.get("/").content.decode()
    assert 'aria-pressed="true"' in client.get("/").content.decode()
    # An off-site "next" is not followed.
    response = client.post(
        reverse("accounts:elder_mode"), {"elder_mode": "off", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    client.force_login(citizen)
    client.post(reverse("accounts:elder_mode"), {"elder_mode": "on"})
    citizen.refresh_from_db()
    assert citizen.elder_mode is True
    assert User.objects.filter(elder_mode=True).count() == 1


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_escape_a_lockout(citizen, settings):
    hall = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(hall, "zhang", "wrong-password", ip="10.0.0.1")
    response = hall.post(
        reverse("accounts:login"),
        {"username": "zhang", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_an_english_browser_still_gets_chinese_pages_until_it_chooses(client):
    page = client.get("/", headers={"accept-language": "en-US,en;q=0.9"})
    assert '<html lang="zh-Hans">' in page.content.decode()
    api = client.get("/api/v1/services/", headers={"accept-language": "en"})
    assert api["Content-Language"] == "en"
