"""End-to-end journeys in a real browser: Debian's Chromium driven by Playwright against live_server.

One browser for the module, a fresh context (cookies, storage) per test. Set SHOTS=1 to save
screenshots of the main pages into /tmp/shots/ for a human to look at; normal runs write nothing.
"""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.identity import enter_in_demo_register

from .factories import PASSWORD, CitizenProfileFactory, id_number_for, make_service
from .support.browser import chromium
from .support.sms import code_sent_to

pytestmark = [
    pytest.mark.browser,
    # live_server only sees committed data. The flush after each test empties the tables, so
    # serialized_rollback gives every test the migrations' seed data (the working-day calendar).
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 375, "height": 812}
SHOTS_DIR = Path("/tmp/shots")  # noqa: S108 - screenshots for a human, never in the repository
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- Fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def allow_async_unsafe():
    """Playwright's sync API runs an event loop in the test thread, which trips Django's async-safety
    check on every ORM call made by the test itself. Allowed for this module only, then restored."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(allow_async_unsafe) -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def new_context(
    browser, live_server, allow_async_unsafe
) -> Iterator[Callable[..., BrowserContext]]:
    """Open a fresh browser context on the live server; closed after the test."""
    contexts: list[BrowserContext] = []

    def open_context(viewport: dict | None = None, **options) -> BrowserContext:
        context = browser.new_context(
            base_url=live_server.url,
            # A citizen's browser in mainland China; the portal's default language is Chinese too.
            locale="zh-CN",
            viewport=viewport or DESKTOP,
            **options,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context) -> Page:
    return new_context().new_page()


def shot(page: Page, name: str) -> None:
    """A full-page screenshot into /tmp/shots/ when SHOTS=1; nothing otherwise."""
    if os.environ.get("SHOTS") != "1":
        return
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS_DIR / f"{name}.png"), full_page=True)


def focused(page: Page, expression: str = "el => el.id") -> str:
    """Something about the element that has the keyboard focus; its id unless asked otherwise."""
    return page.evaluate(f"({expression})(document.activeElement)")


def sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/profile/(#.*)?$"))


def body_font_px(page: Page) -> float:
    return float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)"))


def toggle_elder_mode(page: Page) -> None:
    with page.expect_navigation():
        page.locator("button[name=elder_mode]").click()


def three_services():
    make_service("BR-001", name="食品经营许可", name_en="Food business licence")
    make_service("BR-002", name="结婚登记", name_en="Marriage registration")
    make_service("BR-003", name="机动车驾驶证换证", name_en="Driving licence renewal")


# --- 1. Registration -------------------------------------------------------------------------------


def test_registration_shows_errors_then_creates_the_account(page):
    good_id = id_number_for(701)
    enter_in_demo_register(real_name="王五", id_number=good_id, phone="13912345678")
    page.goto("/accounts/register/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.locator("#id_username").fill("wangwu")
    page.locator("#id_real_name").fill("王五")
    page.locator("#id_id_number").fill("110105194912310021")  # wrong check digit
    page.locator("#id_phone").fill("13912345678")
    page.locator("#id_sms_code").fill("000000")  # not looked at while other fields are wrong
    page.locator("#id_password1").fill("1234567890")  # common and all digits
    page.locator("#id_password2").fill("1234567890")
    page.locator("main form button.button[name=register]").click()

    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    # The summary takes the focus when the page loads, so it is read out first.
    assert focused(page) == "error-summary"
    heading = summary.locator("h2").inner_text()
    assert CJK.search(heading), f"error summary heading not in Chinese: {heading!r}"
    links = summary.locator("a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert {"#id_id_number", "#id_password1"} <= set(hrefs), hrefs
    # Every message is in Chinese, not only the field's label in front of it.
    messages = [text.split(":", 1)[-1] for text in links.all_inner_texts()]
    assert all(CJK.search(message) for message in messages), messages
    # Each link moves the focus to its field, which says it is invalid.
    for i, href in enumerate(hrefs):
        links.nth(i).click()
        assert focused(page) == href.removeprefix("#")
        expect(page.locator(href)).to_have_attribute("aria-invalid", "true")
    shot(page, "register-errors")

    # What was typed is kept, except the passwords. The code is sent without JavaScript: the
    # page comes back with everything kept and the code field to be focused.
    expect(page.locator("#id_username")).to_have_value("wangwu")
    page.locator("#id_id_number").fill(good_id)
    page.locator("main form button[name=send_code]").click()
    expect(page.locator("#id_id_number")).to_have_value(good_id)
    expect(page.get_by_role("status").filter(has_text="139****5678")).to_be_visible()
    expect(page.locator("#id_sms_code")).to_have_attribute("autofocus", "")
    page.locator("#id_sms_code").fill(code_sent_to("13912345678"))
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.locator("#id_password2").press("Enter")  # Enter registers; it does not send a code

    expect(page).to_have_url(re.compile(r"/accounts/profile/(#.*)?$"))
    masked = good_id[:3] + "*" * 11 + good_id[-4:]
    expect(page.locator(".masked")).to_have_text(masked)
    assert good_id not in page.content()
    expect(page.get_by_role("status")).to_be_visible()  # the welcome message


# --- 2. Keyboard only ------------------------------------------------------------------------------


def test_sign_in_with_the_keyboard_only(page):
    CitizenProfileFactory(user__username="zhaoliu", real_name="赵六")
    page.goto("/")
    page.keyboard.press("Tab")
    assert focused(page, "el => el.className") == "skip-link"
    expect(page.locator(".skip-link")).to_be_in_viewport(ratio=1)
    page.keyboard.press("Enter")
    assert focused(page, "el => el.tagName") == "MAIN"
    # From <main>, the next stop is the first thing in the content: the sign-in button.
    page.keyboard.press("Tab")
    assert focused(page, "el => el.getAttribute('href')") == "/accounts/login/"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    # The sign-in page puts the cursor in the username field.
    assert focused(page) == "id_username"
    page.keyboard.type("zhaoliu")
    page.keyboard.press("Tab")
    assert focused(page) == "id_password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/accounts/profile/(#.*)?$"))
    expect(page.locator("main")).to_contain_text("赵六")


# --- 3. Language and elder mode --------------------------------------------------------------------


def test_language_switch_and_elder_mode_persist(page):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("navigation").first).to_contain_text("Sign in")
    page.goto("/services/")  # the choice stays
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page).to_have_url(re.compile(r"/services/$"))

    page.goto("/")
    normal = body_font_px(page)
    elder_button = page.locator("button[name=elder_mode]")
    expect(elder_button).to_have_attribute("aria-pressed", "false")
    toggle_elder_mode(page)
    expect(elder_button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    larger = body_font_px(page)
    assert larger > normal * 1.2, (normal, larger)
    page.goto("/accounts/login/")
    assert body_font_px(page) == larger
    toggle_elder_mode(page)
    assert body_font_px(page) == normal


# --- 4. Catalog ------------------------------------------------------------------------------------


def test_catalog_search_and_guide(page):
    three_services()
    page.goto("/services/")
    cards = page.locator(".service-card")
    expect(cards).to_have_count(3)
    shot(page, "catalog")
    page.get_by_role("searchbox").fill("结婚")
    page.get_by_role("searchbox").press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=%E7%BB%93%E5%A9%9A"))
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("结婚登记")
    expect(page.get_by_role("searchbox")).to_have_value("结婚")
    cards.first.get_by_role("link", name="结婚登记").click()
    expect(page).to_have_url(re.compile(r"/services/BR-002/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("结婚登记")
    expect(page.locator("table")).to_contain_text("申请书")
    shot(page, "guide")


# --- 5. Accessibility ------------------------------------------------------------------------------

AXE = Axe()
BLOCKING = {"serious", "critical"}


def axe_problems(page: Page, label: str) -> list[str]:
    results = AXE.run(page)
    return [
        f"{label}: {v['id']} ({v['impact']}) {[node['target'] for node in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pages_have_no_serious_accessibility_violations(page, language):
    three_services()
    CitizenProfileFactory(user__username="sunqi", real_name="孙七")
    problems: list[str] = []
    page.goto("/")
    if language == "en":
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    for path in ["/", "/services/", "/services/BR-001/", "/track/", "/stats/", "/accounts/login/",
                 "/accounts/register/"]:  # fmt: skip
        page.goto(path)
        problems += axe_problems(page, f"{language} {path}")
    # The register page with its error summary and invalid fields.
    page.locator("#id_id_number").fill("12345")
    page.locator("main form button.button[name=register]").click()
    expect(page.get_by_role("alert")).to_be_visible()
    problems += axe_problems(page, f"{language} register with errors")
    sign_in(page, "sunqi")
    problems += axe_problems(page, f"{language} profile")
    page.goto("/accounts/authorisations/")
    problems += axe_problems(page, f"{language} authorisations")
    if language == "zh-hans":
        toggle_elder_mode(page)
        expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
        problems += axe_problems(page, f"{language} profile, elder mode")
        shot(page, "profile-elder")
        page.goto("/services/")
        problems += axe_problems(page, f"{language} catalog, elder mode")
    assert not problems, "\n".join(problems)


# --- 6. Mobile -------------------------------------------------------------------------------------


def test_mobile_pages_fit_the_screen(new_context):
    three_services()
    page = new_context(viewport=MOBILE, is_mobile=True, has_touch=True).new_page()
    too_wide: list[str] = []
    problems: list[str] = []
    page.goto("/")
    for variant in ["zh-hans", "en", "en elder", "zh-hans elder"]:
        if variant == "en":
            page.get_by_role("button", name="English").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")
        elif variant == "en elder":
            toggle_elder_mode(page)
        elif variant == "zh-hans elder":
            page.get_by_role("button", name="简体中文").click()
            expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        for path in ["/", "/services/", "/services/BR-001/", "/track/", "/stats/"]:
            page.goto(path)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            if width > MOBILE["width"] + 1:
                too_wide.append(f"{variant} {path}: {width}px")
            if variant in ("zh-hans", "en elder"):
                problems += axe_problems(page, f"mobile {variant} {path}")
            if path == "/" and variant in ("zh-hans", "zh-hans elder"):
                shot(page, "home-mobile" + ("-elder" if "elder" in variant else ""))
    assert not too_wide, too_wide
    assert not problems, "\n".join(problems)


# --- Home page -------------------------------------------------------------------------------------


def test_home_page_desktop(page):
    """The home page as most people first see it: in Chinese, with its landmarks."""
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("banner")).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_be_visible()
    assert CJK.search(page.locator("h1").inner_text())
    shot(page, "home-desktop")
