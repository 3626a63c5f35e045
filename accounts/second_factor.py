"""Staff sign in with a second factor (TOTP, django-otp) wherever STAFF_2FA is on (DESIGN "Data
protection"): pages, Django admin, the browsable API and API tokens alike.

A staff member who has not yet set up an authenticator app is signed in but can reach only the setup
page; one who has must enter a current code before anything else. Citizens are never asked.
"""

from __future__ import annotations

from collections.abc import Callable

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User

DEVICE_NAME = "authenticator"
OPEN_PATHS = ("/accounts/2fa/", "/accounts/logout/", "/static/", "/healthz", "/accounts/language/")


def needs_second_factor(user: User) -> bool:
    """Staff: anyone with a role in a department, Django admin access or superuser rights."""
    if not settings.STAFF_2FA or not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or user.memberships.exists()


def verify_code(*, request: HttpRequest, user: User, code: str) -> bool:
    """Check a code against the user's confirmed devices; on success the session counts as verified."""
    device = match_token(user, (code or "").strip().replace(" ", ""))
    if device is None:
        return False
    otp_login(request, device)
    return True


@transaction.atomic
def start_setup(user: User) -> TOTPDevice:
    """The unconfirmed device being set up (made once, reused until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def confirm_setup(*, request: HttpRequest, user: User, code: str) -> bool:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token((code or "").strip().replace(" ", "")):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    return True


def setup_qr_svg(device: TOTPDevice) -> str:
    return segno.make(device.config_url, error="m").svg_inline(scale=4)


def has_authenticator(user: User) -> bool:
    return user_has_device(user, confirmed=True)


class StaffSecondFactorMiddleware:
    """Until a staff session is verified with a code, every path but the 2FA pages answers with the
    way to verify: a redirect for pages, 403 for API requests made with the session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(OPEN_PATHS)
            and not user.is_verified()
            and needs_second_factor(user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": _("Staff must confirm their sign-in with an authenticator code."),
                        "errors": {},
                    },
                    status=403,
                )
            target = "accounts:2fa_verify" if has_authenticator(user) else "accounts:2fa_setup"
            return redirect(f"{_reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)


def _reverse(name: str) -> str:
    from django.urls import reverse

    return reverse(name)
