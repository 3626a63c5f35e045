"""Seed the working-day calendar (holidays and make-up workdays 调休) from the chinesecalendar package.

Every year the package covers gets a CalendarYear (source "chinesecalendar"); later years are entered
by an administrator. The seeding code is shared with `manage.py seed_calendar`.
"""

from django.db import migrations


def seed(apps, schema_editor):
    from services.calendar import seed_from_chinesecalendar

    seed_from_chinesecalendar(
        apps.get_model("services", "CalendarYear"),
        apps.get_model("services", "CalendarDay"),
        using=schema_editor.connection.alias,
    )


def unseed(apps, schema_editor):
    from services.calendar import remove_chinesecalendar_seed

    remove_chinesecalendar_seed(
        apps.get_model("services", "CalendarYear"),
        apps.get_model("services", "CalendarDay"),
        using=schema_editor.connection.alias,
    )


class Migration(migrations.Migration):
    dependencies = [("services", "0001_catalog")]
    operations = [migrations.RunPython(seed, unseed)]
