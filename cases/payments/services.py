"""Fees as a step of the case (DESIGN "The service hall and fees").

A published version's `fee_rule` (services/fees.py) says how much, when it is due (before
acceptance, or before the result is handed over) and after which outcomes it is refunded. While
a fee is due and unpaid the engine refuses the step it guards (`check_paid`, run by
transitions.take for every step): accepting (or deciding on the spot) before acceptance,
concluding before the result. Once paid, the case moves on by itself (`_move_on`): the system
takes the accepting transition, or concludes a case whose result is electronic (a result to pick
up waits for the clerk, who can now hand it over).

Payment online goes through the provider (providers.py): `start_checkout` opens a pending payment
and the provider's callback (`handle_callback`, verified, applied once per provider event id)
marks it paid. At the window the clerk records cash or card and the receipt number
(`record_window_payment`). Each payment writes an event on the case's trail, an electronic
receipt (缴费凭证, an official document, sealed), and a message through the outbox. A refusal or
withdrawal whose outcome the rule lists refunds what was paid (`request_refund`, completed after
commit and retried by the beat task `complete_refunds`).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Role, User
from services import fees
from services.models import APPLICANT, Outcome, OuterState, StageKind, localized

from ..models import CLOSED_STATES, Case, Channel, NotificationEvent, SupplementRequest
from ..vocabulary import EventAction
from ..workflow import clock, effects, rules, trail
from ..workflow.errors import CaseConflict
from .models import Payment, PaymentEvent
from .providers import InvalidCallback, get_provider

logger = logging.getLogger(__name__)
SYSTEM = "system"
WINDOW = "window"
REFUNDING_OUTCOMES = {
    Outcome.NOT_ACCEPTED: "not_accepted",
    Outcome.REJECTED: "rejected",
    Outcome.WITHDRAWN: "withdrawn",
}


@dataclass(frozen=True)
class Fee:
    """The fee of one case: how much, when due, on what legal basis, and whether it is due now."""

    amount_fen: int
    due: str
    refund_on: tuple[str, ...]
    standard: str
    legal_basis: str
    due_now: bool
    paid: Payment | None
    pending: Payment | None

    @property
    def yuan(self) -> str:
        return fees.yuan(self.amount_fen)

    @property
    def outstanding(self) -> bool:
        return self.due_now and self.paid is None

    @property
    def due_label(self) -> str:
        return str(Payment.Due(self.due).label)


def rule_of(case: Case) -> dict | None:
    version = case.service_version
    if version.fee_free or not version.fee_rule:
        return None  # free services, and fees not collected through the portal: unchanged
    return version.fee_rule


def _due_now(case: Case, due: str) -> bool:
    if case.is_draft or case.state in CLOSED_STATES:
        return False
    if due == fees.BEFORE_ACCEPTANCE:
        return case.received_at is not None
    return case.state == OuterState.APPROVED and case.decided_at is not None


def fee_of(case: Case) -> Fee | None:
    """The case's fee, or None for a service that collects none through the portal."""
    rule = rule_of(case)
    if rule is None:
        return None
    payments = list(case.payments.order_by("-created_at", "-pk"))
    paid = next((p for p in payments if p.state == Payment.State.PAID), None)
    pending = next(
        (p for p in payments if p.state == Payment.State.PENDING and p.channel == "online"), None
    )
    amount = paid.amount_fen if paid else fees.amount_fen(rule, case.data or {})
    return Fee(
        amount_fen=amount, due=rule["due"], refund_on=tuple(rule.get("refund_on", [])),
        standard=localized(case.service_version, "fee_standard"),
        legal_basis=localized(case.service_version, "fee_basis"),
        due_now=_due_now(case, rule["due"]), paid=paid, pending=pending,
    )  # fmt: skip


def _is_paid(case: Case) -> bool:
    return case.payments.filter(state=Payment.State.PAID).exists()


def check_paid(step: effects.Step) -> None:
    """Refuse the step a due, unpaid fee guards (transitions.take runs this for every step)."""
    rule = rule_of(step.case)
    if rule is None:
        return
    outcome = step.transition.outcome
    guarded = (
        outcome in (Outcome.ACCEPTED, Outcome.APPROVED)
        if rule["due"] == fees.BEFORE_ACCEPTANCE
        else outcome == Outcome.CONCLUDED
    )
    if guarded and not _is_paid(step.case):
        amount = fees.amount_fen(rule, step.case.data or {})
        raise CaseConflict(
            _("The fee of ¥%(amount)s has not been paid yet; this step waits for it.")
            % {"amount": fees.yuan(amount)},
            code="fee_unpaid",
        )


def blocks_deemed_acceptance(case: Case) -> bool:
    """§32 deems accepted what intake left undecided; an application whose fee, due before
    acceptance, is unpaid is not complete on the applicant's side, so it waits."""
    rule = rule_of(case)
    return bool(rule and rule["due"] == fees.BEFORE_ACCEPTANCE and not _is_paid(case))


# --- Messages and the trail ---------------------------------------------------------------------------


def _tell(case: Case, kind: str, payment: Payment | None, amount_fen: int) -> None:
    from ..notifications import services as notifications

    context = {
        "number": case.number,
        "service": case.service_version.name,
        "amount": fees.yuan(amount_fen),
        "receipt_number": payment.receipt_number if payment else "",
    }

    def words():  # run in the reader's language by notifications.in_language
        return {"method": str(payment.get_method_display()) if payment else ""}

    notifications.save_and_enqueue(notifications.to_applicants(case, kind, context, words))


def _official(function):
    with translation.override(settings.LANGUAGE_CODE):
        return function()


def _record(case: Case, action: str, *, actor=None, role=SYSTEM, channel=SYSTEM, opinion="",
            details=None):  # fmt: skip
    return trail.append_event(
        case, action=action, actor=actor, actor_role=role, channel=channel, from_state=case.state,
        from_stage=case.stage.code if case.stage_id else "", opinion=opinion, details=details,
    )  # fmt: skip


def _announce_due(case: Case) -> None:
    fee = fee_of(case)
    if fee is None or not fee.outstanding:
        return
    opinion = _official(
        lambda: (
            _("A fee of ¥%(amount)s is due %(due)s.") % {"amount": fee.yuan, "due": fee.due_label}
        )
    )
    _record(case, EventAction.FEE_DUE, opinion=opinion, details={"amount_fen": fee.amount_fen})
    _tell(case, NotificationEvent.FEE_DUE, None, fee.amount_fen)


def case_submitted(case: Case) -> None:
    """submit_application: a fee due before acceptance is announced with the receipt."""
    if rule_of(case) is not None:
        _announce_due(case)


def case_moved(step: effects.Step) -> None:
    """transitions.take, after each step: an approval makes a fee due before the result; a
    closing cancels what was never paid and refunds what the rule says is refundable."""
    case, outcome = step.case, step.transition.outcome
    rule = rule_of(case)
    if rule is None:
        return
    if outcome == Outcome.APPROVED and case.state == OuterState.APPROVED:
        _announce_due(case)
    if case.state in CLOSED_STATES:
        case.payments.filter(state=Payment.State.PENDING).update(state=Payment.State.CANCELLED)
        refund_key = REFUNDING_OUTCOMES.get(outcome)
        if refund_key and refund_key in rule.get("refund_on", []):
            reason = str(Outcome(outcome).label)
            for payment in case.payments.select_for_update().filter(state=Payment.State.PAID):
                request_refund(payment, reason=reason)


# --- Paying -----------------------------------------------------------------------------------------


def _reference(prefix: str) -> str:
    return f"{prefix}{timezone.localdate():%Y%m%d}{secrets.token_hex(6).upper()}"


def start_checkout(*, case: Case, user: User) -> tuple[Payment, str]:
    """Open (or reuse) the case's pending online payment; returns it with the checkout URL."""
    provider = get_provider()
    if provider is None:
        raise CaseConflict(
            _("Online payment is not available; pay the fee at the service window."),
            code="no_online_payment",
        )
    with transaction.atomic():
        case = trail.locked(case)
        fee = fee_of(case)
        if fee is None or not fee.outstanding:
            raise CaseConflict(
                _("Nothing is to be paid for this application now."), code="nothing_due"
            )
        payment = fee.pending
        if (
            payment is None
            or payment.amount_fen != fee.amount_fen
            or payment.provider != provider.code
        ):
            if payment is not None:
                payment.state = Payment.State.CANCELLED
                payment.save(update_fields=["state"])
            payment = Payment.objects.create(
                case=case, department=case.department, amount_fen=fee.amount_fen, due=fee.due,
                provider=provider.code, provider_reference=_reference("PAY"),
                channel=Payment.PaymentChannel.ONLINE, method=Payment.Method.ONLINE,
            )  # fmt: skip
    return payment, provider.checkout_url(payment)


def record_window_payment(*, case: Case, clerk: User, method: str, receipt_number: str) -> Payment:
    """The clerk took the fee at the window (cash or card) and gave a receipt with this number."""
    receipt_number = (receipt_number or "").strip()
    errors = {}
    if method not in (Payment.Method.CASH, Payment.Method.CARD):
        errors["method"] = [_("Choose cash or card.")]
    if not receipt_number:
        errors["receipt_number"] = [_("Write the number of the receipt you gave.")]
    elif len(receipt_number) > 64:
        errors["receipt_number"] = [_("A receipt number has at most 64 characters.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = trail.locked(case)
        fee = fee_of(case)
        if fee is None or not fee.outstanding:
            raise CaseConflict(
                _("Nothing is to be paid for this application now."), code="nothing_due"
            )
        case.payments.filter(state=Payment.State.PENDING).update(state=Payment.State.CANCELLED)
        payment = Payment.objects.create(
            case=case, department=case.department, amount_fen=fee.amount_fen, due=fee.due,
            provider=WINDOW, provider_reference=_reference("WIN"), state=Payment.State.PAID,
            channel=Payment.PaymentChannel.WINDOW, method=method, receipt_number=receipt_number,
            recorded_by=clerk, paid_at=timezone.now(),
        )  # fmt: skip
        _paid(case, payment, actor=clerk, role=Role.COUNTER_CLERK, channel=Channel.COUNTER)
    return payment


def _paid(case: Case, payment: Payment, *, actor=None, role=SYSTEM, channel=SYSTEM) -> None:
    """What follows a payment: the trail, the receipt (缴费凭证), the message, the next step."""
    from .. import documents
    from ..models import OfficialDocument

    opinion = _official(
        lambda: (
            _("Fee of ¥%(amount)s paid (%(method)s).")
            % {"amount": fees.yuan(payment.amount_fen), "method": payment.get_method_display()}
        )
    )
    event = _record(
        case, EventAction.FEE_PAID, actor=actor, role=role, channel=channel, opinion=opinion,
        details={"payment": payment.provider_reference, "amount_fen": payment.amount_fen},
    )  # fmt: skip
    documents.issue_document(case=case, kind=OfficialDocument.Kind.PAYMENT_RECEIPT, event=event)
    _tell(case, NotificationEvent.FEE_PAID, payment, payment.amount_fen)
    _move_on(case, payment)


def _move_on(case: Case, payment: Payment) -> None:
    """The step the fee held back, taken by the system now that it is paid (if it still fits)."""
    from ..workflow.transitions import take

    if payment.due == fees.BEFORE_ACCEPTANCE:
        if case.state != OuterState.SUBMITTED or case.accepted_at is not None:
            return
        if case.supplement_requests.filter(state=SupplementRequest.State.OPEN).exists():
            return
        outcome = Outcome.ACCEPTED
        opinion = _official(lambda: _("The fee was paid: the application is accepted."))
    else:
        if case.state != OuterState.APPROVED or not case.service_version.delivery_electronic:
            return  # a result to collect waits for the clerk's handover
        if not (case.stage_id and case.stage.kind == StageKind.DELIVERY):
            return
        outcome = Outcome.CONCLUDED
        opinion = _official(lambda: _("The fee was paid: the electronic result is delivered."))
    transition = next((t for t in rules.available_transitions(case) if t.outcome == outcome), None)
    if transition is None:
        return
    step = effects.Step(
        case=case, transition=transition, actor=None, roles={SYSTEM},
        details={"paid": payment.provider_reference}, day=clock.today(), opinion=opinion,
        channel=SYSTEM,
    )  # fmt: skip
    take(step, action=transition.name, actor_role=SYSTEM)


# --- Callbacks --------------------------------------------------------------------------------------


def handle_callback(
    *, provider_code: str, body: bytes, query: dict, headers: dict
) -> tuple[str, Payment | None]:
    """Verify and apply one callback of the provider; (PaymentEvent.Result, the payment).

    Forged (the signature fails) or malformed: refused and logged, nothing changes. A replay (an
    event id already applied): nothing changes. The amount must be the payment's, to the fen."""
    provider = get_provider()
    Result = PaymentEvent.Result
    if provider is None or provider.code != provider_code:
        raise LookupError(provider_code)
    try:
        notice = provider.verify(body=body, query=query, headers=headers)
    except InvalidCallback as exc:
        logger.warning("Refused a %s payment callback: %s", provider_code, exc)
        PaymentEvent.objects.create(
            provider=provider_code, kind="callback", verified=False, result=Result.REFUSED,
            note=str(exc)[:200],
        )  # fmt: skip
        return Result.REFUSED, None
    found = Payment.objects.filter(
        provider=provider.code, provider_reference=notice.reference
    ).first()

    def log(result, payment=None, note="", *, strict=False):
        """Record the callback; `strict`: in the transaction that applies it, where a clash on
        the event id must undo everything (the constraint is the last guard of applying once)."""
        row = {"payment": payment, "provider": provider.code, "event_id": notice.event_id,
               "kind": "callback", "verified": True, "payload": notice.payload, "note": note}  # fmt: skip
        if strict:
            PaymentEvent.objects.create(result=result, **row)
            return
        try:
            with transaction.atomic():
                PaymentEvent.objects.create(result=result, **row)
        except IntegrityError:  # this event id was recorded already: a replay
            PaymentEvent.objects.create(result=Result.DUPLICATE, **row)

    if found is None:
        seen = PaymentEvent.objects.filter(
            provider=provider.code, event_id=notice.event_id, verified=True
        ).exclude(result=Result.DUPLICATE)
        result = Result.DUPLICATE if seen.exists() else Result.IGNORED
        log(result, note="unknown reference")
        return result, None
    try:
        with transaction.atomic():
            case = trail.locked(found.case)
            payment = Payment.objects.select_for_update().get(pk=found.pk)
            seen = PaymentEvent.objects.filter(
                provider=provider.code, event_id=notice.event_id, verified=True
            ).exclude(result=Result.DUPLICATE)
            if seen.exists():
                log(Result.DUPLICATE, payment)
                return Result.DUPLICATE, payment
            if notice.amount_fen != payment.amount_fen:
                log(Result.REFUSED, payment, note="amount differs")
                return Result.REFUSED, payment
            result = _apply(case, payment, notice)
            log(result, payment, strict=True)
            return result, payment
    except IntegrityError:  # the same event applied concurrently: the constraint kept it once
        log(Result.DUPLICATE, found)
        return Result.DUPLICATE, found


def _apply(case: Case, payment: Payment, notice) -> str:
    Result = PaymentEvent.Result
    if notice.status != "paid":
        if payment.state == Payment.State.PENDING:
            payment.state = (
                Payment.State.CANCELLED if notice.status == "cancelled" else Payment.State.FAILED
            )
            payment.save(update_fields=["state"])
            return Result.APPLIED
        return Result.IGNORED
    if payment.state in (Payment.State.PAID, Payment.State.REFUND_PENDING, Payment.State.REFUNDED):
        return Result.IGNORED
    payment.provider_transaction = notice.transaction
    payment.paid_at = timezone.now()
    fee = fee_of(case)
    if fee is None or fee.paid is not None or case.state in CLOSED_STATES:
        # Paid after the fee was paid another way, or after the case closed: refunded, not kept.
        payment.state = Payment.State.REFUND_PENDING  # never a second paid row for the case
        payment.save(update_fields=["state", "provider_transaction", "paid_at"])
        request_refund(payment, reason=_official(lambda: _("Paid twice or after the case closed")))
        return Result.APPLIED
    payment.state = Payment.State.PAID
    payment.save(update_fields=["state", "provider_transaction", "paid_at"])
    _paid(case, payment, role=APPLICANT, channel=Channel.ONLINE)
    return Result.APPLIED


# --- Refunds ------------------------------------------------------------------------------------------


def request_refund(payment: Payment, *, reason: str) -> None:
    """Mark a paid payment for refund (in the caller's transaction); the provider is asked after
    commit. A window payment is handed back at the window: it stays pending until a clerk records
    it (`record_window_refund`)."""
    payment.state = Payment.State.REFUND_PENDING
    payment.refund_requested_at = timezone.now()
    payment.refund_reason = reason[:200]
    payment.save(update_fields=["state", "refund_requested_at", "refund_reason"])
    if payment.channel == Payment.PaymentChannel.ONLINE:
        pk = payment.pk
        transaction.on_commit(lambda: complete_refund(payment_id=pk), robust=True)


def complete_refund(*, payment_id: int) -> Payment | None:
    """Ask the provider to refund one payment marked for refund; idempotent (only from
    refund_pending), retried by the beat task while the provider fails."""
    found = Payment.objects.filter(
        pk=payment_id, state=Payment.State.REFUND_PENDING, channel=Payment.PaymentChannel.ONLINE
    ).first()
    if found is None:
        return None
    with transaction.atomic():
        case = trail.locked(found.case)
        payment = Payment.objects.select_for_update().get(pk=found.pk)
        if payment.state != Payment.State.REFUND_PENDING:
            return payment
        provider = get_provider()
        if provider is None or provider.code != payment.provider:
            logger.error("Refund of %s waits: its provider is not configured", payment.pk)
            return payment
        reference = provider.refund(payment, payment.amount_fen)
        _refunded(case, payment, reference=reference)
    return payment


def record_window_refund(*, payment: Payment, clerk: User, receipt_number: str) -> Payment:
    """The clerk handed a window payment back (the refund slip's number)."""
    receipt_number = (receipt_number or "").strip()
    if not receipt_number:
        raise ValidationError({"refund_number": [_("Write the number of the refund slip.")]})
    with transaction.atomic():
        case = trail.locked(payment.case)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.state != Payment.State.REFUND_PENDING:
            raise CaseConflict(_("This payment is not to be refunded."), code="not_refundable")
        _refunded(case, payment, reference=receipt_number[:64], actor=clerk)
    return payment


def _refunded(case: Case, payment: Payment, *, reference: str, actor=None) -> None:
    payment.state = Payment.State.REFUNDED
    payment.refunded_fen = payment.amount_fen
    payment.refunded_at = timezone.now()
    payment.refund_reference = reference
    payment.save(update_fields=["state", "refunded_fen", "refunded_at", "refund_reference"])
    opinion = _official(
        lambda: (
            _("Fee of ¥%(amount)s refunded: %(reason)s.")
            % {"amount": fees.yuan(payment.amount_fen), "reason": payment.refund_reason}
        )
    )
    _record(
        case, EventAction.FEE_REFUNDED, actor=actor,
        role=Role.COUNTER_CLERK if actor else SYSTEM, channel=Channel.COUNTER if actor else SYSTEM,
        opinion=opinion, details={"payment": payment.provider_reference, "amount_fen": payment.amount_fen},
    )  # fmt: skip
    _tell(case, NotificationEvent.FEE_REFUNDED, payment, payment.amount_fen)


def complete_refunds(limit: int = 100) -> int:
    """The beat task: refunds the provider has not confirmed yet, asked again."""
    done = 0
    pending = Payment.objects.filter(
        state=Payment.State.REFUND_PENDING, channel=Payment.PaymentChannel.ONLINE
    ).order_by("refund_requested_at")[:limit]
    for payment_id in pending.values_list("pk", flat=True):
        try:
            if complete_refund(payment_id=payment_id):
                done += 1
        except Exception:  # one provider error must not stop the others
            logger.exception("Refund of payment %s failed; retried later", payment_id)
    return done


def receipt_content(event) -> dict:
    """What the 缴费凭证 says (documents._content calls this for a payment receipt)."""
    reference = (event.details or {}).get("payment") if event is not None else None
    payment = Payment.objects.filter(provider_reference=reference).first() if reference else None
    if payment is None:
        return {}
    version = payment.case.service_version
    return {
        "amount": fees.yuan(payment.amount_fen),
        "amount_fen": payment.amount_fen,
        "method": str(payment.get_method_display()),
        "payment_channel": str(payment.get_channel_display()),
        "reference": payment.provider_reference,
        "transaction": payment.provider_transaction,
        "receipt_number": payment.receipt_number,
        "paid_on": timezone.localtime(payment.paid_at).strftime("%Y-%m-%d %H:%M"),
        "fee_standard": localized(version, "fee_standard"),
        "fee_basis": localized(version, "fee_basis"),
        "due": str(payment.get_due_display()),
    }
