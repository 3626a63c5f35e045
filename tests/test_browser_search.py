"""Catalog search in Chromium: on a phone (390 px) the results come first and the filters wait behind
a toggle that works without JavaScript; on a desktop the filters sit open beside the results. axe
finds no serious problem in either, in Chinese and in English."""

import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from accounts import demo as accounts_demo
from services import demo as services_demo

from .support.browser import chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
AXE = Axe()
SHOTS_DIR = Path("/tmp/shots")  # noqa: S108 - screenshots for a human, never in the repository


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def open_page(browser, live_server):
    contexts = []
    accounts_demo.load("demo-password-for-tests-1")
    services_demo.load()

    def open_page(viewport, **options):
        context = browser.new_context(
            base_url=live_server.url, locale="zh-CN", viewport=viewport, **options
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    if os.environ.get("SHOTS") == "1":
        SHOTS_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS_DIR / f"{name}.png"), full_page=True)


def axe_problems(page, label: str) -> list[str]:
    return [
        f"{label}: {v['id']} ({v['impact']}) {[node['target'] for node in v['nodes']]}"
        for v in AXE.run(page).response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def top_of(page, selector: str) -> float:
    return page.locator(selector).first.bounding_box()["y"]


def to_english(page) -> None:
    page.goto("/")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_on_a_phone_the_results_come_first_and_the_filters_wait_behind_a_toggle(open_page):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    page.goto("/services/")
    page.get_by_role("searchbox").fill("开店")
    page.get_by_role("searchbox").press("Enter")
    first = page.locator(".service-card").first
    expect(first).to_contain_text("个体工商户设立登记")
    # The first result is on the first screen, above the filters, which are closed.
    assert top_of(page, ".service-card") + 40 < PHONE["height"]
    assert top_of(page, ".service-card") < top_of(page, "details.facets")
    filters = page.locator("details.facets")
    expect(filters).not_to_have_attribute("open", re.compile(".*"))
    department_chip = filters.get_by_role("link", name=re.compile("公安局"))
    expect(department_chip).to_be_hidden()
    problems = axe_problems(page, "phone zh-Hans results")
    shot(page, "search-phone")
    filters.locator("summary").click()
    expect(department_chip).to_be_visible()
    problems += axe_problems(page, "phone zh-Hans filters open")
    shot(page, "search-phone-filters")
    # A word the catalog does not know: the empty result says what to try.
    page.goto("/services/?q=火箭发射许可")
    expect(page.locator("main")).to_contain_text("没有找到与“火箭发射许可”相关的事项")
    expect(page.locator(".empty-help")).to_contain_text("12345")
    problems += axe_problems(page, "phone zh-Hans empty result")
    shot(page, "search-phone-empty")
    to_english(page)
    page.goto("/services/?q=shebaoka")
    expect(page.locator(".service-card").first).to_contain_text("social security card")
    expect(page.locator(".suggestions")).to_contain_text("Did you mean")
    problems += axe_problems(page, "phone en pinyin")
    page.goto("/services/?q=yingyezhizao")
    expect(page.locator(".notice")).to_contain_text("营业执照")
    problems += axe_problems(page, "phone en corrected")
    page.goto("/services/?q=rocket launch")
    expect(page.locator(".empty-help")).to_contain_text("12345")
    problems += axe_problems(page, "phone en empty result")
    assert not problems, "\n".join(problems)


def test_the_filter_toggle_works_without_javascript(open_page):
    page = open_page(PHONE, is_mobile=True, has_touch=True, java_script_enabled=False)
    page.goto("/services/?q=登记")
    chip = page.locator("details.facets").get_by_role("link", name=re.compile("公安局"))
    expect(chip).to_be_hidden()
    page.locator("details.facets summary").click()
    expect(chip).to_be_visible()
    with page.expect_navigation():
        chip.click()
    # A chosen filter keeps the panel open and says how many are chosen.
    expect(page.locator("details.facets")).to_have_attribute("open", "")
    expect(page.locator("details.facets summary")).to_contain_text("已选 1 项")
    # The search is kept: the police's services that are registrations (登记), nothing else.
    expect(page.get_by_role("searchbox")).to_have_value("登记")
    cards = page.locator(".service-card")
    assert cards.count() >= 1
    for card in cards.all():
        expect(card).to_contain_text("公安局")


def test_on_a_desktop_the_filters_are_open_beside_the_results(open_page):
    page = open_page(DESKTOP)
    problems: list[str] = []
    for language in ("zh-Hans", "en"):
        if language == "en":
            to_english(page)
        page.goto("/services/?q=身份证到期")
        expect(page.locator(".service-card h3 a").first).to_have_attribute(
            "href", "/services/330100-PSB-QR-002/"
        )
        filters = page.locator("details.facets")
        expect(filters).to_have_attribute("open", "")
        results, facets = (page.locator(s).bounding_box() for s in (".results", "details.facets"))
        assert facets["x"] >= results["x"] + results["width"] - 1  # beside, to the right
        assert abs(facets["y"] - results["y"]) < 5
        problems += axe_problems(page, f"desktop {language} results")
        shot(page, f"search-desktop-{language}")
        page.goto("/services/?q=营业执造")
        expect(page.locator(".notice")).to_contain_text("营业执照")
        problems += axe_problems(page, f"desktop {language} corrected")
        page.goto("/services/?q=火箭发射许可")
        problems += axe_problems(page, f"desktop {language} empty result")
    assert not problems, "\n".join(problems)
