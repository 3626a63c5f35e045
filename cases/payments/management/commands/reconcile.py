"""`manage.py reconcile [--date YYYY-MM-DD]`: the daily reconciliation of fees (对账), per
department, for the date given (yesterday by default); prints the totals and the mismatches."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from services.fees import yuan

from ...reconciliation import store_reports


class Command(BaseCommand):
    help = "Reconcile the fees of a day per department against the payment provider's settlement."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: yesterday)")

    def handle(self, *args, **options):
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError("--date must be YYYY-MM-DD") from exc
        else:
            day = timezone.localdate() - dt.timedelta(days=1)
        reports = store_reports(day)
        for report in reports:
            self.stdout.write(
                f"{day} {report.department.code}: paid {yuan(report.paid_fen)} "
                f"({report.payments}), refunded {yuan(report.refunded_fen)} ({report.refunds}), "
                f"mismatches {len(report.mismatches)}"
            )
        if not reports:
            self.stdout.write(f"{day}: no payments or refunds.")
