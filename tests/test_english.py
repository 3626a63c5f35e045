"""English is complete (issue 15, item 10): the pages a citizen reads in English hold no Chinese
outside elements marked lang="zh-Hans" (so a screen reader switches voice), the demo catalog is
filled in English, and what a citizen receives (messages, receipts) is in their language."""

import pytest
from django.test import Client

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
    ):
        pages[url] = page(client, url)
    print(report(pages))
    assert report(pages) == ""
    assert "Proof of the right to use the premises" in pages[f"/applications/{case.number}/"]
