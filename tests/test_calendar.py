"""Working-day calendar (DESIGN.md "Time (承诺时限)") on the real 2025 and 2026 holiday data.

The expected dates were checked against the chinesecalendar package itself
(``chinese_calendar.find_workday(n - 1, start + 1 day)`` is the n-th workday after ``start``), and
``test_matches_chinesecalendar`` keeps checking them against it.
"""

import datetime as dt

import chinese_calendar
import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client

import services.admin_calendar  # noqa: F401 - registers the calendar admin until services/admin.py imports it
from services.calendar import (
    CalendarYearMissing,
    add_working_days,
    add_working_days_provisional,
    chinesecalendar_years,
    covered_years,
    is_working_day,
    remove_chinesecalendar_seed,
    seed_from_chinesecalendar,
    working_days_between,
)
from services.models import CalendarDay, CalendarYear

from .factories import UserFactory

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def seeded(db):
    """The seed migration's data (re-seeded should a transactional test have flushed it)."""
    seed_from_chinesecalendar(CalendarYear, CalendarDay)


def package_nth_workday(start: dt.date, n: int) -> dt.date:
    return chinese_calendar.find_workday(n - 1, start + dt.timedelta(days=1))


# --- Seed -------------------------------------------------------------------------------------------


def test_seed_covers_the_package_years_and_is_idempotent(capsys):
    assert chinesecalendar_years() == list(range(2004, 2027))
    assert covered_years() == list(range(2004, 2027))
    assert set(CalendarYear.objects.values_list("source", flat=True)) == {"chinesecalendar"}
    assert seed_from_chinesecalendar(CalendarYear, CalendarDay) == (0, 0)
    call_command("seed_calendar")
    assert "0 calendar year(s) and 0 calendar day(s) added" in capsys.readouterr().out
    assert CalendarDay.objects.filter(date__year=2026, kind="holiday").count() == 33
    assert CalendarDay.objects.filter(date__year=2026, kind="workday").count() == 6


def test_seed_names_are_chinese():
    names = dict(CalendarDay.objects.filter(date__year=2026).values_list("date", "name"))
    assert names[D(2026, 1, 1)] == "元旦"
    assert names[D(2026, 2, 17)] == "春节"
    assert names[D(2026, 4, 5)] == "清明节"
    assert names[D(2026, 5, 1)] == "劳动节"
    assert names[D(2026, 6, 19)] == "端午节"
    assert names[D(2026, 9, 25)] == "中秋节"
    assert names[D(2026, 10, 1)] == "国庆节"
    assert names[D(2026, 10, 10)] == "国庆节调休"
    assert CalendarDay.objects.get(date=D(2026, 10, 10)).kind == "workday"
    # weekend days inside a holiday span are stored too
    assert CalendarDay.objects.get(date=D(2026, 10, 3)).kind == "holiday"


def test_seed_recreates_deleted_rows_and_keeps_admin_edits():
    CalendarDay.objects.filter(date=D(2026, 10, 10)).delete()
    CalendarDay.objects.filter(date=D(2026, 10, 2)).update(name="edited")
    CalendarYear.objects.filter(year=2004).delete()
    assert seed_from_chinesecalendar(CalendarYear, CalendarDay) == (1, 1)
    assert CalendarDay.objects.get(date=D(2026, 10, 2)).name == "edited"
    assert CalendarDay.objects.get(date=D(2026, 10, 10)).kind == "workday"


def test_unseed_removes_the_package_rows_only():
    CalendarYear.objects.create(year=2027, source="admin")
    CalendarDay.objects.create(date=D(2027, 1, 1), kind="holiday", name="元旦")
    package_days = len(chinese_calendar.holidays) + len(chinese_calendar.workdays)
    assert remove_chinesecalendar_seed(CalendarYear, CalendarDay) == (23, package_days)
    assert covered_years() == [2027]
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [D(2027, 1, 1)]
    assert seed_from_chinesecalendar(CalendarYear, CalendarDay) == (23, package_days)


# --- is_working_day ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 10, 1), False),  # National Day, Thursday
        (D(2026, 10, 9), True),  # ordinary Friday
        (D(2026, 10, 10), True),  # make-up Saturday 调休
        (D(2026, 10, 11), False),  # ordinary Sunday
        (D(2026, 2, 14), True),  # make-up Saturday before Spring Festival
        (D(2026, 2, 23), False),  # Spring Festival, Monday
        (D(2025, 9, 28), True),  # make-up Sunday before National Day 2025
        (D(2025, 10, 8), False),  # National Day 2025, Wednesday
    ],
)
def test_is_working_day(day, expected, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert is_working_day(day) is expected
    assert chinese_calendar.is_workday(day) is expected


# --- add_working_days on real holidays -------------------------------------------------------------


def test_start_day_never_counts_and_n_zero_returns_start():
    assert add_working_days(D(2026, 10, 1), 0) == D(2026, 10, 1)
    assert add_working_days(D(2026, 10, 9), 1) == D(2026, 10, 10)
    with pytest.raises(ValueError):
        add_working_days(D(2026, 10, 9), -1)


def test_national_day_2026():
    # Holidays 10-01..10-07, make-up workdays Sun 09-20 and Sat 10-10.
    assert add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    expected = [D(2026, 9, 30), D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 10), D(2026, 10, 12)]
    for n, day in enumerate(expected, start=1):
        assert add_working_days(D(2026, 9, 29), n) == day
    assert working_days_between(D(2026, 9, 29), D(2026, 10, 12)) == 5


def test_spring_festival_2026():
    # Holidays Sun 02-15..Mon 02-23, make-up workdays Sat 02-14 and Sat 02-28.
    start = D(2026, 2, 13)  # Friday
    expected = [
        D(2026, 2, 14),  # make-up Saturday
        D(2026, 2, 24),
        D(2026, 2, 25),
        D(2026, 2, 26),
        D(2026, 2, 27),
        D(2026, 2, 28),  # make-up Saturday
        D(2026, 3, 2),
    ]
    for n, day in enumerate(expected, start=1):
        assert add_working_days(start, n) == day
    assert working_days_between(start, D(2026, 3, 2)) == 7


def test_national_day_2025():
    # Holidays 10-01..10-08, make-up workdays Sun 09-28 and Sat 10-11.
    start = D(2025, 9, 26)  # Friday
    expected = [
        D(2025, 9, 28),  # make-up Sunday
        D(2025, 9, 29),
        D(2025, 9, 30),
        D(2025, 10, 9),
        D(2025, 10, 10),
        D(2025, 10, 11),  # make-up Saturday
        D(2025, 10, 13),
    ]
    for n, day in enumerate(expected, start=1):
        assert add_working_days(start, n) == day


def test_across_new_year_2026():
    # 2026-01-01..03 holidays, Sunday 2026-01-04 is a make-up workday.
    assert add_working_days(D(2025, 12, 31), 1) == D(2026, 1, 4)
    assert add_working_days(D(2025, 12, 31), 2) == D(2026, 1, 5)


def test_matches_chinesecalendar():
    day = D(2025, 1, 1)
    while day < D(2026, 9, 1):
        for n in (1, 2, 5, 20, 60):
            assert add_working_days(day, n) == package_nth_workday(day, n), (day, n)
        day += dt.timedelta(days=11)


def test_working_days_between_is_the_inverse_of_add_working_days():
    assert working_days_between(D(2026, 10, 12), D(2026, 9, 29)) == 0
    assert working_days_between(D(2026, 10, 12), D(2026, 10, 12)) == 0
    day = D(2025, 1, 1)
    while day < D(2026, 7, 1):
        for n in (0, 1, 2, 3, 5, 10, 23, 61):
            due = add_working_days(day, n)
            assert working_days_between(day, due) == n, (day, n)
            # the due date is the first date that reaches n
            if n:
                assert working_days_between(day, due - dt.timedelta(days=1)) == n - 1, (day, n)
        day += dt.timedelta(days=5)


def test_working_days_between_counts_a_whole_year():
    # 2025: 365 days, 261 weekdays, public holidays on weekdays and make-up weekend workdays
    expected = len(chinese_calendar.get_workdays(D(2025, 1, 1), D(2025, 12, 31)))
    assert working_days_between(D(2024, 12, 31), D(2025, 12, 31)) == expected


def test_query_count_is_constant(django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        assert add_working_days(D(2025, 1, 2), 5) == D(2025, 1, 9)
    with django_assert_max_num_queries(2):
        due = add_working_days(D(2025, 1, 2), 200)
    assert due == package_nth_workday(D(2025, 1, 2), 200)
    with django_assert_max_num_queries(2):
        due = add_working_days(D(2025, 6, 2), 200)  # into 2026
    assert due == package_nth_workday(D(2025, 6, 2), 200)
    with django_assert_max_num_queries(2):
        assert working_days_between(D(2025, 1, 2), D(2026, 6, 30)) > 300


# --- Years without data ------------------------------------------------------------------------------


def test_a_year_without_data_raises():
    with pytest.raises(CalendarYearMissing) as caught:
        add_working_days(D(2026, 12, 31), 1)
    assert caught.value.years == (2027,)
    assert "2027" in str(caught.value)
    assert "calendar years" in str(caught.value)
    with pytest.raises(CalendarYearMissing) as caught:
        is_working_day(D(2027, 3, 1))
    assert caught.value.years == (2027,)
    with pytest.raises(CalendarYearMissing) as caught:
        working_days_between(D(2026, 12, 1), D(2028, 1, 5))
    assert caught.value.years == (2027, 2028)
    # a count that ends in a known year does not need the next one
    assert add_working_days(D(2026, 12, 24), 5) == D(2026, 12, 31)


def test_provisional_dates():
    # within 2026: exact
    assert add_working_days_provisional(D(2026, 9, 29), 5) == (D(2026, 10, 12), False)
    # Thu 2026-12-31 + 1 lands on Fri 2027-01-01, counted as a weekday
    assert add_working_days_provisional(D(2026, 12, 31), 1) == (D(2027, 1, 1), True)
    # 2026 keeps its holidays: 62 working days from 10-01 to 12-31, then weekdays 01-01, 01-04, 01-05
    assert working_days_between(D(2026, 9, 30), D(2026, 12, 31)) == 62
    assert add_working_days_provisional(D(2026, 9, 30), 65) == (D(2027, 1, 5), True)


def test_an_admin_entered_year_is_used_at_once():
    assert add_working_days_provisional(D(2026, 12, 31), 1) == (D(2027, 1, 1), True)
    CalendarYear.objects.create(year=2027, source="admin")
    CalendarDay.objects.create(date=D(2027, 1, 1), kind="holiday", name="元旦")
    CalendarDay.objects.create(date=D(2027, 1, 9), kind="workday", name="测试调休")
    assert 2027 in covered_years()
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert add_working_days_provisional(D(2026, 12, 31), 1) == (D(2027, 1, 4), False)
    assert is_working_day(D(2027, 1, 9)) is True
    assert working_days_between(D(2027, 1, 8), D(2027, 1, 11)) == 2


# --- Admin ------------------------------------------------------------------------------------------

CHANGELIST = "/admin/services/calendaryear/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@time_machine.travel(dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC), tick=False)
def test_superuser_sees_coverage_and_missing_year_warning(django_assert_max_num_queries):
    client = client_for(UserFactory(username="root", is_staff=True, is_superuser=True))
    with django_assert_max_num_queries(15):
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    text = response.content.decode()
    assert "2004–2026" in text
    warnings = [str(message) for message in response.context["messages"]]
    assert any("2027" in message for message in warnings)
    rows = {obj.year: obj for obj in response.context["cl"].result_list}
    assert (rows[2026].holiday_count, rows[2026].workday_count) == (33, 6)
    assert client.get("/admin/services/calendarday/?year=2026&kind=workday").status_code == 200


def test_superuser_adds_a_year_in_the_admin():
    client = client_for(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/services/calendaryear/add/", {"year": 2027, "source": "admin", "note": ""}
    )
    assert response.status_code == 302
    response = client.post(
        "/admin/services/calendarday/add/",
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
    )
    assert response.status_code == 302
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)
    # a make-up workday must be a weekend day
    response = client.post(
        "/admin/services/calendarday/add/",
        {"date": "2027-01-05", "kind": "workday", "name": "x"},
    )
    assert response.status_code == 200
    assert not CalendarDay.objects.filter(date=D(2027, 1, 5)).exists()


def test_staff_without_permission_is_refused():
    client = client_for(UserFactory(username="clerk", is_staff=True))
    assert client.get(CHANGELIST).status_code == 403


def test_staff_with_view_permission_may_only_look():
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_calendaryear"),
        Permission.objects.get(codename="change_calendaryear"),
    )
    client = client_for(user)
    assert client.get(CHANGELIST).status_code == 200
    assert client.get("/admin/services/calendaryear/add/").status_code == 403
    year = CalendarYear.objects.get(year=2026)
    response = client.post(
        f"/admin/services/calendaryear/{year.pk}/change/",
        {"year": 2026, "source": "edited", "note": ""},
    )
    assert response.status_code == 403
    year.refresh_from_db()
    assert year.source == "chinesecalendar"
