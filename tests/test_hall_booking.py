"""预约到厅办理 (issue 19, items 1, 2 and 6): booking a visit to a service centre on the working-day
calendar, real-name and by proxy; capacity under 20 concurrent bookings for the last place; cancel
and no-show rules; the reminder the day before, once, through the outbox; pages, API and admin.

The dates are those of National Day 2026: 1–7 October are holidays and Saturday 10 October is a
make-up workday (调休), so from Wednesday 30 September a horizon of five working days is
8, 9, 10, 12 and 13 October."""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import proxies
from accounts.models import Role
from accounts.permissions import ensure_department_admin_group
from cases.hall import booking
from cases.hall import demo as hall_demo
from cases.hall.models import Appointment, CentreService, ServiceCentre, Slot
from cases.models import Notification
from services.calendar import seed_from_chinesecalendar
from services.models import CalendarDay, CalendarYear

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    UserFactory,
    logged_in,
    make_service,
)
from .support.clock import at
from .test_admin_scope import errors_of, form_data

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
D = dt.date


def moment(day: str, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=SHANGHAI)


@pytest.fixture
def hall(db):
    seed_from_chinesecalendar(CalendarYear, CalendarDay)
    department = DepartmentFactory(code="centre-dept", name="测试市政务服务中心")
    version = make_service("330100-HALL-001", department=department, name="居住证办理")
    centre = ServiceCentre.objects.create(
        code="test-centre",
        name="测试市民中心",
        name_en="Test Citizens' Centre",
        department=department,
        address="测试路1号",
        address_en="1 Test Road",
        opens_at=dt.time(9, 0),
        closes_at=dt.time(17, 0),
        lunch_from=dt.time(12, 0),
        lunch_until=dt.time(13, 30),
        booking_horizon_days=5,
        cancel_until_hours=2,
        no_show_limit=2,
        no_show_window_days=90,
        booking_pause_days=30,
    )
    centre_service = CentreService.objects.create(
        centre=centre, service=version.service, slot_minutes=30, capacity=2
    )
    return centre_service


def slot_at(centre_service: CentreService, when: dt.datetime) -> Slot:
    booking.ensure_slots(centre_service, when.date())
    return Slot.objects.get(centre_service=centre_service, starts_at=when)


def person(n: int = 0, **kwargs):
    return CitizenProfileFactory(**kwargs)


def slot_error(exc: pytest.ExceptionInfo) -> str:
    return " ".join(exc.value.message_dict["slot"])


# --- Where and when -------------------------------------------------------------------------------


def test_the_horizon_counts_working_days_skipping_the_holiday_and_counting_the_make_up_day(hall):
    centre = hall.centre
    assert booking.bookable_days(centre, now=moment("2026-09-30", 10)) == [
        D(2026, 9, 30),
        D(2026, 10, 8),
        D(2026, 10, 9),
        D(2026, 10, 10),  # Saturday, a make-up workday
        D(2026, 10, 12),
        D(2026, 10, 13),
    ]
    # After closing, today is no longer bookable.
    assert booking.bookable_days(centre, now=moment("2026-09-30", 17, 5))[0] == D(2026, 10, 8)


def test_a_year_without_calendar_data_is_never_bookable(hall):
    days = booking.bookable_days(hall.centre, now=moment("2026-12-29", 10))
    assert days == [D(2026, 12, 29), D(2026, 12, 30), D(2026, 12, 31)]


def test_slots_follow_the_hours_less_the_lunch_break(hall):
    times = [
        f"{start.astimezone(SHANGHAI):%H:%M}"
        for start, _ in booking.slot_times(hall, D(2026, 10, 8))
    ]
    assert times[:6] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert times[6:] == ["13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"]
    booking.ensure_slots(hall, D(2026, 10, 8))
    booking.ensure_slots(hall, D(2026, 10, 8))  # made once
    assert Slot.objects.filter(centre_service=hall).count() == 13


# --- Booking rules --------------------------------------------------------------------------------


def test_booking_refuses_the_past_beyond_the_horizon_full_and_twice_a_day(hall):
    now = moment("2026-09-30", 10)
    citizen = person()
    with pytest.raises(ValidationError) as past:
        booking.book(user=citizen.user, slot_id=slot_at(hall, moment("2026-09-30", 9)).pk, now=now)
    assert "该时段已过" in slot_error(past)
    with pytest.raises(ValidationError) as far:
        booking.book(user=citizen.user, slot_id=slot_at(hall, moment("2026-10-14", 9)).pk, now=now)
    assert "最多可提前 5 个工作日" in slot_error(far)
    # The last day of the horizon is bookable.
    last = booking.book(
        user=citizen.user, slot_id=slot_at(hall, moment("2026-10-13", 9)).pk, now=now
    )
    assert last.state == Appointment.State.BOOKED and last.citizen == citizen
    # Twice the same service on one day: refused, even another time.
    with pytest.raises(ValidationError) as twice:
        booking.book(user=citizen.user, slot_id=slot_at(hall, moment("2026-10-13", 14)).pk, now=now)
    assert "您当天已预约过该事项" in slot_error(twice)
    # A full time is refused on `slot`.
    full = slot_at(hall, moment("2026-10-08", 9))
    for _n in range(2):
        booking.book(user=person().user, slot_id=full.pk, now=now)
    with pytest.raises(ValidationError) as taken:
        booking.book(user=citizen.user, slot_id=full.pk, now=now)
    assert "已约满" in slot_error(taken)
    full.refresh_from_db()
    assert full.booked == full.capacity == 2


def test_booking_is_real_name(hall):
    nobody = UserFactory()
    with pytest.raises(ValidationError) as refused:
        booking.book(
            user=nobody,
            slot_id=slot_at(hall, moment("2026-10-08", 9)).pk,
            now=moment("2026-09-30", 10),
        )
    assert "实名" in slot_error(refused)


def test_a_proxy_books_for_the_principal_and_both_see_it(hall):
    with at("2026-09-30"):
        principal = person(real_name="王奶奶")
        agent = person(real_name="王小明")
        authorisation = proxies.grant(
            principal_user=principal.user,
            agent_id_number=agent.id_number,
            agent_real_name=agent.real_name,
            relationship="child",
        )
        appointment = booking.book(
            user=agent.user,
            slot_id=slot_at(hall, moment("2026-10-08", 9)).pk,
            authorisation=booking.held_authorisation(agent.user, authorisation.pk),
        )
        assert appointment.citizen == principal and appointment.booked_by == agent.user
        assert list(booking.appointments_of(principal.user)) == [appointment]
        assert list(booking.appointments_of(agent.user)) == [appointment]
        stranger = person()
        with pytest.raises(ValidationError) as refused:
            booking.held_authorisation(stranger.user, authorisation.pk)
        assert "principal" in refused.value.message_dict
        # Both are told: the principal on every channel, the proxy in their inbox and e-mail.
        told = Notification.objects.filter(event="appointment_booked")
        assert {n.recipient_id for n in told} == {principal.user_id, agent.user_id}
        assert told.filter(channel="sms", person=principal).exists()


# --- Cancel and no-shows --------------------------------------------------------------------------


def test_cancel_is_allowed_until_the_cut_off_and_frees_the_place(hall):
    citizen = person()
    slot = slot_at(hall, moment("2026-10-08", 9))
    first = booking.book(user=citizen.user, slot_id=slot.pk, now=moment("2026-09-30", 10))
    with pytest.raises(ValidationError) as late:
        booking.cancel(user=citizen.user, appointment_id=first.pk, now=moment("2026-10-08", 7, 1))
    assert "开始前 2 小时取消" in " ".join(late.value.messages)
    cancelled = booking.cancel(
        user=citizen.user, appointment_id=first.pk, now=moment("2026-10-08", 6, 59)
    )
    assert cancelled.state == Appointment.State.CANCELLED
    slot.refresh_from_db()
    assert slot.booked == 0
    with pytest.raises(Appointment.DoesNotExist):  # somebody else's: not found
        booking.cancel(user=person().user, appointment_id=first.pk, now=moment("2026-10-08", 6))
    # Cancelled, the same person may book that day again.
    booking.book(user=citizen.user, slot_id=slot.pk, now=moment("2026-10-08", 7))


def test_repeated_no_shows_pause_booking_with_the_reason_and_the_day_it_reopens(hall):
    citizen = person()
    first = booking.book(
        user=citizen.user,
        slot_id=slot_at(hall, moment("2026-10-08", 9)).pk,
        now=moment("2026-09-30", 10),
    )
    arrived = booking.book(user=person().user, slot_id=first.slot_id, now=moment("2026-09-30", 10))
    Appointment.objects.filter(pk=arrived.pk).update(state=Appointment.State.ARRIVED)
    assert booking.mark_no_shows(now=moment("2026-10-08", 16, 59)) == 0  # still open
    assert booking.mark_no_shows(now=moment("2026-10-08", 17, 0)) == 1
    assert booking.mark_no_shows(now=moment("2026-10-08", 18, 0)) == 0  # once
    first.refresh_from_db()
    arrived.refresh_from_db()
    assert (first.state, arrived.state) == ("no_show", "arrived")
    # One missed visit does not pause (the limit is 2).
    second = booking.book(
        user=citizen.user,
        slot_id=slot_at(hall, moment("2026-10-09", 9)).pk,
        now=moment("2026-10-08", 18),
    )
    booking.mark_no_shows(now=moment("2026-10-09", 17, 30))
    second.refresh_from_db()
    assert second.state == "no_show"
    notice = Notification.objects.filter(event="appointment_missed", channel="inbox").first()
    assert notice.context["reopens_on"] == "2026-11-08"
    with pytest.raises(ValidationError) as paused:
        booking.book(
            user=citizen.user,
            slot_id=slot_at(hall, moment("2026-10-12", 9)).pk,
            now=moment("2026-10-09", 18),
        )
    reason = slot_error(paused)
    assert "在 90 天内有 2 次预约失约" in reason
    assert "2026-11-08" in reason
    # From the day it reopens, booking works again.
    again = booking.book(
        user=citizen.user,
        slot_id=slot_at(hall, moment("2026-11-09", 9)).pk,
        now=moment("2026-11-08", 10),
    )
    assert again.state == "booked"


def test_the_reminder_goes_the_day_before_once_through_the_outbox(hall):
    citizen = person()
    appointment = booking.book(
        user=citizen.user,
        slot_id=slot_at(hall, moment("2026-10-09", 10)).pk,
        now=moment("2026-10-08", 10),
    )
    late = booking.book(
        user=person().user, slot_id=appointment.slot_id, now=moment("2026-10-08", 19)
    )
    assert booking.send_reminders(now=moment("2026-10-08", 17, 59)) == 0
    assert booking.send_reminders(now=moment("2026-10-08", 18, 0)) == 1
    assert booking.send_reminders(now=moment("2026-10-08", 20, 0)) == 0
    appointment.refresh_from_db()
    late.refresh_from_db()
    assert appointment.reminded_at is not None and late.reminded_at is None
    reminders = Notification.objects.filter(event="appointment_reminder")
    assert sorted(reminders.values_list("channel", flat=True)) == ["email", "inbox", "sms"]
    assert {n.recipient_id for n in reminders} == {citizen.user_id}
    # What the person reads: the code, the time and the address.
    from cases.notifications.services import deliver

    inbox = reminders.get(channel="inbox")
    assert deliver(inbox.pk) == "sent"
    inbox.refresh_from_db()
    assert appointment.code in inbox.body and "10:00–10:30" in inbox.body
    assert "测试路1号" in inbox.body
    text = reminders.get(channel="sms")
    assert deliver(text.pk) == "sent"
    text.refresh_from_db()
    assert appointment.code in text.body and len(f"【一网通办】{text.body}") <= 134  # two segments


# --- 20 people, the last place --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_bookings_for_the_last_place_exactly_one_wins():
    seed_from_chinesecalendar(CalendarYear, CalendarDay)
    department = DepartmentFactory(code="race-dept")
    version = make_service("330100-RACE-001", department=department)
    centre = ServiceCentre.objects.create(
        code="race", name="竞争中心", department=department, address="测试路2号"
    )
    centre_service = CentreService.objects.create(
        centre=centre, service=version.service, capacity=3
    )
    now = moment("2026-09-30", 10)
    slot = slot_at(centre_service, moment("2026-10-08", 9))
    for _n in range(2):
        booking.book(user=person().user, slot_id=slot.pk, now=now)
    users = [person().user for _n in range(20)]
    start = threading.Barrier(20)
    won, refused, errors = [], [], []

    def attempt(user):
        try:
            start.wait()
            booking.book(user=user, slot_id=slot.pk, now=now)
            won.append(user.pk)
        except ValidationError as exc:
            refused.append(" ".join(exc.message_dict["slot"]))
        except Exception as exc:  # noqa: BLE001 - any other failure fails the test below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(won) == 1
    assert len(refused) == 19 and all("已约满" in message for message in refused)
    slot.refresh_from_db()
    assert slot.booked == slot.capacity == 3
    assert Appointment.objects.filter(slot=slot, state="booked").count() == 3


# --- API ------------------------------------------------------------------------------------------


def test_api_slots_book_mine_and_cancel(hall, django_assert_max_num_queries):
    citizen = person()
    client = logged_in(citizen.user)
    with at("2026-09-30", 10):
        url = (
            "/api/v1/appointments/slots/?service=330100-HALL-001&centre=test-centre&date=2026-10-08"
        )
        slots = client.get(url)
        assert slots.status_code == 200
        assert len(slots.json()) == 13
        first = slots.json()[0]
        # DESIGN's shape ({id, centre, starts_at, ends_at, free}), `places_left` kept beside it.
        assert set(first) == {"id", "centre", "starts_at", "ends_at", "free", "places_left"}
        assert first["starts_at"].startswith("2026-10-08T09:00:00+08:00")
        assert first["free"] == first["places_left"] == 2 and first["centre"] == "test-centre"

        assert client.get(url.replace("2026-10-08", "2026-10-01")).status_code == 400  # holiday
        bad = client.get(url.replace("2026-10-08", "not-a-date"))
        assert bad.status_code == 400 and "date" in bad.json()["errors"]
        assert client.get(url.replace("test-centre", "nowhere")).status_code == 404

        wrong = client.post(
            "/api/v1/appointments/",
            {"slot": first["id"], "service": "330100-OTHER-001"},
            content_type="application/json",
        )
        assert wrong.status_code == 400 and "service" in wrong.json()["errors"]
        made = client.post(
            "/api/v1/appointments/",
            {"slot": first["id"], "service": "330100-HALL-001"},
            content_type="application/json",
        )
        assert made.status_code == 201, made.json()
        body = made.json()
        assert body["slot"] == first["id"]
        assert set(body) >= {
            "id",
            "code",
            "slot",
            "service",
            "centre",
            "starts_at",
            "state",
            "cancellable_until",
        }
        assert body["service"] == "330100-HALL-001" and body["centre"] == "test-centre"
        assert body["state"] == "booked"
        assert body["cancellable_until"].startswith("2026-10-08T07:00:00+08:00")

        again = client.post(
            "/api/v1/appointments/", {"slot": first["id"]}, content_type="application/json"
        )
        assert again.status_code == 400 and "slot" in again.json()["errors"]
        other = logged_in(person().user)
        # Full: the second place goes, then the third attempt is refused on `slot`.
        assert (
            other.post(
                "/api/v1/appointments/", {"slot": first["id"]}, content_type="application/json"
            ).status_code
            == 201
        )
        full = logged_in(person().user).post(
            "/api/v1/appointments/", {"slot": first["id"]}, content_type="application/json"
        )
        assert full.status_code == 400 and "已约满" in full.json()["errors"]["slot"][0]
        proxy = client.post(
            "/api/v1/appointments/",
            {"slot": first["id"] + 1, "principal": 999},
            content_type="application/json",
        )
        assert proxy.status_code == 400 and "principal" in proxy.json()["errors"]

        mine = client.get("/api/v1/appointments/")
        assert mine.status_code == 200
        assert [a["code"] for a in mine.json()["results"]] == [body["code"]]
        assert other.post(f"/api/v1/appointments/{body['id']}/cancel/").status_code == 404
        cancelled = client.post(f"/api/v1/appointments/{body['id']}/cancel/")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        twice = client.post(f"/api/v1/appointments/{body['id']}/cancel/")
        assert twice.status_code == 400


def test_api_refuses_past_beyond_the_horizon_and_paused(hall):
    citizen = person()
    client = logged_in(citizen.user)
    past = slot_at(hall, moment("2026-09-30", 9))
    far = slot_at(hall, moment("2026-10-14", 9))
    with at("2026-09-30", 10):
        for slot in (past, far):
            answer = client.post(
                "/api/v1/appointments/", {"slot": slot.pk}, content_type="application/json"
            )
            assert answer.status_code == 400 and "slot" in answer.json()["errors"]
        assert (
            client.post(
                "/api/v1/appointments/", {"slot": "x"}, content_type="application/json"
            ).status_code
            == 400
        )
    for day in ("2026-10-08", "2026-10-09"):
        missed = slot_at(hall, moment(day, 9))
        Appointment.objects.create(
            slot=missed, citizen=citizen, booked_by=citizen.user, state="no_show"
        )
    with at("2026-10-12", 8):
        paused = client.post(
            "/api/v1/appointments/",
            {"slot": slot_at(hall, moment("2026-10-13", 9)).pk},
            content_type="application/json",
        )
    assert paused.status_code == 400
    assert "2026-11-08" in paused.json()["errors"]["slot"][0]


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


def test_my_appointments_query_count_does_not_grow(hall):
    """ "My appointments", page and API: as many queries for five bookings as for one."""
    citizen = person()
    client = logged_in(citizen.user)
    days = ["2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12", "2026-10-13"]

    def book(day):
        booking.book(
            user=citizen.user,
            slot_id=slot_at(hall, moment(day, 9)).pk,
            now=moment("2026-09-30", 10),
        )

    book(days[0])
    with at("2026-09-30", 10):
        queries(client, "/appointments/")  # Django's caches (content types) warm
        one = [queries(client, "/api/v1/appointments/"), queries(client, "/appointments/")]
    for day in days[1:]:
        book(day)
    with at("2026-09-30", 10):
        five = [queries(client, "/api/v1/appointments/"), queries(client, "/appointments/")]
        assert len(client.get("/api/v1/appointments/").json()["results"]) == 5
    assert five == one


def test_the_slots_query_count_does_not_grow(hall):
    """The day's times, page and API: as many queries for a day of 13 times as for one of 7."""
    client = logged_in(person().user)
    api = "/api/v1/appointments/slots/?service=330100-HALL-001&centre=test-centre&date={}"
    page = "/appointments/book/330100-HALL-001/?centre=test-centre&date={}"
    with at("2026-09-30", 10):
        for url in (api, page):
            client.get(url.format("2026-10-08"))  # the slots made once, before counting
            client.get(url.format("2026-10-09"))
        full_day = [
            queries(client, api.format("2026-10-08")),
            queries(client, page.format("2026-10-08")),
        ]
    with at("2026-10-09", 12):  # 13:30 to 17:00 only
        # Nine days on, the per-account facts (accounts/facts.py) have expired: filled again first.
        for url in (api, page):
            client.get(url.format("2026-10-09"))
        half_day = [
            queries(client, api.format("2026-10-09")),
            queries(client, page.format("2026-10-09")),
        ]
    assert full_day == half_day


# --- Pages ----------------------------------------------------------------------------------------


def test_guide_book_confirm_list_and_cancel_pages(hall, django_assert_max_num_queries):
    citizen = person()
    client = logged_in(citizen.user)
    guide = client.get("/services/330100-HALL-001/")
    assert guide.status_code == 200
    assert "/appointments/book/330100-HALL-001/" in guide.content.decode()
    with at("2026-09-30", 10):
        page = client.get("/appointments/book/330100-HALL-001/")
        assert page.status_code == 200
        html = page.content.decode()
        assert 'value="2026-10-10"' in html and 'value="2026-10-01"' not in html
        chosen = "/appointments/book/330100-HALL-001/?centre=test-centre&date=2026-10-08"
        times = client.get(chosen)
        assert "<fieldset" in times.content.decode() and "<legend" in times.content.decode()
        # No time chosen: the error is on the page, linked to the field.
        empty = client.post(chosen, {})
        assert empty.status_code == 200
        assert (
            'href="#id_slot_0"' in empty.content.decode()
            or 'href="#id_slot"' in empty.content.decode()
        )
        slot = Slot.objects.get(centre_service=hall, starts_at=moment("2026-10-08", 9))
        made = client.post(chosen, {"slot": slot.pk})
        assert made.status_code == 302
        appointment = Appointment.objects.get(citizen=citizen)
        confirmation = client.get(made["Location"]).content.decode()
        assert appointment.code in confirmation and "booking-code" in confirmation
        assert "测试路1号" in confirmation
        mine = client.get("/appointments/").content.decode()
        assert appointment.code in mine
        assert client.get(f"/appointments/{appointment.pk}/", follow=False).status_code == 200
        assert logged_in(person().user).get(f"/appointments/{appointment.pk}/").status_code == 404
        cancelled = client.post(f"/appointments/{appointment.pk}/cancel/", follow=True)
        assert cancelled.status_code == 200
    appointment.refresh_from_db()
    assert appointment.state == "cancelled"


def test_the_booking_page_shows_the_pause_and_when_it_ends(hall):
    citizen = person()
    for day in ("2026-10-08", "2026-10-09"):
        Appointment.objects.create(
            slot=slot_at(hall, moment(day, 9)),
            citizen=citizen,
            booked_by=citizen.user,
            state="no_show",
        )
    with at("2026-10-12", 8):
        page = logged_in(citizen.user).get("/appointments/book/330100-HALL-001/")
    assert "2026-11-08" in page.content.decode()


def test_the_booking_trail_records_booking_cancelling_and_no_shows(hall):
    from auditlog.models import LogEntry

    citizen = person()
    appointment = booking.book(
        user=citizen.user,
        slot_id=slot_at(hall, moment("2026-10-08", 9)).pk,
        now=moment("2026-09-30", 10),
    )
    booking.cancel(user=citizen.user, appointment_id=appointment.pk, now=moment("2026-09-30", 11))
    other = booking.book(
        user=citizen.user,
        slot_id=slot_at(hall, moment("2026-10-08", 10)).pk,
        now=moment("2026-09-30", 12),
    )
    booking.mark_no_shows(now=moment("2026-10-08", 18))
    entries = LogEntry.objects.filter(content_type__model="appointment").order_by("pk")
    states = [
        (entry.object_pk, entry.action, (entry.changes_dict.get("state") or [None, None])[1])
        for entry in entries
    ]
    assert (str(appointment.pk), LogEntry.Action.CREATE, "booked") in states
    assert (str(appointment.pk), LogEntry.Action.UPDATE, "cancelled") in states
    assert (str(other.pk), LogEntry.Action.UPDATE, "no_show") in states
    assert all(citizen.real_name not in str(entry.changes) for entry in entries)


# --- Admin and demo -------------------------------------------------------------------------------


def test_a_department_admin_sees_and_edits_their_own_centres_only(hall):
    admin_user = UserFactory(is_staff=True)
    StaffMembershipFactory(
        user=admin_user, department=hall.centre.department, role=Role.DEPARTMENT_ADMIN
    )
    admin_user.groups.add(ensure_department_admin_group())
    elsewhere = ServiceCentre.objects.create(
        code="elsewhere", name="别处中心", department=DepartmentFactory(), address="别处路1号"
    )
    client = logged_in(admin_user)
    listing = client.get("/admin/hall/servicecentre/")
    assert listing.status_code == 200
    assert "测试市民中心" in listing.content.decode() and "别处中心" not in listing.content.decode()
    assert client.get(f"/admin/hall/servicecentre/{hall.centre.pk}/change/").status_code == 200
    assert client.get(f"/admin/hall/servicecentre/{elsewhere.pk}/change/").status_code == 404
    assert client.get("/admin/hall/servicecentre/add/").status_code == 200
    # They add a window serving the centre's service and save: it saves, and the trail has it.
    change = f"/admin/hall/servicecentre/{hall.centre.pk}/change/"
    data = form_data(client.get(change))
    data.update(
        {
            "windows-TOTAL_FORMS": "1",
            "windows-0-number": "5",
            "windows-0-label": "综合窗口",
            "windows-0-active": "on",
            "windows-0-services": [str(hall.service_id)],
            "windows-0-centre": str(hall.centre.pk),
        }
    )
    saved = client.post(change, data)
    assert saved.status_code == 302, errors_of(saved)
    window = hall.centre.windows.get(number=5)
    assert list(window.services.all()) == [hall.service]
    from auditlog.models import LogEntry

    assert LogEntry.objects.filter(content_type__model="window", actor=admin_user).exists()
    # Another department's department cannot be chosen as the operator.
    assert elsewhere.department_id not in [
        choice.value
        for choice, _label in client.get(change)
        .context["adminform"]
        .form.fields["department"]
        .choices
        if choice
    ]


def test_the_demo_centre_loads_once(db):
    from accounts import demo as accounts_demo
    from services import demo as services_demo

    accounts_demo.load("demo-password-for-tests-1")
    services_demo.load()
    first = hall_demo.load()
    assert first >= 3
    assert hall_demo.load() == first
    centre = ServiceCentre.objects.get(code=hall_demo.CENTRE_CODE)
    assert list(centre.windows.values_list("number", flat=True)) == [1, 2, 3, 4]
    assert centre.lunch_from == dt.time(12, 0)
    assert Client().get(f"/services/{centre.services.first().service.code}/").status_code == 200


# --- In Chromium: axe on the booking pages --------------------------------------------------------


@pytest.fixture
def live_hall(transactional_db):
    """A centre for the browser, on today's real calendar (a year without data gets a plain one,
    so the test also runs in years the holiday package does not know yet)."""
    from django.utils import timezone

    seed_from_chinesecalendar(CalendarYear, CalendarDay)
    today = timezone.localdate()
    for year in (today.year, today.year + 1):
        CalendarYear.objects.get_or_create(year=year, defaults={"source": "test"})
    department = DepartmentFactory(code="centre-dept", name="测试市政务服务中心")
    version = make_service(
        "330100-HALL-001", department=department, name="居住证办理", name_en="Residence permit"
    )
    centre = ServiceCentre.objects.create(
        code="test-centre",
        name="测试市民中心",
        name_en="Test Citizens' Centre",
        department=department,
        address="测试路1号",
        address_en="1 Test Road",
        lunch_from=dt.time(12, 0),
        lunch_until=dt.time(13, 30),
    )
    CentreService.objects.create(centre=centre, service=version.service)
    ServiceCentre.objects.create(
        code="second-centre",
        name="第二市民中心",
        name_en="Second Citizens' Centre",
        department=department,
        address="测试路2号",
        address_en="2 Test Road",
    ).services.create(service=version.service)
    return CitizenProfileFactory(user__username="booker", real_name="李四")


@pytest.mark.browser
def test_the_booking_pages_are_axe_clean_on_a_phone_in_chinese_english_and_elder_mode(
    live_hall, live_server
):
    from playwright.sync_api import expect

    from .support.browser import axe_problems, chromium, sign_in

    problems = []
    with chromium() as browser:
        context = browser.new_context(
            base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844}
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        sign_in(page, live_server.url, "booker")
        page.goto("/services/330100-HALL-001/")
        problems += axe_problems(page, "guide")
        page.locator("a[href='/appointments/book/330100-HALL-001/']").click()
        expect(page.locator("h1")).to_contain_text("居住证办理")
        problems += axe_problems(page, "choose the day")
        page.locator("input[name=centre]").first.check()
        page.locator("input[name=date]").last.check()
        page.locator("form[method=get] button[type=submit]").click()
        expect(page.locator("input[name=slot]").first).to_be_visible()
        problems += axe_problems(page, "choose the time")
        page.locator("form[method=post].stack button[type=submit]").click()  # no time chosen
        expect(page.locator(".error-summary")).to_be_visible()
        problems += axe_problems(page, "error")
        page.locator("input[name=slot]").first.check()
        page.locator("form[method=post].stack button[type=submit]").click()
        expect(page.locator(".booking-code")).to_be_visible()
        code = Appointment.objects.get().code
        expect(page.locator(".booking-code")).to_have_text(code)
        problems += axe_problems(page, "confirmation")
        page.goto("/appointments/")
        problems += axe_problems(page, "mine")
        page.locator("button[name=elder_mode]").click()
        page.goto("/appointments/book/330100-HALL-001/?centre=test-centre")
        problems += axe_problems(page, "elder: choose the day")
        page.locator("button[name=elder_mode]").click()
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.goto("/appointments/book/330100-HALL-001/?centre=test-centre")
        problems += axe_problems(page, "English: choose the day")
        page.goto("/appointments/")
        problems += axe_problems(page, "English: mine")
        context.close()
        # The ORM calls made while Playwright's loop ran have a connection of their own: closed.
        connections.close_all()
    assert problems == []


def test_ids_past_64_bits_and_odd_input_are_never_a_500(hall):
    client = logged_in(person().user)
    huge = 2**70
    assert client.post(f"/api/v1/appointments/{huge}/cancel/").status_code == 404
    assert client.get(f"/appointments/{huge}/").status_code == 404
    assert client.post(f"/appointments/{huge}/cancel/").status_code == 404
    too_big = client.post("/api/v1/appointments/", {"slot": huge}, content_type="application/json")
    assert too_big.status_code == 400 and "slot" in too_big.json()["errors"]
    named = client.post(
        "/api/v1/appointments/",
        {"slot": huge, "service": "330100-HALL-001"},
        content_type="application/json",
    )
    assert named.status_code == 400 and "slot" in named.json()["errors"]
    odd = "/api/v1/appointments/slots/?service=%00&centre=x&date=2026-10-08"
    assert client.get(odd).status_code in (400, 404)
    page = client.get("/appointments/book/330100-HALL-001/?centre=nowhere&date=1999-01-01")
    assert page.status_code == 200


def test_english_booking_pages_leave_no_chinese_unmarked(hall):
    from .support.lang import unmarked_chinese

    with at("2026-09-30", 10):
        principal = person(real_name="王奶奶")
        agent = person(real_name="王小明")
        authorisation = proxies.grant(
            principal_user=principal.user,
            agent_id_number=agent.id_number,
            agent_real_name=agent.real_name,
            relationship="child",
        )
        client = logged_in(agent.user)
        client.post("/accounts/language/", {"language": "en"})
        chosen = "/appointments/book/330100-HALL-001/?centre=test-centre&date=2026-10-08"
        slot = slot_at(hall, moment("2026-10-08", 9))
        made = client.post(chosen, {"slot": slot.pk, "principal": authorisation.pk})
        assert made.status_code == 302, made.content.decode()
        assert Appointment.objects.get().citizen == principal
        for url in ("/services/330100-HALL-001/", chosen, made["Location"], "/appointments/"):
            page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
            html = page.content.decode()
            assert '<html lang="en"' in html, url
            assert unmarked_chinese(html) == [], url
