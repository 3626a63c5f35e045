"""Sign-in limits per client address, across usernames (password spraying).

django-axes locks an account per username *and* address, so one address can never lock anyone out
from elsewhere; but alone it lets one address try a few passwords on every account. Here failed
sign-ins are also counted per address whatever the username: past SIGN_IN_ADDRESS_FAILURE_LIMIT in
SIGN_IN_ADDRESS_WINDOW_SECONDS, every sign-in from that address (the page, the API token, Django
admin) is refused before any password is checked, and answers 429 until the window ends.

Every sign-in path calls django.contrib.auth.authenticate(), so the check is an authentication
backend placed first and the count a receiver of `user_login_failed`, as django-axes does it; the
middleware only turns the refusal into the 429 answer. The counters are in portal.ratelimit (the
shared database cache); the address is portal.client_address.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.throttling import ScopedRateThrottle

from portal import ratelimit
from portal.client_address import client_address

SCOPE = "sign-in"
REQUEST_FLAG = "sign_in_throttled_for"


def _key(request: HttpRequest) -> str:
    return ratelimit.key_for(SCOPE, client_address(request) or "unknown")


def throttled_for(request: HttpRequest) -> int | None:
    """Seconds until this address may try again, or None if it may now."""
    return ratelimit.retry_after(_key(request), settings.SIGN_IN_ADDRESS_FAILURE_LIMIT)


def message(retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return _(
        "Too many failed sign-ins from your network address. Try again in %(minutes)d minutes."
    ) % {"minutes": minutes}


class AddressThrottleBackend:
    """Refuses every sign-in from an address over its failure limit (first in the backends)."""

    def authenticate(self, request, **credentials):
        if request is None:
            return None
        wait = throttled_for(request)
        if wait is not None:
            setattr(request, REQUEST_FLAG, wait)
            raise PermissionDenied(message(wait))
        return None

    # No get_user(): this backend never signs anyone in, so no session names it (and the test
    # client's force_login, which takes the first backend that has one, passes it by).


@receiver(user_login_failed, dispatch_uid="accounts-sign-in-limit-count")
def _count_failure(sender, credentials, request=None, **kwargs) -> None:
    if request is None or getattr(request, REQUEST_FLAG, None) is not None:
        return  # refused unseen: the window is not prolonged by the refusals themselves
    ratelimit.hit(_key(request), settings.SIGN_IN_ADDRESS_WINDOW_SECONDS)


def throttled_response(request: HttpRequest, retry_after: int) -> HttpResponse:
    text = message(retry_after)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": text, "errors": {}}, status=429)
    else:
        response = render(request, "accounts/sign_in_throttled.html", {"message": text}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


class SignInThrottleMiddleware:
    """A sign-in refused by AddressThrottleBackend answers 429, whichever view asked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        wait = getattr(request, REQUEST_FLAG, None)
        if wait is not None and response.status_code != 429:
            return throttled_response(request, wait)
        return response


class SignInRateThrottle(ScopedRateThrottle):
    """DRF's scoped rate ("auth": AUTH_THROTTLE_RATE) counted in the shared database cache, per
    client address as portal.client_address sees it, hashed: the same for every web process."""

    @property
    def cache(self):
        return caches[ratelimit.CACHE_ALIAS]

    def get_ident(self, request) -> str:
        return ratelimit.key_for("api-auth", client_address(request) or "unknown")
