"""The pages of 告知承诺 and 容缺 in Chromium (issue 15): the materials step with the commitment, the
case page with what is still owed, the staff's 核查 list; axe clean in zh-Hans and English, at
390 px and on a desktop."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from cases import workflow
from services.models import RESIDENT_ID_CARD, LicenceType

from . import files
from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support.browser import axe_problems, sign_in

PDF = files.PDF


@pytest.mark.browser
@pytest.mark.slow
def test_commitment_owed_and_verification_pages_are_accessible(
    live_server, browser_page, transactional_db, settings, tmp_path
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    department = DepartmentFactory(code="amr", name="市场监督管理局", name_en="Market regulation")
    police = DepartmentFactory(code="psb", name="公安局")
    identity = LicenceType.objects.create(code=RESIDENT_ID_CARD, name="居民身份证", issuer=police)
    food = LicenceType.objects.create(code="food", name="食品经营许可证", issuer=department)
    service = make_service(
        "AMR-FOOD", department=department, name="食品经营许可", result_type="licence",
        result_name="食品经营许可证", licence_type=food, allows_tolerance=True,
        allows_commitment=True, commitment_text="本单位承诺：符合许可条件，所填报信息真实。",
        materials=[
            {"name": "申请书", "source": "form"},
            {"name": "身份证明", "source": "licence", "licence_type": identity},
            {"name": "食品安全管理制度", "tolerable": True},
            {"name": "设备布局图", "covered_by_commitment": True},
        ],
    ).service  # fmt: skip
    citizen = CitizenProfileFactory(user__username="xiaoming", real_name="王小明")
    staff = {
        role: StaffMembershipFactory(department=department, role=role, user__username=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER)
    }
    draft, _new = workflow.create_draft(service=service, user=citizen.user, data={"shop_area": 3})
    decided, _new = workflow.create_draft(service=service, user=citizen.user, data={"shop_area": 4})
    workflow.sign_commitment(case=decided, user=citizen.user)
    rules = decided.service_version.materials.get(name="食品安全管理制度")
    workflow.add_attachment(
        case=decided, material_id=rules.pk, user=citizen.user,
        upload=SimpleUploadedFile("rules.pdf", PDF, "application/pdf"),
    )  # fmt: skip
    decided = workflow.submit_application(case=decided, user=citizen.user)
    for name, role in (("accept", Role.CASEWORKER), ("pass_review", Role.REVIEWER),
                       ("approve", Role.APPROVER)):  # fmt: skip
        decided = workflow.apply_transition(
            case=decided, name=name, actor=staff[role], opinion="好"
        )
    owing, _new = workflow.create_draft(service=service, user=citizen.user, data={"shop_area": 5})
    workflow.sign_commitment(case=owing, user=citizen.user)
    owing = workflow.submit_application(case=owing, user=citizen.user)

    page, base, problems = browser_page, live_server.url, []
    sign_in(page, base, "xiaoming")
    for language in ("zh-hans", "en"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{base}/applications/{draft.number}/materials/")
            assert page.locator("#commitment").is_visible()
            problems += axe_problems(page, f"{language} {width} materials")
            page.goto(f"{base}/applications/{owing.number}/")
            assert page.locator("#owed input[type=file]").count() == 1
            problems += axe_problems(page, f"{language} {width} owed")
            overflow = page.evaluate("document.documentElement.scrollWidth > innerWidth + 1")
            assert not overflow, f"{language} {width}: the page is wider than the screen"
    page.context.clear_cookies()
    sign_in(page, base, Role.CASEWORKER)
    for language in ("zh-hans", "en"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{base}/work/verifications/")
            assert decided.number in page.content()
            problems += axe_problems(page, f"{language} {width} verifications")
            page.goto(f"{base}/work/{owing.number}/")
            assert "食品安全管理制度" in page.locator("#owed-title + p + ul").inner_text()
            problems += axe_problems(page, f"{language} {width} staff case with owed materials")
    assert not problems, "\n".join(problems)
