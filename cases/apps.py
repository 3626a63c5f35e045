from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Applications")

    def ready(self) -> None:
        # Effect handlers register themselves with cases.workflow.on_effect when imported.
        from . import licences  # noqa: F401
