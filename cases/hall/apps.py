from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HallConfig(AppConfig):
    """The service hall (办事大厅): centres, windows, appointments, queue tickets and calling."""

    name = "cases.hall"
    label = "hall"
    verbose_name = _("service hall")
