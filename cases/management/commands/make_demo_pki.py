from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Department
from cases import pki


class Command(BaseCommand):
    help = (
        "Create the demo root CA and a seal certificate for every active department in the "
        "signing directory (PORTAL_SIGNING_DIR, default var/pki). Idempotent: what is there and "
        "still valid is kept; --force makes everything anew. Not for production."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", help="Where to write (default: settings.SIGNING_DIR).")
        parser.add_argument(
            "--force", action="store_true", help="Replace the CA and every seal certificate."
        )

    def handle(self, *args, dir=None, force=False, **options):
        if not dir and not (settings.DEBUG or settings.SIGNING_ISSUE_DEMO_CERTIFICATES):
            raise CommandError(
                "A demo CA is refused in the configured signing directory when DEBUG is off; "
                "give --dir to write one elsewhere."
            )
        directory = Path(dir or settings.SIGNING_DIR)
        try:
            made = pki.make_demo_ca(directory, force=force)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        issued = kept = 0
        for department in Department.objects.filter(is_active=True).order_by("code"):
            if pki.issue_demo_seal(department, directory, force=force or made):
                issued += 1
            else:
                kept += 1
        self.stdout.write(
            f"Demo PKI in {directory}: CA {'created' if made else 'kept'}, "
            f"{issued} seal certificate(s) issued, {kept} kept."
        )
