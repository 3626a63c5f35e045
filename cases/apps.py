from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Applications")

    def ready(self) -> None:
        # Effect handlers register themselves with cases.workflow.effect_handler when imported;
        # the check cases.E001 then finds any effect left without one.
        from . import checks, documents  # noqa: F401
        from .automation import facts  # noqa: F401 - the fact sources of 秒批 rules
        from .licences import services as licences  # noqa: F401
        from .workflow import effects  # noqa: F401
