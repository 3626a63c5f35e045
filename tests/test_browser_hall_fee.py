"""Issue 19, "Must show", in real Chromium: a citizen books a visit from the service's guide,
arrives, takes a ticket on the kiosk page with the booking code, the hall display shows the call,
the clerk serves them with the keyboard only, the fee (due before acceptance) is taken at the
window, the case moves on by itself, and the 缴费凭证 PDF lists the amount, the receipt number and
the application number.

The day is Wednesday 30 September 2026 (a working day on the portal's calendar), from 09:05 with
the clock running: the live server runs in this process, so it keeps the same time."""

import datetime as dt
import re
import subprocess

import pytest
import time_machine
from playwright.sync_api import expect

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support.browser import axe_problems, press_access_key, sign_in
from .support.clock import SHANGHAI

FEE = {
    "fee_free": False,
    "fee_standard": "工本费 20 元。",
    "fee_basis": "《示范市行政事业性收费目录清单》",
    "fee_rule": {"amount_fen": 2000, "due": "before_acceptance", "refund_on": ["rejected"]},
}


@pytest.mark.browser
@pytest.mark.slow
def test_a_citizen_books_takes_a_ticket_is_served_pays_at_the_window_and_gets_the_receipt(
    live_server, transactional_db, browser_page, settings, tmp_path
):
    from accounts.models import Role
    from cases.hall.models import Appointment, CentreService, ServiceCentre, Ticket, Window
    from cases.models import Case
    from cases.payments.models import Payment
    from services.calendar import seed_from_chinesecalendar
    from services.models import CalendarDay, CalendarYear

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    seed_from_chinesecalendar(CalendarYear, CalendarDay)
    department = DepartmentFactory(code="zwfw")
    service = make_service(
        "H-8", department=department, name="个体工商户设立登记",
        materials=[{"name": "身份证复印件", "required": True}], **FEE,
    ).service  # fmt: skip
    centre = ServiceCentre.objects.create(
        code="east", name="东区市民中心", department=department, address="东大街 8 号",
        opens_at=dt.time(9, 0), closes_at=dt.time(17, 0),
    )  # fmt: skip
    CentreService.objects.create(centre=centre, service=service, slot_minutes=30, capacity=2)
    window = Window.objects.create(centre=centre, number=3)
    window.services.set([service])
    StaffMembershipFactory(department=department, role=Role.COUNTER_CLERK, user__username="clerk8")
    citizen = CitizenProfileFactory(real_name="周小明", user__username="zhouxm")
    base = live_server.url
    browser = browser_page.context.browser
    problems: list[str] = []

    opening = dt.datetime(2026, 9, 30, 9, 5, tzinfo=SHANGHAI)
    with time_machine.travel(opening, tick=True):
        # 1. At home: from the guide to a booked time, with real clicks.
        home = browser_page
        sign_in(home, base, "zhouxm")
        home.goto(f"{base}/services/H-8/")
        with home.expect_navigation():
            home.locator("section[aria-labelledby=booking-title] a.button").click()
        assert "/appointments/book/H-8/" in home.url
        home.locator("input[name=date]").first.check()  # today, the first bookable day
        with home.expect_navigation():
            home.locator("main form[method=get] button[type=submit]").click()
        home.locator("input[name=slot]").first.check()  # 09:30, the first time still to come
        with home.expect_navigation():
            home.locator("main form[method=post] button[type=submit]").click()
        assert re.search(r"/appointments/\d+/$", home.url), home.locator("main").inner_text()
        code = home.locator(".booking-code").inner_text().strip()
        appointment = Appointment.objects.get(code=code)
        assert appointment.citizen == citizen and appointment.state == Appointment.State.BOOKED

        # The hall display on its own screen.
        screen = browser.new_context(locale="zh-CN").new_page()
        screen.goto(f"{base}/hall/east/display/")

        # 2. The kiosk at the door, nobody signed in.
        kiosk = browser.new_context(locale="zh-CN").new_page()
        kiosk.goto(f"{base}/hall/east/kiosk/")
        kiosk.fill("#id_a-appointment_code", code)
        with kiosk.expect_navigation():
            kiosk.press("#id_a-appointment_code", "Enter")
        expect(kiosk.locator(".ticket-number")).to_have_text("Y001")

        # 3. The clerk, keyboard only: the window, then the call (Alt+N).
        desk = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
        keys = desk.keyboard
        sign_in(desk, base, "clerk8")
        desk.goto(f"{base}/hall/east/desk/")
        expect(desk.locator("button[value=window]")).to_be_focused()
        keys.press("Shift+Tab")  # the window list
        keys.press("ArrowDown")  # window 3
        keys.press("Tab")
        with desk.expect_navigation():
            keys.press("Enter")
        expect(desk.locator("button[value=call]")).to_be_focused()
        expect(desk.locator(".desk-queue")).to_contain_text("Y001")
        with desk.expect_navigation():
            press_access_key(desk, "n")  # 叫号
        expect(desk.locator("#current-ticket")).to_have_text("Y001")
        # The display shows the call by itself, within its refresh.
        expect(screen.locator("[data-latest]")).to_contain_text(
            re.compile(r"Y001.*3"), timeout=15000
        )

        # 4. The intake (Alt+S): the citizen is identified, nothing asked again.
        with desk.expect_navigation():
            press_access_key(desk, "s")  # 开始办理
        desk.wait_for_url("**/counter/apply/")
        assert "周小明" in desk.content()
        expect(desk.locator("#id_counter-queue_ticket")).to_have_value("Y001")
        expect(desk.locator("input[autofocus]")).to_be_focused()
        keys.type("25")  # 经营面积
        keys.press("Tab")
        keys.press("Space")  # 身份证复印件 received on paper
        keys.press("Shift+Tab")
        with desk.expect_navigation():
            keys.press("Enter")
        desk.wait_for_url("**/counter/done/**")
        number = desk.locator(".case-number").inner_text().strip()
        case = Case.objects.get(number=number)
        assert case.state == "submitted", case.state  # the fee, due before acceptance, is unpaid
        # The fee is what is to be done now: the cursor is on its link.
        fee_link = desk.locator(f"a[href='/counter/fees/{number}/']")
        expect(fee_link).to_be_focused()
        with desk.expect_navigation():
            keys.press("Enter")
        expect(desk.locator("main")).to_contain_text("¥20.00")
        problems += axe_problems(desk, "window fee page")
        expect(desk.locator("input[name=method]").first).to_be_focused()
        keys.press("Space")  # 现金 (cash), the first choice
        expect(desk.locator("input[name=method][value=cash]")).to_be_checked()
        keys.press("Tab")
        expect(desk.locator("#id_receipt_number")).to_be_focused()
        keys.type("NO.0815")
        with desk.expect_navigation():
            keys.press("Enter")
        expect(desk.locator("main")).to_contain_text("NO.0815")
        problems += axe_problems(desk, "window fee page, paid")
        case.refresh_from_db()
        assert case.state == "accepted", case.state  # paid: the case moved on by itself
        payment = Payment.objects.get(case=case)
        assert (payment.state, payment.channel, payment.method, payment.receipt_number) == (
            "paid", "window", "cash", "NO.0815",
        )  # fmt: skip

        # 5. The citizen finds the 缴费凭证 on the application's page.
        home.goto(f"{base}/applications/{number}/")
        link = home.get_by_role("link", name=re.compile("缴费凭证|Payment receipt"))
        with home.expect_download() as download_info:
            link.click()
        pdf = tmp_path / "fee-receipt.pdf"
        download_info.value.save_as(pdf)
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, check=True
        ).stdout.decode()
        assert "20.00" in text and "NO.0815" in text and number in text, text

        # 6. The ticket names the case; the appointment is marked arrived.
        ticket = Ticket.objects.get()
        appointment.refresh_from_db()
        assert ticket.case == case and ticket.window == window
        assert appointment.state == Appointment.State.ARRIVED
        for page in (screen, kiosk, desk):
            page.context.close()
    assert not problems, "\n".join(problems)
