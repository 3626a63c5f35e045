"""Text-message codes (短信验证码): proof that a phone is in the hand of the person typing it.

`send_code` makes a 6-digit code for a phone and a purpose and sends it through the SMS backend
(SMS_BACKEND) at once: a code cannot wait for the notification outbox's worker. Only a keyed hash of
the code, bound to the phone and the purpose, is stored; the code expires after
SMS_CODE_VALID_SECONDS, is used once, and SMS_CODE_MAX_FAILURES wrong tries void it. Sending is
limited per phone (one per SMS_CODE_RESEND_SECONDS, SMS_CODE_PHONE_LIMIT per window) and per client
address (SMS_CODE_ADDRESS_LIMIT per window), in the shared `ratelimit` database cache (portal.ratelimit),
keyed by a keyed hash of the phone: no phone number or address is stored in clear.

A caller checks a code with `check_code` (wrong tries are counted and kept even when the caller's
own transaction is rolled back) and uses it with `use_code` inside the transaction that acts on it.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import math
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from portal import ratelimit

from .crypto import keyed_hash
from .models import SmsCode
from .validators import normalize_phone, validate_phone

logger = logging.getLogger(__name__)

Purpose = SmsCode.Purpose
CODE_LENGTH = 6


class CodeThrottled(Exception):
    """Too many codes for this phone or from this address; `retry_after` seconds to wait."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        if retry_after <= 60:
            self.message = _(
                "A code was sent a moment ago. Wait %(seconds)d seconds before asking for another."
            ) % {"seconds": retry_after}
        else:
            self.message = _("Too many codes were asked for. Try again in %(minutes)d minutes.") % {
                "minutes": minutes
            }
        super().__init__(self.message)


def _phone_hash(phone: str) -> str:
    return keyed_hash(normalize_phone(phone))


def _code_hash(phone_hash: str, purpose: str, code: str) -> str:
    return keyed_hash(f"sms-code:{purpose}:{phone_hash}:{code}")


def _limits(phone_hash: str, address: str | None) -> list[tuple[str, int, int]]:
    """(key, limit, window in seconds) of every limit a new code counts against."""
    return [
        (ratelimit.key_for("sms-code-resend", phone_hash), 1, settings.SMS_CODE_RESEND_SECONDS),
        (
            ratelimit.key_for("sms-code-phone", phone_hash),
            settings.SMS_CODE_PHONE_LIMIT,
            settings.SMS_CODE_WINDOW_SECONDS,
        ),
        (
            ratelimit.key_for("sms-code-address", address or "unknown"),
            settings.SMS_CODE_ADDRESS_LIMIT,
            settings.SMS_CODE_WINDOW_SECONDS,
        ),
    ]


def message_text(code: str, purpose: str) -> str:
    minutes = max(1, settings.SMS_CODE_VALID_SECONDS // 60)
    what = {
        Purpose.REGISTER: _("registering on the portal"),
        Purpose.CHANGE_PHONE: _("changing your mobile phone"),
        Purpose.VERIFY: _("verifying your identity"),
    }[purpose]
    return _(
        "【%(signature)s】Your code for %(what)s is %(code)s, valid for %(minutes)d minutes. "
        "Never tell it to anyone, staff included."
    ) % {"signature": settings.SMS_SIGNATURE, "what": what, "code": code, "minutes": minutes}


def send_code(*, phone: str, purpose: str, address: str | None) -> dt.datetime:
    """Send a new code to `phone` for `purpose`; returns when it expires.

    Raises ValidationError on `phone` for a malformed number, CodeThrottled past a limit. A new code
    replaces the phone's earlier codes for the purpose.
    """
    try:
        validate_phone(phone)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from exc
    if purpose not in Purpose.values:
        raise ValidationError({"purpose": [_("Choose what the code is for.")]})
    normalized = normalize_phone(phone)
    phone_hash = keyed_hash(normalized)
    limits = _limits(phone_hash, address)
    waits = [ratelimit.retry_after(key, limit) for key, limit, _window in limits]
    if any(waits):
        raise CodeThrottled(max(wait for wait in waits if wait))
    for key, _limit, window in limits:
        ratelimit.hit(key, window)
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    expires_at = timezone.now() + dt.timedelta(seconds=settings.SMS_CODE_VALID_SECONDS)
    with transaction.atomic():
        SmsCode.objects.filter(phone_hash=phone_hash, purpose=purpose).delete()
        SmsCode.objects.create(
            phone_hash=phone_hash,
            purpose=purpose,
            code_hash=_code_hash(phone_hash, purpose, code),
            expires_at=expires_at,
        )
    try:
        import_string(settings.SMS_BACKEND)().send(normalized, message_text(code, purpose))
    except Exception as exc:  # noqa: BLE001 - any gateway failure: the code never reached anyone
        logger.warning("The SMS gateway refused a code: %s", type(exc).__name__)
        SmsCode.objects.filter(phone_hash=phone_hash, purpose=purpose).delete()
        raise ValidationError(
            {
                "phone": [
                    ValidationError(
                        _("The text message could not be sent just now. Try again in a minute."),
                        code="sms_unavailable",
                    )
                ]
            }
        ) from exc
    return expires_at


def _wrong(message: str, code: str = "invalid_sms_code") -> ValidationError:
    return ValidationError({"sms_code": [ValidationError(message, code=code)]})


def check_code(*, phone: str, purpose: str, code: str) -> SmsCode:
    """The open code for `phone` and `purpose` if `code` is it; otherwise a ValidationError on
    `sms_code`. A wrong try is counted in a transaction of its own, committed whatever the caller
    does next; the code is not used up here (see use_code)."""
    typed = "".join(ch for ch in (code or "") if not ch.isspace())
    if not typed:
        raise _wrong(_("Enter the 6-digit code we sent to your mobile phone."), "required")
    phone_hash = _phone_hash(phone)
    problem = None
    # Call it outside the caller's own transaction: the count of a wrong try must stay.
    with transaction.atomic():
        found = (
            SmsCode.objects.select_for_update()
            .filter(phone_hash=phone_hash, purpose=purpose, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if found is None or found.failed_attempts >= settings.SMS_CODE_MAX_FAILURES:
            problem = _wrong(_("No code is waiting for this mobile number: ask for a new one."))
        elif found.expires_at <= timezone.now():
            problem = _wrong(_("The code has expired: ask for a new one."), "expired_sms_code")
        elif not hmac.compare_digest(found.code_hash, _code_hash(phone_hash, purpose, typed)):
            count_failure(found)
            if found.failed_attempts >= settings.SMS_CODE_MAX_FAILURES:
                problem = _wrong(
                    _("That code is not right, and it is now void: ask for a new one.")
                )
            else:
                problem = _wrong(
                    _("That code is not right: check the text message and type it again.")
                )
    if problem is not None:
        raise problem
    return found


def count_failure(code: SmsCode) -> None:
    """One more wrong try on `code` (a wrong code, or an identity the code was used to claim that
    did not hold); at SMS_CODE_MAX_FAILURES it is void."""
    SmsCode.objects.filter(pk=code.pk).update(failed_attempts=F("failed_attempts") + 1)
    code.failed_attempts += 1


def use_code(code: SmsCode) -> None:
    """Use `code` up, inside the caller's transaction; a code used meanwhile is refused."""
    used = SmsCode.objects.filter(
        pk=code.pk,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
        failed_attempts__lt=settings.SMS_CODE_MAX_FAILURES,
    ).update(used_at=timezone.now())
    if not used:
        raise _wrong(_("This code has been used already: ask for a new one."), "used_sms_code")
