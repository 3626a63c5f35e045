"""Issue 19, items 3, 4 and the calls of 6: queue tickets on arrival (kiosk or clerk), calling at
the clerk's window (appointments first within their slot), the hall display, the citizen's phone,
the call message through the outbox, the case filed recorded on the ticket, and the waiting and
service times on the statistics page and in the exports."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connections
from django.test import Client

from accounts.models import Role
from cases.hall import queue
from cases.hall.models import Appointment, CentreService, ServiceCentre, Slot, Ticket, Window
from cases.models import Case, Notification, NotificationEvent

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    id_number_for,
    logged_in,
    make_service,
)
from .support.clock import SHANGHAI

DAY = dt.date(2026, 12, 2)  # a Wednesday


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(at(9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def hall(db, settings, tmp_path, clock):
    """A centre with two services: window 1 serves both, window 2 only the first, window 3 only
    the second; a counter clerk."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="zwfw")
    licence = make_service("H-1", department=department, name="食品经营许可").service
    residence = make_service("H-2", department=department, name="居住证办理").service
    centre = ServiceCentre.objects.create(
        code="hq", name="市民中心", name_en="Citizens' Centre", department=department,
        address="人民路 1 号",
    )  # fmt: skip
    for service in (licence, residence):
        CentreService.objects.create(centre=centre, service=service, slot_minutes=30, capacity=4)
    windows = {}
    for number, services in ((1, [licence, residence]), (2, [licence]), (3, [residence])):
        windows[number] = Window.objects.create(centre=centre, number=number)
        windows[number].services.set(services)
    clerk = StaffMembershipFactory(
        department=department, role=Role.COUNTER_CLERK, user__username="clerk"
    ).user
    other_clerk = StaffMembershipFactory(
        department=department, role=Role.COUNTER_CLERK, user__username="clerk2"
    ).user
    return {
        "centre": centre, "licence": licence, "residence": residence, "windows": windows,
        "clerk": clerk, "other_clerk": other_clerk, "department": department,
    }  # fmt: skip


def book(hall, *, start: dt.datetime, service=None, citizen=None) -> Appointment:
    """An appointment made directly (the booking pages are the appointments work's)."""
    centre_service = CentreService.objects.get(
        centre=hall["centre"], service=service or hall["licence"]
    )
    slot, _new = Slot.objects.get_or_create(
        centre_service=centre_service, starts_at=start,
        defaults={"ends_at": start + dt.timedelta(minutes=30), "capacity": 4},
    )  # fmt: skip
    citizen = citizen or CitizenProfileFactory()
    slot.booked += 1
    slot.save(update_fields=["booked"])
    return Appointment.objects.create(slot=slot, citizen=citizen, booked_by=citizen.user)


def walk_in(hall, service=None, **kwargs) -> Ticket:
    return queue.issue_ticket(centre=hall["centre"], service=service or hall["licence"], **kwargs)


# --- Issuing -------------------------------------------------------------------------------------


def test_numbers_run_per_prefix_and_restart_each_day(hall, clock):
    first, second = walk_in(hall), walk_in(hall, hall["residence"])
    appointment = book(hall, start=at(9))
    by_code = queue.issue_ticket(centre=hall["centre"], appointment_code=appointment.code)
    assert [first.number, second.number, by_code.number] == ["A001", "A002", "Y001"]
    clock.move_to(at(9, day=DAY + dt.timedelta(days=1)))
    assert walk_in(hall).number == "A001"
    assert Ticket.objects.filter(number="A001").count() == 2


def test_an_appointment_code_marks_the_arrival_and_is_used_once(hall, clock):
    appointment = book(hall, start=at(9, 30))
    ticket = queue.issue_ticket(centre=hall["centre"], appointment_code=appointment.code.lower())
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.ARRIVED and appointment.arrived_at == at(9)
    assert ticket.citizen == appointment.citizen and ticket.priority == 0
    assert ticket.service == hall["licence"]
    again = queue.issue_ticket(centre=hall["centre"], appointment_code=appointment.code)
    assert again == ticket and Ticket.objects.count() == 1


def test_codes_of_another_day_or_centre_or_cancelled_are_refused(hall, clock):
    tomorrow = book(hall, start=at(10, day=DAY + dt.timedelta(days=1)))
    cancelled = book(hall, start=at(10))
    Appointment.objects.filter(pk=cancelled.pk).update(state=Appointment.State.CANCELLED)
    for code in (tomorrow.code, cancelled.code, "NOTACODE", "' OR 1=1"):
        with pytest.raises(Exception) as refused:
            queue.issue_ticket(centre=hall["centre"], appointment_code=code)
        assert "appointment_code" in refused.value.message_dict
    assert not Ticket.objects.exists()


def test_a_late_arrival_queues_as_a_walk_in(hall, clock):
    appointment = book(hall, start=at(8))  # 8:00–8:30, it is 9:00
    ticket = queue.issue_ticket(centre=hall["centre"], appointment_code=appointment.code)
    assert ticket.priority == 1 and ticket.number == "Y001"


def test_by_id_number_the_appointment_is_found_or_a_walk_in_names_the_person(hall):
    booked = CitizenProfileFactory()
    appointment = book(hall, start=at(9), citizen=booked)
    ticket = queue.issue_ticket(centre=hall["centre"], id_number=booked.id_number)
    assert ticket.appointment == appointment and ticket.number == "Y001"
    known = CitizenProfileFactory()
    ticket = walk_in(hall, id_number=known.id_number)
    assert ticket.citizen == known and ticket.appointment is None and ticket.number == "A001"
    stranger = walk_in(hall, id_number=id_number_for(4242))
    assert stranger.citizen is None
    with pytest.raises(Exception) as refused:
        walk_in(hall, id_number=id_number_for(4242)[:-1] + "0")
    assert "id_number" in refused.value.message_dict


def test_a_service_not_served_here_is_refused(hall):
    elsewhere = make_service("H-9", department=hall["department"]).service
    with pytest.raises(Exception) as refused:
        walk_in(hall, elsewhere)
    assert "service" in refused.value.message_dict


def test_the_kiosk_page_issues_without_sign_in_and_shows_errors_in_the_page(hall):
    client = Client()
    page = client.get("/hall/hq/kiosk/")
    assert page.status_code == 200 and "食品经营许可" in page.content.decode()
    refused = client.post("/hall/hq/kiosk/", {"a-appointment_code": "ZZZZZZZZ", "by_code": ""})
    assert refused.status_code == 400
    assert 'aria-invalid="true"' in refused.content.decode()
    response = client.post(
        "/hall/hq/kiosk/", {"w-service": hall["licence"].pk, "walk_in": ""}, follow=True
    )
    assert response.status_code == 200 and "A001" in response.content.decode()
    # Waiting, not yet called to a window (the called words live only in the script's data-go).
    assert '<strong data-field="state">等候中</strong>' in response.content.decode()
    assert "号窗口办理。</p>" not in response.content.decode()


def test_the_kiosk_is_limited_per_address(hall, settings):
    settings.HALL_KIOSK_LIMIT = 2
    client = Client()
    for _ in range(2):
        client.post("/hall/hq/kiosk/", {"w-service": hall["licence"].pk, "walk_in": ""})
    response = client.post("/hall/hq/kiosk/", {"w-service": hall["licence"].pk, "walk_in": ""})
    assert response.status_code == 429 and Ticket.objects.count() == 2


def test_no_id_number_is_stored(hall):
    known = CitizenProfileFactory()
    walk_in(hall, id_number=known.id_number)
    walk_in(hall, id_number=id_number_for(77))
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT * FROM hall_ticket")
        rows = repr(cursor.fetchall())
    assert known.id_number not in rows and id_number_for(77) not in rows


# --- Calling -------------------------------------------------------------------------------------


def test_ticket_order_appointments_first_within_their_slot_then_issue_order(hall, clock):
    w1 = walk_in(hall)  # A001 at 9:00
    clock.move_to(at(9, 5))
    early = book(hall, start=at(10))  # arrives 9:05 for 10:00
    early_ticket = queue.issue_ticket(centre=hall["centre"], appointment_code=early.code)
    clock.move_to(at(9, 10))
    w2 = walk_in(hall)
    other_service = walk_in(hall, hall["residence"])
    clock.move_to(at(9, 20))
    now_booked = book(hall, start=at(9, 0))  # its slot runs 9:00–9:30
    on_time = queue.issue_ticket(centre=hall["centre"], appointment_code=now_booked.code)
    window = hall["windows"][2]  # serves the licence only
    assert list(queue.waiting_for(window)) == [on_time, w1, early_ticket, w2]
    # The early one's slot has begun: it goes before the walk-ins now, and before the other
    # appointment too, as it came first.
    clock.move_to(at(10, 0))
    assert list(queue.waiting_for(window)) == [early_ticket, on_time, w1, w2]
    called = [queue.call_next(window=window, clerk=hall["clerk"])]
    for _ in range(3):
        queue.finish(window=window, clerk=hall["clerk"])
        called.append(queue.call_next(window=window, clerk=hall["clerk"]))
    assert called == [early_ticket, on_time, w1, w2]
    queue.finish(window=window, clerk=hall["clerk"])
    assert queue.call_next(window=window, clerk=hall["clerk"]) is None  # only its services
    assert Ticket.objects.get(pk=other_service.pk).state == Ticket.State.WAITING


def test_a_window_calls_again_only_when_its_ticket_is_done(hall):
    walk_in(hall), walk_in(hall)
    window = hall["windows"][1]
    queue.call_next(window=window, clerk=hall["clerk"])
    with pytest.raises(Exception, match="A001"):
        queue.call_next(window=window, clerk=hall["clerk"])


def _in_threads(count: int, target) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_windows_calling_at_once_never_get_the_same_ticket(hall):
    for _ in range(3):
        walk_in(hall)
    windows = [hall["windows"][1], hall["windows"][2]]
    clerks = [hall["clerk"], hall["other_clerk"]]
    for _round in range(3):
        results = _in_threads(2, lambda i: queue.call_next(window=windows[i], clerk=clerks[i]))
        assert not any(isinstance(result, Exception) for result in results), results
        got = [result.pk for result in results if result is not None]
        assert len(got) == len(set(got))
        for window, result in zip(windows, results, strict=True):
            if result is not None:
                queue.finish(window=window, clerk=clerks[windows.index(window)])
    assert Ticket.objects.filter(state=Ticket.State.DONE).count() == 3
    assert set(Ticket.objects.values_list("window__number", flat=True)) <= {1, 2}


def test_two_windows_calling_concurrently_share_out_the_queue(hall):
    """Also without threads: what one window holds locked, the other skips."""
    first, second = walk_in(hall), walk_in(hall)
    a = queue.call_next(window=hall["windows"][1], clerk=hall["clerk"])
    b = queue.call_next(window=hall["windows"][2], clerk=hall["other_clerk"])
    assert {a, b} == {first, second}


def test_recall_counts_and_no_show_ends_the_ticket(hall, clock):
    ticket = walk_in(hall)
    window = hall["windows"][2]
    queue.call_next(window=window, clerk=hall["clerk"])
    clock.move_to(at(9, 3))
    queue.recall(window=window, clerk=hall["clerk"])
    ticket.refresh_from_db()
    assert ticket.calls == 2 and ticket.called_at == at(9) and ticket.last_called_at == at(9, 3)
    queue.mark_no_show(window=window, clerk=hall["clerk"])
    ticket.refresh_from_db()
    assert ticket.state == Ticket.State.NO_SHOW and ticket.finished_at == at(9, 3)
    with pytest.raises(Exception):  # noqa: B017 - nothing left to recall
        queue.recall(window=window, clerk=hall["clerk"])
    from auditlog.models import LogEntry

    changes = [entry.changes for entry in LogEntry.objects.filter(object_pk=str(ticket.pk))]
    assert any("calls" in c for c in changes) and any("state" in c for c in changes)
    assert not any("token" in c for c in changes)


def test_only_counter_clerks_call(hall):
    walk_in(hall)
    citizen = CitizenProfileFactory().user
    with pytest.raises(Exception):  # noqa: B017
        queue.call_next(window=hall["windows"][1], clerk=citizen)
    assert logged_in(citizen).get("/hall/hq/desk/").status_code == 404
    response = logged_in(citizen).post(f"/api/v1/hall/windows/{hall['windows'][1].pk}/call-next/")
    assert response.status_code == 403


def test_the_call_is_told_through_the_outbox(hall):
    person = CitizenProfileFactory()
    appointment = book(hall, start=at(9), citizen=person)
    queue.issue_ticket(centre=hall["centre"], appointment_code=appointment.code)
    walk_in(hall)  # anonymous: nobody to tell
    queue.call_next(window=hall["windows"][2], clerk=hall["clerk"])
    rows = Notification.objects.filter(event=NotificationEvent.HALL_CALLED)
    assert {row.channel for row in rows} == {"inbox", "sms"}
    assert all(row.context["window"] == 2 and row.context["number"] == "Y001" for row in rows)
    from cases.notifications.services import deliver

    sms = rows.get(channel="sms")
    deliver(sms.pk)
    sms.refresh_from_db()
    assert sms.state == "sent" and "请 Y001 号到 2 号窗口办理" in sms.body
    queue.recall(window=hall["windows"][2], clerk=hall["clerk"])
    assert Notification.objects.filter(event=NotificationEvent.HALL_CALLED).count() == 4


# --- The desk, the counter and the case ------------------------------------------------------------


def test_the_desk_serves_a_ticket_into_the_counter_and_the_case_records_it(hall, settings):
    person = CitizenProfileFactory(real_name="李四")
    appointment = book(hall, start=at(9), citizen=person)
    ticket = queue.issue_ticket(centre=hall["centre"], appointment_code=appointment.code)
    client = logged_in(hall["clerk"])
    assert client.get("/hall/hq/desk/").status_code == 200
    client.post("/hall/hq/desk/", {"action": "window", "window": hall["windows"][1].pk})
    page = client.get("/hall/hq/desk/").content.decode()
    assert "Y001" in page and 'accesskey="n"' in page
    client.post("/hall/hq/desk/", {"action": "call"})
    response = client.post("/hall/hq/desk/", {"action": "start"})
    assert response.status_code == 302 and response.url == "/counter/apply/"
    form = client.get("/counter/apply/").content.decode()
    assert "李四" in form and 'value="Y001"' in form
    assert person.id_number not in form  # masked
    version = hall["licence"].current_version
    response = client.post(
        "/counter/apply/",
        {"shop_area": "20", "counter-queue_ticket": "Y001",
         "received": [str(version.materials.get().pk)]},
    )  # fmt: skip
    assert response.status_code == 302, response.context["form"].errors
    case = Case.objects.get(applicant=person)
    ticket.refresh_from_db()
    assert ticket.case == case and case.queue_ticket == "Y001"
    client.post("/hall/hq/desk/", {"action": "finish"})
    ticket.refresh_from_db()
    assert ticket.state == Ticket.State.DONE


def test_the_desk_says_when_nobody_waits_and_a_clerk_issues_a_ticket(hall):
    client = logged_in(hall["clerk"])
    client.post("/hall/hq/desk/", {"action": "window", "window": hall["windows"][3].pk})
    response = client.post("/hall/hq/desk/", {"action": "call"})
    assert "Nobody is waiting" in response.content.decode() or "无人" in response.content.decode()
    response = client.post("/hall/hq/desk/", {"action": "issue", "t-service": hall["residence"].pk})
    assert response.status_code == 200 and "A001" in response.content.decode()


# --- The citizen's phone and the display ---------------------------------------------------------


def test_the_phone_shows_the_place_in_the_queue_and_then_the_window(hall, clock):
    walk_in(hall), walk_in(hall, hall["residence"])
    clock.move_to(at(9, 1))
    person = CitizenProfileFactory(real_name="王五")
    mine = walk_in(hall, id_number=person.id_number)
    page = Client().get(f"/hall/tickets/{mine.token}/").content.decode()
    assert "A003" in page and "王五" not in page and person.id_number not in page
    # Both earlier tickets can be called by window 1, which serves this one's service too.
    status = Client().get(f"/api/v1/hall/tickets/{mine.token}/").json()
    assert status["place"] == 2 and status["state"] == "waiting"
    queue.call_next(window=hall["windows"][2], clerk=hall["clerk"])
    assert Client().get(f"/api/v1/hall/tickets/{mine.token}/").json()["place"] == 1
    queue.call_next(window=hall["windows"][1], clerk=hall["other_clerk"])
    queue.finish(window=hall["windows"][2], clerk=hall["clerk"])
    queue.call_next(window=hall["windows"][2], clerk=hall["clerk"])
    status = Client().get(f"/api/v1/hall/tickets/{mine.token}/").json()
    assert status["state"] == "called" and status["window"] == 2 and status["place"] is None
    assert Client().get("/hall/tickets/nope/").status_code == 404


def test_the_display_shows_the_calls_and_the_waiting(hall, django_assert_max_num_queries):
    for _ in range(3):
        walk_in(hall)
    queue.call_next(window=hall["windows"][2], clerk=hall["clerk"])
    client = Client()
    with django_assert_max_num_queries(6):
        page = client.get("/hall/hq/display/").content.decode()
    assert "A001" in page and 'aria-live="assertive"' in page and "data-chime" in page
    feed = client.get("/api/v1/hall/centres/hq/display/").json()
    assert feed["calls"] == [
        {"number": "A001", "window": 2, "calls": 1, "called_at": feed["calls"][0]["called_at"]}
    ]
    assert {row["service"]: row["count"] for row in feed["waiting"]} == {"H-1": 2, "H-2": 0}


def test_the_api_issues_and_calls(hall):
    response = Client().post(
        "/api/v1/hall/tickets/", {"centre": "hq", "service": "H-1"}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["number"] == "A001"
    bad = Client().post(
        "/api/v1/hall/tickets/", {"centre": "hq", "appointment_code": "X"},
        content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 400 and "appointment_code" in bad.json()["errors"]
    client = logged_in(hall["clerk"])
    window = hall["windows"][2].pk
    called = client.post(f"/api/v1/hall/windows/{window}/call-next/").json()
    assert called["current"]["number"] == "A001" and called["current"]["state"] == "called"
    assert client.post(f"/api/v1/hall/windows/{window}/recall/").json()["current"]["calls"] == 2
    assert client.post(f"/api/v1/hall/windows/{window}/no-show/").json()["current"] is None
    again = client.post(f"/api/v1/hall/windows/{window}/recall/")
    assert again.status_code == 400


# --- Waiting figures -----------------------------------------------------------------------------


def _served(hall, *, wait: int, service_minutes: int | None, service=None, day=DAY):
    """A ticket issued at 9:00 of `day`, called `wait` minutes later, finished after
    `service_minutes` (None: a no-show)."""
    issued = at(9, day=day)
    ticket = Ticket.objects.create(
        centre=hall["centre"], day=day, service=service or hall["licence"],
        number=f"A{Ticket.objects.count() + 1:03d}", issued_at=issued,
        called_at=issued + dt.timedelta(minutes=wait),
        last_called_at=issued + dt.timedelta(minutes=wait), calls=1, window=hall["windows"][1],
    )  # fmt: skip
    if service_minutes is None:
        ticket.state, ticket.finished_at = Ticket.State.NO_SHOW, ticket.called_at
    else:
        ticket.state = Ticket.State.DONE
        ticket.finished_at = ticket.called_at + dt.timedelta(minutes=service_minutes)
    ticket.save()
    return ticket


def test_waiting_figures_median_and_90th_percentile_on_a_known_set(hall):
    # Waits 1..10 minutes (median 5.5, p90 by nearest rank 9); service times of the served ones.
    for wait in range(1, 11):
        _served(hall, wait=wait, service_minutes=None if wait == 10 else wait * 2)
    _served(hall, wait=30, service_minutes=3, service=hall["residence"])
    last_month = DAY.replace(day=1) - dt.timedelta(days=1)
    _served(hall, wait=99, service_minutes=99, day=last_month)  # outside December
    rows = queue.waiting_figures(first_day=DAY.replace(day=1), last_day=DAY.replace(day=31))
    licence = next(row for row in rows if row["service"] == "H-1")
    assert licence["called"] == 10 and licence["served"] == 9
    assert licence["wait_median_seconds"] == 330 and licence["wait_p90_seconds"] == 540
    # service times 2,4,...,18 minutes: median 10, p90 nearest rank (9th of 9 → 8.1 → 9th) 18
    assert licence["service_median_seconds"] == 600 and licence["service_p90_seconds"] == 1080
    residence = next(row for row in rows if row["service"] == "H-2")
    assert residence["wait_median_seconds"] == 1800 and residence["service_p90_seconds"] == 180
    assert licence["centre"] == "hq" and licence["service_name"] == "食品经营许可"


def test_the_python_reduction_gives_the_same_figures(hall, monkeypatch):
    for wait in (1, 2, 3, 4, 10):
        _served(hall, wait=wait, service_minutes=wait)
    days = {"first_day": DAY.replace(day=1), "last_day": DAY.replace(day=31)}
    in_sql = queue.waiting_figures(**days)
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")
    assert queue.waiting_figures(**days) == in_sql


def test_the_statistics_page_and_exports_show_the_waiting_times(
    hall, django_assert_max_num_queries
):
    client = Client()
    _served(hall, wait=4, service_minutes=6)
    with django_assert_max_num_queries(12) as few:
        page = client.get("/stats/?period=2026-12").content.decode()
    for wait in range(1, 40):
        _served(hall, wait=wait, service_minutes=2, service=hall["residence"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/stats/?period=2026-12").content.decode()
    assert 'id="hall-figures"' in page and "市民中心" in page and "4.0" in page
    data = client.get("/api/v1/stats/?period=2026-12").json()["hall"]
    assert {row["service"] for row in data} == {"H-1", "H-2"}
    exported = client.get("/stats/export.json?period=2026-12").content.decode()
    assert '"wait_median_seconds": 240' in exported
    csv = client.get("/stats/waiting.csv?period=2026-12")
    text = csv.content.decode("utf-8-sig")
    assert csv["Content-Disposition"].endswith('waiting-2026-12.csv"')
    assert text.splitlines()[0].startswith("centre,centre_name,service")
    assert "hq,市民中心,H-1,食品经营许可,1,1,240,240,360,360" in text
    assert client.get("/stats/waiting.csv?period=nonsense").status_code == 400


def test_the_hall_pages_in_english_mark_the_chinese_left_in_them(hall):
    from .support.lang import unmarked_chinese

    ticket = walk_in(hall, hall["residence"])
    queue.call_next(window=hall["windows"][3], clerk=hall["clerk"])
    citizen, clerk = Client(), logged_in(hall["clerk"])
    for client in (citizen, clerk):
        client.cookies["django_language"] = "en"
    clerk.post("/hall/hq/desk/", {"action": "window", "window": hall["windows"][3].pk})
    for client, url in (
        (citizen, "/hall/hq/kiosk/"), (citizen, "/hall/hq/display/"),
        (citizen, f"/hall/tickets/{ticket.token}/"), (clerk, "/hall/hq/desk/"),
    ):  # fmt: skip
        html = client.get(url).content.decode()
        assert unmarked_chinese(html) == [], url
