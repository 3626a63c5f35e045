import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import demo
from services import demo as services_demo

DEFAULT_DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for everyone; refused in production


class Command(BaseCommand):
    help = "Load the demo city, its departments, one login per role and the demo service catalog (only with DEBUG on)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "Demo data is refused when DEBUG is off: this is not a demo instance."
            )
        explicit = os.environ.get("DEMO_PASSWORD", "")
        password = explicit or DEFAULT_DEMO_PASSWORD
        logins = demo.load(password, reset_passwords=bool(explicit))
        services = services_demo.load()
        self.stdout.write(f"Demo catalog: {services} published services.")
        from cases.sharing import demo as sharing_demo

        records = sharing_demo.load()
        self.stdout.write(f"Demo registries (户籍, 婚姻, 社保, 不动产): {records} records.")
        from cases.proactive import demo as proactive_demo

        self.stdout.write(
            f"免申即享: {proactive_demo.load()} services (the daily sweep offers them)."
        )
        from cases.hall import demo as hall_demo

        self.stdout.write(
            f"Service centre {hall_demo.CENTRE['name']}: {hall_demo.load()} services bookable."
        )
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {password})")
        width = max(len(username) for username, _ in logins)
        for username, description in logins:
            self.stdout.write(f"  {username.ljust(width)}  {description}")
        self.stdout.write("")
        self.stdout.write(
            "Demo population register, not registered yet (register as them; the SMS code is "
            "printed in the log):"
        )
        for person in demo.UNREGISTERED:
            self.stdout.write(f"  {person['real_name']}  {person['id_number']}  {person['phone']}")
