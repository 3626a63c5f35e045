"""Payment providers (支付渠道): the setting PAYMENT_PROVIDER names one class (a dotted path).

A provider starts a checkout (the URL the citizen is sent to), verifies the callbacks it sends us
(`verify`: raises InvalidCallback when the signature or the shape is wrong; we never act on an
unverified word), refunds, and lists its settlement of a day for the reconciliation. A start-up
check fails when the setting names no subclass (checks.py).

`DemoPaymentProvider` takes no money: its checkout page is on the portal (/pay/demo/<reference>/),
where the citizen pays or cancels; it then keeps its own settlement record and calls back like a
real gateway, signed with HMAC-SHA256 under PAYMENT_DEMO_SECRET: the browser is redirected to the
callback URL with the signed notice (a gateway's return URL), and tests POST the same notice (a
gateway's server-to-server notification).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string


class InvalidCallback(Exception):
    """The callback is not from the provider (a bad signature) or not one we understand."""


@dataclass(frozen=True)
class Notice:
    """A verified callback: the provider's own id of it, our reference, what happened."""

    event_id: str
    reference: str
    status: str  # "paid" | "failed" | "cancelled"
    amount_fen: int
    transaction: str
    payload: dict


@dataclass(frozen=True)
class Settlement:
    """One line of a provider's settlement of a day."""

    reference: str
    transaction: str
    kind: str  # "payment" | "refund"
    amount_fen: int


class PaymentProvider:
    code: str = ""
    label: str = ""

    def checkout_url(self, payment) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def verify(self, *, body: bytes, query: dict, headers: dict) -> Notice:  # pragma: no cover
        raise NotImplementedError

    def refund(self, payment, amount_fen: int) -> str:  # pragma: no cover - interface
        """Refund `amount_fen` of `payment`; returns the provider's refund reference."""
        raise NotImplementedError

    def settlements(self, day: dt.date) -> list[Settlement]:  # pragma: no cover - interface
        raise NotImplementedError


def provider_class(path: str | None = None) -> type[PaymentProvider]:
    return import_string(path or settings.PAYMENT_PROVIDER)


def get_provider() -> PaymentProvider | None:
    """The configured provider, or None when PAYMENT_PROVIDER is empty: no online payment, fees
    are taken at the window only."""
    if not settings.PAYMENT_PROVIDER:
        return None
    return provider_class()()


# --- The demo provider ------------------------------------------------------------------------------


def _key() -> bytes:
    return settings.PAYMENT_DEMO_SECRET.encode()


def sign(payload: dict) -> tuple[str, str]:
    """(the notice as url-safe base64 of canonical JSON, its HMAC-SHA256 hex signature)."""
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    data = base64.urlsafe_b64encode(raw).decode()
    return data, hmac.new(_key(), data.encode(), hashlib.sha256).hexdigest()


class DemoPaymentProvider(PaymentProvider):
    code = "demo"
    label = "Demo checkout (模拟支付)"

    def checkout_url(self, payment) -> str:
        return reverse("payments:demo-checkout", args=[payment.provider_reference])

    # What the demo "gateway" does when the citizen presses pay or cancel on its page.
    def complete(self, payment, *, pay: bool) -> str:
        """Record the outcome in the provider's own book and return the signed callback URL."""
        from .models import DemoSettlement

        transaction = ""
        if pay:
            transaction = f"DEMO{secrets.token_hex(8).upper()}"
            DemoSettlement.objects.create(
                reference=payment.provider_reference, transaction=transaction,
                kind=DemoSettlement.Kind.PAYMENT, amount_fen=payment.amount_fen,
            )  # fmt: skip
        payload = {
            "event_id": f"EV{secrets.token_hex(10)}",
            "reference": payment.provider_reference,
            "status": "paid" if pay else "cancelled",
            "amount_fen": payment.amount_fen,
            "transaction": transaction,
            "at": timezone.now().isoformat(),
        }
        data, signature = sign(payload)
        return (
            reverse("payments:callback", args=[self.code])
            + "?"
            + urlencode({"data": data, "sig": signature})
        )

    def verify(self, *, body: bytes, query: dict, headers: dict) -> Notice:
        data, signature = query.get("data"), query.get("sig")
        if body and not data:
            try:
                posted = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidCallback("not JSON") from exc
            if not isinstance(posted, dict):
                raise InvalidCallback("not an object")
            data, signature = posted.get("data"), posted.get("sig")
        if not isinstance(data, str) or not isinstance(signature, str):
            raise InvalidCallback("unsigned")
        expected = hmac.new(_key(), data.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise InvalidCallback("bad signature")
        try:
            payload = json.loads(base64.urlsafe_b64decode(data.encode()))
            notice = Notice(
                event_id=str(payload["event_id"]),
                reference=str(payload["reference"]),
                status=str(payload["status"]),
                amount_fen=int(payload["amount_fen"]),
                transaction=str(payload.get("transaction", "")),
                payload=payload,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidCallback("malformed") from exc
        if notice.status not in ("paid", "failed", "cancelled") or isinstance(
            payload["amount_fen"], bool
        ):
            raise InvalidCallback("unknown status")
        return notice

    def refund(self, payment, amount_fen: int) -> str:
        from .models import DemoSettlement

        transaction = f"DEMOR{secrets.token_hex(8).upper()}"
        DemoSettlement.objects.create(
            reference=payment.provider_reference, transaction=transaction,
            kind=DemoSettlement.Kind.REFUND, amount_fen=amount_fen,
        )  # fmt: skip
        return transaction

    def settlements(self, day: dt.date) -> list[Settlement]:
        from .models import DemoSettlement

        return [
            Settlement(row.reference, row.transaction, row.kind, row.amount_fen)
            for row in DemoSettlement.objects.filter(at__date=day).order_by("at", "pk")
        ]
