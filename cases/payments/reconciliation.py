"""The daily reconciliation of a department's fees (对账): our payments and refunds of the day
against the provider's settlement of the same day.

A mismatch is
- `missing_at_provider`: an online payment (or refund) we hold as done that the provider's
  settlement does not list;
- `missing_here`: a settlement line whose reference we do not hold as done (paid, refunded);
- `amount_differs`: both list it, for different amounts.
Window payments (cash, card) have no provider line: they are listed and counted, never mismatched.
Totals are integer fen summed in the database. `store_reports` (the beat task, `manage.py
reconcile --date`) writes one ReconciliationReport per department and day, replacing an earlier
one; the staff page and its CSV compute the same report live.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import Department
from services.fees import yuan

from .models import Payment, ReconciliationReport
from .providers import get_provider

DONE = (Payment.State.PAID, Payment.State.REFUND_PENDING, Payment.State.REFUNDED)


@dataclass
class Report:
    department: Department
    date: dt.date
    payments: list[Payment] = field(default_factory=list)
    refunds: list[Payment] = field(default_factory=list)
    mismatches: list[dict] = field(default_factory=list)
    paid_fen: int = 0
    refunded_fen: int = 0

    @property
    def net_fen(self) -> int:
        return self.paid_fen - self.refunded_fen

    @property
    def paid_yuan(self) -> str:
        return yuan(self.paid_fen)

    @property
    def refunded_yuan(self) -> str:
        return yuan(self.refunded_fen)

    @property
    def net_yuan(self) -> str:
        return yuan(self.net_fen)


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def reconcile(*, department: Department, day: dt.date, settlement=None) -> Report:
    """The department's report of `day` (`settlement`: the provider's lines of the day, read from
    the provider when not given; one settlement serves every department)."""
    start, end = _day_bounds(day)
    ours = Payment.objects.filter(department=department).select_related("case")
    paid_today = ours.filter(paid_at__gte=start, paid_at__lt=end, state__in=DONE)
    refunded_today = ours.filter(
        refunded_at__gte=start, refunded_at__lt=end, state=Payment.State.REFUNDED
    )
    report = Report(department=department, date=day)
    report.payments = list(paid_today.order_by("paid_at", "pk"))
    report.refunds = list(refunded_today.order_by("refunded_at", "pk"))
    report.paid_fen = paid_today.aggregate(total=Sum("amount_fen"))["total"] or 0
    report.refunded_fen = refunded_today.aggregate(total=Sum("refunded_fen"))["total"] or 0

    provider = get_provider()
    code = provider.code if provider is not None else None
    if settlement is not None:
        lines = settlement
    else:
        lines = provider.settlements(day) if provider is not None else []
    references = {line.reference for line in lines}
    # The provider's lines that belong to this department: those whose reference we know as its
    # own, and those we know nowhere (listed for every department: someone must look).
    known = dict(
        Payment.objects.filter(provider_reference__in=references).values_list(
            "provider_reference", "department_id"
        )
    )
    mine = [line for line in lines if known.get(line.reference, department.pk) == department.pk]
    online_payments = {p.provider_reference: p for p in report.payments if p.provider == code}
    online_refunds = {p.provider_reference: p for p in report.refunds if p.provider == code}
    for kind, ours_by_ref in (("payment", online_payments), ("refund", online_refunds)):
        theirs = {line.reference: line for line in mine if line.kind == kind}
        for reference, line in theirs.items():
            payment = ours_by_ref.get(reference)
            if payment is None:
                report.mismatches.append({"kind": kind, "problem": "missing_here",
                                          "reference": reference, "ours_fen": None,
                                          "theirs_fen": line.amount_fen})  # fmt: skip
                continue
            amount = payment.amount_fen if kind == "payment" else payment.refunded_fen
            if amount != line.amount_fen:
                report.mismatches.append({"kind": kind, "problem": "amount_differs",
                                          "reference": reference, "ours_fen": amount,
                                          "theirs_fen": line.amount_fen})  # fmt: skip
        for reference, payment in ours_by_ref.items():
            if reference not in theirs:
                amount = payment.amount_fen if kind == "payment" else payment.refunded_fen
                report.mismatches.append({"kind": kind, "problem": "missing_at_provider",
                                          "reference": reference, "ours_fen": amount,
                                          "theirs_fen": None})  # fmt: skip
    return report


def departments_with_payments(day: dt.date):
    start, end = _day_bounds(day)
    ids = Payment.objects.filter(
        Q(paid_at__gte=start, paid_at__lt=end) | Q(refunded_at__gte=start, refunded_at__lt=end)
    ).values("department_id")
    return Department.objects.filter(pk__in=ids).order_by("pk")


def store_reports(day: dt.date) -> list[ReconciliationReport]:
    """Make (or remake) the reports of `day` for every department with payments or refunds."""
    provider = get_provider()
    settlement = provider.settlements(day) if provider is not None else []
    stored = []
    for department in departments_with_payments(day):
        report = reconcile(department=department, day=day, settlement=settlement)
        with transaction.atomic():
            row, _created = ReconciliationReport.objects.update_or_create(
                department=department, date=day,
                defaults={"paid_fen": report.paid_fen, "refunded_fen": report.refunded_fen,
                          "payments": len(report.payments), "refunds": len(report.refunds),
                          "mismatches": report.mismatches, "made_at": timezone.now()},
            )  # fmt: skip
        stored.append(row)
    return stored


CSV_HEADER = ["section", "reference", "application", "channel", "method", "receipt_number",
              "at", "amount_fen", "amount_yuan", "problem", "ours_fen", "theirs_fen"]  # fmt: skip


def as_csv(report: Report) -> str:
    """The report as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for p in report.payments:
        writer.writerow(["payment", p.provider_reference, p.case.number, p.channel, p.method,
                         p.receipt_number, timezone.localtime(p.paid_at).isoformat(),
                         p.amount_fen, yuan(p.amount_fen), "", "", ""])  # fmt: skip
    for p in report.refunds:
        writer.writerow(["refund", p.provider_reference, p.case.number, p.channel, p.method,
                         p.refund_reference, timezone.localtime(p.refunded_at).isoformat(),
                         p.refunded_fen, yuan(p.refunded_fen), "", "", ""])  # fmt: skip
    for m in report.mismatches:
        writer.writerow(["mismatch", m["reference"], "", "", "", "", "", "", "", m["problem"],
                         m["ours_fen"] if m["ours_fen"] is not None else "",
                         m["theirs_fen"] if m["theirs_fen"] is not None else ""])  # fmt: skip
    writer.writerow(
        ["total_paid", "", "", "", "", "", "", report.paid_fen, report.paid_yuan, "", "", ""]
    )
    writer.writerow(["total_refunded", "", "", "", "", "", "", report.refunded_fen,
                     report.refunded_yuan, "", "", ""])  # fmt: skip
    writer.writerow(["net", "", "", "", "", "", "", report.net_fen, report.net_yuan, "", "", ""])
    return out.getvalue()
