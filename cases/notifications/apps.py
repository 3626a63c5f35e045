from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Model-less: installed so that its templates/ is found and its admin.py is discovered. Its
    models live in cases.models."""

    name = "cases.notifications"
    label = "cases_notifications"
