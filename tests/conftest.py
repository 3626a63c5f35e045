import pytest
from django.db import connections
from django.test import Client

from accounts.models import User

from .factories import PASSWORD, CitizenProfileFactory, id_number_for
from .support.browser import CHROMIUM_ARGS, chromium

__all__ = ["CHROMIUM_ARGS", "PASSWORD", "id_number_for"]


def _flush_past_the_trail_triggers() -> None:
    """A transactional test ends with a flush, which on PostgreSQL is one TRUNCATE of every table:
    the trail's tables refuse TRUNCATE (cases migration 0015). The flush switches the triggers off
    for its own transaction, as only a superuser can (the throwaway server's `postgres`)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    plain = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = plain(self, style, tables, **kwargs)
        return ["SET LOCAL session_replication_role = replica", *statements] if statements else []

    DatabaseOperations.sql_flush = sql_flush


_flush_past_the_trail_triggers()


def _reseed_after_a_flush() -> None:
    """What the migrations put in the database (the working-day calendar, the message texts) is
    put back after a transactional test's flush, as Django's post-migrate signal after `flush`
    does for permissions and content types. Without it a test's calendar depended on whether a
    transactional test had run before it in the same process (`make test` runs several)."""
    from django.apps import apps
    from django.db.models.signals import post_migrate

    def reseed(sender, using, **kwargs) -> None:
        from cases.notifications.services import ensure_default_templates
        from services.calendar import seed_from_chinesecalendar
        from services.models import CalendarDay, CalendarYear

        if not CalendarYear.objects.using(using).exists():
            seed_from_chinesecalendar(CalendarYear, CalendarDay, using=using)
        ensure_default_templates()
        # The rate-limit counters are a cache table, not a model: a flush leaves what a
        # transactional test counted, and the next test from the same address starts limited.
        from django.core.cache import caches
        from django.db import connections

        table = caches["ratelimit"]._table  # noqa: SLF001 (made by createcachetable after migrate)
        if table in connections[using].introspection.table_names():
            caches["ratelimit"].clear()

    post_migrate.connect(
        reseed,
        sender=apps.get_app_config("cases"),
        weak=False,
        dispatch_uid="tests-reseed-after-flush",
    )


_reseed_after_a_flush()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the portal's default language, whatever the test before it in the same
    worker activated (a view's `translation.override` ends, a bare `activate` would leak)."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty default cache: a page another test cached in the same
    worker, from rows its rollback removed, is never served to this one (portal/caching.py)."""
    from django.core.cache import caches

    caches["default"].clear()
    yield


@pytest.fixture(autouse=True)
def _replica_only_where_asked(request):
    """The read replica (portal/db_router.py) is the test database itself (TEST MIRROR), but on a
    connection of its own, outside the test's transaction and refused by Django unless the test
    lists it: public views read from the primary unless the test asks for
    `django_db(databases=["default", "replica"], transaction=True)`."""
    from django.conf import settings
    from django.test import override_settings

    marker = request.node.get_closest_marker("django_db")
    databases = (marker.kwargs.get("databases") if marker else None) or ()
    asked = databases == "__all__" or settings.REPLICA_DATABASE in databases
    if settings.REPLICA_DATABASE and not asked:
        with override_settings(REPLICA_DATABASE=""):
            yield
    else:
        yield


@pytest.fixture
def citizen(db) -> User:
    return CitizenProfileFactory(user__username="zhang", real_name="张三").user


@pytest.fixture
def citizen_client(citizen) -> Client:
    client = Client()
    client.force_login(citizen)
    return client


@pytest.fixture
def browser_page():
    """A page in Debian's Chromium (Playwright cannot download browsers here)."""
    with chromium() as browser:
        context = browser.new_context(accept_downloads=True, locale="zh-CN")
        yield context.new_page()
        context.close()
        # While Playwright's loop runs, the ORM calls of the test body get a connection of their
        # own (connections are per context); close it, or the test database cannot be dropped.
        connections.close_all()


DEMO_PASSWORD = "browser-demo-password-1"


@pytest.fixture
def demo_data(transactional_db, settings, tmp_path):
    """The demo city's accounts and catalog, for journeys through the real pages."""
    from accounts import demo as accounts_demo
    from services import demo as services_demo

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    from cases.sharing import demo as sharing_demo

    accounts_demo.load(DEMO_PASSWORD)
    services_demo.load()
    sharing_demo.load()


@pytest.fixture(scope="session", autouse=True)
def demo_pki(tmp_path_factory):
    """The demo CA of `manage.py make_demo_pki` in a temporary directory, with the signing
    settings pointed at it for the whole run, so no test writes keys into var/ and every
    department gets its seal from the demo CA the first time it signs (the same issuing code the
    command runs per department). Cheap (one EC P-256 key, a few milliseconds) and without the
    database, hence autouse; tests/test_signing.py runs the command itself."""
    from django.test import override_settings

    from cases import pki

    directory = tmp_path_factory.mktemp("pki")
    pki.make_demo_ca(directory)
    with override_settings(
        SIGNING_DIR=directory,
        SIGNING_CA_CERT=directory / "ca.crt",
        SIGNING_KEY_PASSWORD="",
        SIGNING_ISSUE_DEMO_CERTIFICATES=True,
    ):
        yield directory


# Files known to take minutes: started first, so that no worker is left with one at the end while
# the other idles (the schemathesis runs took 4 of the 13.5 minutes of `make test`, last).
SLOWEST_FILES = ("test_fuzz_citizen.py", "test_fuzz_caseworker.py")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Order the files for `make test` (-n 2 --dist loadfile --no-loadscope-reorder, where xdist
    hands out files in collection order): the slowest files first, then those driving the
    browser, then other files with slow tests, each group by its number of tests, largest first
    (xdist's own order without the flag). A file's tests keep their order (a stable sort)."""
    files: dict[str, dict] = {}
    for index, item in enumerate(items):
        path = item.nodeid.split("::", 1)[0]
        found = files.setdefault(path, {"first": index, "tests": 0, "kind": 3})
        found["tests"] += 1
        if item.get_closest_marker("browser"):
            found["kind"] = min(found["kind"], 1)
        elif item.get_closest_marker("slow"):
            found["kind"] = min(found["kind"], 2)
    order = {}
    for path, found in files.items():
        name = path.rsplit("/", 1)[-1]
        slowest = SLOWEST_FILES.index(name) if name in SLOWEST_FILES else None
        kind = (0, slowest) if slowest is not None else (found["kind"], 0)
        order[path] = (*kind, -found["tests"], found["first"])
    items.sort(key=lambda item: order[item.nodeid.split("::", 1)[0]])
