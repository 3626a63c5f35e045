"""Real-name verification (实名认证) through a pluggable identity provider.

The setting IDENTITY_PROVIDER names the class (a dotted path); the demo provider, the default, checks
the demo population register (accounts.models.PopulationRecord) that the demo data seeds. A
production adapter (the public-security identity service, a carrier's three-element check
运营商三要素核验, a commercial e-ID service) is another subclass of IdentityProvider named in settings:
nothing else changes. A system check (accounts.checks) fails at start-up when the setting names no
such class.

Why the phone is part of it: a name and an ID number are no secret in practice (they are printed on
every form a person ever filled in), so a check of the two alone would let anyone who knows them
"verify" as that person, and the real owner could then never reclaim the number. The provider also
confirms that the phone is registered to that person, and the SMS code (accounts.sms_codes) proves the
phone is in the registrant's hand: together, something a squatter does not have.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from .crypto import keyed_hash
from .models import PopulationRecord
from .validators import normalize_id_number, normalize_phone

logger = logging.getLogger(__name__)


class Outcome(models.TextChoices):
    VERIFIED = "verified", _("verified")
    PHONE_NOT_THEIRS = "phone_not_theirs", _("the phone is not registered to this person")
    MISMATCH = "mismatch", _("the name does not match the ID number")
    UNKNOWN = "unknown", _("no person with this ID number")
    UNAVAILABLE = "unavailable", _("the identity service could not answer")


@dataclass(frozen=True)
class VerificationResult:
    outcome: Outcome
    provider: str

    @property
    def verified(self) -> bool:
        return self.outcome == Outcome.VERIFIED


class IdentityProvider:
    """The interface of an identity provider. Subclass it, set `name` and implement `verify`.

    `verify(real_name=..., id_number=..., phone=...)` receives the name as typed (stripped), the ID
    number normalised (18 characters, a final X upper case, check digit already valid) and the phone
    normalised (11 digits). It returns a VerificationResult whose outcome is
    - VERIFIED: a person with this number exists, the name is theirs, and the phone is registered
      to them (实名手机号);
    - PHONE_NOT_THEIRS: name and number belong together, but the phone is not registered to them;
    - MISMATCH: the number exists under another name;
    - UNKNOWN: the provider knows no person with this number;
    - UNAVAILABLE: the provider could not answer (time-out, outage): nobody is refused for good,
      they are asked to try again. An exception raised by `verify` is taken as UNAVAILABLE.
    It must not write personal data anywhere (logs included) and must be safe to call repeatedly;
    callers call it only after the registrant has given a valid SMS code for the phone, which
    limits how often anyone can ask. `name` (at most 64 characters) is recorded on each verified
    profile as `verified_by`.
    """

    name = ""

    def verify(self, *, real_name: str, id_number: str, phone: str) -> VerificationResult:
        raise NotImplementedError


class DemoIdentityProvider(IdentityProvider):
    """Checks the demo population register (PopulationRecord), seeded by `manage.py load_demo`."""

    name = "demo"

    def verify(self, *, real_name: str, id_number: str, phone: str) -> VerificationResult:
        record = PopulationRecord.objects.filter(id_number_hash=keyed_hash(id_number)).first()
        if record is None:
            outcome = Outcome.UNKNOWN
        elif record.real_name != real_name:
            outcome = Outcome.MISMATCH
        elif record.phone_hash != keyed_hash(phone):
            outcome = Outcome.PHONE_NOT_THEIRS
        else:
            outcome = Outcome.VERIFIED
        return VerificationResult(outcome=outcome, provider=self.name)


class HttpIdentityProvider(IdentityProvider):
    """A production adapter for an identity service reached over HTTPS (the public-security
    identity platform's gateway, a carrier's 三要素 check, a commercial e-ID service, usually behind
    the government's own API gateway): one POST per check to IDENTITY_PROVIDER_URL with
    `Authorization: Bearer IDENTITY_PROVIDER_TOKEN` and the JSON body `{"real_name", "id_number",
    "phone"}`; the answer is JSON `{"outcome": "verified" | "phone_not_theirs" | "mismatch" |
    "unknown"}`. Anything else (a time-out after IDENTITY_PROVIDER_TIMEOUT seconds, an HTTP error,
    an unexpected body) is UNAVAILABLE: the person is asked to try again, never refused for good.
    A gateway with another shape is adapted by a subclass overriding `request_body` and `outcome_of`.
    """

    name = "http"

    def request_body(self, *, real_name: str, id_number: str, phone: str) -> dict:
        return {"real_name": real_name, "id_number": id_number, "phone": phone}

    def outcome_of(self, answer: dict) -> Outcome:
        return Outcome(answer["outcome"])

    def verify(self, *, real_name: str, id_number: str, phone: str) -> VerificationResult:
        import json
        import urllib.error
        import urllib.request

        body = self.request_body(real_name=real_name, id_number=id_number, phone=phone)
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            settings.IDENTITY_PROVIDER_URL,
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {settings.IDENTITY_PROVIDER_TOKEN}",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=settings.IDENTITY_PROVIDER_TIMEOUT
            ) as response:
                outcome = self.outcome_of(json.loads(response.read(65536)))
        except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError):
            logger.warning("The identity service did not give a usable answer")
            outcome = Outcome.UNAVAILABLE
        return VerificationResult(outcome=outcome, provider=self.name)


@cache
def _provider_class(path: str) -> type[IdentityProvider]:
    return import_string(path)


def provider() -> IdentityProvider:
    return _provider_class(settings.IDENTITY_PROVIDER)()


def verify_identity(*, real_name: str, id_number: str, phone: str) -> VerificationResult:
    """Ask the configured provider; normalises the inputs, and a failing provider is UNAVAILABLE."""
    current = provider()
    try:
        return current.verify(
            real_name=(real_name or "").strip(),
            id_number=normalize_id_number(id_number),
            phone=normalize_phone(phone),
        )
    except Exception:
        # No personal data in the log: only that the provider failed, and how.
        logger.exception("Identity provider %s failed", current.name or type(current).__name__)
        return VerificationResult(outcome=Outcome.UNAVAILABLE, provider=current.name)


def enter_in_demo_register(*, real_name: str, id_number: str, phone: str) -> PopulationRecord:
    """Put a person in the demo population register (demo data and tests), or update them."""
    record, _created = PopulationRecord.objects.update_or_create(
        id_number_hash=keyed_hash(normalize_id_number(id_number)),
        defaults={"real_name": real_name.strip(), "phone_hash": keyed_hash(normalize_phone(phone))},
    )
    return record
