from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DesignerConfig(AppConfig):
    """The service designer (/manage/): department admins build service items without code."""

    name = "services.designer"
    label = "services_designer"
    verbose_name = _("Service designer")
