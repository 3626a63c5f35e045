from django.core.management.base import BaseCommand

from services.calendar import chinesecalendar_years, seed_from_chinesecalendar
from services.models import CalendarDay, CalendarYear


class Command(BaseCommand):
    help = (
        "Seed the working-day calendar (public holidays and make-up workdays) from the "
        "chinesecalendar package. Idempotent: rows already present, including administrators' "
        "edits, are kept."
    )

    def handle(self, *args, **options):
        years_created, days_created = seed_from_chinesecalendar(CalendarYear, CalendarDay)
        package_years = chinesecalendar_years()
        self.stdout.write(
            f"chinesecalendar covers {package_years[0]}–{package_years[-1]}: "
            f"{years_created} calendar year(s) and {days_created} calendar day(s) added; "
            f"{CalendarYear.objects.count()} year(s) and {CalendarDay.objects.count()} day(s) "
            "in the calendar now."
        )
