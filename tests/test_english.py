"""English is complete (issue 15, item 10): the pages a citizen reads in English hold no Chinese
outside elements marked lang="zh-Hans" (so a screen reader switches voice), the demo catalog is
filled in English, and what a citizen receives (messages, receipts) is in their language."""

import re
import subprocess

import pytest
from django.test import Client
from django.utils import translation

from accounts import demo as accounts_demo
from accounts.models import User
from cases import workflow
from services import demo as services_demo
from services.models import ServiceItem

from .support.lang import report, unmarked_chinese

pytestmark = pytest.mark.django_db

SHOP = "330100-AMR-DJ-001"  # 个体工商户设立登记: the premises proof may follow (容缺)
SHOP_ANSWERS = {
    "applicant_name": "张小明",
    "applicant_phone": "13800138000",
    "business_name": "示范市滨江区小明便利店",
    "operation": "personal",
    "premises": "滨江区湖桥路 18 号",
    "postcode": "310051",
    "business_scope": "预包装食品零售",
    "staff_count": 2,
    "consent": True,
}


CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def demo(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    accounts_demo.load("demo-password-for-tests-1")
    services_demo.load()
    return User.objects.get(username=accounts_demo.CITIZEN["username"])


def english(user: User | None = None) -> Client:
    client = Client()
    if user:
        client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    assert '<html lang="en"' in html, url
    return html


def test_the_checker_finds_unmarked_chinese_and_accepts_marked_chinese():
    html = (
        '<html lang="en"><body><p>Apply at <span lang="zh-Hans">示范市政务服务中心</span>.</p>'
        '<p id="fee">Fee: 免费<br>none</p><img alt="营业执照" src="x.png">'
        '<div lang="zh-Hans"><p>受理<b>条件</b></p></div><script>var s = "中文";</script></body></html>'
    )
    assert unmarked_chinese(html) == [
        ("免费", "html > body > p#fee"),
        ("营业执照 (in @alt)", "html > body > img"),
    ]


def test_the_filter_marks_chinese_in_english_pages_only_and_escapes_first():
    from django.template import engines

    template = engines["django"].from_string(
        "{{ value|zh }}|{{ html|linebreaksbr|zh }}|{{ version|local:'name'|zh }}"
    )

    class Version:
        name, name_en = "小餐饮登记", "Registering a small eatery"

    context = {
        "value": '<b title="x">营业执照</b> 12345 转 1',
        "html": "受理条件\n《中华人民共和国行政许可法》 Article 32",
        "version": Version(),
    }
    with translation.override("en"):
        assert template.render(context) == (
            '&lt;b title=&quot;x&quot;&gt;<span lang="zh-Hans">营业执照</span>&lt;/b&gt; 12345 '
            '<span lang="zh-Hans">转</span> 1|<span lang="zh-Hans">受理条件</span><br>'
            '<span lang="zh-Hans">《中华人民共和国行政许可法》</span> Article 32'
            "|Registering a small eatery"
        )
    with translation.override("zh-hans"):
        assert template.render(context) == (
            "&lt;b title=&quot;x&quot;&gt;营业执照&lt;/b&gt; 12345 转 1|受理条件<br>"
            "《中华人民共和国行政许可法》 Article 32|小餐饮登记"
        )


def test_every_guide_page_the_catalog_and_the_home_page_are_english(demo):
    client = english(demo)
    urls = [
        "/",
        "/services/",
        "/services/?q=business",
        "/services/?q=营业执造",
        "/services/?q=火星",
    ]
    urls += [f"/services/{code}/" for code in ServiceItem.objects.values_list("code", flat=True)]
    assert len(urls) > 20
    pages = {url: page(client, url) for url in urls}
    print(report(pages))
    assert report(pages) == ""
    assert "Demo City Administration for Market Regulation" in pages[f"/services/{SHOP}/"]


def test_the_case_pages_a_citizen_sees_are_english(demo):
    client = english(demo)
    service = ServiceItem.objects.get(code=SHOP)
    case, _created = workflow.create_draft(service=service, user=demo, data=SHOP_ANSWERS)
    pages = {}
    for step in ("form", "materials", "review"):
        url = f"/applications/{case.number}/{step}/"
        pages[url] = page(client, url)
    case = workflow.submit_application(case=case, user=demo)
    for url in (
        f"/applications/{case.number}/submitted/",
        f"/applications/{case.number}/",
        "/applications/",
        "/accounts/profile/",
    ):
        pages[url] = page(client, url)
    print(report(pages))
    # A service proceeding on a signed commitment (告知承诺): the commitment in English, the
    # Chinese text that is signed beside it, marked.
    company = ServiceItem.objects.get(code="330100-AMR-DJ-002")
    draft, _created = workflow.create_draft(service=company, user=demo, data={})
    pages[f"/applications/{draft.number}/form/"] = page(
        client, f"/applications/{draft.number}/form/"
    )  # a hint naming Chinese words (有限公司)
    url = f"/applications/{draft.number}/materials/"
    pages[url] = page(client, url)
    assert "the registered address declared exists" in pages[url]
    assert '<blockquote class="commitment-text" lang="zh-Hans">' in pages[url]
    assert report(pages) == ""
    assert "Proof of the right to use the premises" in pages[f"/applications/{case.number}/"]
    review = pages[f"/applications/{case.number}/review/"]
    assert "You may submit now without: Proof of the right to use the premises." in review
    submitted = pages[f"/applications/{case.number}/submitted/"]
    assert "Proof of the right to use the premises" in submitted
    materials = pages[f"/applications/{case.number}/materials/"]
    assert "hand it in before you collect the licence" in materials  # the note, in English


def _english_fields(version) -> dict[str, str]:
    """Each filled Chinese field of a guide with its English twin."""
    pairs = [
        "name", "summary", "legal_basis", "conditions", "fee_standard", "fee_basis",
        "result_name", "handling_location", "office_hours", "commitment_text",
    ]  # fmt: skip
    return {field: getattr(version, f"{field}_en") for field in pairs if getattr(version, field)}


def _labels(schema: dict, path: str = ""):
    for name, prop in (schema.get("properties") or {}).items():
        yield f"{path}{name}", (prop.get("x-label") or {}).get("en", "")
        if prop.get("type") == "array":
            yield from _labels(prop.get("items") or {}, f"{path}{name}.")


def test_the_demo_catalog_is_written_in_english_too(demo):
    from accounts.models import Department
    from services.models import LicenceType, LifeEvent, ServiceVersion

    missing = []
    for department in Department.objects.all():
        if not department.name_en:
            missing.append(f"department {department.code}")
    for model in (LifeEvent, LicenceType):
        missing += [f"{model.__name__} {o.code}" for o in model.objects.filter(name_en="")]
    versions = ServiceVersion.objects.filter(state="published").prefetch_related("materials")
    for version in versions:
        code = version.service.code
        missing += [f"{code} {f}_en" for f, en in _english_fields(version).items() if not en]
        for material in version.materials.all():
            if not material.name_en or (material.note and not material.note_en):
                missing.append(f"{code} material {material.name}")
        missing += [f"{code} field {name}" for name, en in _labels(version.form_schema) if not en]
    assert len(versions) > 20
    assert missing == []


def _render_all(case):
    from cases.models import Notification
    from cases.notifications import services as notifications

    return [
        (row, *notifications._render(row))
        for row in Notification.objects.filter(case=case).order_by("pk")
    ]


def _accept(case):
    caseworker = User.objects.get(username="caseworker")
    return workflow.apply_transition(case=case, name="accept", actor=caseworker)


def test_messages_reach_each_applicant_in_their_own_language(demo):
    from cases import deadlines

    User.objects.filter(pk=demo.pk).update(preferred_language="en")
    demo.refresh_from_db()
    service = ServiceItem.objects.get(code=SHOP)
    case, _created = workflow.create_draft(service=service, user=demo, data=SHOP_ANSWERS)
    case = workflow.submit_application(case=case, user=demo)
    case = _accept(case)
    deadlines.sweep(today=case.materials_owed_by)
    rendered = _render_all(case)
    events = {row.event for row, _subject, _body in rendered}
    assert {"submitted", "accepted", "materials_owed"} <= events
    for row, subject, body in rendered:
        if row.recipient_id == demo.pk or row.person_id == case.applicant_id:
            assert row.language == "en"
            assert unmarked_chinese(f"<p lang='en'>{subject} {body}</p>") == [], (row.event, body)
    owed = next(body for row, _s, body in rendered if row.event == "materials_owed")
    assert "Registering an individual business" in owed
    assert "Proof of the right to use the premises" in owed
    # The inbox in English: the messages in English, nothing Chinese unmarked.
    assert report({"/messages/": page(english(demo), "/messages/")}) == ""


def test_a_chinese_reader_gets_chinese_messages_with_the_chinese_names(demo):
    service = ServiceItem.objects.get(code=SHOP)
    case, _created = workflow.create_draft(service=service, user=demo, data=SHOP_ANSWERS)
    with translation.override("en"):  # whoever acts, the applicant reads Chinese
        case = workflow.submit_application(case=case, user=demo)
        case = _accept(case)
    for row, _subject, body in _render_all(case):
        if row.recipient_id == demo.pk and row.event in {"submitted", "accepted"}:
            assert row.language == "zh-hans"
            assert "个体工商户设立登记" in body and "Registering" not in body


def _pdf_text(response, tmp_path) -> str:
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    path = tmp_path / "document.pdf"
    path.write_bytes(response.content)
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _leftover(text: str, *allowed: str) -> str:
    """The text without white space, URLs and the given codes, numbers and names."""
    text = re.sub(r"https?://\S+", "", text)
    # A number may wrap across lines, where pdftotext drops its hyphen.
    text = re.sub(r"[\s-]+", "", text)
    for item in sorted(allowed, key=len, reverse=True):
        text = text.replace(re.sub(r"[\s-]+", "", item), "")
    return text


def test_documents_are_in_the_applicants_language_each_in_one_language(demo, tmp_path):
    """收件凭证 and 受理通知书 are made once, in the applicant's language (their account's), whoever
    downloads them and in whichever page language: all Chinese for a Chinese reader, all English
    (but the names) for an English one."""
    from cases.documents import documents_of
    from cases.models import Channel

    service = ServiceItem.objects.get(code=SHOP)
    case, _created = workflow.create_draft(
        service=service, user=demo, data=SHOP_ANSWERS, channel=Channel.API
    )
    case = _accept(workflow.submit_application(case=case, user=demo))
    receipt, notice = documents_of(case)
    text = _pdf_text(english(demo).get(f"/applications/{case.number}/receipt.pdf"), tmp_path)
    assert "收件凭证" in text and "个体工商户设立登记" in text and "通过数据接口" in text
    assert "不代表已受理" in text
    codes = (case.number, service.code, receipt.number, "12345")
    assert re.findall(r"[A-Za-z]{2,}", _leftover(text, *codes)) == [], text
    text = _pdf_text(
        english(demo).get(f"/applications/{case.number}/official/{notice.pk}.pdf"), tmp_path
    )
    assert "受理通知书" in text and "个体工商户设立登记" in text and "第三十二条" in text
    assert re.findall(r"[A-Za-z]{2,}", _leftover(text, *codes, notice.number)) == [], text

    User.objects.filter(pk=demo.pk).update(preferred_language="en")
    demo.refresh_from_db()
    case, _created = workflow.create_draft(
        service=service, user=demo, data=SHOP_ANSWERS, channel=Channel.API
    )
    case = _accept(workflow.submit_application(case=case, user=demo))
    receipt, notice = documents_of(case)
    chinese = Client()
    chinese.force_login(demo)
    text = _pdf_text(chinese.get(f"/applications/{case.number}/receipt.pdf"), tmp_path)
    assert "Receipt of application" in text and "through the API" in text
    assert "Registering an individual business" in text and "收件凭证" not in text
    # Names as registered: the applicant's, and the department's on its seal.
    names = (demo.citizen_profile.real_name, case.department.name)
    assert CJK.findall(_leftover(text, *names)) == [], text
    text = _pdf_text(chinese.get(f"/applications/{case.number}/official/{notice.pk}.pdf"), tmp_path)
    assert "Notice of acceptance" in text and "Article 32" in text
    assert CJK.findall(_leftover(text, *names)) == [], text


def test_the_account_pages_of_issue_17_are_english(demo):
    """Verification, closing an account, a legal representative's agents: no unmarked Chinese."""
    from accounts.models import CitizenProfile, OrganisationAgent

    citizen = CitizenProfile.objects.get(user=demo)
    citizen.verified_at = None
    citizen.save(update_fields=["verified_at"])
    client = english(demo)
    pages = {url: page(client, url) for url in ("/accounts/profile/", "/accounts/verify/",
                                               "/accounts/close/")}  # fmt: skip
    assert "Verify my identity" in pages["/accounts/verify/"]
    representative = OrganisationAgent.objects.filter(is_legal_representative=True).first()
    boss = english(representative.user)
    for url in (
        "/accounts/profile/",
        f"/accounts/organisations/{representative.organisation.uscc}/agents/",
    ):
        pages[f"{url} (legal representative)"] = page(boss, url)
    assert report(pages) == ""
