"""The staff case page's per-request savings keep their rules (issue 20): the case is checked on
its row with the same policy as cases_visible_to_staff, and the working-day calendar kept per
process follows every edit of it at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from accounts.models import Role
from cases import workflow
from cases.access import CONSULT_PERMISSION
from services.calendar import working_days_between
from services.models import CalendarDay

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support.clock import at


@pytest.fixture
def world():
    department = DepartmentFactory(code="amr", name="市场监督管理局")
    service = make_service(
        "AMR-C", department=department, materials=[{"name": "申请书", "required": False}]
    ).service
    caseworker = StaffMembershipFactory(department=department, role=Role.CASEWORKER).user
    citizen = CitizenProfileFactory().user
    with at("2026-11-02"):
        case, _ = workflow.create_draft(service=service, user=citizen, data={"shop_area": 10})
        case = workflow.submit_application(case=case, user=citizen)
        workflow.claim_case(case=case, user=caseworker)
        case = workflow.apply_transition(case=case, name="accept", actor=caseworker, opinion="ok")
    return case, caseworker, citizen


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_only_staff_of_its_departments_or_a_consulted_expert_open_a_case(world):
    case, caseworker, citizen = world
    outsider = StaffMembershipFactory(
        department=DepartmentFactory(code="tax"), role=Role.CASEWORKER
    )
    urls = [f"/work/{case.number}/", f"/api/v1/work/cases/{case.number}/"]
    with at("2026-11-03"):
        assert [_client(caseworker).get(url).status_code for url in urls] == [200, 200]
        assert [_client(outsider.user).get(url).status_code for url in urls] == [404, 404]
        # the applicant is no staff: their own case is not on the workbench
        assert [_client(citizen).get(url).status_code for url in urls] == [404, 404]
        assign_perm(CONSULT_PERMISSION, outsider.user, case)
        assert [_client(outsider.user).get(url).status_code for url in urls] == [200, 200]


@pytest.mark.django_db
def test_a_draft_is_not_on_the_workbench(world):
    case, caseworker, citizen = world
    draft, _ = workflow.create_draft(service=case.service, user=citizen, data={"shop_area": 1})
    assert _client(caseworker).get(f"/api/v1/work/cases/{draft.number}/").status_code == 404


@pytest.mark.django_db
def test_the_calendar_is_read_once_and_an_edit_is_seen_by_the_next_request(world):
    case, caseworker, _citizen = world
    client = _client(caseworker)
    url = f"/api/v1/work/cases/{case.number}/"
    with at("2026-11-03"):
        before = client.get(url).json()["remaining_working_days"]
        assert before == working_days_between(dt.date(2026, 11, 3), case.due_date)
        with CaptureQueriesContext(connection) as ctx:
            working_days_between(dt.date(2026, 11, 3), case.due_date)
        assert ctx.captured_queries == []  # kept by the process under the calendar's generation
        # an administrator declares a weekday before the due date a holiday
        CalendarDay.objects.create(date=dt.date(2026, 11, 4), kind="holiday", name="测试假日")
        assert client.get(url).json()["remaining_working_days"] == before - 1
        CalendarDay.objects.filter(date=dt.date(2026, 11, 4)).delete()
        assert client.get(url).json()["remaining_working_days"] == before


@pytest.mark.django_db
def test_the_trail_words_kept_per_process_follow_the_language(world):
    from django.utils import translation

    from cases.selectors import staff_timeline
    from cases.vocabulary import EventAction

    case, _, _ = world
    worded = {}
    for language in ("en", "zh-hans", "en"):
        with translation.override(language):
            trail = staff_timeline(case)
            claim = next(entry for entry in trail if entry["action"] == EventAction.CLAIM)
            assert claim["label"] == str(EventAction.CLAIM.label)
            assert claim["role_label"] == str(dict(Role.choices)[Role.CASEWORKER])
            worded.setdefault(language, claim["label"])
            assert worded[language] == claim["label"]
    assert worded["en"] != worded["zh-hans"]


@pytest.mark.django_db
def test_consulted_says_whether_this_user_has_an_open_request_for_an_opinion(world):
    """`consulted` is read off the case's consultations (no query of its own): true for the expert
    asked while the request is open, false for the staff of the case and once it is answered."""
    case, caseworker, _citizen = world
    head = StaffMembershipFactory(department=case.department, role=Role.DEPARTMENT_HEAD).user
    expert = StaffMembershipFactory(department=DepartmentFactory(code="tax"), role=Role.CASEWORKER)
    url = f"/api/v1/work/cases/{case.number}/"
    with at("2026-11-03"):
        consultation = workflow.consult(
            case=case, actor=head, expert=expert.user, question="请提出意见"
        )
        asked = _client(caseworker).get(url).json()
        seen = _client(expert.user).get(url).json()
        assert (asked["consulted"], seen["consulted"]) == (False, True)
        assert [c["expert"] for c in seen["consultations"]] == [expert.user.username]
        workflow.give_opinion(case=consultation.case, expert=expert.user, opinion="同意")
        assert _client(expert.user).get(url).status_code == 404  # the grant ends with the answer
        assert _client(caseworker).get(url).json()["consulted"] is False
