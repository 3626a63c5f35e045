from django.core.management.base import BaseCommand, CommandError

from cases.models import Event
from cases.trail import first_broken_link


class Command(BaseCommand):
    help = "Recompute the hash chain of every case's event trail and report the first broken link."

    def handle(self, *args, **options):
        broken = first_broken_link()
        if broken is not None:
            raise CommandError(
                f"Broken trail: case {broken.case_number}, event #{broken.sequence}: {broken.reason}."
            )
        self.stdout.write(f"Trail intact: {Event.objects.count()} events checked.")
