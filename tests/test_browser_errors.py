"""Errors that say how to fix, in real Chromium: on the application form, the materials upload and
the answer to a request for documents, the error summary takes the focus when the page loads, the
title starts with "错误：", each error sits beside its input, nothing typed is lost (the consent tick
included); then axe on every page this touched, in Chinese and English, at 390 px and on a desktop.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from accounts.models import Role
from cases import workflow

from .factories import CitizenProfileFactory, DepartmentFactory, StaffMembershipFactory
from .support.browser import sign_in
from .test_error_pattern import EXE, GOOD_DATA, PDF, SHOP_SCHEMA

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # Committed data for the live server. Dates are read from what the pages say, so the
    # working-day calendar may be there or not (another module's flush empties it).
    pytest.mark.django_db(transaction=True),
]
AXE = Axe()
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def serious(page, label: str) -> list[str]:
    results = AXE.run(page)
    return [
        f"{label}: {v['id']} {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


@pytest.fixture
def world(settings, tmp_path):
    from .factories import make_service

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    shop = make_service(
        "ERR-SHOP",
        department=DepartmentFactory(code="amr-err", name="市场监督管理局"),
        name="小店开业登记",
        name_en="Small shop registration",
        form_schema=SHOP_SCHEMA,
        materials=[
            {"name": "营业场所照片", "required": True},
            {"name": "租赁合同", "required": True},
        ],
    ).service
    citizen = CitizenProfileFactory(user__username="liuba", real_name="刘八").user
    draft, _ = workflow.create_draft(service=shop, user=citizen, data={})

    def submitted():
        case, _ = workflow.create_draft(service=shop, user=citizen, data=GOOD_DATA)
        for material in shop.current_version.materials.all():
            workflow.add_attachment(
                case=case,
                material_id=material.pk,
                upload=SimpleUploadedFile("scan.pdf", PDF),
                user=citizen,
            )
        return workflow.submit_application(case=case, user=citizen)

    done = submitted()
    asked = submitted()
    clerk = StaffMembershipFactory(department=asked.department, role=Role.CASEWORKER).user
    asked = workflow.request_supplement(
        case=asked,
        actor=clerk,
        materials=list(shop.current_version.materials.all()),
        note="照片不清晰，合同缺签字页。",
    )
    photo = shop.current_version.materials.get(name="营业场所照片")
    workflow.add_attachment(
        case=asked, material_id=photo.pk, upload=SimpleUploadedFile("p.pdf", PDF), user=citizen
    )
    return {
        "shop": shop,
        "draft": draft,
        "done": done,
        "asked": asked,
        "photo": photo,
        "lease": shop.current_version.materials.get(name="租赁合同"),
    }


def _open(browser, base: str, viewport: dict, language: str):
    context = browser.new_context(
        locale="zh-CN", viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, base, "liuba")
    if language == "en":
        with page.expect_navigation():
            page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    return context, page


def _form_with_errors(page, base, case):
    page.goto(f"{base}/applications/{case.number}/form/")
    page.fill("#id_contact_phone", "12345")
    page.fill("#id_staff_count", "0")
    page.check("#id_consent")
    with page.expect_navigation():
        page.click("button[name=next]")


def _upload_refused(page, base, case, material, tmp_path):
    bad = tmp_path / "invoice.pdf"
    bad.write_bytes(EXE)
    page.goto(f"{base}/applications/{case.number}/materials/")
    section = page.locator(f"section.material[aria-labelledby='material-{material.pk}']")
    section.locator("input[type=file]").set_input_files(str(bad))
    with page.expect_navigation():
        section.locator("form.upload-form button[type=submit]").first.click()


def _answer_too_early(page, base, case):
    page.goto(f"{base}/applications/{case.number}/")
    page.fill("#note", "合同已补签")
    with page.expect_navigation():
        page.click("button[name=answer]")


def test_the_error_summary_takes_the_focus_and_each_error_sits_beside_its_input(
    live_server, world, browser_page, tmp_path
):
    base, page = live_server.url, browser_page
    sign_in(page, base, "liuba")

    # The application form: every error at once, the summary focused, nothing typed lost.
    _form_with_errors(page, base, world["draft"])
    assert page.title().startswith("错误：")
    assert focused_id(page) == "error-summary"
    summary = page.locator("#error-summary")
    texts = summary.locator("a").all_inner_texts()
    assert "请填写店铺名称。" in texts
    assert "联系电话：请输入 11 位手机号，如 13800138000" in texts
    assert "从业人数不能小于 1：请填写 1 或更大的数。" in texts
    expect(page.locator("#id_contact_phone")).to_have_value("12345")
    expect(page.locator("#id_staff_count")).to_have_value("0")
    expect(page.locator("#id_consent")).to_be_checked()
    # A link moves the focus to its field, which says it is invalid.
    summary.get_by_role("link", name="请填写店铺名称。").click()
    assert focused_id(page) == "id_shop_name"
    expect(page.locator("#id_shop_name")).to_have_attribute("aria-invalid", "true")

    # The materials upload: the refusal beside the file input of that material.
    photo = world["photo"]
    _upload_refused(page, base, world["draft"], photo, tmp_path)
    assert page.title().startswith("错误：")
    assert focused_id(page) == "error-summary"
    section = page.locator(f"section.material[aria-labelledby='material-{photo.pk}']")
    expect(section.locator(f"#file-{photo.pk}-error")).to_contain_text("仅支持 PDF、JPEG、PNG")
    expect(page.locator(".messages")).to_have_count(0)
    page.locator("#error-summary a").first.click()
    assert focused_id(page) == f"file-{photo.pk}"

    # The answer to a request for documents: sent too early, told what is missing and where.
    lease = world["lease"]
    page.goto(f"{base}/applications/{world['asked'].number}/")
    expect(page.locator("#supplement-status")).to_contain_text("已上传，尚未提交。")
    expect(page.locator("#supplement")).to_contain_text("还缺：")
    _answer_too_early(page, base, world["asked"])
    assert page.title().startswith("错误：")
    assert focused_id(page) == "error-summary"
    expect(page.locator(f"#sfile-{lease.pk}-error")).to_have_text(
        "请先上传“租赁合同”，再点击“提交补正材料”。"
    )
    expect(page.locator("#note")).to_have_value("合同已补签")


@pytest.mark.parametrize(
    ("language", "viewport"),
    [("zh-hans", DESKTOP), ("en", DESKTOP), ("zh-hans", PHONE), ("en", PHONE)],
    ids=["zh-desktop", "en-desktop", "zh-390", "en-390"],
)
def test_the_changed_pages_pass_axe_and_fit_a_phone(
    live_server, world, browser_page, tmp_path, language, viewport
):
    base = live_server.url
    browser = browser_page.context.browser
    context, page = _open(browser, base, viewport, language)
    problems: list[str] = []
    too_wide: list[str] = []
    label = f"{language} {viewport['width']}px"

    def check(name: str) -> None:
        problems.extend(serious(page, f"{label} {name}"))
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > viewport["width"] + 1:
            too_wide.append(f"{label} {name}: {width}px")
        if viewport is PHONE and language == "zh-hans":
            import os

            if os.environ.get("SHOTS") == "1":
                os.makedirs("/tmp/shots", exist_ok=True)  # noqa: S108 - for a human to look at
                page.screenshot(path=f"/tmp/shots/errors-{name}.png", full_page=True)  # noqa: S108

    _form_with_errors(page, base, world["draft"])
    assert page.title().startswith("错误：" if language == "zh-hans" else "Error: ")
    check("form-errors")
    _upload_refused(page, base, world["draft"], world["photo"], tmp_path)
    check("materials-error")
    page.goto(f"{base}/applications/{world['draft'].number}/review/")
    with page.expect_navigation():
        page.click("main form.stack button[type=submit]")
    assert re.match(r"^(错误：|Error: )", page.title())
    check("review-errors")
    page.goto(f"{base}/applications/{world['done'].number}/submitted/")
    expect(page.locator(".next-steps li")).to_have_count(4)
    check("submitted")
    page.goto(f"{base}/applications/{world['asked'].number}/")
    check("supplement-uploaded-not-sent")
    _answer_too_early(page, base, world["asked"])
    check("supplement-error")
    page.goto(f"{base}/applications/")
    check("my-applications")
    context.close()
    assert not problems, "\n".join(problems)
    assert not too_wide, too_wide
