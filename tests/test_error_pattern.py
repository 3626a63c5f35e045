"""Errors that say how to fix (GOV.UK pattern), on one form of each kind: registration, the
application form, the materials upload; then what happens next after submitting, answering a
request for documents (补正) in one clear step, and its deadline in "my applications".

Every test reads the page as the citizen gets it (zh-Hans, the default language)."""

import datetime as dt
import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import CitizenProfile, Role, User
from cases import workflow
from cases.models import Case
from services.calendar import add_working_days_provisional
from services.schema import normalize_schema

from . import files
from .factories import (
    PASSWORD,
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    id_number_for,
    make_service,
)
from .support.sms import register_in_page

PDF = files.PDF
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64
CONSENT = "本人承诺所填信息真实、有效"

SHOP_SCHEMA = normalize_schema(
    {
        "type": "object",
        "required": ["shop_name", "contact_phone", "postcode", "staff_count", "opening", "kind"],
        "properties": {
            "shop_name": {"type": "string", "maxLength": 30, "title": "店铺名称"},
            "contact_phone": {
                "type": "string",
                "pattern": "^1[3-9][0-9]{9}$",
                "title": "联系电话",
                # The author's own words on how to fix it are kept as written.
                "x-pattern-message": {
                    "zh-hans": "请输入 11 位手机号，如 13800138000",
                    "en": "Enter a mobile number of 11 digits, e.g. 13800138000",
                },
            },
            "postcode": {"type": "string", "pattern": "^[0-9]{6}$", "title": "邮政编码"},
            "staff_count": {"type": "integer", "minimum": 1, "maximum": 99, "title": "从业人数"},
            "opening": {"type": "string", "format": "date", "title": "开业日期"},
            "kind": {
                "type": "string",
                "enum": ["retail", "catering"],
                "title": "经营类型",
                "x-enum-labels": {
                    "retail": {"zh-hans": "零售", "en": "Retail"},
                    "catering": {"zh-hans": "餐饮", "en": "Catering"},
                },
            },
            "consent": {"type": "boolean", "const": True, "title": CONSENT},
        },
    }
)
GOOD_DATA = {
    "shop_name": "老街面馆",
    "contact_phone": "13912345678",
    "postcode": "310000",
    "staff_count": 3,
    "opening": "2026-12-01",
    "kind": "retail",
    "consent": True,
}


@pytest.fixture
def shop(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return make_service(
        "ERR-SHOP",
        department=DepartmentFactory(code="amr-err", name="市场监督管理局"),
        name="小店开业登记",
        form_schema=SHOP_SCHEMA,
        promised_limit_days=10,
        materials=[
            {"name": "营业场所照片", "required": True},
            {"name": "租赁合同", "required": True},
        ],
    ).service


@pytest.fixture
def citizen_page(citizen) -> Client:
    client = Client()
    client.force_login(citizen)
    return client


def title(content: str) -> str:
    return html.unescape(re.search(r"<title>(.*?)</title>", content, re.S).group(1)).strip()


def summary_of(content: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', content, re.S)
    assert match, "no error summary on the page"
    return match.group(0)


def summary_links(content: str) -> dict[str, str]:
    """href → text of each link in the error summary."""
    return {
        href: html.unescape(text)
        for href, text in re.findall(r'<a href="([^"]+)">(.*?)</a>', summary_of(content))
    }


def field_block(content: str, field_id: str) -> str:
    """The wrapper of one field: its label, hint, errors and input."""
    match = re.search(
        rf'<div class="field[^"]*"[^>]*>(?:(?!<div class="field).)*?id="{field_id}".*?</div>',
        content,
        re.S,
    )
    assert match, f"no field {field_id}"
    return match.group(0)


def supplement_state(case: Case) -> str:
    return Case.objects.get(pk=case.pk).state


# --- Registration -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_registration_shows_every_problem_at_once_each_saying_how_to_fix_it(client):
    before = (User.objects.count(), CitizenProfile.objects.count())
    response = client.post(
        reverse("accounts:register"),
        {
            "username": "",
            "real_name": "王五",
            "id_number": "110105194912310021",  # the check digit is wrong
            "phone": "12345",
            "email": "wangwu@example",
            "password1": "1234567890",  # common, and only digits
            "password2": "1234567890",
        },
    )
    assert response.status_code == 400
    content = response.content.decode()
    errors = response.context["form"].errors
    # One round: the form's own problems and those only the service knows, together.
    assert set(errors) == {"username", "id_number", "phone", "sms_code", "email", "password1"}
    assert errors["username"] == ["请设置登录用的用户名，如 zhangsan2026。"]
    assert "13800138000" in errors["phone"][0]
    assert errors["email"] == ["请按 zhang.san@example.com 的格式填写电子邮箱，或者留空。"]
    assert "请设置至少 10 位的密码" in errors["password1"][-1]
    assert title(content).startswith("错误：")
    summary = summary_of(content)
    assert "autofocus" in summary
    links = summary_links(content)
    assert set(links) == {
        "#id_username",
        "#id_id_number",
        "#id_phone",
        "#id_sms_code",
        "#id_email",
        "#id_password1",
    }
    # Each line names its field: the message itself, or the label in front of it.
    assert links["#id_username"].startswith("请设置登录用的用户名")
    assert "身份证号码" in links["#id_id_number"]
    # What was typed is kept (the passwords are never sent back to the page).
    assert 'value="王五"' in content
    assert 'value="110105194912310021"' in content
    assert 'value="12345"' in content
    assert 'value="1234567890"' not in content
    assert (User.objects.count(), CitizenProfile.objects.count()) == before


@pytest.mark.django_db
def test_registration_that_passes_every_check_creates_the_account(client):
    response = register_in_page(
        client,
        **{
            "username": "zhaoliu",
            "real_name": "赵六",
            "id_number": id_number_for(812),
            "phone": "13912345678",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="zhaoliu").citizen_profile.real_name == "赵六"


@pytest.mark.django_db
def test_the_authorisation_form_says_what_to_enter_in_each_field(citizen_page):
    response = citizen_page.post(reverse("accounts:authorisations"), {"grant": "1"})
    content = response.content.decode()
    assert title(content).startswith("错误：")
    assert summary_links(content) == {
        "#id_agent_real_name": "请填写对方真实姓名（与身份证上一致），如 张三。",
        "#id_agent_id_number": "请填写对方身份证号码：18 位，最后一位可能是 X，如 11010519491231002X。",
        # A message that does not name its field gets the label in front.
        "#id_relationship": "对方是我的：请选择对方与您的关系，如 子女。",
    }


# --- The application form -------------------------------------------------------------------------


@pytest.mark.django_db
def test_application_form_shows_every_error_at_once_and_keeps_what_was_typed(
    citizen_page, citizen, shop
):
    case, _ = workflow.create_draft(service=shop, user=citizen, data={})
    response = citizen_page.post(
        reverse("cases:form", args=[case.number]),
        {
            "shop_name": "",
            "contact_phone": "12345",
            "postcode": "31000",
            "staff_count": "两",
            "opening": "2026-13-01",
            "consent": "on",
            "next": "",
        },
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert title(content).startswith("错误：")
    assert "autofocus" in summary_of(content)
    today = timezone.localdate().isoformat()
    expected = {
        "#id_shop_name": "请填写店铺名称。",
        "#id_contact_phone": "联系电话：请输入 11 位手机号，如 13800138000",
        "#id_postcode": "邮政编码请填写 6 位数字，如 310000。",
        "#id_staff_count": "从业人数请填写整数，如 1。",
        "#id_opening": f"请按“年-月-日”填写开业日期，如 {today}。",
        "#id_kind": "请选择经营类型。",
    }
    assert summary_links(content) == expected
    # Beside each field, its own message (the author's pattern message as written).
    assert "请输入 11 位手机号，如 13800138000" in field_block(content, "id_contact_phone")
    assert "请填写店铺名称。" in field_block(content, "id_shop_name")
    # Nothing typed is lost, the consent tick included.
    for value in ("12345", "31000", "两", "2026-13-01"):
        assert f'value="{value}"' in content
    consent = re.search(r'<input type="checkbox" name="consent"[^>]*>', content).group(0)
    assert "checked" in consent


@pytest.mark.django_db
def test_a_consent_not_ticked_says_to_tick_it(citizen_page, citizen, shop):
    case, _ = workflow.create_draft(service=shop, user=citizen, data={})
    data = {**GOOD_DATA, "staff_count": "3", "next": ""}
    data.pop("consent")
    response = citizen_page.post(reverse("cases:form", args=[case.number]), data)
    assert response.status_code == 400
    assert summary_links(response.content.decode()) == {
        "#id_consent": f"请勾选“{CONSENT}”后再继续。"
    }


@pytest.mark.django_db
def test_english_messages_name_the_field_too(citizen_page, citizen, shop):
    citizen_page.cookies["django_language"] = "en"
    case, _ = workflow.create_draft(service=shop, user=citizen, data={})
    response = citizen_page.post(
        reverse("cases:form", args=[case.number]), {"staff_count": "0", "next": ""}
    )
    content = response.content.decode()
    assert title(content).startswith("Error: ")
    links = summary_links(content)
    # The label has no English twin: it stays Chinese, marked for a Chinese voice.
    assert links["#id_staff_count"] == (
        '<span lang="zh-Hans">从业人数</span> must be at least 1: enter 1 or more.'
    )
    assert links["#id_consent"] == f'Tick “<span lang="zh-Hans">{CONSENT}</span>” to continue.'


# --- The materials upload ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_upload_is_told_beside_its_file_input(citizen_page, citizen, shop):
    case, _ = workflow.create_draft(service=shop, user=citizen, data=GOOD_DATA)
    photo = shop.current_version.materials.get(name="营业场所照片")
    response = citizen_page.post(
        reverse("cases:materials", args=[case.number]),
        {"material": photo.pk, "file": SimpleUploadedFile("invoice.pdf", EXE)},
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert title(content).startswith("错误：")
    assert "autofocus" in summary_of(content)
    links = summary_links(content)
    assert list(links) == [f"#file-{photo.pk}"]
    assert links[f"#file-{photo.pk}"].startswith("营业场所照片：仅支持 PDF、JPEG、PNG")
    assert "请将材料另存或扫描为 PDF" in links[f"#file-{photo.pk}"]
    # Beside the input it concerns, tied to it for screen readers; not a flash at the top.
    section = re.search(
        rf'<section class="card material" aria-labelledby="material-{photo.pk}">.*?</section>',
        content,
        re.S,
    ).group(0)
    assert f'<ul class="errorlist" id="file-{photo.pk}-error"><li>仅支持 PDF' in section
    file_input = re.search(rf'<input type="file" id="file-{photo.pk}"[^>]*>', section).group(0)
    assert 'aria-invalid="true"' in file_input
    assert f"file-{photo.pk}-error" in file_input
    assert "message-error" not in content
    other = shop.current_version.materials.get(name="租赁合同")
    assert f"file-{other.pk}-error" not in content
    assert not case.attachments.exists()


@pytest.mark.django_db
def test_upload_without_a_file_says_which_file_to_choose(citizen_page, citizen, shop):
    case, _ = workflow.create_draft(service=shop, user=citizen, data=GOOD_DATA)
    lease = shop.current_version.materials.get(name="租赁合同")
    response = citizen_page.post(
        reverse("cases:materials", args=[case.number]), {"material": lease.pk}
    )
    assert response.status_code == 400
    assert summary_links(response.content.decode()) == {
        f"#file-{lease.pk}": "请选择要上传的“租赁合同”文件：PDF、JPEG 或 PNG 格式，不超过 10 MB。"
    }


@pytest.mark.django_db
def test_submitting_too_early_links_each_problem_to_where_it_is_put_right(
    citizen_page, citizen, shop
):
    case, _ = workflow.create_draft(
        service=shop, user=citizen, data={k: v for k, v in GOOD_DATA.items() if k != "postcode"}
    )
    response = citizen_page.post(reverse("cases:review", args=[case.number]))
    assert response.status_code == 400
    content = response.content.decode()
    assert title(content).startswith("错误：")
    links = summary_links(content)
    form_url = reverse("cases:form", args=[case.number])
    materials_url = reverse("cases:materials", args=[case.number])
    assert links[f"{form_url}#id_postcode"] == "请填写邮政编码，如 310000。"
    assert content.count(f'href="{materials_url}"') >= 2  # each missing material, and "change"
    assert "缺少：营业场所照片" in content and "缺少：租赁合同" in content
    assert Case.objects.get(pk=case.pk).is_draft


# --- After submitting --------------------------------------------------------------------------------


def _submitted(shop, citizen) -> Case:
    case, _ = workflow.create_draft(service=shop, user=citizen, data=GOOD_DATA)
    for material in shop.current_version.materials.all():
        workflow.add_attachment(
            case=case,
            material_id=material.pk,
            upload=SimpleUploadedFile("scan.pdf", PDF),
            user=citizen,
        )
    return workflow.submit_application(case=case, user=citizen)


@pytest.mark.django_db
def test_what_happens_next_after_submitting_with_its_dates(citizen_page, citizen, shop):
    case = _submitted(shop, citizen)
    content = citizen_page.get(reverse("cases:submitted", args=[case.number])).content.decode()
    steps = re.search(r'<ol class="next-steps">(.*?)</ol>', content, re.S).group(1)
    assert "接下来会发生什么" in content
    received = timezone.localdate()
    intake_due, _ = add_working_days_provisional(received, 5)
    decision_by, _ = add_working_days_provisional(intake_due, 10)
    assert case.intake_due_date == intake_due
    items = re.findall(r"<li>(.*?)</li>", steps, re.S)
    assert len(items) == 4
    assert f'<time datetime="{received.isoformat()}">' in items[0]
    assert f"{intake_due.isoformat()} 前" in items[1] and "一次性告知" in items[1]
    assert "10 个工作日" in items[1] and "视为撤回" in items[1]
    assert f"{decision_by.isoformat()} 前" in items[2] and "10 个工作日内作出决定" in items[2]
    assert "批准文书" in items[3]


# --- 补正: answered in one clear step ------------------------------------------------------------


def _asked_for(shop, citizen, *names) -> Case:
    case = _submitted(shop, citizen)
    clerk = StaffMembershipFactory(department=case.department, role=Role.CASEWORKER).user
    materials = list(shop.current_version.materials.filter(name__in=names))
    return workflow.request_supplement(
        case=case, actor=clerk, materials=materials, note="照片不清晰，合同缺签字页。"
    )


@pytest.mark.django_db
def test_answering_a_request_uploads_then_sends_in_one_step(citizen_page, citizen, shop):
    case = _asked_for(shop, citizen, "营业场所照片", "租赁合同")
    request = case.supplement_requests.get()
    photo = shop.current_version.materials.get(name="营业场所照片")
    lease = shop.current_version.materials.get(name="租赁合同")
    page_url = reverse("cases:detail", args=[case.number])
    answer_url = reverse("cases:supplement", args=[case.number])

    content = citizen_page.get(page_url).content.decode()
    assert f"请于 {request.deadline.isoformat()} 前提交补正材料。" in content
    withdrawn_on = (request.deadline + dt.timedelta(days=1)).isoformat()
    assert f"逾期未提交的，申请将于 {withdrawn_on} 视为撤回。" in content
    assert re.search(r"还剩 \d+ 个工作日。", content)
    assert "还缺：" in content and "已上传，尚未提交" not in content
    assert content.count(">提交补正材料</button>") == 1

    # One document uploaded: the page says it is not sent yet and what is still missing.
    response = citizen_page.post(
        answer_url, {"material": photo.pk, "file": SimpleUploadedFile("photo.pdf", PDF)}
    )
    assert response.status_code == 302
    content = citizen_page.get(page_url).content.decode()
    assert "“营业场所照片”已上传，但尚未提交" in content  # the message after uploading
    status = re.search(r'<div class="notice" role="status".*?</div>', content, re.S).group(0)
    assert "已上传，尚未提交。" in status and "请上传还缺的材料" in status
    missing = re.search(r"<p>还缺：.*?</p>", content, re.S).group(0)
    assert "租赁合同" in missing and "营业场所照片" not in missing
    assert supplement_state(case) == "supplement_requested"

    # Sending too early: told beside the missing document's input, the note typed kept.
    response = citizen_page.post(answer_url, {"answer": "1", "note": "合同已补签"})
    assert response.status_code == 400
    content = response.content.decode()
    assert title(content).startswith("错误：")
    assert summary_links(content) == {
        f"#sfile-{lease.pk}": "请先上传“租赁合同”，再点击“提交补正材料”。"
    }
    assert f'id="sfile-{lease.pk}-error"' in content
    assert f'id="sfile-{photo.pk}-error"' not in content
    assert ">合同已补签</textarea>" in content
    assert supplement_state(case) == "supplement_requested"

    # A refused file is told beside its input, too.
    response = citizen_page.post(
        answer_url, {"material": lease.pk, "file": SimpleUploadedFile("lease.pdf", b"")}
    )
    assert response.status_code == 400
    assert summary_links(response.content.decode()) == {
        f"#sfile-{lease.pk}": "租赁合同：文件是空的：请重新选择文件，或重新扫描、拍摄该材料。"
    }

    citizen_page.post(
        answer_url, {"material": lease.pk, "file": SimpleUploadedFile("lease.pdf", PDF)}
    )
    content = citizen_page.get(page_url).content.decode()
    assert "点击下方“提交补正材料”之前，部门收不到这些材料。" in content
    assert "<p>还缺：" not in content
    response = citizen_page.post(answer_url, {"answer": "1", "note": "合同已补签"})
    assert response.status_code == 302
    assert supplement_state(case) == "submitted"
    content = citizen_page.get(page_url).content.decode()
    assert "提交补正材料</button>" not in content and "尚未提交" not in content


# --- 我的办件 -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_my_applications_shows_the_deadline_of_a_request_in_constant_queries(
    citizen_page, citizen, shop
):
    def count() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as ctx:
            response = citizen_page.get(reverse("cases:list"))
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    first = _asked_for(shop, citizen, "租赁合同")
    deadline = first.supplement_requests.get().deadline.isoformat()
    count()  # the first request fills the per-account facts (accounts/facts.py): not counted
    one, content = count()
    row = re.search(rf"<tr>\s*<th scope=\"row\"><a [^>]*>{first.number}</a>.*?</tr>", content, re.S)
    assert f"请于 {deadline} 前补正" in row.group(0)
    assert "—" not in row.group(0)
    lease = shop.current_version.materials.get(name="租赁合同")
    workflow.add_attachment(
        case=first, material_id=lease.pk, upload=SimpleUploadedFile("l.pdf", PDF), user=citizen
    )
    for _ in range(4):
        _asked_for(shop, citizen, "租赁合同")
    five, content = count()
    assert one == five
    row = re.search(rf"<tr>\s*<th scope=\"row\"><a [^>]*>{first.number}</a>.*?</tr>", content, re.S)
    assert "已上传，尚未提交" in row.group(0)
    assert content.count("前补正") == 5


@pytest.mark.django_db
def test_another_citizen_cannot_answer(shop, citizen):
    case = _asked_for(shop, citizen, "租赁合同")
    stranger = Client()
    stranger.force_login(CitizenProfileFactory().user)
    lease = shop.current_version.materials.get(name="租赁合同")
    response = stranger.post(
        reverse("cases:supplement", args=[case.number]),
        {"material": lease.pk, "file": SimpleUploadedFile("l.pdf", PDF)},
    )
    assert response.status_code == 404
    assert not case.attachments.filter(for_supplement__isnull=False).exists()
