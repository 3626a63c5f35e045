import os

import pytest
from django.db import connections
from django.test import Client

from accounts.models import User

from .factories import PASSWORD, CitizenProfileFactory, id_number_for

__all__ = ["PASSWORD", "id_number_for"]


@pytest.fixture
def citizen(db) -> User:
    return CitizenProfileFactory(user__username="zhang", real_name="张三").user


@pytest.fixture
def citizen_client(citizen) -> Client:
    client = Client()
    client.force_login(citizen)
    return client


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser_page():
    """A page in Debian's Chromium (Playwright cannot download browsers here)."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are still sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(accept_downloads=True, locale="zh-CN")
        yield context.new_page()
        context.close()
        browser.close()
        # While Playwright's loop runs, the ORM calls of the test body get a connection of their
        # own (connections are per context); close it, or the test database cannot be dropped.
        connections.close_all()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


DEMO_PASSWORD = "browser-demo-password-1"


@pytest.fixture
def demo_data(transactional_db, settings, tmp_path):
    """The demo city's accounts and catalog, for journeys through the real pages."""
    from accounts import demo as accounts_demo
    from services import demo as services_demo

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    accounts_demo.load(DEMO_PASSWORD)
    services_demo.load()
