"""Cached public pages (portal/caching.py): they follow publishing, withdrawal and the statistics'
refresh, differ by language and elder mode, never carry one visitor's page to another, keep a
constant number of queries, and survive a cache that is down."""

import os
import re

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from services import catalog
from services.models import LifeEvent

from .factories import CitizenProfileFactory, DepartmentFactory, make_service, published_workflow
from .servers import free_port
from .test_statistics import data, frozen, local  # noqa: F401 (fixtures of the statistics tests)

PAGES = ("/services/", "/api/v1/services/", "/services/C-1/", "/api/v1/services/C-1/")


@pytest.fixture
def amr(db):
    return DepartmentFactory(code="amr", name="市场监督管理局", name_en="Market Regulation")


@pytest.fixture
def one_service(amr):
    return make_service("C-1", department=amr, name="食品经营许可", name_en="Food business licence")


def _queries(client: Client, url: str, **extra) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return len(captured.captured_queries), response.content.decode()


def _new_version(version, **fields):
    draft = catalog.start_new_draft(service=version.service)
    catalog.update_draft(version=draft, fields=fields)
    return catalog.publish_version(version=draft)


@pytest.mark.django_db
def test_cached_pages_and_api_follow_publishing_and_withdrawal(one_service, amr):
    client = Client()
    for url in PAGES:
        assert "食品经营许可" in _queries(client, url)[1]
    # Asked again: from the cache, no query at all for a visitor who is not signed in.
    for url in PAGES:
        assert _queries(client, url)[0] == 0, url

    _new_version(one_service, name="食品经营许可（新版）")
    make_service("C-2", department=amr, name="药品经营许可")
    for url in PAGES:
        assert "食品经营许可（新版）" in _queries(client, url)[1], url
    catalog_page = _queries(client, "/services/")[1]
    assert "药品经营许可" in catalog_page
    assert "药品经营许可" in _queries(client, "/api/v1/services/")[1]

    catalog.retire_service(service=one_service.service)
    assert "食品经营许可" not in _queries(client, "/services/")[1]
    assert "食品经营许可" not in _queries(client, "/api/v1/services/")[1]
    assert client.get("/services/C-1/").status_code == 410
    assert client.get("/api/v1/services/C-1/").status_code == 404


@pytest.mark.django_db
def test_a_department_renamed_or_a_life_event_added_shows_at_once(one_service, amr):
    client = Client()
    assert "市场监督管理局" in _queries(client, "/services/C-1/")[1]
    amr.name = "市场监管局"
    amr.save()
    assert "市场监管局" in _queries(client, "/services/C-1/")[1]
    assert "市场监管局" in _queries(client, "/services/")[1]
    event = LifeEvent.objects.create(code="open-shop", name="开店")
    draft = catalog.start_new_draft(service=one_service.service)
    draft.life_events.add(event)
    catalog.publish_version(version=draft)
    assert "开店" in _queries(client, "/services/")[1]


@pytest.mark.django_db
def test_each_language_and_elder_mode_has_its_own_cached_page(one_service):
    chinese, english, elder = Client(), Client(), Client()
    english.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    elder.post(reverse("accounts:elder_mode"), {"elder_mode": "on", "next": "/services/"})
    for url in ("/services/", "/services/C-1/", "/stats/"):
        zh_page, en_page, elder_page = (_queries(c, url)[1] for c in (chinese, english, elder))
        assert 'lang="zh-Hans"' in zh_page and '<html lang="en"' in en_page, url
        assert 'class="elder"' in elder_page and 'class="elder"' not in zh_page, url
        # and again, now from the cache: still each its own
        assert _queries(english, url)[1].count('<html lang="en"') == 1
        assert 'class="elder"' not in _queries(chinese, url)[1]
    assert "Food business licence" in _queries(english, "/services/C-1/")[1]
    assert "Food business licence" not in _queries(chinese, "/services/C-1/")[1]
    api = english.get("/api/v1/services/C-1/", HTTP_ACCEPT_LANGUAGE="en")
    assert api.status_code == 200 and api.json()["name_en"] == "Food business licence"


@pytest.mark.django_db
def test_one_visitors_page_never_reaches_another(one_service, amr):
    from cases.hall.models import CentreService, ServiceCentre

    centre = ServiceCentre.objects.create(
        code="hall-1", name="市民中心", address="人民路1号", department=amr
    )
    CentreService.objects.create(centre=centre, service=one_service.service, bookable=True)
    first = CitizenProfileFactory(user__username="wang-wu", real_name="王五").user
    signed_in = Client()
    signed_in.force_login(first)
    for url in ("/services/", "/services/C-1/", "/stats/"):
        page = _queries(signed_in, url)[1]
        assert "Sign out" in page or "退出" in page
    mine = f'href="{reverse("hall-booking:mine")}"'
    assert mine in _queries(signed_in, "/services/C-1/")[1]

    anonymous = Client(enforce_csrf_checks=True)
    for url in ("/services/", "/services/C-1/", "/stats/"):
        page = _queries(anonymous, url)[1]
        assert "wang-wu" not in page and "王五" not in page
        assert reverse("accounts:logout") not in page
        assert mine not in page
    # The cached page carries this visitor's own CSRF token: its forms work.
    page = anonymous.get("/services/C-1/").content.decode()
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page))
    assert len(tokens) == 1 and "\x00" not in page
    switched = anonymous.post(
        reverse("accounts:switch_language"),
        {"language": "en", "next": "/services/C-1/", "csrfmiddlewaretoken": tokens.pop()},
    )
    assert switched.status_code == 302
    assert "Food business licence" in anonymous.get("/services/C-1/").content.decode()
    second = CitizenProfileFactory(user__username="li-si", real_name="李四").user
    other = Client()
    other.force_login(second)
    page = _queries(other, "/services/C-1/")[1]
    assert "wang-wu" not in page and "王五" not in page


@pytest.mark.django_db
def test_catalog_guide_and_api_make_constant_queries_with_3_and_30_services(amr):
    event = LifeEvent.objects.create(code="grow", name="成长")
    published_workflow(amr)

    def grow(start: int, count: int) -> None:
        for n in range(start, start + count):
            make_service(f"G-{n:03d}", department=amr, name=f"事项{n}", life_events=[event])

    def counts() -> tuple[tuple[int, ...], tuple[int, ...]]:
        client = Client()
        urls = ("/services/", "/api/v1/services/", "/services/G-000/", "/api/v1/services/G-000/")
        first = tuple(_queries(client, url)[0] for url in urls)
        again = tuple(_queries(client, url)[0] for url in urls)
        return first, again

    grow(0, 3)
    small, small_again = counts()
    grow(3, 27)
    large, large_again = counts()
    assert small == large
    assert small_again == large_again == (0, 0, 0, 0)
    # A signed-in visitor: the shell is theirs (session, user, roles, messages), the body cached.
    citizen = Client()
    citizen.force_login(CitizenProfileFactory().user)
    signed = [_queries(citizen, "/services/")[0] for _ in range(3)]
    assert signed[1] == signed[2] <= 5


@pytest.mark.django_db
def test_statistics_page_follows_the_refresh_not_each_case(data, frozen):  # noqa: F811
    from cases.transparency import statistics

    statistics.refresh_monthly_figures(statistics.ALL)
    client = Client()

    def received(html: str) -> int:
        found = re.search(r"<dt>[^<]*</dt><dd>(\d+)</dd>", html)
        return int(found.group(1))

    before = received(_queries(client, "/stats/?period=2026")[1])
    assert _queries(client, "/stats/?period=2026")[0] == 0
    data.case(data.a1, local("2026-05-20"), state="accepted")
    data.case(data.a2, local("2026-06-03"), state="accepted")
    # Not yet refreshed: the page shows what the last refresh computed.
    assert received(_queries(client, "/stats/?period=2026")[1]) == before
    statistics.refresh_monthly_figures()
    assert received(_queries(client, "/stats/?period=2026")[1]) == before + 2


@pytest.mark.django_db
def test_statistics_page_makes_constant_queries(data, frozen):  # noqa: F811
    from cases.transparency import statistics

    from .test_statistics import bulk_cases

    statistics.refresh_monthly_figures(statistics.ALL)
    small = _queries(Client(), "/stats/")[0]
    bulk_cases(data, services=8, per_month=15)
    statistics.refresh_monthly_figures(statistics.ALL)
    client = Client()
    large = _queries(client, "/stats/")[0]
    assert small == large
    assert _queries(client, "/stats/")[0] == 0


def _redis_cache(location: str) -> dict:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
            },
        },
        "ratelimit": django_settings.CACHES["ratelimit"],
    }


@pytest.mark.django_db
def test_pages_are_cached_in_redis_too(one_service, settings):
    settings.CACHES = _redis_cache(os.environ["REDIS_URL"])
    from django.core.cache import cache

    cache.clear()
    client = Client()
    for url in (*PAGES, "/stats/"):
        _queries(client, url)
    for url in (*PAGES, "/stats/"):
        assert _queries(client, url)[0] == 0, url
    assert "食品经营许可" in _queries(client, "/services/C-1/")[1]
    _new_version(one_service, name="食品经营许可（新版）")
    assert "食品经营许可（新版）" in _queries(client, "/services/C-1/")[1]


@pytest.mark.django_db
def test_a_cache_that_is_down_makes_pages_uncached_never_an_error(one_service, settings):
    settings.CACHES = _redis_cache(f"redis://127.0.0.1:{free_port()}/0")
    signed_in = Client()
    signed_in.force_login(CitizenProfileFactory().user)
    for client in (Client(), signed_in):
        for url in PAGES:
            count, page = _queries(client, url)
            assert "食品经营许可" in page and count > 0, url
        assert client.get("/stats/").status_code == 200
    _new_version(one_service, name="食品经营许可（新版）")  # a publish with the cache down
    assert "食品经营许可（新版）" in _queries(Client(), "/services/C-1/")[1]
