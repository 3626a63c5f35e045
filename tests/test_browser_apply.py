"""The citizen's journey in real Chromium: sign in as the demo citizen, apply for a demo service with an
upload, submit, and download a receipt whose text names the case number."""

import subprocess

import pytest

from . import files
from .conftest import DEMO_PASSWORD
from .support.browser import answer_required_fields

SERVICE = "330100-RS-GG-001"  # 社会保障卡申领: a form, a photo to upload, nothing else


@pytest.mark.browser
@pytest.mark.slow
def test_demo_citizen_applies_online_and_downloads_the_receipt(
    live_server, demo_data, browser_page, tmp_path
):
    page = browser_page
    scan = tmp_path / "photo.pdf"
    scan.write_bytes(files.PDF)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "citizen")
    page.fill("#id_password", DEMO_PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url("**/accounts/profile/")

    page.goto(f"{live_server.url}/services/{SERVICE}/")
    page.click(f"a[href='/applications/new/{SERVICE}/']")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/form/")
    # The applicant's name and ID number are already there, shown and not asked for; the ID masked.
    facts = page.locator(".fixed-facts").inner_text()
    assert "张小明" in facts
    from accounts.demo import CITIZEN

    assert CITIZEN["id_number"] not in page.content()
    assert CITIZEN["id_number"][:3] + "*" * 11 + CITIZEN["id_number"][-4:] in facts
    answer_required_fields(page)
    page.click("button[name=next]")
    page.wait_for_url("**/materials/")

    required = page.locator("section.material", has=page.locator(".tag:not(.tag-soft)"))
    for index in range(required.count()):
        section = page.locator("section.material", has=page.locator(".tag:not(.tag-soft)")).nth(
            index
        )
        if section.locator("input[type=file]").count():
            section.locator("input[type=file]").set_input_files(str(scan))
            with page.expect_navigation():
                section.locator("form.upload-form button[type=submit]").first.click()
    assert "photo.pdf" in page.content()
    page.click("button[name=continue]")
    page.wait_for_url("**/review/")
    page.click("main form.stack button[type=submit]")
    page.wait_for_url("**/submitted/")
    number = page.locator(".case-number").inner_text().strip()
    assert number.startswith(f"{SERVICE}-")

    with page.expect_download() as download_info:
        page.click("a[href$='receipt.pdf']")
    receipt = tmp_path / "receipt.pdf"
    download_info.value.save_as(receipt)
    text = subprocess.run(
        ["pdftotext", str(receipt), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert number in text
    assert "收件凭证" in text

    page.goto(f"{live_server.url}/applications/")
    assert number in page.content()


def _as(page, base: str, username: str):
    """A fresh browser context (its own cookies) signed in as `username`; returns its page."""
    context = page.context.browser.new_context(accept_downloads=True, locale="zh-CN")
    fresh = context.new_page()
    _sign_in(fresh, base, username)
    return fresh


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url("**/accounts/profile/")


def _take(page, name: str, opinion: str = "") -> None:
    form = page.locator(f"form.action-form:has(input[name=transition][value={name}])")
    if opinion:
        form.locator("textarea[name=opinion]").fill(opinion)
    basis = form.locator("select[name=legal_basis]")
    if basis.count():  # a decision names the article it applies: the first the service offers
        basis.select_option(index=1)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


@pytest.mark.browser
@pytest.mark.slow
def test_caseworker_requests_documents_citizen_answers_and_receives_the_e_licence(
    live_server, demo_data, browser_page, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import User
    from cases import workflow
    from cases.models import Case
    from services.models import ServiceItem

    pdf = files.PDF
    citizen = User.objects.get(username="citizen")
    service = ServiceItem.objects.get(code="330100-AMR-DJ-001")  # 个体工商户设立登记 → 营业执照
    case, _ = workflow.create_draft(
        service=service,
        user=citizen,
        data={
            "business_name": "示范市滨江区小明便利店", "operation": "personal", "premises": "滨江区望海路 1 号",
            "postcode": "310000", "business_scope": "日用百货零售", "staff_count": 2, "consent": True,
        },
    )  # fmt: skip
    for material in service.current_version.materials.filter(source="upload"):
        workflow.add_attachment(
            case=case,
            material_id=material.pk,
            upload=SimpleUploadedFile("scan.pdf", pdf),
            user=citizen,
        )
    case = workflow.submit_application(case=case, user=citizen)
    base = live_server.url
    page = browser_page

    # The caseworker finds the case in the queue, claims it and asks for a clearer document.
    _sign_in(page, base, "caseworker")
    page.goto(f"{base}/work/")
    page.click(f"a[href='/work/{case.number}/']")
    with page.expect_navigation():
        page.locator(f"form[action='/work/{case.number}/claim/'] button").click()
    assert "王承办" in page.locator("main").inner_text()
    supplement = page.locator(
        "form.action-form:has(input[name=transition][value=request_supplement])"
    )
    supplement.locator("input[name=materials]").first.check()
    _take(page, "request_supplement", "申请书签名不清晰，请重新上传签字页。")
    assert Case.objects.get(pk=case.pk).state == "supplement_requested"

    # The citizen answers on their case page.
    page = _as(page, base, "citizen")
    page.goto(f"{base}/applications/{case.number}/")
    assert "申请书签名不清晰" in page.content()
    answer = tmp_path / "signed.pdf"
    answer.write_bytes(pdf)
    page.locator("#supplement form.upload-form input[type=file]").first.set_input_files(str(answer))
    with page.expect_navigation():
        page.locator("#supplement form.upload-form button[type=submit]").first.click()
    with page.expect_navigation():
        page.locator("#supplement form.stack button[type=submit]").click()
    assert Case.objects.get(pk=case.pk).state == "submitted"

    # Accept, review, approve: each by the actor of that stage.
    for username, action, opinion in [
        ("caseworker", "accept", "材料齐全，予以受理。"),
        ("reviewer", "pass_review", "经审查，符合设立条件。"),
        ("approver", "approve", "准予登记。"),
    ]:
        page = _as(page, base, username)
        page.goto(f"{base}/work/{case.number}/")
        _take(page, action, opinion)
    assert Case.objects.get(pk=case.pk).state == "approved"

    # The citizen downloads the e-licence from their wallet.
    page = _as(page, base, "citizen")
    page.goto(f"{base}/licences/")
    with page.expect_download() as download_info:
        page.locator("a[href$='/pdf/']").first.click()
    saved = tmp_path / "licence.pdf"
    download_info.value.save_as(saved)
    text = subprocess.run(
        ["pdftotext", str(saved), "-"], capture_output=True, check=True
    ).stdout.decode()
    licence = citizen.citizen_profile.licences.get()
    assert licence.number in text
    assert "张小明" in text
