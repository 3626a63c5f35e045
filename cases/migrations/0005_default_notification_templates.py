"""The built-in notification texts as editable rows, in Chinese and English, for every channel."""

from django.db import migrations


def seed(apps, schema_editor):
    from cases.notifications.services import ensure_default_templates

    ensure_default_templates(apps.get_model("cases", "NotificationTemplate"))


def unseed(apps, schema_editor):
    apps.get_model("cases", "NotificationTemplate").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_notification_outbox")]
    operations = [migrations.RunPython(seed, unseed)]
