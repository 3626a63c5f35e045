"""好差评 (issue 9, part 1): one rating per finished case, online or at a counter; a bad rating opens a
rectification due in working days; the department answers, the applicant is told and reads it;
overdue rectifications show in the department's queue; the rater is not shown to staff."""

import datetime as dt

import pytest

from accounts.models import Role
from cases import workflow
from cases.models import Case, Notification, Rating, Rectification

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    logged_in,
    make_service,
)
from .support.clock import at


@pytest.fixture
def office(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr")
    staff = {
        role: StaffMembershipFactory(department=department, role=role, user__username=str(role)).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD,
                     Role.COUNTER_CLERK)
    }  # fmt: skip
    service = make_service(
        "R-1", department=department, materials=[{"name": "x", "required": False}]
    ).service
    return {"department": department, "staff": staff, "service": service}


def finished_case(office, user=None) -> Case:
    user = user or CitizenProfileFactory().user
    staff = office["staff"]
    case, _ = workflow.create_draft(service=office["service"], user=user, data={"shop_area": 3})
    case = workflow.submit_application(case=case, user=user)
    for name, role in [("accept", Role.CASEWORKER), ("pass_review", Role.REVIEWER),
                       ("approve", Role.APPROVER), ("conclude", Role.CASEWORKER)]:  # fmt: skip
        case = workflow.apply_transition(case=case, name=name, actor=staff[role], opinion="同意")
    return case


def rate(client, case, **body):
    return client.post(
        f"/api/v1/applications/{case.number}/rating/",
        {"score": 5, **body},
        content_type="application/json",
    )


@pytest.mark.django_db
def test_a_finished_case_is_rated_once_by_its_applicant(office):
    applicant = CitizenProfileFactory().user
    open_case, _ = workflow.create_draft(service=office["service"], user=applicant, data={})
    client = logged_in(applicant)
    assert rate(client, open_case).status_code == 409  # not finished yet
    case = finished_case(office, applicant)
    assert rate(logged_in(CitizenProfileFactory().user), case).status_code == 404  # a stranger
    bad_input = rate(client, case, score=6, tags=["nonsense"])
    assert bad_input.status_code == 400
    assert set(bad_input.json()["errors"]) == {"score", "tags"}
    first = rate(client, case, score=4, tags=["fast", "polite"], comment="办得快",
                 dimensions={"efficiency": 5})  # fmt: skip
    assert first.status_code == 201, first.json()
    assert first.json()["rectification"] is None
    again = rate(client, case, score=1)
    assert again.status_code == 409
    assert Rating.objects.filter(case=case).count() == 1
    assert Rating.objects.get(case=case).score == 4
    # The page shows the rating instead of the form.
    page = client.get(f"/applications/{case.number}/").content.decode()
    assert 'name="score"' not in page and "4" in page


@pytest.mark.django_db
def test_a_bad_rating_opens_a_rectification_due_in_five_working_days(office):
    applicant = CitizenProfileFactory().user
    with at("2026-09-29"):
        case = finished_case(office, applicant)
    with at("2026-09-30"):  # the day before the National Day holiday (10-01 to 10-07)
        response = rate(
            logged_in(applicant), case, score=2, tags=["came_again"], comment="跑了两次"
        )
    assert response.status_code == 201
    # Working days after 09-30: 10-08, 10-09, 10-10 (a Saturday made a workday), 10-12, 10-13.
    assert response.json()["rectification"]["due_date"] == "2026-10-13"
    rectification = Rectification.objects.get(case=case)
    assert rectification.department == office["department"] and rectification.state == "open"
    head = office["staff"][Role.DEPARTMENT_HEAD]
    assert Notification.objects.filter(recipient=head, event="bad_rating", case=case).exists()
    # A good rating opens nothing.
    other = finished_case(office)
    assert rate(logged_in(other.applicant.user), other, score=3).json()["rectification"] is None


@pytest.mark.django_db
def test_the_setting_changes_the_rectification_deadline(office, settings):
    settings.RECTIFICATION_WORKING_DAYS = 2
    with at("2026-11-19"):  # a Thursday
        case = finished_case(office)
        rate(logged_in(case.applicant.user), case, score=1)
    assert Rectification.objects.get(case=case).due_date == dt.date(2026, 11, 23)  # Fri, Mon


@pytest.mark.django_db
def test_the_department_answers_and_the_applicant_reads_it_and_rates_the_answer(office):
    applicant = CitizenProfileFactory().user
    with at("2026-11-16"):
        case = finished_case(office, applicant)
        rate(logged_in(applicant), case, score=1, comment="窗口人员态度差")
    rectification = Rectification.objects.get(case=case)
    head = logged_in(office["staff"][Role.DEPARTMENT_HEAD])
    # Who rated is not among what staff see.
    listed = head.get("/api/v1/work/rectifications/").json()["results"]
    assert [r["number"] for r in listed] == [case.number]
    assert listed[0]["comment"] == "窗口人员态度差"
    assert case.applicant.real_name not in str(listed) and "rated_by" not in str(listed)
    # A caseworker does not answer for the department.
    caseworker = logged_in(office["staff"][Role.CASEWORKER])
    denied = caseworker.post(f"/api/v1/work/rectifications/{rectification.pk}/answer/",
                             {"answer": "x"}, content_type="application/json")  # fmt: skip
    assert denied.status_code == 404
    empty = head.post(f"/api/v1/work/rectifications/{rectification.pk}/answer/", {"answer": ""},
                      content_type="application/json")  # fmt: skip
    assert empty.status_code == 400
    with at("2026-11-20"):
        answered = head.post(f"/api/v1/work/rectifications/{rectification.pk}/answer/",
                             {"answer": "已约谈窗口人员并组织培训。"}, content_type="application/json")  # fmt: skip
    assert answered.status_code == 200, answered.json()
    assert answered.json()["answered_on_time"] is True  # due 11-23
    told = Notification.objects.filter(recipient=applicant, event="rating_response", case=case)
    assert told.filter(channel="inbox").exists()
    page = logged_in(applicant).get(f"/applications/{case.number}/").content.decode()
    assert "已约谈窗口人员并组织培训。" in page
    fix = logged_in(applicant).post(f"/api/v1/applications/{case.number}/rating/answer/",
                                    {"score": 4}, content_type="application/json")  # fmt: skip
    assert fix.status_code == 200 and fix.json()["fix_score"] == 4
    twice = logged_in(applicant).post(f"/api/v1/applications/{case.number}/rating/answer/",
                                      {"score": 5}, content_type="application/json")  # fmt: skip
    assert twice.status_code == 409


@pytest.mark.django_db
def test_overdue_rectifications_appear_in_the_department_queue(office):
    with at("2026-11-02"):
        case = finished_case(office)
        rate(logged_in(case.applicant.user), case, score=2)  # due 11-09
    head = logged_in(office["staff"][Role.DEPARTMENT_HEAD])
    with at("2026-11-05"):
        page = head.get("/work/").content.decode()
    assert "/work/rectifications/" in page and 'class="overdue"' not in page
    with at("2026-11-10"):
        page = head.get("/work/").content.decode()
        assert "/work/rectifications/" in page and 'class="overdue"' in page
        listing = head.get("/work/rectifications/").content.decode()
    assert case.number in listing and case.applicant.real_name not in listing
    # The answer form on the page works too.
    with at("2026-11-10"):
        head.post("/work/rectifications/", {"rectification": Rectification.objects.get().pk,
                                            "answer": "已改进。"})  # fmt: skip
    answered = Rectification.objects.get()
    assert answered.state == "answered" and answered.answered_on_time is False


@pytest.mark.django_db
def test_a_clerk_records_a_rating_at_the_counter_tablet(office):
    case = finished_case(office)
    clerk = logged_in(office["staff"][Role.COUNTER_CLERK])
    page = clerk.get("/counter/rate/", {"number": case.number})
    assert page.status_code == 200 and 'name="score"' in page.content.decode()
    response = clerk.post("/counter/rate/", {"number": case.number, "score": "5",
                          "tags": ["polite", "fast"], "dimension-attitude": "5"})  # fmt: skip
    assert response.status_code == 302
    rating = Rating.objects.get(case=case)
    assert (rating.score, rating.channel, rating.dimensions) == (5, "counter", {"attitude": 5})
    assert rating.rated_by == office["staff"][Role.COUNTER_CLERK]
    # Once only, and a clerk of another department cannot record one.
    assert Rating.objects.count() == 1
    again = clerk.post("/counter/rate/", {"number": case.number, "score": "1"})
    assert Rating.objects.get(case=case).score == 5 and again.status_code in (200, 400)
    elsewhere = StaffMembershipFactory(department=DepartmentFactory(code="tax"),
                                       role=Role.COUNTER_CLERK).user  # fmt: skip
    assert logged_in(elsewhere).get("/counter/rate/", {"number": case.number}).status_code == 404


@pytest.mark.django_db
def test_the_applicant_rates_from_the_case_page(office):
    applicant = CitizenProfileFactory().user
    case = finished_case(office, applicant)
    client = logged_in(applicant)
    page = client.get(f"/applications/{case.number}/").content.decode()
    assert 'name="score"' in page and 'name="tags"' in page
    missing = client.post(
        f"/applications/{case.number}/rating/", {"comment": "没选分"}, follow=True
    )
    assert Rating.objects.count() == 0 and "1" in missing.content.decode()
    client.post(f"/applications/{case.number}/rating/", {"score": "5", "tags": ["no_visit"],
                "dimension-guidance": "4"})  # fmt: skip
    rating = Rating.objects.get()
    assert (rating.score, rating.tags, rating.dimensions, rating.channel) == (
        5,
        ["no_visit"],
        {"guidance": 4},
        "online",
    )
    # The trail records that it was rated, not by whom.
    event = case.events.order_by("-sequence").first()
    assert (event.action, event.actor_id, event.details) == ("rated", None, {"score": 5})
