"""manage.py export_service CODE [--output FILE]: one service as its interchange JSON document."""

import json

from django.core.management.base import BaseCommand, CommandError

from services import interchange
from services.models import ServiceItem


class Command(BaseCommand):
    help = "Write a service item (guide, materials, form schema, workflow) as one JSON document."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--output", "-o", help="File to write (default: standard output)")

    def handle(self, *args, code, output=None, **options):
        item = ServiceItem.objects.filter(code=code).first()
        if item is None:
            raise CommandError(f"No service has the code {code!r}.")
        text = json.dumps(interchange.export_service(item), ensure_ascii=False, indent=2)
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        else:
            self.stdout.write(text)
