import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from cases.models import TrailDigest
from cases.trail import make_digest, printable


class Command(BaseCommand):
    help = (
        "Make today's signed digest of every case's chain head, if not made yet (the beat task "
        "does it daily). --print prints it in full for keeping outside the database; --date D "
        "prints the stored digest of day D instead."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--print",
            action="store_true",
            help="Print the digest in full (date, count, digest, signature).",
        )
        parser.add_argument(
            "--date",
            type=dt.date.fromisoformat,
            help="Print the stored digest of this day (YYYY-MM-DD); makes nothing.",
        )

    def handle(self, *args, **options):
        if options["date"]:
            record = TrailDigest.objects.filter(date=options["date"]).first()
            if record is None:
                raise CommandError(f"No trail digest was made on {options['date'].isoformat()}.")
            self.stdout.write(printable(record))
            return
        record, made = make_digest()
        if options["print"]:
            self.stdout.write(printable(record))
            return
        self.stdout.write(
            f"{'Made' if made else 'Already made'}: trail digest of {record.date.isoformat()}, "
            f"{record.case_count} cases, {record.digest}."
        )
