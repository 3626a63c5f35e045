"""Staff sessions end after STAFF_SESSION_IDLE_SECONDS without a request (DESIGN "Data protection"):
a workbench left open at an unattended desk does not stay signed in. Citizens keep the ordinary
session lifetime (SESSION_COOKIE_AGE)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from .second_factor import is_staff_account
from .signals import STAFF_LAST_SEEN as SESSION_KEY

# The stored time is refreshed at most this often, so a busy workbench does not write its session
# row on every request.
REFRESH_SECONDS = 60


class StaffIdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not is_staff_account(user):
            return self.get_response(request)
        now = int(time.time())
        last_seen = request.session.get(SESSION_KEY)
        if last_seen is not None and now - last_seen > settings.STAFF_SESSION_IDLE_SECONDS:
            logout(request)
            text = _("You were signed out after a while without activity. Sign in again.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": text, "errors": {}}, status=401)
            messages.info(request, text)
            return redirect_to_login(request.get_full_path())
        if last_seen is None or now - last_seen >= REFRESH_SECONDS:
            request.session[SESSION_KEY] = now
        return self.get_response(request)
