from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from . import audit  # names the actor of audit log entries

        audit.leave_out_reverse_relations()

        from . import caching  # catalog writes change the catalog's cache generation

        caching.connect_catalog_signals()
