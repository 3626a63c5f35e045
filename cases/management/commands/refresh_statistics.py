from django.core.management.base import BaseCommand

from cases.transparency.statistics import ALL, refresh_monthly_figures


class Command(BaseCommand):
    help = (
        "Recompute the public figures (/stats/) of the current and previous month, or of every "
        "month with --all. Safe to run again; Celery beat runs the first every few minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="Rebuild every month from the first case."
        )

    def handle(self, *args, **options):
        rows = refresh_monthly_figures(ALL if options["all"] else None)
        self.stdout.write(f"{rows} monthly row(s) of figures written.")
