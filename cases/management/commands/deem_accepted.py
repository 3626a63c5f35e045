from django.core.management.base import BaseCommand

from cases.workflow import deem_accepted, intake_overdue_cases


class Command(BaseCommand):
    help = (
        "Accept, as the law deems them accepted on the day of receipt, the applications whose five "
        "working days for intake have passed without a decision (行政许可法 §32). Safe to run again."
    )

    def handle(self, *args, **options):
        accepted = [c.number for c in intake_overdue_cases() if deem_accepted(case=c)]
        for number in accepted:
            self.stdout.write(f"deemed accepted: {number}")
        self.stdout.write(f"{len(accepted)} application(s) deemed accepted.")
