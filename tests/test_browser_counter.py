"""Counter mode in real Chromium, keyboard only: a clerk serves a walk-in citizen end to end and the
receipt names the case and the paper materials; then the citizen registers online and sees the case."""

import subprocess

import pytest
from playwright.sync_api import expect

from .factories import (
    PASSWORD,
    DepartmentFactory,
    StaffMembershipFactory,
    id_number_for,
    make_service,
)

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

    page.goto(f"{base}/counter/")
    # A person waits for the cursor before typing: each page puts it where work starts (autofocus).
    expect(page.locator("#id_number")).to_be_focused()
    keys.type(WALK_IN["id_number"])  # the ID-card reader types into the focused field
    with page.expect_navigation():
        keys.press("Enter")
    expect(page.locator("#real_name")).to_be_focused()
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
    scan.write_bytes(b"%PDF-1.4\n% scanned at the counter\n%%EOF\n")
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
    home.goto(f"{base}/accounts/register/")
    home.fill("#id_username", "zhaonainai")
    home.fill("#id_real_name", WALK_IN["real_name"])
    home.fill("#id_id_number", WALK_IN["id_number"])
    home.fill("#id_phone", WALK_IN["phone"])
    home.fill("#id_password1", PASSWORD)
    home.fill("#id_password2", PASSWORD)
    with home.expect_navigation():
        home.press("#id_password2", "Enter")
    home.goto(f"{base}/applications/")
    assert number in home.content()
    context.close()
