"""最多跑一次, in Chromium on a 390 px phone (issue 15, "Must show"): a new citizen registers with a
滨江区 ID number (330108, born 1990: the district code is younger than they are), searches "开店",
applies for 个体工商户设立登记 without uploading their identity (taken from the resident ID held
from verification) or the application form (made from the answers), submits with the premises
proof missing (容缺), uploads it later from the case page, and the case is decided. The same in
elder mode (长辈模式)."""

import pytest
from django.core.cache import caches

from accounts.identity import enter_in_demo_register
from accounts.models import Role

from . import files
from .factories import PASSWORD, StaffMembershipFactory
from .support.browser import answer_required_fields
from .support.sms import code_sent_to

SERVICE = "330100-AMR-DJ-001"
ID_NUMBER = "330108199003071239"
PDF = files.PDF


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
def test_a_new_citizen_gets_a_business_licence_in_one_trip(
    live_server, demo_data, browser_page, tmp_path, elder
):
    from cases import workflow
    from cases.models import Case

    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    scan = tmp_path / "lease.pdf"
    scan.write_bytes(PDF)
    page.goto(f"{base}/")
    if elder:
        with page.expect_navigation():
            page.locator("button[name=elder_mode]").first.click()
    # Registration with a real-world ID number.
    enter_in_demo_register(real_name="王小明", id_number=ID_NUMBER, phone="13912345678")
    caches["ratelimit"].clear()  # a transactional test's flush leaves the cache table alone
    page.goto(f"{base}/accounts/register/")
    page.fill("#id_username", "xiaoming1990")
    page.fill("#id_real_name", "王小明")
    page.fill("#id_id_number", ID_NUMBER)
    page.fill("#id_phone", "13912345678")
    with page.expect_navigation():
        page.locator("main form button[name=send_code]").click()
    assert "139****5678" in page.locator("main [role=status]").inner_text()
    page.fill("#id_sms_code", code_sent_to("13912345678"))
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    with page.expect_navigation():
        page.locator("main form button.button[name=register]").click()
    assert "/accounts/profile/" in page.url, page.locator("main").inner_text()[:500]
    # Everyday words find the service.
    page.goto(f"{base}/services/?q=开店")
    first = page.locator(f"main a[href='/services/{SERVICE}/']").first
    assert first.is_visible()
    with page.expect_navigation():
        first.click()
    with page.expect_navigation():
        page.click(f"a[href='/applications/new/{SERVICE}/']")
    if "/form/" not in page.url:
        with page.expect_navigation():
            page.click("main form button[type=submit]")
    assert "/form/" in page.url
    assert "王小明" in page.locator(".fixed-facts").inner_text()  # shown, not asked
    answer_required_fields(page)
    with page.expect_navigation():
        page.click("button[name=next]")
    assert "/materials/" in page.url, page.locator("main").inner_text()[:800]
    materials = page.locator("main").inner_text()
    assert "已为您调取：居民身份证 330***********1239" in materials
    assert ID_NUMBER not in page.content()
    # Nothing to upload for identity or the form: only the premises proof, which may follow.
    assert page.locator("input[type=file]").count() == 1
    with page.expect_navigation():
        page.click("button[name=continue]")
    review = page.locator("main").inner_text()
    assert "容缺" in review
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()
    assert "/submitted/" in page.url, page.locator("main").inner_text()[:800]
    number = page.locator(".case-number").first.inner_text().strip()
    case = Case.objects.get(number=number)
    assert [m.name for m in workflow.owed_materials(case)] == [
        "经营场所使用证明（租赁合同或产权证明）"
    ]
    # Later, from the case page: the owed material.
    page.goto(f"{base}/applications/{number}/")
    page.locator("#owed input[type=file]").set_input_files(str(scan))
    with page.expect_navigation():
        page.locator("#owed button[type=submit]").click()
    assert workflow.owed_materials(case) == []
    assert "#owed" in page.url and page.get_by_role("status").count() >= 1
    # Staff decide; the licence reaches the citizen's wallet.
    staff = {
        role: StaffMembershipFactory(department=case.department, role=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER)
    }
    for name, role in (("accept", Role.CASEWORKER), ("pass_review", Role.REVIEWER),
                       ("approve", Role.APPROVER)):  # fmt: skip
        article = case.service.articles.first() if name == "approve" else None
        details = {"legal_basis": article.pk} if article else None
        case = workflow.apply_transition(
            case=case, name=name, actor=staff[role], opinion="符合", details=details
        )
    case.refresh_from_db()
    assert case.state == "approved"
    page.goto(f"{base}/applications/{number}/")
    assert (
        "准予" in page.locator("main").inner_text() or "批准" in page.locator("main").inner_text()
    )
    if elder:
        size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 24, size
    overflow = page.evaluate("document.documentElement.scrollWidth > innerWidth + 1")
    assert not overflow
