from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = _("Service catalog")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from . import calendar
        from .models import CalendarDay, CalendarYear

        # No edit of the working-day calendar can forget to bump its cache generation.
        for model in (CalendarYear, CalendarDay):
            name = model._meta.model_name
            post_save.connect(
                calendar.calendar_changed, sender=model, dispatch_uid=f"cal-save-{name}"
            )
            post_delete.connect(
                calendar.calendar_changed, sender=model, dispatch_uid=f"cal-del-{name}"
            )
