"""The service hall in real Chromium (issue 19, items 3 and 6): a citizen with an appointment takes a
ticket on the kiosk page, the hall display shows the call, the clerk calls and serves them with the
keyboard only and files the case at the counter with the citizen already identified; the kiosk, the
display and the citizen's phone page pass axe. (The fee paid at the window is the fees work's.)"""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support.browser import axe_problems, sign_in


@pytest.mark.browser
@pytest.mark.slow
def test_a_booked_citizen_takes_a_ticket_is_called_and_served_with_the_keyboard(
    live_server, transactional_db, browser_page, settings, tmp_path
):
    from accounts.models import Role
    from cases.hall.models import Appointment, CentreService, ServiceCentre, Slot, Ticket, Window
    from cases.models import Case

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    department = DepartmentFactory(code="zwfw")
    service = make_service(
        "H-7", department=department, name="个体工商户设立登记",
        materials=[{"name": "身份证复印件", "required": True}],
    ).service  # fmt: skip
    centre = ServiceCentre.objects.create(
        code="east", name="东区市民中心", department=department, address="东大街 8 号"
    )
    centre_service = CentreService.objects.create(centre=centre, service=service)
    window = Window.objects.create(centre=centre, number=3)
    window.services.set([service])
    StaffMembershipFactory(department=department, role=Role.COUNTER_CLERK, user__username="clerk7")
    citizen = CitizenProfileFactory(real_name="周小明")
    # The booking itself is the appointments work's: made here directly, for a slot under way.
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    slot = Slot.objects.create(
        centre_service=centre_service, starts_at=start, ends_at=start + dt.timedelta(minutes=30),
        capacity=2, booked=1,
    )  # fmt: skip
    appointment = Appointment.objects.create(slot=slot, citizen=citizen, booked_by=citizen.user)
    base = live_server.url
    problems: list[str] = []

    # The hall display, on its own screen, before anyone is called.
    screen = browser_page.context.new_page()
    screen.goto(f"{base}/hall/east/display/")
    problems += axe_problems(screen, "display")

    # The kiosk at the door: no sign-in.
    kiosk = browser_page.context.browser.new_context(locale="zh-CN").new_page()
    kiosk.goto(f"{base}/hall/east/kiosk/")
    problems += axe_problems(kiosk, "kiosk")
    kiosk.locator("#id_a-appointment_code").focus()
    kiosk.keyboard.type(appointment.code.lower())
    with kiosk.expect_navigation():
        kiosk.keyboard.press("Enter")
    expect(kiosk.locator(".ticket-number")).to_have_text("Y001")
    problems += axe_problems(kiosk, "ticket on the kiosk")
    token = Ticket.objects.get().token
    phone = kiosk.context.new_page()
    phone.goto(f"{base}/hall/tickets/{token}/")
    problems += axe_problems(phone, "ticket on the phone")
    assert "周小明" not in phone.content() and citizen.id_number not in phone.content()

    # The clerk, keyboard only.
    page, keys = browser_page, browser_page.keyboard
    sign_in(page, base, "clerk7")
    page.goto(f"{base}/hall/east/desk/")
    expect(page.get_by_role("button", name=re.compile("Use this window|使用"))).to_be_focused()
    keys.press("Shift+Tab")  # the window list
    keys.press("ArrowDown")  # window 3
    keys.press("Tab")
    with page.expect_navigation():
        keys.press("Enter")
    call = page.locator("button[value=call]")
    expect(call).to_be_focused()
    expect(page.locator(".desk-queue")).to_contain_text("Y001")
    with page.expect_navigation():
        keys.press("Enter")  # 叫号
    expect(page.locator("#current-ticket")).to_have_text("Y001")

    # The display shows the call by itself, within a few seconds; the phone says where to go.
    expect(screen.locator("[data-latest]")).to_contain_text(re.compile(r"Y001.*3"), timeout=15000)
    expect(screen.locator("[data-calls]")).to_contain_text("Y001")
    expect(phone.locator("[data-field=detail]")).to_contain_text("3", timeout=15000)
    problems += axe_problems(screen, "display with a call")

    start_intake = page.locator("button[value=start]")
    expect(start_intake).to_be_focused()
    with page.expect_navigation():
        keys.press("Enter")  # 开始办理
    page.wait_for_url("**/counter/apply/")
    assert "周小明" in page.content()  # identified: nothing asked again
    expect(page.locator("#id_counter-queue_ticket")).to_have_value("Y001")
    expect(page.locator("input[autofocus]")).to_be_focused()
    keys.type("25")  # 经营面积
    keys.press("Tab")
    keys.press("Space")  # 身份证复印件 received on paper
    keys.press("Shift+Tab")
    with page.expect_navigation():
        keys.press("Enter")
    page.wait_for_url("**/counter/done/**")
    number = page.locator(".case-number").inner_text().strip()
    case = Case.objects.get(number=number)
    ticket = Ticket.objects.get()
    assert case.queue_ticket == "Y001" and ticket.case == case and case.applicant == citizen

    page.goto(f"{base}/hall/east/desk/")
    expect(page.locator("button[value=finish]")).to_be_focused()
    with page.expect_navigation():
        keys.press("Enter")  # 完成
    ticket.refresh_from_db()
    assert ticket.state == Ticket.State.DONE and ticket.window == window
    expect(page.locator("button[value=call]")).to_be_focused()
    kiosk.context.close()
    assert problems == []
