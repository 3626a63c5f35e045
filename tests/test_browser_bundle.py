"""出生一件事 in real Chromium (issue 18, Must show): a parent finds the bundle by life event and
applies once (one form, the birth certificate uploaded once, one submission); the staff of 公安, 医保
and 人社 each see their own member case in their queue and decide it; 社会保障卡 waits for 出生登记 and
is then filed with its case number; the parent follows one status, keeps one receipt and rates once."""

import pytest
from django.test import Client

from accounts.models import Department, Role, User
from cases.models import BundleApplication, Case, Rating
from services.demo_bundles import BIRTH

from . import files
from .conftest import DEMO_PASSWORD
from .factories import StaffMembershipFactory
from .support.browser import axe_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CARD, BIRTH_SERVICE, INSURANCE = "330100-RS-GG-002", "330100-PSB-QR-001", "330100-YB-DJ-001"
ANSWERS = {
    "child_name": "张小宝", "child_sex": "female", "birth_date": "2025-03-01", "consent": True,
    "birth-birth_place": "示范市妇幼保健院", "birth-certificate_number": "P123456789",
    "birth-register_with": "father", "birth-relation": "father",
    "insurance-relation": "child", "insurance-category": "newborn",
    "card-bank": "icbc", "card-delivery": "mail",
}  # fmt: skip


def answer(page, name: str, value) -> None:
    """Answer one field as a person does: pick a radio, choose in a list, tick, or type."""
    field = page.locator(f"[name='{name}']").first
    kind = field.evaluate("e => e.tagName === 'SELECT' ? 'select' : e.type")
    if kind == "radio":
        page.locator(f"input[name='{name}'][value='{value}']").check()
    elif kind == "select":
        field.select_option(str(value))
    elif kind == "checkbox":
        field.check()
    else:
        field.fill(str(value))


def staff_of(code: str, prefix: str) -> dict:
    department = Department.objects.get(code=code)
    return {
        role: StaffMembershipFactory(
            user__username=f"{prefix}_{role}", department=department, role=role
        ).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER)
    }


def decide_through_the_api(number: str, people: dict) -> None:
    """Each step by the member of staff whose role the case's actions offer: accept, review,
    approve under the service's first article, conclude."""
    clients = {}
    for user in people.values():
        clients[user.pk] = Client()
        clients[user.pk].force_login(user)
    for outcome in ("accepted", "passed", "approved", "concluded"):
        for user in people.values():
            body = clients[user.pk].get(f"/api/v1/work/cases/{number}/").json()
            action = next((a for a in body.get("actions", []) if a["outcome"] == outcome), None)
            if action is None:
                continue
            payload = {"transition": action["name"], "opinion": "材料齐全，符合条件"}
            if outcome == "approved" and body["articles"]:
                payload["legal_basis"] = body["articles"][0]["id"]
            response = clients[user.pk].post(
                f"/api/v1/work/cases/{number}/transition/", payload, content_type="application/json"
            )
            assert response.status_code == 200, response.json()
            break


def sees_in_queue(page, base: str, username: str, number: str) -> None:
    sign_in(page, base, username)
    page.goto(f"{base}/work/")
    assert page.locator(f"a[href='/work/{number}/']").count() == 1, username
    page.click(f"a[href='/work/{number}/']")
    assert number in page.locator("main").inner_text()


@pytest.mark.django_db(transaction=True)
def test_a_parent_applies_for_the_birth_bundle_once_and_three_departments_decide(
    demo_data, live_server, browser_page, tmp_path
):
    base, page = live_server.url, browser_page
    psb, hsa, hrss = staff_of("city-psb", "psb"), staff_of("city-hsa", "hsa"), staff_of("city-hrss", "hrss")  # fmt: skip

    # The parent (the demo citizen) finds 出生一件事 under the life event 出生.
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "citizen")
    page.fill("#id_password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.press("#id_password", "Enter")
    page.goto(f"{base}/services/?life_event=birth")
    page.click(f"a[href='/services/bundles/{BIRTH['code']}/']")
    assert "出生一件事" in page.locator("h1").inner_text()
    problems = axe_problems(page, "bundle guide")
    with page.expect_navigation():
        page.get_by_role("button", name="在线申请").click()

    # One form: the child's name asked once for the three services.
    assert page.locator("[name='child_name']").count() == 1
    assert page.locator("[name='insurance-insured_id']").is_hidden()  # a newborn has no ID number
    problems += axe_problems(page, "bundle form")
    for name, value in ANSWERS.items():
        answer(page, name, value)
    with page.expect_navigation():
        page.locator("button[name=next]").click()

    # Each material once: the birth certificate serves all three.
    certificate = page.locator("section.material", has_text="出生医学证明")
    assert certificate.locator("input[type=file]").count() == 1
    pdf = tmp_path / "birth-certificate.pdf"
    pdf.write_bytes(files.PDF)
    certificate.locator("input[type=file]").set_input_files(str(pdf))
    with page.expect_navigation():
        certificate.locator("button[type=submit]").click()
    problems += axe_problems(page, "bundle materials")
    with page.expect_navigation():
        page.locator("button[name=submit]").click()

    # One receipt listing every member case filed; 社会保障卡 waits for 出生登记.
    application = BundleApplication.objects.get(applicant__user__username="citizen")
    links = {link.service.code: link for link in application.member_cases.select_related("case", "service")}  # fmt: skip
    birth, insurance = links[BIRTH_SERVICE].case, links[INSURANCE].case
    receipt = page.locator("main").inner_text()
    assert application.number in receipt and birth.number in receipt and insurance.number in receipt
    assert links[CARD].case is None and links[CARD].state == "waiting"
    problems += axe_problems(page, "bundle receipt")

    # 公安 sees its member case and decides it; 社会保障卡 is then filed, prefilled from it.
    staff_page = page.context.browser.new_context(locale="zh-CN").new_page()
    sees_in_queue(staff_page, base, psb[Role.CASEWORKER].username, birth.number)
    decide_through_the_api(birth.number, psb)
    card = BundleApplication.objects.get(pk=application.pk).member_cases.get(service__code=CARD).case  # fmt: skip
    assert card is not None and card.department.code == "city-hrss"
    assert card.data["birth_registration"] == birth.number
    assert card.data["child_name"] == "张小宝"

    # 医保 and 人社 each see theirs (and not the others') and decide.
    staff_page = page.context.browser.new_context(locale="zh-CN").new_page()
    sees_in_queue(staff_page, base, hsa[Role.CASEWORKER].username, insurance.number)
    assert staff_page.goto(f"{base}/work/{card.number}/").status == 404
    decide_through_the_api(insurance.number, hsa)
    staff_page = page.context.browser.new_context(locale="zh-CN").new_page()
    sees_in_queue(staff_page, base, hrss[Role.CASEWORKER].username, card.number)
    decide_through_the_api(card.number, hrss)
    assert set(Case.objects.filter(bundle_link__application=application).values_list("state", flat=True)) == {"concluded"}  # fmt: skip

    # The parent sees one status with every member case, and rates once.
    page.goto(f"{base}/applications/bundles/{application.number}/")
    assert page.locator("#bundle-state").get_attribute("data-state") == "completed"
    status = page.locator("main").inner_text()
    for number in (birth.number, insurance.number, card.number):
        assert number in status
    problems += axe_problems(page, "bundle status")
    page.locator("label.score-5").click()
    with page.expect_navigation():
        page.locator("#bundle-rating button[type=submit]").click()
    assert page.locator("#bundle-rated").count() == 1
    assert page.locator("#bundle-rating input[name=score]").count() == 0
    assert Rating.objects.filter(case__bundle_link__application=application).count() == 3
    assert User.objects.get(username="citizen").citizen_profile.bundle_applications.count() == 1
    assert problems == []
