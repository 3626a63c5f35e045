"""Fees paid for cases (缴费), the callbacks that said so, and what the reconciliation found.

Amounts are integer fen (分) everywhere, checked positive in the database. A case has at most one
paid payment at a time (a conditional unique constraint): a second payment that arrives anyway (a
checkout paid after the fee was paid at the window) is refunded, never kept.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from accounts.models import Department


class Payment(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("waiting for payment")
        PAID = "paid", _("paid")
        REFUND_PENDING = "refund_pending", _("refund under way")
        REFUNDED = "refunded", _("refunded")
        FAILED = "failed", _("not paid")
        CANCELLED = "cancelled", _("cancelled")

    class PaymentChannel(models.TextChoices):
        ONLINE = "online", _("online")
        WINDOW = "window", _("at the window")

    class Method(models.TextChoices):
        ONLINE = "online", _("online payment")
        CASH = "cash", _("cash")
        CARD = "card", _("bank card")

    class Due(models.TextChoices):
        BEFORE_ACCEPTANCE = "before_acceptance", _("before acceptance")
        BEFORE_RESULT = "before_result", _("before the result is handed over")

    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="payments",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("collecting department"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    amount_fen = models.PositiveIntegerField(_("amount (fen)"))
    due = models.CharField(_("due"), max_length=20, choices=Due.choices)
    provider = models.CharField(_("provider"), max_length=32)
    provider_reference = models.CharField(_("our reference"), max_length=64, unique=True)
    provider_transaction = models.CharField(_("provider's transaction"), max_length=64, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    channel = models.CharField(_("channel"), max_length=8, choices=PaymentChannel.choices)
    method = models.CharField(_("method"), max_length=8, choices=Method.choices)
    receipt_number = models.CharField(
        _("receipt number"), max_length=64, blank=True,
        help_text=_("At the window: the number of the paper or fiscal receipt given."),
    )  # fmt: skip
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), db_default=Now())
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    refunded_fen = models.PositiveIntegerField(_("refunded (fen)"), default=0)
    refund_reason = models.CharField(_("why refunded"), max_length=200, blank=True)
    refund_reference = models.CharField(_("refund reference"), max_length=64, blank=True)
    refund_requested_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_fen__lte=models.F("amount_fen")),
                name="payment_refund_within_amount",
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(state="paid"), name="payment_one_paid_per_case"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["paid", "refund_pending", "refunded"])
                | Q(paid_at__isnull=False),
                name="payment_paid_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "paid_at"], name="payment_department_day"),
            models.Index(fields=["department", "refunded_at"], name="payment_refunds_day"),
            models.Index(
                fields=["refund_requested_at"],
                condition=Q(state="refund_pending"),
                name="payment_refund_pending",
            ),
        ]

    def __str__(self) -> str:
        return self.provider_reference


class PaymentEvent(models.Model):
    """One callback or answer of a provider: what it said (verified), and what it did to us.

    `event_id` is the provider's own id of the notification; the unique constraint on it makes a
    replayed callback change nothing. Forged callbacks (the signature fails) are kept too, with
    `verified` off and nothing applied, so that an attack shows."""

    class Result(models.TextChoices):
        APPLIED = "applied", _("applied")
        DUPLICATE = "duplicate", _("already applied")
        REFUSED = "refused", _("refused")
        IGNORED = "ignored", _("nothing to do")

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16)
    verified = models.BooleanField(default=False)
    payload = models.JSONField(default=dict, blank=True)
    result = models.CharField(max_length=12, choices=Result.choices)
    note = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"],
                condition=Q(verified=True) & ~Q(event_id="") & ~Q(result="duplicate"),
                name="paymentevent_applied_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id or '-'} {self.result}"


class DemoSettlement(models.Model):
    """The demo provider's own book (what a real gateway's settlement file lists): kept apart from
    our payments so that the reconciliation compares two records, not one with itself."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("payment")
        REFUND = "refund", _("refund")

    reference = models.CharField(max_length=64)
    transaction = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount_fen = models.PositiveIntegerField()
    at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("demo provider settlement")
        verbose_name_plural = _("demo provider settlements")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["at"], name="demosettlement_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class ReconciliationReport(models.Model):
    """A department's daily reconciliation (对账), made by the beat task or `manage.py reconcile`:
    totals and the mismatches found; remade (replaced) when run again for the same day."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    date = models.DateField(_("date"))
    paid_fen = models.BigIntegerField(_("paid (fen)"), default=0)
    refunded_fen = models.BigIntegerField(_("refunded (fen)"), default=0)
    payments = models.PositiveIntegerField(default=0)
    refunds = models.PositiveIntegerField(default=0)
    mismatches = models.JSONField(default=list, blank=True)
    made_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("reconciliation report")
        verbose_name_plural = _("reconciliation reports")
        ordering = ["-date", "department"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "date"], name="reconciliation_once_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} {self.date}"
