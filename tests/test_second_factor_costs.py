"""A verified staff session's device is checked under the account's access stamp, not read on every
request (issue 20; accounts.second_factor.CachedOTPMiddleware): one statement fewer a request, and
a device removed or disabled is still refused at the next request, cache or no cache."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role

from .factories import StaffMembershipFactory
from .servers import free_port
from .test_caching import _redis_cache
from .test_second_factor import current_code, sign_in

STOCK = "django_otp.middleware.OTPMiddleware"
CACHED = "accounts.second_factor.CachedOTPMiddleware"


@pytest.fixture
def verified(settings, db):
    """A caseworker signed in with the password and a real code from their authenticator."""
    settings.STAFF_2FA = True
    user = StaffMembershipFactory(role=Role.CASEWORKER, user__username="worker").user
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    client = Client()
    sign_in(client, "worker")
    done = client.post("/accounts/2fa/verify/", {"code": current_code(device), "next": "/work/"})
    assert done["Location"] == "/work/"
    return client, device


def _same_session(client: Client) -> Client:
    """A new client (its middleware loaded afresh from settings) on the same session."""
    other = Client()
    other.cookies = client.cookies
    return other


def _statements(client: Client, url: str = "/work/") -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.get("Location")
    return len(queries)


PORTAL_MIDDLEWARE = list(django_settings.MIDDLEWARE)


def _middleware(name: str) -> list[str]:
    assert CACHED in PORTAL_MIDDLEWARE
    return [name if entry == CACHED else entry for entry in PORTAL_MIDDLEWARE]


@pytest.mark.django_db
def test_a_verified_staff_request_costs_one_statement_fewer(verified, settings):
    client, _ = verified
    settings.MIDDLEWARE = _middleware(STOCK)
    stock = _same_session(client)
    _statements(stock)  # the page's own caches warm
    before = _statements(stock)
    settings.MIDDLEWARE = _middleware(CACHED)
    cached = _same_session(client)
    assert _statements(cached) == before  # a miss reads the device as django-otp does
    assert _statements(cached) == before - 1
    assert _statements(cached, "/api/v1/work/queue/") < _statements(stock, "/api/v1/work/queue/")


def _asked_for_the_code(client: Client) -> None:
    page = client.get("/work/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/2fa/")
    assert client.get("/api/v1/work/queue/").status_code == 403


@pytest.mark.django_db
def test_a_deleted_device_is_refused_at_the_next_request(verified):
    client, device = verified
    _statements(client)
    _statements(client)  # kept in the cache
    TOTPDevice.objects.filter(pk=device.pk).delete()
    _asked_for_the_code(client)


@pytest.mark.django_db
def test_a_disabled_device_is_refused_at_the_next_request(verified):
    client, device = verified
    _statements(client)
    _statements(client)
    device.refresh_from_db()
    device.confirmed = False
    device.save(update_fields=["confirmed"])
    _asked_for_the_code(client)
    # Enabled again, the session's device id is gone (django-otp drops it): a code is asked anew.
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    _asked_for_the_code(client)


@pytest.mark.django_db
def test_a_device_moved_to_another_account_no_longer_verifies_the_first(verified):
    client, device = verified
    _statements(client)
    _statements(client)
    other = StaffMembershipFactory(role=Role.CASEWORKER).user
    device.refresh_from_db()
    device.user = other
    device.save(update_fields=["user"])
    _asked_for_the_code(client)


@pytest.mark.django_db
def test_a_cache_that_is_down_reads_the_device_from_the_database(verified, settings):
    client, device = verified
    settings.MIDDLEWARE = _middleware(STOCK)
    stock = _same_session(client)
    _statements(stock)
    before = _statements(stock)
    settings.MIDDLEWARE = _middleware(CACHED)
    settings.CACHES = _redis_cache(f"redis://127.0.0.1:{free_port()}/0")
    down = _same_session(client)
    first = _statements(down)
    assert _statements(down) == first >= before  # uncached, never an error
    TOTPDevice.objects.filter(pk=device.pk).delete()
    _asked_for_the_code(down)
