"""Counter mode in real Chromium, keyboard only: a clerk serves a walk-in citizen end to end and the
receipt names the case and the paper materials; then the citizen registers online and sees the case."""

import re
import subprocess

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from accounts.identity import enter_in_demo_register

from . import files
from .factories import (
    PASSWORD,
    DepartmentFactory,
    StaffMembershipFactory,
    id_number_for,
    make_service,
)
from .support.browser import sign_in
from .support.sms import code_sent_to

WALK_IN = {"id_number": id_number_for(901), "real_name": "赵奶奶", "phone": "13611112222"}


@pytest.mark.browser
@pytest.mark.slow
def test_clerk_serves_a_walk_in_citizen_with_the_keyboard_only(
    live_server, transactional_db, browser_page, settings, tmp_path
):
    from accounts.models import Role
    from cases.models import Case

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    department = DepartmentFactory(code="amr")
    make_service("C-9", department=department, name="老年人优待证办理",
                 materials=[{"name": "身份证复印件", "required": True}, {"name": "照片", "required": False}])  # fmt: skip
    StaffMembershipFactory(department=department, role=Role.COUNTER_CLERK, user__username="clerk9")
    page, keys = browser_page, browser_page.keyboard
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").focus()
    keys.type("clerk9")
    keys.press("Tab")
    keys.type(PASSWORD)
    keys.press("Enter")
    page.wait_for_url("**/accounts/profile/")

    # Playwright turns file-chooser interception on asynchronously when a listener is added; with
    # one in place from the start, a Space pressed on the file input below is never missed (under
    # load it was: the listener of expect_file_chooser came too late, the dialog went unseen).
    page.on("filechooser", lambda _chooser: None)
    page.goto(f"{base}/counter/")
    # A person waits for the cursor before typing: each page puts it where work starts (autofocus).
    expect(page.locator("#id_id_number")).to_be_focused()
    keys.type(WALK_IN["id_number"])  # the ID-card reader types into the focused field
    with page.expect_navigation():
        keys.press("Enter")
    expect(page.locator("#id_real_name")).to_be_focused()
    keys.type(WALK_IN["real_name"])
    keys.press("Tab")
    keys.type(WALK_IN["phone"])
    keys.press("Tab")
    keys.type("C-9")
    with page.expect_navigation():
        keys.press("Enter")
    page.wait_for_url("**/counter/apply/")
    assert "赵奶奶" in page.content()  # on file, not typed again
    expect(page.locator("input[autofocus]")).to_be_focused()
    keys.type("25")  # the first field of the form has the focus: 经营面积
    keys.press("Tab")
    keys.press("Space")  # tick 身份证复印件 received on paper
    keys.press("Tab")  # its scan: the file chooser opens from the keyboard too
    scan = tmp_path / "id-copy.pdf"
    scan.write_bytes(files.PDF)
    # As a person does, wait for the cursor to land on the file input before pressing Space.
    page.wait_for_function("document.activeElement && document.activeElement.type === 'file'")
    with page.expect_file_chooser() as chooser:
        keys.press("Space")
    chooser.value.set_files(str(scan))
    for _field in ("照片 received", "照片 scans", "proxy section", "queue ticket"):
        keys.press("Tab")
    keys.type("B032")  # queue ticket
    with page.expect_navigation():
        keys.press("Enter")
    page.wait_for_url("**/counter/done/**")
    number = page.locator(".case-number").inner_text().strip()
    assert number.startswith("C-9-")
    case = Case.objects.get(number=number)
    assert [a.original_name for a in case.attachments.all()] == ["id-copy.pdf"]
    assert case.queue_ticket == "B032" and case.channel == "counter"

    keys.press("Shift+Tab")  # from "next citizen" back to the receipt
    with page.expect_download() as download_info:
        keys.press("Enter")
    receipt = tmp_path / "receipt.pdf"
    download_info.value.save_as(receipt)
    text = subprocess.run(
        ["pdftotext", str(receipt), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert number in text and "身份证复印件" in text and "纸质材料" in text

    # Later, at home, the citizen registers online with the same card and sees the case.
    context = page.context.browser.new_context(locale="zh-CN")
    home = context.new_page()
    enter_in_demo_register(**WALK_IN)
    home.goto(f"{base}/accounts/register/")
    home.fill("#id_username", "zhaonainai")
    home.fill("#id_real_name", WALK_IN["real_name"])
    home.fill("#id_id_number", WALK_IN["id_number"])
    home.fill("#id_phone", WALK_IN["phone"])
    # The code goes to the phone the counter recorded.
    with home.expect_navigation():
        home.click("main form button[name=send_code]")
    home.fill("#id_sms_code", code_sent_to(WALK_IN["phone"]))
    home.fill("#id_password1", PASSWORD)
    home.fill("#id_password2", PASSWORD)
    with home.expect_navigation():
        home.press("#id_password2", "Enter")
    home.goto(f"{base}/applications/")
    assert number in home.content()
    context.close()


AXE = Axe()


def axe_problems(page, label: str) -> list[str]:
    results = AXE.run(page)
    return [
        f"{label}: {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.browser
@pytest.mark.slow
def test_clerk_corrects_mistakes_where_they_stand_and_picks_the_service_by_name(
    live_server, transactional_db, browser_page, settings, tmp_path
):
    """Issue 15, item 8: the number and phone are checked at the desk and corrected in place;
    the service is found by its Chinese name through a list worked with the arrow keys; on the
    application page a wrong number is corrected without starting over, and the queue ticket and
    the 当场受理 tick survive the error. Every state of these pages passes axe, in both languages."""
    from accounts.models import Role
    from cases.models import Case

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    department = DepartmentFactory(code="amr")
    make_service("C-9", department=department, name="老年人优待证办理", name_en="Senior citizen card",
                 keywords="老年卡 优待证", materials=[{"name": "身份证复印件", "required": True}])  # fmt: skip
    make_service("C-8", department=department, name="个体工商户设立登记", keywords="个体户 开店")
    StaffMembershipFactory(department=department, role=Role.COUNTER_CLERK, user__username="clerk8")
    page, keys = browser_page, browser_page.keyboard
    base = live_server.url
    problems: list[str] = []
    sign_in(page, base, "clerk8")

    page.goto(f"{base}/counter/")
    problems += axe_problems(page, "desk")
    number, phone = WALK_IN["id_number"], WALK_IN["phone"]
    expect(page.locator("#id_id_number")).to_be_focused()
    keys.type(number[:-2] + number[-1] + number[-2])  # the last two swapped
    with page.expect_navigation():
        keys.press("Enter")
    # Refused at lookup: the summary takes the focus, the message stands beside the field.
    expect(page).to_have_title(re.compile(r"^错误："))
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#id_id_number_error")).to_contain_text("校验码")
    expect(page.locator("#id_id_number")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_real_name")).to_have_count(0)  # nothing else asked yet
    problems += axe_problems(page, "desk, mistyped number")
    keys.press("Tab")  # the summary's link
    keys.press("Tab")  # the field itself, with what was typed
    expect(page.locator("#id_id_number")).to_be_focused()
    keys.press("Control+a")
    keys.type(number)
    with page.expect_navigation():
        keys.press("Enter")
    expect(page.locator("#id_real_name")).to_be_focused()
    keys.type(WALK_IN["real_name"])
    keys.press("Tab")
    keys.type(phone[:-1])  # one digit short
    keys.press("Tab")
    # The service by part of its name, from the list, with the arrow keys.
    service = page.locator("#id_service")
    expect(service).to_be_focused()
    keys.type("老年人")
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    expect(service).to_have_attribute("aria-expanded", "true")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option").first).to_contain_text("老年人优待证办理")
    keys.press("ArrowDown")
    expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    expect(service).to_have_attribute("aria-activedescendant", "service-option-0")
    problems += axe_problems(page, "desk, service list open")
    keys.press("Enter")  # takes the option
    expect(listbox).to_be_hidden()
    expect(service).to_have_value("老年人优待证办理")
    with page.expect_navigation():
        keys.press("Enter")  # continue
    # The phone is refused beside its field; the name and the service stay as typed.
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#id_phone_error")).to_contain_text("11 位")
    expect(page.locator("#id_real_name")).to_have_value(WALK_IN["real_name"])
    expect(service).to_have_value("老年人优待证办理")
    problems += axe_problems(page, "desk, bad phone")
    for _field in ("summary link", "ID number", "name", "phone"):
        keys.press("Tab")
    expect(page.locator("#id_phone")).to_be_focused()
    keys.press("Control+a")
    keys.type(phone)
    keys.press("Tab")
    # Typing the exact Chinese name, without the list, works too.
    keys.press("Control+a")
    keys.type("老年人优待证办理")
    with page.expect_navigation():
        keys.press("Enter")
    page.wait_for_url("**/counter/apply/")
    problems += axe_problems(page, "application")

    # The application page: the form, the paper material, the ticket, the 当场受理 tick.
    expect(page.locator("input[autofocus]")).to_be_focused()
    keys.type("25")
    keys.press("Tab")
    keys.press("Space")  # 身份证复印件 received
    for _field in ("its scans", "proxy section", "queue ticket"):
        keys.press("Tab")
    keys.type("B033")
    keys.press("Tab")
    keys.press("Space")  # 当场受理
    expect(page.locator("#id_counter-accept")).to_be_checked()
    # The citizen reads out another number: corrected here, not by starting over.
    page.get_by_text("更正办事人的身份证号码、姓名或手机号码").focus()
    keys.press("Enter")  # opens the correction
    keys.press("Tab")
    expect(page.locator("#id_citizen-id_number")).to_be_focused()
    expect(page.locator("#id_citizen-id_number")).to_have_value(number)
    corrected = id_number_for(907)
    keys.press("Control+a")
    keys.type(corrected[:-1])  # a character short
    with page.expect_navigation():
        keys.press("Enter")
    expect(page).to_have_title(re.compile(r"^错误："))
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#id_citizen-id_number_error")).to_contain_text("这里是 17 位")
    for locator, value in (("#id_shop_area", "25"), ("#id_counter-queue_ticket", "B033"),
                           ("#id_citizen-phone", phone)):  # fmt: skip
        expect(page.locator(locator)).to_have_value(value)
    expect(page.locator("#id_counter-accept")).to_be_checked()
    expect(page.locator("input[name=received]")).to_be_checked()
    problems += axe_problems(page, "application, refused correction")
    page.locator("#id_citizen-id_number").focus()
    keys.press("End")
    keys.type(corrected[-1])
    with page.expect_navigation():
        keys.press("Enter")
    page.wait_for_url("**/counter/done/**")
    case = Case.objects.get(number=page.locator(".case-number").inner_text().strip())
    assert case.applicant.id_number == corrected and case.applicant.phone == phone
    assert (case.queue_ticket, case.state) == ("B033", "accepted")

    # The same pages in English.
    page.goto(f"{base}/counter/")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("#id_id_number").fill("12345")
    with page.expect_navigation():
        page.locator("#id_id_number").press("Enter")
    expect(page.locator("#id_id_number_error")).to_contain_text("this one has 5")
    problems += axe_problems(page, "en desk, mistyped number")
    page.locator("#id_id_number").fill(number)
    with page.expect_navigation():
        page.locator("#id_id_number").press("Enter")
    page.locator("#id_service").press_sequentially("senior")
    expect(page.get_by_role("option")).to_contain_text("Senior citizen card")
    problems += axe_problems(page, "en desk, service list open")
    # Part of a name, sent without choosing: the services it fits are offered as a choice.
    page.locator("#id_service").fill("个体")
    with page.expect_navigation():
        page.locator("#id_service").press("Enter")
    expect(page.get_by_role("radio", name=re.compile("C-8"))).to_be_visible()
    problems += axe_problems(page, "en desk, services to choose from")
    page.goto(f"{base}/counter/pickup/")
    page.locator("#id_id_number").fill("11010519491231002")
    with page.expect_navigation():
        page.locator("#id_id_number").press("Enter")
    problems += axe_problems(page, "en handover, mistyped number")
    assert not problems, "\n".join(problems)
