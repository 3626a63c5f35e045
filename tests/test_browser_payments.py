"""Fees in real Chromium (issue 19 item 5, "Must show"): a citizen applies online for a service
whose fee is due before the electronic result, the department approves, the citizen sees
"待缴费 ¥20.00" with the legal basis, pays through the demo provider's checkout, and the case is
concluded by itself with zero visits; the receipt (缴费凭证) is on the case. Every payment page
(the case page with the fee, the checkout, the clerk's window page with an error, the
reconciliation) passes axe, standard and elder mode, on a 390 px phone."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support.browser import answer_required_fields, axe_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FEE = {
    "fee_free": False,
    "fee_standard": "工本费每证 20 元。",
    "fee_basis": "《国家发展改革委 财政部关于公安部门有关收费标准及有关问题的通知》（发改价格〔2004〕2831号）",
    "fee_rule": {"amount_fen": 2000, "due": "before_result", "refund_on": []},
}
PHONE = {"width": 390, "height": 844}


def _office(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    department = DepartmentFactory(code="psb", name="示范市公安局")
    staff = {
        role: StaffMembershipFactory(department=department, role=role, user__username=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.COUNTER_CLERK,
                     Role.DEPARTMENT_HEAD)
    }  # fmt: skip
    make_service(
        "FEE-1", department=department, name="驾驶证补领", name_en="Replacement driving licence",
        materials=[{"name": "申请书", "required": False}], delivery_electronic=True, **FEE,
    )  # fmt: skip
    citizen = CitizenProfileFactory(real_name="王小明", user__username="wangxm").user
    return department, staff, citizen


def _decide(number: str, staff) -> None:
    from cases import workflow
    from cases.models import Case

    case = Case.objects.get(number=number)
    for name, role in (("accept", Role.CASEWORKER), ("pass_review", Role.REVIEWER),
                       ("approve", Role.APPROVER)):  # fmt: skip
        case = workflow.apply_transition(case=case, name=name, actor=staff[role], opinion="同意")


def test_a_citizen_pays_online_and_the_case_concludes_with_zero_visits(
    live_server, transactional_db, browser_page, settings, tmp_path
):
    from cases.models import Case
    from cases.payments.models import Payment

    _department, staff, _citizen = _office(settings, tmp_path)
    page, base = browser_page, live_server.url
    page.set_viewport_size(PHONE)
    sign_in(page, base, "wangxm")
    page.goto(f"{base}/services/FEE-1/")
    with page.expect_navigation():
        page.click("a[href='/applications/new/FEE-1/']")
    if "/form/" not in page.url:
        with page.expect_navigation():
            page.click("main form button[type=submit]")
    answer_required_fields(page)
    with page.expect_navigation():
        page.click("button[name=next]")
    with page.expect_navigation():
        page.click("button[name=continue]")
    with page.expect_navigation():
        page.click("main form.stack button[type=submit]")
    assert "/submitted/" in page.url, page.locator("main").inner_text()[:500]
    number = page.locator(".case-number").inner_text().strip()

    _decide(number, staff)
    page.goto(f"{base}/applications/{number}/")
    fee = page.locator("#fee")
    expect(fee.locator("h2")).to_contain_text("¥20.00")
    expect(fee).to_contain_text("发改价格〔2004〕2831号")
    problems = axe_problems(page, "case page, fee due")
    with page.expect_navigation():
        fee.locator("button[type=submit]").click()
    assert "/pay/demo/" in page.url
    expect(page.locator("main")).to_contain_text("¥20.00")
    problems += axe_problems(page, "demo checkout")
    with page.expect_navigation():
        page.click("button[value=pay]")
    # Back on the case page through the signed callback: paid, concluded, nothing left to do.
    assert page.url.endswith(f"/applications/{number}/"), page.url
    expect(page.locator(".messages")).to_be_visible()
    expect(page.locator("#fee h2")).to_contain_text("¥20.00")
    expect(page.locator("#fee button")).to_have_count(0)
    problems += axe_problems(page, "case page, paid")
    case = Case.objects.get(number=number)
    assert case.state == "concluded" and case.visits == 0
    assert Payment.objects.get(case=case).state == "paid"
    assert case.documents.filter(kind="payment_receipt").exists()
    receipt = case.documents.get(kind="payment_receipt")
    expect(page.locator(f"a[href$='/official/{receipt.pk}.pdf']")).to_have_count(1)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
def test_the_payment_pages_pass_axe(live_server, transactional_db, browser_page, settings,
                                    tmp_path, elder):  # fmt: skip
    from django.utils import timezone

    from cases import workflow
    from cases.payments import services as payments

    department, staff, citizen = _office(settings, tmp_path)
    from services.models import ServiceItem

    case, _ = workflow.create_draft(
        service=ServiceItem.objects.get(code="FEE-1"), user=citizen, data={"shop_area": 3}
    )
    case = workflow.submit_application(case=case, user=citizen)
    _decide(case.number, staff)
    payment, url = payments.start_checkout(case=case, user=citizen)
    page, base = browser_page, live_server.url
    page.set_viewport_size(PHONE)
    problems: list[str] = []

    sign_in(page, base, "wangxm")
    if elder:
        page.goto(f"{base}/")
        with page.expect_navigation():
            page.locator("button[name=elder_mode]").first.click()
    page.goto(f"{base}/applications/{case.number}/")
    expect(page.locator("#fee")).to_contain_text("¥20.00")
    problems += axe_problems(page, "case page")
    page.goto(f"{base}{url}")
    problems += axe_problems(page, "checkout")
    page.context.clear_cookies()

    sign_in(page, base, Role.COUNTER_CLERK)
    page.goto(f"{base}/counter/fees/{case.number}/")
    problems += axe_problems(page, "window")
    page.locator("input[value=cash]").check()
    with page.expect_navigation():
        page.click("main form button[type=submit]")  # no receipt number: refused in place
    expect(page.locator("#id_receipt_number")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary")).to_be_focused()  # not the first choice's autofocus
    problems += axe_problems(page, "window, error")
    page.fill("#id_receipt_number", "NO.0001")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page.locator("main")).to_contain_text("NO.0001")
    problems += axe_problems(page, "window, paid")
    page.context.clear_cookies()

    sign_in(page, base, Role.DEPARTMENT_HEAD)
    page.goto(
        f"{base}/pay/reconciliation/?department={department.pk}&date={timezone.localdate():%Y-%m-%d}"
    )
    expect(page.locator("main")).to_contain_text("¥20.00")
    problems += axe_problems(page, "reconciliation")
    page.goto(f"{base}/pay/reconciliation/?department={department.pk}&date=2026-13-01")
    problems += axe_problems(page, "reconciliation, bad date")
    assert payment.provider_reference
    assert not problems, "\n".join(problems)
