"""Public case tracking: anyone with the number and the applicant's name sees where a case stands,
and nothing personal; everyone else gets the same 404; guessing is rate-limited per address."""

import datetime as dt
import re
import threading

import pytest
import time_machine
from django.core.cache import caches
from django.db import connection, connections
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import Organisation, OrganisationAgent, Role
from cases import receipts, workflow

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)

NAME = "张三"
FORM_VALUE = 4321  # a form answer that must never show


@pytest.fixture
def department(db):
    return DepartmentFactory(code="amr", name="市场监督管理局", name_en="Market Regulation Bureau")


@pytest.fixture
def caseworker(department):
    return StaffMembershipFactory(
        department=department,
        role=Role.CASEWORKER,
        user__username="caseworker",
        user__first_name="李四",
    ).user


@pytest.fixture
def service(department, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return make_service(
        "AMR-T",
        department=department,
        name="食品经营许可",
        name_en="Food business licence",
        materials=[{"name": "申请书", "required": False}],
    ).service


@pytest.fixture
def profile(db):
    return CitizenProfileFactory(real_name=NAME)


@pytest.fixture
def case(service, profile, caseworker):
    """Accepted, with an opinion that names the applicant; claimed by the caseworker first."""
    draft, _ = workflow.create_draft(
        service=service, user=profile.user, data={"shop_area": FORM_VALUE}
    )
    submitted = workflow.submit_application(case=draft, user=profile.user)
    workflow.claim_case(case=submitted, user=caseworker)
    return workflow.apply_transition(
        case=submitted,
        name="accept",
        actor=caseworker,
        opinion=f"{NAME}的材料齐全，身份证号 {profile.id_number} 已核验",
    )


def anonymous(ip: str = "10.1.1.1") -> Client:
    client = Client(REMOTE_ADDR=ip)
    client.cookies["django_language"] = "en"
    return client


def track(client: Client, number: str, name: str = NAME):
    return client.post(
        "/api/v1/track/", {"number": number, "name": name}, content_type="application/json"
    )


def track_page(client: Client, number: str, name: str = NAME, **extra):
    return client.post("/track/", {"number": number, "name": name, **extra})


def personal_data(profile, caseworker) -> list[str]:
    """Everything about the people involved that a public answer must not contain."""
    return [
        profile.real_name,
        profile.id_number,
        profile.id_number[-4:],
        profile.masked_id_number,
        profile.phone,
        profile.user.username,
        str(FORM_VALUE),
        "材料齐全",  # the opinion
        caseworker.username,
        caseworker.first_name,
    ]


@pytest.mark.django_db
def test_api_shows_state_dates_and_labels_and_nothing_personal(case, profile, caseworker):
    response = track(anonymous(), case.number)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["number"] == case.number
    assert (body["state"], body["state_label"]) == ("accepted", "accepted (受理)")
    assert body["service"] == "AMR-T"
    assert body["service_name"] == "Food business licence"
    assert body["department"] == "Market Regulation Bureau"
    assert body["due_date"] == case.due_date.isoformat()
    assert [entry["label"] for entry in body["timeline"]] == [
        "Application started",
        "Application handed in",
        "Accepted by the department",
    ]  # the caseworker claiming it is bookkeeping, not news
    assert all(
        set(entry) == {"action", "label", "at", "state", "state_label"}
        for entry in body["timeline"]
    )
    raw = response.content.decode()
    for value in personal_data(profile, caseworker):
        assert value not in raw


@pytest.mark.django_db
def test_page_shows_the_same_and_nothing_personal(case, profile, caseworker):
    client = anonymous()
    form = client.get("/track/")
    assert form.status_code == 200
    assert 'name="number"' in form.content.decode() and 'name="name"' in form.content.decode()
    response = track_page(client, case.number)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    for text in (case.number, "Food business licence", "Market Regulation Bureau", "accepted (受理)",
                 "Application handed in", "Accepted by the department", case.due_date.isoformat()):  # fmt: skip
        assert text in html
    assert "Claimed" not in html
    for value in personal_data(profile, caseworker):
        assert value not in html


@pytest.mark.django_db
def test_names_match_exactly_after_trimming_spaces(case):
    client = anonymous()
    assert track(client, case.number, f" {NAME}\u3000").status_code == 200  # full-width space
    assert track_page(client, case.number, f"\u3000{NAME} ").status_code == 200
    assert track(client, case.number, "张 三").status_code == 404
    assert track(client, case.number, "张").status_code == 404


@pytest.mark.django_db
def test_wrong_name_unknown_number_and_draft_look_the_same(case, service, profile):
    client = anonymous()
    draft, _ = workflow.create_draft(service=service, user=profile.user, data={"shop_area": 1})
    wrong_name = track(client, case.number, "王五")
    unknown = track(client, "AMR-T-20000101-9999", "王五")
    of_draft = track(client, draft.number)
    assert wrong_name.status_code == unknown.status_code == of_draft.status_code == 404
    assert wrong_name.json() == unknown.json() == of_draft.json()
    assert set(wrong_name.json()) == {"detail", "errors"}

    def page(number, name):
        response = track_page(client, number, name)
        assert response.status_code == 404
        html = response.content.decode()
        # What differs is only what the visitor typed in themselves, and the CSRF token.
        return re.sub(r'value="[^"]*"', "", html.replace(number, "").replace(name, ""))

    assert (
        page(case.number, "王五") == page("AMR-T-20000101-9999", "王五") == page(draft.number, NAME)
    )
    html = track_page(client, case.number, "王五").content.decode()
    assert "No application matches this number and name" in html
    assert 'role="alert"' in html and 'aria-describedby="id_name_helptext track-errors"' in html


@pytest.mark.django_db
def test_the_organisations_name_is_accepted_too(service, profile):
    organisation = Organisation.objects.create(
        uscc="91110000600037341L", name="老街餐饮有限公司", legal_representative="赵六"
    )
    OrganisationAgent.objects.create(
        organisation=organisation, user=profile.user, valid_from=dt.date(2020, 1, 1)
    )
    draft, _ = workflow.create_draft(
        service=service, user=profile.user, organisation_id=organisation.pk, data={"shop_area": 1}
    )
    case = workflow.submit_application(case=draft, user=profile.user)
    client = anonymous()
    assert track(client, case.number, "老街餐饮有限公司").status_code == 200
    assert track(client, case.number, NAME).status_code == 200
    response = track(client, case.number, "老街餐饮有限公司")
    assert "赵六" not in response.content.decode()
    assert response.json()["intake_due_date"] == case.intake_due_date.isoformat()


@pytest.mark.django_db
def test_missing_name_is_a_field_error(case):
    response = anonymous().post(
        "/api/v1/track/", {"number": case.number}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "name" in response.json()["errors"]
    page = anonymous().post("/track/", {"number": case.number, "name": " "})
    assert page.status_code == 400
    assert 'aria-describedby="id_name_helptext id_name_error"' in page.content.decode()


@pytest.mark.django_db
def test_ten_failed_lookups_then_429_until_the_window_ends(case):
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC), tick=False) as clock:
        guesser = anonymous("10.9.9.9")
        for attempt in range(10):
            assert track(guesser, f"AMR-T-20261124-{attempt:04d}", "王五").status_code == 404
        refused = track(guesser, case.number)  # even the right name: the address is paused
        assert refused.status_code == 429
        assert refused["Retry-After"] == "600"
        assert refused.json()["detail"].startswith("Too many lookups from this address.")
        page = track_page(guesser, case.number)
        assert page.status_code == 429
        assert page["Retry-After"] == "600"
        assert "Please try again in 10 minutes." in page.content.decode()
        # Another address is not affected, and does not count against this one.
        assert track(anonymous("10.8.8.8"), case.number).status_code == 200

        clock.shift(dt.timedelta(minutes=9))
        assert track(guesser, case.number).status_code == 429
        assert track(guesser, case.number)["Retry-After"] == "60"
        clock.shift(dt.timedelta(minutes=1))
        assert track(guesser, case.number).status_code == 200


@pytest.mark.django_db
def test_successful_lookups_have_a_higher_limit(case):
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC), tick=False):
        client = anonymous("10.7.7.7")
        for _ in range(60):
            assert track(client, case.number).status_code == 200
        assert track(client, case.number).status_code == 429


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_from_one_address_cannot_slip_past_the_limit():
    """Twenty guesses at once from one address (real threads, separate connections, as separate
    web processes would be): exactly ten are answered, the rest refused."""
    barrier = threading.Barrier(20)
    statuses: list = []

    def guess(index):
        try:
            barrier.wait()
            statuses.append(track(anonymous("10.5.5.5"), f"AMR-X-20261124-{index:04d}").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [404] * 10 + [429] * 10
    finally:
        caches["ratelimit"].clear()  # a transactional test's flush leaves the cache table alone


@pytest.mark.django_db
def test_the_limit_survives_a_missing_counter_table(case):
    """`make run` only migrates: the counters' table is made on first use, and the limit holds."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE portal_ratelimit")
    client = anonymous("10.6.6.6")
    assert track(client, case.number).status_code == 200
    for _ in range(10):
        track(client, case.number, "王五")
    assert track(client, case.number).status_code == 429


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_timeline(case, service, profile, caseworker):
    short, _ = workflow.create_draft(service=service, user=profile.user, data={"shop_area": 1})
    short = workflow.submit_application(case=short, user=profile.user)
    assert case.events.count() > short.events.count() + 1

    def queries(number):
        with CaptureQueriesContext(connection) as captured:
            assert track(anonymous(), number).status_code == 200
        return len(captured)

    assert queries(short.number) == queries(case.number)


@pytest.mark.django_db
def test_receipt_qr_code_leads_to_the_tracking_page_with_the_number_filled_in(case):
    url = receipts.tracking_url(RequestFactory().get("/"), case)
    assert url == f"http://testserver/track/?number={case.number}"
    client = anonymous()
    form = client.get(url.removeprefix("http://testserver"))
    html = form.content.decode()
    assert form.status_code == 200
    assert case.number in html
    assert (
        'type="hidden" name="number"' in html and 'id="id_number"' not in html
    )  # only the name is asked
    assert 'id="id_name"' in html
    response = client.post("/track/", {"number": case.number, "name": NAME, "fixed": "1"})
    assert response.status_code == 200
    assert "Accepted by the department" in response.content.decode()
    wrong = client.post("/track/", {"number": case.number, "name": "王五", "fixed": "1"})
    assert wrong.status_code == 404
    assert 'type="hidden" name="number"' in wrong.content.decode()  # still just the name asked


@pytest.mark.django_db
def test_the_api_is_in_the_schema():
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    operation = paths["/api/v1/track/"]["post"]
    assert not operation.get("parameters")  # nothing in the URL
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/TrackQuery")
    query = response.json()["components"]["schemas"]["TrackQuery"]
    assert set(query["required"]) == {"number", "name"}
    assert "get" not in paths["/api/v1/track/"]
    assert not any("track/{" in path for path in paths)
    assert {"200", "404", "429"} <= set(operation["responses"])


@pytest.mark.django_db
def test_a_name_in_a_url_is_refused_unread_and_the_form_posts_it(case):
    """A name in a query string ends up in access logs: neither the API nor the page looks it up."""
    client = anonymous()
    for url in (f"/api/v1/track/?number={case.number}", f"/api/v1/track/{case.number}/"):
        api_get = client.get(url, {"name": NAME})
        assert api_get.status_code in (404, 405)
        assert "Accepted" not in api_get.content.decode()
    api_query = client.post(
        f"/api/v1/track/?name={NAME}",
        {"number": case.number, "name": NAME},
        content_type="application/json",
    )
    assert api_query.status_code == 400
    assert api_query.json()["errors"]["name"] == [
        "Send the name in the request body (POST), never in the address."
    ]

    page = client.get("/track/", {"number": case.number, "name": NAME})
    html = page.content.decode()
    assert page.status_code == 400
    assert "Accepted by the department" not in html and "食品经营许可" not in html
    assert "nothing was looked up" in html
    assert NAME not in html  # not even echoed into the form
    form = re.search(r'<form method="post" action="/track/"[^>]*>(.*?)</form>', html, re.S)
    assert form and 'name="csrfmiddlewaretoken"' in form.group(1) and 'name="name"' in form.group(1)
    posted_to_a_url_with_the_name = client.post(f"/track/?name={NAME}", {"number": case.number})
    assert posted_to_a_url_with_the_name.status_code == 400
    assert "Accepted by the department" not in posted_to_a_url_with_the_name.content.decode()
    # Through the body it works, from the page and from the API.
    assert track_page(client, case.number).status_code == 200
    assert track(client, case.number).status_code == 200
