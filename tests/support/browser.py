"""What the Chromium journeys share."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright cannot download browsers here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium() -> Iterator:
    """Debian's Chromium, headless, under Playwright's sync API. That API runs an event loop in the
    test's thread, which trips Django's async-safety check on the test's own ORM calls: the check is
    lifted while the browser runs, then restored."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


BLOCKING = ("serious", "critical")


def axe_problems(page, label: str) -> list[str]:
    """The serious and critical axe violations of the page as it is now, each named by `label`."""
    from axe_playwright_python.sync_playwright import Axe

    return [
        f"{label}: {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']]}"
        for v in Axe().run(page).response["violations"]
        if v["impact"] in BLOCKING
    ]


def sign_in(page, base: str, username: str) -> None:
    """Sign in through the real form, as a person does, and wait for the profile page."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.press("#id_password", "Enter")


def answer_required_fields(page, text: str = "测试内容") -> None:
    """Answer whatever the form requires, as a person would: pick, tick, type (a postcode where one
    is asked, a small number in number fields)."""
    for name in set(
        page.eval_on_selector_all("input[type=radio][required]", "els => els.map(e => e.name)")
    ):
        page.locator(f"input[type=radio][name='{name}']").first.check()
    for select in page.locator("select[required]").all():
        select.select_option(index=1)
    for box in page.locator("input[type=checkbox][required]").all():
        box.check()
    for field in page.locator(
        "input[type=number][required], input[inputmode=numeric][required]"
    ).all():
        if not field.input_value():
            field.fill("2")
    for field in page.locator(
        "input[type=text][required]:not([disabled]), textarea[required]"
    ).all():
        if not field.input_value():
            name = field.get_attribute("name") or ""
            field.fill("310000" if "postcode" in name else text)


def press_access_key(page, letter: str) -> None:
    """Alt+`letter`, the access key of Chromium on Linux, as a keyboard sends it. Playwright's
    keyboard.press("Alt+n") sends no character with the modifier held, and Chromium matches
    access keys on the character event: the raw events go through the DevTools protocol instead."""
    letter = letter.lower()
    key = {
        "key": letter,
        "code": f"Key{letter.upper()}",
        "windowsVirtualKeyCode": ord(letter.upper()),
    }
    alt = 1  # the DevTools protocol's modifier bit for Alt
    session = page.context.new_cdp_session(page)
    try:
        session.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", "modifiers": alt, **key})
        session.send("Input.dispatchKeyEvent",
                     {"type": "char", "modifiers": alt, "key": letter, "text": letter,
                      "unmodifiedText": letter})  # fmt: skip
        session.send("Input.dispatchKeyEvent", {"type": "keyUp", "modifiers": alt, **key})
    finally:
        session.detach()
