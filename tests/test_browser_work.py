"""Staff of two departments work one case in real Chromium (issue 13): the owning department accepts
it, the health commission's review stage finds it in its queue, a reviewer takes it over from a
colleague with a reason and passes it on; the work page passes axe in Chinese and English."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from accounts.models import Role
from cases import workflow
from cases.models import Case, Event

from .factories import CitizenProfileFactory, StaffMembershipFactory
from .support.browser import sign_in
from .test_permissions_stages import build_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AXE = Axe()


def serious(page, label):
    results = AXE.run(page)
    return [
        f"{label}: {v['id']} {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.django_db(transaction=True)
def test_a_review_stage_of_another_department_is_worked_there(
    settings, tmp_path, live_server, browser_page
):
    users, service = build_world(settings, tmp_path)
    health = users["reviewer_h"].memberships.get().department
    colleague = StaffMembershipFactory(
        user__username="reviewer_h2", user__first_name="赵同事", department=health,
        role=Role.REVIEWER,
    ).user  # fmt: skip
    applicant = CitizenProfileFactory().user
    case, _ = workflow.create_draft(service=service, user=applicant, data={"shop_area": 8})
    case = workflow.submit_application(case=case, user=applicant)
    base, page = live_server.url, browser_page

    # The owning department's caseworker accepts on the work page.
    sign_in(page, base, "caseworker_a")
    page.goto(f"{base}/work/{case.number}/")
    form = page.locator("form.action-form:has(input[name=transition][value=shouli])")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert Case.objects.get(pk=case.pk).acting_department == health
    workflow.claim_case(case=case, user=colleague)

    # A reviewer of the health commission finds it in the queue, sees who holds it, takes it over.
    context = page.context.browser.new_context(locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "reviewer_h")
    page.goto(f"{base}/work/")
    page.click(f"a[href='/work/{case.number}/']")
    assert "赵同事" in page.locator("main").inner_text()
    assert page.locator("form.action-form").count() == 0  # held by a colleague: nothing to take
    problems = serious(page, "zh-hans work page, held by a colleague")
    page.fill("#takeover-reason", "赵同事出差，由我接办")
    with page.expect_navigation():
        page.locator("form[action$='/take-over/'] button").click()
    form = page.locator("form.action-form:has(input[name=transition][value=huishen])")
    form.locator("textarea[name=opinion]").fill("卫生条件符合要求")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    case.refresh_from_db()
    assert case.stage.code == "decision" and case.acting_department.code == "city-x"
    assert list(Event.objects.filter(case=case).values_list("action", flat=True))[-2:] == [
        "take_over",
        "huishen",
    ]
    # The case went on to the city: the reviewer lands on their queue again, not on a 404.
    assert page.url.endswith("/work/")

    # The city's approver works it, in English.
    page = page.context.browser.new_context(locale="en-GB").new_page()
    sign_in(page, base, "approver_city")
    page.get_by_role("button", name="English").click()
    page.goto(f"{base}/work/{case.number}/")
    assert page.locator("html").get_attribute("lang") == "en"
    problems += serious(page, "en work page")
    assert not problems, "\n".join(problems)
