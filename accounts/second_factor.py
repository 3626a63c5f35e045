"""Staff sign in with a second factor (TOTP, django-otp) wherever STAFF_2FA is on (DESIGN "Data
protection"): pages, Django admin, the browsable API and API tokens alike.

A staff member who has not yet set up an authenticator app is signed in but can reach only the setup
page; one who has must enter a current code before anything else. Citizens are never asked.

Setting up an authenticator takes a second proof besides the password: an enrolment code an admin
issued to the account (EnrolmentCode: hashed, expiring, single use). Only after it is given is a
fresh secret made and shown (as a QR code and as the base32 key authenticator apps accept), so
someone holding only the password never sees a secret that would later be confirmed.
"""

from __future__ import annotations

import base64
import functools
import secrets
from collections.abc import Callable
from datetime import timedelta

import segno
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY, match_token, user_has_device
from django_otp import login as otp_login
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import caching

from .models import ApiToken, EnrolmentCode, User

DEVICE_NAME = "authenticator"
ENROLMENT_SESSION_KEY = "2fa_enrolment_code"
# Wrong enrolment codes an account may give before its outstanding codes are void.
ENROLMENT_MAX_FAILURES = 5
# 32 letters and digits without the look-alikes 0/O and 1/I: 5 bits a character, 50 in a code.
ENROLMENT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
OPEN_PATHS = ("/accounts/2fa/", "/accounts/logout/", "/static/", "/healthz", "/accounts/language/")


def is_staff_account(user: User) -> bool:
    """Staff: anyone with a role in a department, Django admin access or superuser rights."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    # Asked by several middlewares in every request: cached under the account's access stamp,
    # which every change of its roles renews in the same transaction (accounts/facts.py).
    from .facts import access_facts

    return access_facts(user).has_role


def needs_second_factor(user: User) -> bool:
    return bool(settings.STAFF_2FA) and is_staff_account(user)


def verify_code(*, request: HttpRequest, user: User, code: str) -> bool:
    """Check a code against the user's confirmed devices; on success the session counts as verified."""
    device = match_token(user, (code or "").strip().replace(" ", ""))
    if device is None:
        return False
    otp_login(request, device)
    return True


# --- Enrolment codes -------------------------------------------------------------------------------


def _normalised(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _hash(code: str) -> str:
    return salted_hmac("accounts.enrolment-code", _normalised(code)).hexdigest()


def _open_codes(user: User):
    return EnrolmentCode.objects.filter(
        user=user,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
        failed_attempts__lt=ENROLMENT_MAX_FAILURES,
    )


@transaction.atomic
def issue_enrolment_code(*, user: User, issued_by: User | None) -> str:
    """A new enrolment code for `user`, returned only here (show it once); earlier open codes of the
    account stay valid until used or expired."""
    raw = "".join(secrets.choice(ENROLMENT_ALPHABET) for _ in range(10))
    EnrolmentCode.objects.create(
        user=user,
        code_hash=_hash(raw),
        issued_by=issued_by,
        expires_at=timezone.now() + timedelta(hours=settings.ENROLMENT_CODE_VALID_HOURS),
    )
    return f"{raw[:5]}-{raw[5:]}"


def start_setup(*, request: HttpRequest, user: User, enrolment_code: str) -> TOTPDevice | None:
    """Check the enrolment code; if it holds, make a fresh unconfirmed device (any earlier one is
    dropped, its secret possibly seen) and remember the code in the session until confirmation.
    A wrong code counts against the account's open codes."""
    given = _normalised(enrolment_code)
    with transaction.atomic():
        # The hash is keyed (SECRET_KEY): looking it up says nothing about other codes.
        match = (
            _open_codes(user).select_for_update().filter(code_hash=_hash(given)).first()
            if given
            else None
        )
        if match is None:
            _open_codes(user).update(failed_attempts=F("failed_attempts") + 1)
            return None
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    request.session[ENROLMENT_SESSION_KEY] = match.pk
    return device


def pending_setup(*, request: HttpRequest, user: User) -> TOTPDevice | None:
    """The device this session is setting up, while its enrolment code is still open."""
    code_id = request.session.get(ENROLMENT_SESSION_KEY)
    if code_id is None or not _open_codes(user).filter(pk=code_id).exists():
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=False).first()


def confirm_setup(*, request: HttpRequest, user: User, code: str) -> bool:
    """Confirm the pending device with its first code. Uses up the enrolment code, and ends the
    account's API tokens: from now on a token needs an authenticator code."""
    code_id = request.session.get(ENROLMENT_SESSION_KEY)
    with transaction.atomic():
        enrolment = _open_codes(user).select_for_update().filter(pk=code_id).first()
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if enrolment is None or device is None:
            return False
        if not device.verify_token((code or "").strip().replace(" ", "")):
            return False
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        enrolment.used_at = timezone.now()
        enrolment.save(update_fields=["used_at"])
        ApiToken.objects.filter(user=user).delete()
    request.session.pop(ENROLMENT_SESSION_KEY, None)
    otp_login(request, device)
    return True


def manual_key(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in: base32 (RFC 4648, as in the QR code's
    otpauth URI), in groups of four for reading."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def setup_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI of django-otp (secret in base32, issuer OTP_TOTP_ISSUER) as a QR code."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4)


def has_authenticator(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def _device_key(user: User, persistent_id: str) -> str:
    # Names the device, never its secret; under the access stamp, which every save or delete of
    # one of the account's devices renews (accounts/facts.py), so a device removed or disabled is
    # seen by the next request.
    return f"otp-device:{user.pk}:{user.access_stamp}:{persistent_id}"


class CachedOTPMiddleware(OTPMiddleware):
    """django-otp's OTPMiddleware, without reading the session's device on every request: that
    the session's device is still a confirmed device of its user is kept in the cache under the
    account's access stamp. `user.otp_device` is then the device loaded only if asked for
    (nothing in a request but is_verified() asks). A miss, or a cache that is down, reads the
    device as django-otp does; the device id leaves the session as there when it no longer holds."""

    def _verify_user_sync(self, request, user):
        self._init_user_fields(user)
        if not user.is_authenticated:
            return user
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        if not persistent_id:
            return user
        persistent_id = self._normalize_persistent_id(persistent_id)
        key = _device_key(user, persistent_id)
        if caching.get_many([key]).get(key) is True:
            user.otp_device = SimpleLazyObject(
                functools.partial(Device.from_persistent_id, persistent_id)
            )
            return user
        device = self._finalize_device(request, user, Device.from_persistent_id(persistent_id))
        if device is not None:
            caching.store(key, True)
        user.otp_device = device
        return user


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
