"""Bad input is a 400 naming the field, never a 500 (issue 17, "No 500 on bad input"): lone
surrogates, NUL, deep nesting, long idempotency keys and integers past 64 bits; data stored before
these checks (a lone surrogate SQLite kept) still shows on every page; a bad token is a 401."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.utils import translation
from jsonschema import Draft202012Validator

from accounts.models import Role
from cases import workflow
from cases.models import Case
from services.schema import published_schema, validate_data

from .factories import DepartmentFactory, StaffMembershipFactory, make_service

SCHEMA = {
    "type": "object",
    "required": ["shop_name"],
    "properties": {
        "shop_name": {"type": "string", "maxLength": 60, "title": "店铺名称"},
        "seats": {"type": "integer", "title": "座位数"},
        "area": {"type": "number", "minimum": 1, "title": "面积"},
    },
}
SURROGATE_MESSAGE = (
    "The text holds a broken character (half of a surrogate pair, \\ud800); type it again "
    "instead of pasting it."
)


@pytest.fixture
def department(db):
    return DepartmentFactory(code="amr", name="市场监督管理局")


@pytest.fixture
def service(department, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return make_service(
        "AMR-T",
        department=department,
        form_schema=SCHEMA,
        materials=[{"name": "申请书", "required": False}],
    ).service


@pytest.fixture
def caseworker(department):
    return StaffMembershipFactory(department=department, role=Role.CASEWORKER).user


@pytest.fixture
def api(citizen) -> Client:
    client = Client()
    client.force_login(citizen)
    client.cookies["django_language"] = "en"
    return client


def post_json(client, url, body: str, **headers):
    return client.post(url, body, content_type="application/json", headers=headers)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ('{"shop_name": "\\ud800"}', "data.shop_name", SURROGATE_MESSAGE),
        ('{"shop_name": "a\\udfffb"}', "data.shop_name", SURROGATE_MESSAGE.replace("d800", "dfff")),
        ('{"shop_name": "a\\u0000b"}', "data.shop_name", "invisible NUL character"),
        (f'{{"shop_name": "x", "seats": {2**70}}}', "data.seats", "The number is too large"),
        (f'{{"shop_name": "x", "area": -{2**64}}}', "data.area", "The number is too large"),
    ],
)
def test_text_and_numbers_no_database_keeps_are_a_400_naming_the_field(
    api, service, data, field, message
):
    response = post_json(api, "/api/v1/applications/", f'{{"service": "AMR-T", "data": {data}}}')
    assert response.status_code == 400
    assert message in response.json()["errors"][field][0]
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_an_id_past_64_bits_is_a_400_on_that_field(api, service):
    body = json.dumps({"service": "AMR-T", "data": {"shop_name": "x"}, "on_behalf_of": 2**70})
    response = post_json(api, "/api/v1/applications/", body)
    assert response.status_code == 400
    assert "too large" in response.json()["errors"]["on_behalf_of"][0]
    # Within 64 bits it is an id like any other: simply not one of yours.
    body = json.dumps({"service": "AMR-T", "data": {"shop_name": "x"}, "on_behalf_of": 2**62})
    assert (
        "too large"
        not in post_json(api, "/api/v1/applications/", body)
        .json()["errors"]
        .get("on_behalf_of", [""])[0]
    )


@pytest.mark.django_db
def test_json_nested_100000_deep_is_a_400(api, service):
    for depth in (100_000, 65):
        data = "[" * depth + "]" * depth
        response = post_json(
            api, "/api/v1/applications/", f'{{"service": "AMR-T", "data": {data}}}'
        )
        assert response.status_code == 400
        (messages,) = response.json()["errors"].values()
        assert messages == ["The data is nested more than 64 levels deep."]
    assert not Case.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["k" * 101, "two words", "tab\there", "é" * 10])
def test_an_idempotency_key_over_100_or_unprintable_is_a_400(api, service, key):
    body = json.dumps({"service": "AMR-T", "data": {"shop_name": "x"}})
    response = api.post(
        "/api/v1/applications/",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1"),  # as WSGI hands a header on
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_an_idempotency_key_of_100_still_returns_the_same_case(api, service):
    body = json.dumps({"service": "AMR-T", "data": {"shop_name": "x"}})
    first = post_json(api, "/api/v1/applications/", body, **{"Idempotency-Key": "k" * 100})
    again = post_json(api, "/api/v1/applications/", body, **{"Idempotency-Key": "k" * 100})
    assert first.status_code == again.status_code == 201
    assert first.json()["number"] == again.json()["number"]


def test_the_form_schema_refuses_surrogates_and_numbers_past_64_bits_as_the_server_does():
    from django.core.exceptions import ValidationError

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        validate_data(SCHEMA, {"shop_name": "\ud800", "seats": 2**63})
    assert refused.value.message_dict["shop_name"] == [SURROGATE_MESSAGE]
    assert "9223372036854775807" in refused.value.message_dict["seats"][0]
    published = Draft202012Validator(published_schema(SCHEMA))
    assert not published.is_valid({"shop_name": "x", "seats": 2**63})
    assert published.is_valid({"shop_name": "x", "seats": 2**63 - 1})
    assert published_schema(SCHEMA)["properties"]["area"]["minimum"] == 1  # the author's bound kept


@pytest.mark.django_db
def test_a_page_form_with_a_huge_number_shows_a_form_error(citizen_client, service, citizen):
    case, _ = workflow.create_draft(service=service, user=citizen, data={"shop_name": "x"})
    response = citizen_client.post(
        f"/applications/{case.number}/form/", {"shop_name": "店", "seats": str(2**70)}
    )
    assert response.status_code == 400  # the form again, with the message at the field
    assert "座位数不能大于 9223372036854775807" in response.content.decode()
    case.refresh_from_db()
    assert "seats" not in case.data


@pytest.mark.django_db
def test_stored_text_with_a_lone_surrogate_never_takes_a_page_down(service, caseworker, citizen):
    case, _ = workflow.create_draft(service=service, user=citizen, data={"shop_name": "x"})
    case = workflow.submit_application(case=case, user=citizen)
    if connection.vendor == "sqlite":  # what SQLite kept before the edge refused it
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE cases_case SET data = %s WHERE id = %s",
                ['{"shop_name": "\\ud800 小店"}', case.pk],
            )
        shown = "\ufffd 小店"
    else:  # PostgreSQL's jsonb keeps no lone surrogate: the same path with what it can keep
        Case.objects.filter(pk=case.pk).update(data={"shop_name": "小店"})
        shown = "小店"
    staff, applicant = Client(), Client()
    staff.force_login(caseworker)
    applicant.force_login(citizen)
    page = staff.get(f"/work/{case.number}/")
    assert page.status_code == 200 and shown in page.content.decode()
    api_case = staff.get(f"/api/v1/work/cases/{case.number}/")
    assert api_case.status_code == 200 and api_case.json()["data"]["shop_name"] == shown
    assert staff.get(f"/work/{case.number}/application-form.pdf").status_code == 200
    assert staff.post(f"/work/{case.number}/claim/").status_code == 302
    before = Case.objects.get(pk=case.pk).state
    accepted = staff.post(
        f"/work/{case.number}/act/", {"transition": "accept", "opinion": "材料齐全"}, follow=True
    )
    assert accepted.status_code == 200
    case.refresh_from_db()
    assert case.state != before  # accepted
    assert applicant.get(f"/applications/{case.number}/").status_code == 200
    mine = applicant.get(f"/api/v1/applications/{case.number}/")
    assert mine.status_code == 200 and mine.json()["data"]["shop_name"] == shown


@pytest.mark.django_db
def test_an_invalid_token_is_a_401_with_www_authenticate(citizen):
    response = Client().get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert set(response.json()) == {"detail", "errors"}
    assert Client().get("/api/v1/me/").status_code == 401  # no credentials at all
    session = Client()
    session.force_login(citizen)
    assert session.get("/api/v1/me/").status_code == 200  # the pages' session still works
