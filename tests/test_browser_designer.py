"""The service designer in real Chromium: every page passes axe (serious and critical) in Chinese and
English, at desktop and phone width, and fits a phone's screen."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from accounts.models import Role

from .factories import DepartmentFactory, StaffMembershipFactory, make_service
from .support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AXE = Axe()
PAGES = ["/manage/", "/manage/new/", "/manage/licence-types/", "/manage/POL-DOG/",
         "/manage/POL-DOG/guide/", "/manage/POL-DOG/materials/", "/manage/POL-DOG/workflow/",
         "/manage/POL-DOG/maintainers/", "/manage/POL-DOG/form/", "/manage/POL-DOG/form/preview/",
         "/manage/POL-DOG/form/preview/frame/", "/manage/POL-DOG/form/schema/",
         "/manage/POL-DOG/form/fields/shop_area/", "/manage/POL-DOG/form/fields/dogs/",
         "/manage/POL-DOG/form/?group=dogs"]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_every_designer_page_is_accessible(live_server, browser_page, settings, tmp_path):
    from services import catalog

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="pol", name="公安局")
    StaffMembershipFactory(
        department=department, role=Role.DEPARTMENT_ADMIN, user__username="pol-admin"
    )
    version = make_service("POL-DOG", department=department, name="养犬登记证核发")
    draft = catalog.give_draft_workflow(version=catalog.start_new_draft(service=version.service))
    from services.designer import formbuilder

    schema, _name = formbuilder.add_field(
        draft.form_schema, {"kind": "group", "label": "犬只", "name": "dogs", "required": True}
    )
    catalog.update_draft(version=draft, fields={"form_schema": schema})
    base, page = live_server.url, browser_page
    sign_in(page, base, "pol-admin")
    problems = []
    for language in ("zh-hans", "en"):
        if language == "en":
            page.get_by_role("button", name="English").click()
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            for path in PAGES:
                response = page.goto(f"{base}{path}")
                assert response.status == 200, path
                for v in AXE.run(page).response["violations"]:
                    if v["impact"] in ("serious", "critical"):
                        problems.append(f"{language} {width} {path}: {v['id']} "
                                        f"{[n['target'] for n in v['nodes']][:3]}")  # fmt: skip
                if width == 375:
                    overflow = page.evaluate(
                        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                    )
                    if overflow > 1:
                        problems.append(f"{language} {path}: {overflow}px wider than a phone")
    assert not problems, "\n".join(problems)
