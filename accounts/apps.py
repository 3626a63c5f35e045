from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and departments")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks, facts, sign_in_limit, signals  # noqa: F401 (receivers, checks)

        facts.connect_signals()

        # For every app: the group needs the permissions of apps migrated after this one.
        post_migrate.connect(signals.ensure_groups, dispatch_uid="accounts-ensure-groups")
