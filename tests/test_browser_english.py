"""The English pages in Chromium (issue 15, item 10): the guide, the catalog, the home page and the
case pages a citizen sees, at 390 px and on a desktop; axe finds no serious problem and no Chinese
is left unmarked in the page as the browser has it (after scripts ran)."""

import os
from pathlib import Path

import pytest

from accounts import demo as accounts_demo
from accounts.models import User
from cases import workflow
from services import demo as services_demo
from services.models import ServiceItem

from .factories import PASSWORD
from .support.browser import axe_problems, sign_in
from .support.lang import report
from .test_english import SHOP, SHOP_ANSWERS

SHOTS_DIR = Path("/tmp/shots")  # noqa: S108 - screenshots for a human, never in the repository
GUIDES = [SHOP, "330100-AMR-XK-001", "330100-ZR-DJ-001", "330100-PSB-QR-002"]


@pytest.mark.browser
@pytest.mark.slow
def test_the_english_pages_are_accessible_and_mark_their_chinese(
    live_server, browser_page, transactional_db, settings, tmp_path
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    accounts_demo.load(PASSWORD)
    services_demo.load()
    citizen = User.objects.get(username=accounts_demo.CITIZEN["username"])
    shop = ServiceItem.objects.get(code=SHOP)
    draft, _new = workflow.create_draft(service=shop, user=citizen, data=SHOP_ANSWERS)
    submitted, _new = workflow.create_draft(service=shop, user=citizen, data=SHOP_ANSWERS)
    submitted = workflow.submit_application(case=submitted, user=citizen)

    page, base = browser_page, live_server.url
    sign_in(page, base, citizen.username)
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": base}])
    urls = ["/", "/services/", *(f"/services/{code}/" for code in GUIDES)]
    urls += [f"/applications/{draft.number}/{step}/" for step in ("form", "materials", "review")]
    urls += [f"/applications/{submitted.number}/submitted/", f"/applications/{submitted.number}/"]
    urls += ["/applications/", "/messages/"]
    problems, pages = [], {}
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        for url in urls:
            page.goto(f"{base}{url}")
            assert page.locator("html").get_attribute("lang") == "en", url
            problems += axe_problems(page, f"{width} {url}")
            pages[f"{width} {url}"] = page.content()
            if os.environ.get("SHOTS") == "1":
                SHOTS_DIR.mkdir(parents=True, exist_ok=True)
                name = url.strip("/").replace("/", "_") or "home"
                page.screenshot(path=str(SHOTS_DIR / f"en-{width}-{name}.png"), full_page=True)
    assert not problems, "\n".join(problems)
    assert report(pages) == ""
