"""Registering a citizen, in the page and in the API: every bad input gets a field error, never a 500,
and a refused registration leaves nothing behind."""

import re

import pytest
from django.urls import reverse

from accounts.identity import enter_in_demo_register
from accounts.models import CitizenProfile, User

from .factories import PASSWORD, CitizenProfileFactory, id_number_for
from .support.sms import code_sent_to, send_code

GOOD = {
    "username": "lisi",
    "real_name": "李四",
    "id_number": id_number_for(501),
    "phone": "13912345678",
    "email": "lisi@example.com",
}


@pytest.fixture(autouse=True)
def in_the_register(db):
    """李四 is in the demo population register, with this phone registered to him."""
    enter_in_demo_register(
        real_name=GOOD["real_name"], id_number=GOOD["id_number"], phone=GOOD["phone"]
    )


# A code nobody was sent: enough for the pages and requests refused before the code is looked at.
NO_CODE = "000000"


def page_data(**changes):
    data = {**GOOD, "sms_code": NO_CODE, "password1": PASSWORD, "password2": PASSWORD, **changes}
    return {k: v for k, v in data.items() if v is not None}


def api_data(**changes):
    data = {**GOOD, "sms_code": NO_CODE, "password": PASSWORD, **changes}
    return {k: v for k, v in data.items() if v is not None}


def counts():
    return User.objects.count(), CitizenProfile.objects.count()


@pytest.mark.django_db
def test_register_page_creates_account_and_signs_in(client):
    # "Send code" works without JavaScript: the page comes back with everything typed kept.
    typed = page_data(id_number=GOOD["id_number"].lower(), sms_code="")
    sent = client.post(reverse("accounts:register"), {**typed, "send_code": "1"})
    assert sent.status_code == 200
    page = sent.content.decode()
    assert "139****5678" in page  # where the code went, masked
    for value in ("lisi", "李四", GOOD["id_number"].lower(), GOOD["phone"], GOOD["email"]):
        assert f'value="{value}"' in page
    assert PASSWORD not in page  # passwords are never sent back
    code_input = re.search(r"<input[^>]*name=\"sms_code\"[^>]*>", page).group(0)
    assert "autofocus" in code_input and 'autocomplete="one-time-code"' in code_input
    response = client.post(
        reverse("accounts:register"), {**typed, "sms_code": code_sent_to(GOOD["phone"])}
    )
    assert response.status_code == 302
    user = User.objects.get(username="lisi")
    assert user.citizen_profile.real_name == "李四"
    assert user.citizen_profile.id_number == GOOD["id_number"].upper()
    assert user.check_password(PASSWORD)
    profile_page = client.get(reverse("accounts:profile"))
    assert profile_page.status_code == 200
    content = profile_page.content.decode()
    assert "李四" in content
    assert GOOD["id_number"] not in content  # shown masked only
    assert GOOD["id_number"][:3] + "*" * 11 + GOOD["id_number"][-4:] in content


BAD_INPUTS = [
    ("id_number", {"id_number": "110105194912310021"}, "check digit after digit 17"),
    ("id_number", {"id_number": "12345"}, "An ID number has 18 characters and this one has 5"),
    ("id_number", {"id_number": "999999199003071239"}, "are no region code"),
    ("id_number", {"id_number": "110105194902300021"}, "do not make a real date"),
    ("password", {"password": "12345678"}, "too short"),
    ("password", {"password": "password123"}, "too common"),
    ("phone", {"phone": "12345"}, "mainland mobile number"),
    ("phone", {"phone": "23800138000"}, "mainland mobile number"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "changes", "message"), BAD_INPUTS)
def test_register_page_shows_field_errors(client, field, changes, message):
    client.cookies["django_language"] = "en"
    before = counts()
    if "password" in changes:
        changes = {"password1": changes["password"], "password2": changes["password"]}
    response = client.post(reverse("accounts:register"), page_data(**changes))
    assert response.status_code == 400
    form = response.context["form"]
    page_field = "password1" if field == "password" else field
    assert any(message in error for error in form.errors[page_field]), form.errors
    assert message in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "changes", "message"), BAD_INPUTS)
def test_register_api_gives_field_messages(client, field, changes, message):
    before = counts()
    response = client.post(
        "/api/v1/auth/register/",
        api_data(**changes),
        content_type="application/json",
        headers={"accept-language": "en"},
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert any(message in error for error in body["errors"][field]), body
    assert counts() == before


@pytest.mark.django_db
def test_duplicate_id_number_is_refused_in_page_and_api(client):
    existing = CitizenProfileFactory(id_number=GOOD["id_number"])
    before = counts()
    client.cookies["django_language"] = "en"
    page = client.post(reverse("accounts:register"), page_data())
    assert page.status_code == 400
    assert "already exists" in " ".join(page.context["form"].errors["id_number"])
    api = client.post(
        "/api/v1/auth/register/", api_data(username="other"), content_type="application/json"
    )
    assert api.status_code == 400
    assert "already exists" in " ".join(api.json()["errors"]["id_number"])
    assert counts() == before
    assert existing.user.citizen_profile == existing


@pytest.mark.django_db
def test_duplicate_username_and_missing_fields(client):
    CitizenProfileFactory(user__username="lisi")
    response = client.post(
        "/api/v1/auth/register/", {"username": "LISI"}, content_type="application/json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"password", "real_name", "id_number", "phone", "sms_code"} <= set(errors)
    response = client.post(
        "/api/v1/auth/register/",
        api_data(username="LiSi", id_number=id_number_for(777)),
        content_type="application/json",
        headers={"accept-language": "en"},
    )
    assert response.status_code == 400
    assert "taken" in response.json()["errors"]["username"][0]


@pytest.mark.django_db
def test_page_reports_mismatched_passwords(client):
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("accounts:register"), page_data(password2="something-else-entirely")
    )
    assert response.status_code == 400
    assert "differ" in response.context["form"].errors["password2"][0]
    assert counts() == (0, 0)


@pytest.mark.django_db
def test_register_api_returns_masked_profile(client):
    code = send_code(client, GOOD["phone"])
    response = client.post(
        "/api/v1/auth/register/", api_data(sms_code=code), content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "lisi"
    assert body["real_name"] == "李四"
    assert body["id_number"] == GOOD["id_number"][:3] + "*" * 11 + GOOD["id_number"][-4:]
    assert body["phone"] == "139****5678"


@pytest.mark.django_db
def test_register_api_malformed_json_is_a_400(client):
    response = client.post("/api/v1/auth/register/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()
