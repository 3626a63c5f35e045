"""The home page (most used services, 个人办事 / 法人办事, life events, 继续办理), the elder version
(长辈版), high contrast and the error pages, as a visitor's browser receives them."""

import re

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from cases import workflow
from cases.transparency import statistics
from portal import views
from portal.home import ELDER_TILES
from services.models import LifeEvent

from .factories import PASSWORD, CitizenProfileFactory, DepartmentFactory, make_service

OPTIONAL = [{"name": "申请书", "required": False}]


def text(response) -> str:
    return response.content.decode()


def english(client: Client) -> Client:
    client.post(reverse("accounts:switch_language"), {"language": "en", "next": "/"})
    return client


def elder(client: Client) -> Client:
    client.post(reverse("accounts:elder_mode"), {"elder_mode": "on", "next": "/"})
    return client


def submit(service, user):
    case, _ = workflow.create_draft(service=service, user=user, data={"shop_area": 5})
    return workflow.submit_application(case=case, user=user)


# --- Home page -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_home_lists_the_most_used_services_by_audience_and_the_life_events(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory()
    birth = LifeEvent.objects.create(code="birth", name="出生", name_en="Having a baby", order=1)
    marriage = make_service("H-1", department=department, name="结婚登记", materials=OPTIONAL,
                            name_en="Marriage registration")  # fmt: skip
    shop = make_service("H-2", department=department, name="个体工商户设立登记", audience="both",
                        materials=OPTIONAL)  # fmt: skip
    make_service("H-3", department=department, name="食品经营许可", audience="organisation",
                        materials=OPTIONAL)  # fmt: skip
    make_service("H-4", department=department, name="出生登记", life_events=[birth])
    make_service("H-5", department=department, name="草稿事项", publish=False)
    citizens = [CitizenProfileFactory().user for _ in range(3)]
    for user in citizens:
        submit(shop.service, user)
    for user in citizens[:2]:
        submit(marriage.service, user)
    workflow.create_draft(service=make_service("H-6", department=department).service,
                          user=citizens[0], data={"shop_area": 1})  # fmt: skip
    statistics.refresh_monthly_figures()

    page = text(Client().get("/"))
    popular = re.search(r'id="popular-title".*?</section>', page, re.S).group(0)
    # By applications received (drafts do not count), then by code; a draft service is never listed.
    assert re.findall(r'href="/services/(H-\d)/"', popular) == ["H-2", "H-1", "H-3", "H-4", "H-6"]
    people = re.search(r'id="people-title".*?</section>', page, re.S).group(0)
    assert re.findall(r'href="/services/(H-\d)/"', people) == ["H-2", "H-1", "H-4", "H-6"]
    assert 'href="/services/?audience=person"' in people and "全部个人服务" in people
    organisations = re.search(r'id="organisations-title".*?</section>', page, re.S).group(0)
    assert re.findall(r'href="/services/(H-\d)/"', organisations) == ["H-2", "H-3"]
    assert 'href="/services/?audience=organisation"' in organisations
    assert "个人办事" in page and "法人办事" in page
    assert 'href="/services/?life_event=birth">出生</a>' in page
    assert "草稿事项" not in page

    page = text(english(Client()).get("/"))
    assert "Marriage registration" in page and "For businesses and organisations" in page
    assert ">Having a baby</a>" in page


def _home_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_home_makes_the_same_number_of_queries_whatever_the_catalog_and_the_drafts():
    department = DepartmentFactory()
    citizen = CitizenProfileFactory().user
    client = Client()
    client.force_login(citizen)
    for number in range(2):
        service = make_service(f"Q-{number}", department=department, audience="both").service
        workflow.create_draft(service=service, user=citizen, data={"shop_area": 1})
    LifeEvent.objects.create(code="e0", name="事件")
    _home_queries(client)  # the session and the first-time lookups
    few = _home_queries(client)
    for number in range(2, 12):
        audience = ["person", "both", "organisation"][number % 3]
        service = make_service(f"Q-{number}", department=department, audience=audience).service
        if audience != "organisation":  # those need an organisation to act for
            workflow.create_draft(service=service, user=citizen, data={"shop_area": 1})
        LifeEvent.objects.create(code=f"e{number}", name=f"事件{number}")
    many = _home_queries(client)
    assert few == many, (few, many)
    assert many <= 13  # 12, and the 免申即享 offers to confirm (cases.proactive)
    elder(client)
    assert _home_queries(client) <= many


@pytest.mark.django_db
def test_continue_shows_the_signed_in_citizens_own_drafts_only(citizen, citizen_client):
    department = DepartmentFactory()
    renewal = make_service("D-1", department=department, name="居民身份证换领").service
    marriage = make_service("D-2", department=department, name="结婚登记",
                            materials=OPTIONAL).service  # fmt: skip
    mine, _ = workflow.create_draft(service=renewal, user=citizen, data={"shop_area": 1})
    submit(marriage, citizen)  # submitted: nothing left to continue
    someone_else = CitizenProfileFactory().user
    theirs, _ = workflow.create_draft(service=marriage, user=someone_else, data={"shop_area": 1})

    page = text(citizen_client.get("/"))
    section = re.search(r'id="continue-title".*?</section>', page, re.S).group(0)
    assert "继续办理" in section and "居民身份证换领" in section
    assert f'href="/applications/{mine.number}/form/"' in section
    assert "结婚登记" not in section and theirs.number not in page
    # The draft opens where the citizen left it.
    assert citizen_client.get(f"/applications/{mine.number}/form/").status_code == 200
    # The elder home offers it too.
    elder_page = text(elder(citizen_client).get("/"))
    assert f'href="/applications/{mine.number}/form/"' in elder_page
    # Anonymous visitors and a citizen without drafts see no such section.
    assert 'id="continue-title"' not in text(Client().get("/"))
    other = Client()
    other.force_login(CitizenProfileFactory().user)
    assert 'id="continue-title"' not in text(other.get("/"))


# --- Elder version (长辈版) ------------------------------------------------------------------------


@pytest.mark.django_db
def test_elder_home_has_large_tiles_the_hotline_and_few_links():
    department = DepartmentFactory()
    make_service("330100-MZ-GG-001", department=department, name="老年人优待证办理")
    make_service("330108-WH-GF-001", department=department, name="高龄津贴申领")
    make_service("330100-RS-GG-001", department=department, name="社会保障卡申领", publish=False)
    make_service("NOT-A-TILE", department=department, name="建设工程规划许可")
    client = elder(Client())
    page = text(client.get("/"))
    tiles = re.findall(r'<a class="elder-tile" href="([^"]+)" data-tile="([^"]+)">\s*'
                       r'<span class="elder-tile-label">([^<]+)</span>', page)  # fmt: skip
    assert [(key, label) for _url, key, label in tiles] == [
        ("senior-card", "老年卡"), ("old-age-allowance", "高龄津贴"), ("pension", "养老保险"),
        ("medical-insurance", "医保"), ("social-security-card", "社保卡"),
        ("identity-card", "身份证"),
    ]  # fmt: skip
    urls = {key: url for url, key, _label in tiles}
    # A tile opens its service's guide where the catalog has it, else searches for its word.
    assert urls["senior-card"] == "/services/330100-MZ-GG-001/"
    assert urls["old-age-allowance"] == "/services/330108-WH-GF-001/"
    assert urls["social-security-card"] == "/services/?q=%E7%A4%BE%E4%BF%9D%E5%8D%A1"  # unpublished
    assert urls["identity-card"] == "/services/?q=%E8%BA%AB%E4%BB%BD%E8%AF%81"
    for url in urls.values():
        assert client.get(url).status_code == 200
    assert '<a class="call-button" href="tel:12345">' in page and "拨打 12345" in page
    # Fewer choices: no catalog sections, and the header keeps the essentials only.
    assert "建设工程规划许可" not in page and 'id="popular-title"' not in page
    nav = re.search(r'<nav class="site-nav".*?</nav>', page, re.S).group(0)
    assert re.findall(r'href="([^"]+)"', nav) == ["/", "/accounts/login/", "/accounts/register/"]
    assert "/stats/" not in page and "/api/docs/" not in page
    # The normal home keeps everything.
    normal = text(Client().get("/"))
    assert 'id="popular-title"' in normal and 'href="/services/"' in normal
    assert "/stats/" in normal
    english_page = text(english(client).get("/"))
    assert "Senior card" in english_page and "Call 12345 for help" in english_page


def test_the_elder_tiles_cover_the_services_older_people_use_most():
    assert [t.search for t in ELDER_TILES] == [
        "老年卡",
        "高龄津贴",
        "养老保险",
        "医保",
        "社保卡",
        "身份证",
    ]


@pytest.mark.django_db
def test_elder_header_for_a_signed_in_citizen(citizen_client):
    page = text(elder(citizen_client).get("/"))
    nav = re.search(r'<nav class="site-nav".*?</nav>', page, re.S).group(0)
    assert re.findall(r'href="([^"]+)"', nav) == ["/", "/applications/", "/messages/"]
    assert "退出" in nav
    assert "/licences/" not in nav and "/services/" not in nav


@pytest.mark.django_db
def test_elder_mode_turned_on_before_signing_in_stays_on(citizen):
    client = elder(Client())
    assert (
        client.post(
            reverse("accounts:login"), {"username": "zhang", "password": PASSWORD}
        ).status_code
        == 302
    )
    assert '<body class="elder">' in text(client.get("/"))
    # Someone who never turned it on gets the account's choice (off), as before.
    other = Client()
    other.post(reverse("accounts:login"), {"username": "zhang", "password": PASSWORD})
    assert '<body class="">' in text(other.get("/"))


# --- High contrast ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_high_contrast_is_a_form_post_remembered_by_the_browser(citizen):
    client = Client()
    assert re.search(r'<html lang="zh-Hans">', text(client.get("/")))
    assert client.get(reverse("high_contrast")).status_code == 405
    response = client.post(reverse("high_contrast"), {"high_contrast": "on", "next": "/services/"})
    assert response.status_code == 302 and response["Location"] == "/services/"
    assert response.cookies["portal_contrast"].value == "1"
    page = text(client.get("/services/"))
    assert '<html lang="zh-Hans" class="contrast">' in page
    assert re.search(r'name="high_contrast" value="off"[^>]*aria-pressed="true"', page)
    # It holds across sign-in and sign-out, and with elder mode.
    client.force_login(citizen)
    elder(client)
    assert '<html lang="zh-Hans" class="elder contrast">' in text(client.get("/"))
    client.post(reverse("accounts:logout"))
    assert 'class="contrast"' in text(client.get("/"))
    response = client.post(reverse("high_contrast"), {"high_contrast": "off", "next": "https://evil.example/"})  # fmt: skip
    assert response["Location"] == "/"
    assert '<html lang="zh-Hans">' in text(client.get("/"))


@pytest.mark.django_db
def test_elder_pages_offer_read_aloud_hidden_until_the_browser_can_speak():
    client = Client()
    assert "read-aloud" not in text(client.get("/"))  # the normal pages stay free of scripts
    for path in ["/", "/services/", "/accounts/login/", "/no-such-page/"]:
        page = text(elder(client).get(path))
        assert re.search(r'<button type="button" id="read-aloud"[^>]*hidden', page), path
        assert "朗读本页" in page and 'data-stop-label="停止朗读"' in page
        assert '<script src="/static/js/read-aloud.js" defer></script>' in page


# --- Error pages (DEBUG off, as in production) -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.urls("tests.error_urls")
def test_error_pages_in_chinese_and_english(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    page = text(missing)
    assert "<title>页面不存在 · " in page and "找不到您要找的页面" in page
    assert 'href="/services/"' in page and 'href="tel:12345"' in page
    assert 'class="site-header"' in page  # the house style, with its header and footer
    forbidden = client.get("/test-forbidden/")
    assert forbidden.status_code == 403 and "您无法打开此页面" in text(forbidden)
    assert 'href="/accounts/login/"' in text(forbidden)
    assert "/test-forbidden/" not in text(forbidden)  # the address asked for is never repeated
    broken = client.get("/test-broken/")
    assert broken.status_code == 500
    page = text(broken)
    assert '<html lang="zh-Hans">' in page and "抱歉，系统出了点问题" in page
    assert 'href="tel:12345"' in page and "Server Error" not in page

    english(client)
    page = text(client.get("/no-such-page/"))
    assert '<html lang="en">' in page and "We cannot find that page" in page
    assert "You cannot open this page" in text(client.get("/test-forbidden/"))
    page = text(client.get("/test-broken/"))
    assert '<html lang="en">' in page and "Sorry, something went wrong on our side" in page

    # A guide that does not exist is the friendly page too.
    assert "We cannot find that page" in text(client.get("/services/NO-SUCH/"))
    # API clients get JSON, not a page.
    api = client.get("/api/v1/no-such-endpoint/")
    assert api.status_code == 404 and api.json() == {"detail": "Not found.", "errors": {}}
    api = client.get("/api/v1/test-broken/")
    assert api.status_code == 500 and api.json() == {
        "detail": "A server error occurred.",
        "errors": {},
    }


@pytest.mark.django_db
def test_a_form_from_an_expired_page_says_what_to_do(settings):
    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True)
    refused = client.post(reverse("high_contrast"), {"high_contrast": "on"})
    assert refused.status_code == 403
    page = text(refused)
    assert "页面已过期" in page and "请返回上一页" in page and "CSRF" not in page
    client.cookies["django_language"] = "en"
    assert "This page has expired" in text(client.post(reverse("high_contrast"), {}))


def test_the_500_page_renders_without_touching_the_database(settings):
    """No `db` fixture: any query here fails the test. The 500 page must show when the database is
    what went wrong."""
    settings.DEBUG = False
    request = RequestFactory().get("/somewhere/")
    request.COOKIES["portal_contrast"] = "1"
    with translation.override("zh-hans"):
        response = views.server_error(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert "抱歉，系统出了点问题" in page and 'class="contrast"' in page
