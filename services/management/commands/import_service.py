"""manage.py import_service FILE --code NEW --department CODE: a new draft from an exported document."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Department
from services import interchange


class Command(BaseCommand):
    help = "Create a draft service from an exported JSON document, under a new code."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--code", required=True, help="The new service code")
        parser.add_argument("--department", required=True, help="Code of the owning department")
        parser.add_argument("--publish", action="store_true", help="Publish it at once")

    def handle(self, *args, file, code, department, publish=False, **options):
        owner = Department.objects.filter(code=department).first()
        if owner is None:
            raise CommandError(f"No department has the code {department!r}.")
        try:
            with open(file, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        try:
            version = interchange.import_service(document=document, code=code, department=owner)
            if publish:
                version, warnings = interchange.publish_service(item=version.service)
                for warning in warnings:
                    self.stderr.write(f"warning: {warning}")
        except ValidationError as exc:
            problems = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            lines = [
                f"{path}: {message}" for path, messages in problems.items() for message in messages
            ]
            raise CommandError("The document has problems:\n" + "\n".join(lines)) from exc
        self.stdout.write(f"{code}: draft version {version.number} ({version.state}) created.")
