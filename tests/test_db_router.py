"""The read replica (portal/db_router.py): the statistics and the public catalog read their public
tables from the `replica` alias; sessions, users, cases and every write stay on the primary, so
that a citizen always sees what they just submitted. Here the replica is the test database itself
(TEST MIRROR), on a connection of its own: hence transactional tests that list both aliases."""

import pytest
from django.db import connections, router
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Department, User
from cases import workflow
from cases.models import Case, MonthlyFigures
from portal.db_router import replica_reads
from services.models import ServiceItem

from .factories import CitizenProfileFactory, DepartmentFactory, make_service

BOTH = pytest.mark.django_db(databases=["default", "replica"], transaction=True)


@pytest.fixture
def world(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr", name="示范市市场监督管理局")
    service = make_service("REPLICA-1", department=department).service
    citizen = CitizenProfileFactory(real_name="王小明").user
    return service, citizen


def _tables(queries) -> set[str]:
    return {
        table
        for query in queries
        for table in (
            "cases_monthlyfigures",
            "services_",
            "accounts_user",
            "django_session",
            "guardian_",
        )
        if table in query["sql"]
    }


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_settings_configure_the_replica_as_a_mirror_and_migrate_only_the_primary(settings):
    assert settings.REPLICA_DATABASE == ""  # off in a test that does not list it (conftest)
    replica = settings.DATABASES["replica"]
    assert replica["TEST"]["MIRROR"] == "default"
    assert router.allow_migrate("default", "cases")
    assert not router.allow_migrate("replica", "cases")
    with replica_reads():
        # Writes never leave the primary, even inside a replica view.
        assert router.db_for_write(MonthlyFigures) == "default"


@BOTH
def test_the_statistics_page_exports_and_api_read_their_figures_from_the_replica(world):
    client = Client()
    for url in ("/stats/", "/stats/export.csv", "/stats/export.json", "/api/v1/stats/"):
        with (
            CaptureQueriesContext(connections["replica"]) as replica,
            CaptureQueriesContext(connections["default"]) as primary,
        ):
            response = client.get(url)
        assert response.status_code == 200, url
        assert "cases_monthlyfigures" in _tables(replica.captured_queries), url
        assert "cases_monthlyfigures" not in _tables(primary.captured_queries), url


@BOTH
def test_the_catalog_and_guide_read_the_replica_but_the_signed_in_user_from_the_primary(world):
    service, citizen = world
    client = _signed_in(citizen)
    for url in ("/services/", f"/services/{service.code}/", "/api/v1/services/"):
        with (
            CaptureQueriesContext(connections["replica"]) as replica,
            CaptureQueriesContext(connections["default"]) as primary,
        ):
            response = client.get(url)
        assert response.status_code == 200, url
        assert "services_" in _tables(replica.captured_queries), url
        # The session, the user and their permissions (the page's menu) are personal: the
        # primary's, even on a public page.
        personal = {"accounts_user", "django_session", "guardian_"}
        assert not personal & _tables(replica.captured_queries), url
        assert {"accounts_user", "django_session"} <= _tables(primary.captured_queries), url


@BOTH
def test_a_citizen_sees_the_case_just_submitted_and_case_pages_never_touch_the_replica(world):
    service, citizen = world
    client = _signed_in(citizen)
    with CaptureQueriesContext(connections["replica"]) as replica:
        case, _ = workflow.create_draft(service=service, user=citizen, data={"shop_area": 3})
        listing = client.get("/applications/")
        detail = client.get(f"/applications/{case.number}/")
        api = client.get("/api/v1/applications/")
    assert listing.status_code == detail.status_code == api.status_code == 200
    assert case.number in listing.content.decode()
    assert case.number in detail.content.decode()
    assert replica.captured_queries == []


@BOTH
def test_personal_and_case_models_stay_on_the_primary_inside_a_replica_view():
    with replica_reads():
        assert router.db_for_read(MonthlyFigures) == "replica"
        assert router.db_for_read(ServiceItem) == "replica"
        assert router.db_for_read(Department) == "replica"
        assert router.db_for_read(Case) == "default"
        assert router.db_for_read(User) == "default"
    assert router.db_for_read(MonthlyFigures) == "default"  # outside a replica view


@BOTH
def test_a_page_built_from_a_replica_behind_the_primary_is_served_but_not_cached(world):
    """A publish the replica has not replayed yet: the guide it answers is the old one, so it must
    not be stored under the new generation. Here the lag is a bump the primary's connection holds
    uncommitted, which the replica's connection cannot see yet."""
    from django.core.cache import cache
    from django.db import transaction

    from portal import caching

    service, _citizen = world
    url = f"/services/{service.code}/"
    cache.clear()
    with transaction.atomic():
        caching.bump(caching.CATALOG)
        assert Client().get(url).status_code == 200
        # Nothing cached but the generation: the replica had not caught up.
        assert not [key for key in cache._cache if "guide-page:" in key or ":page:" in key]  # noqa: SLF001
        transaction.set_rollback(True)
    # Caught up (nothing pending): the same page is kept.
    assert Client().get(url).status_code == 200
    assert [key for key in cache._cache if "guide-page:" in key or ":page:" in key]  # noqa: SLF001
