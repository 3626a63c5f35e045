from django.apps import AppConfig


class SharingConfig(AppConfig):
    """Model-less: installed for its templates and checks. Its models live in cases.models (the
    sharing log) and services.models (the grants)."""

    name = "cases.sharing"
    label = "cases_sharing"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401 - registers the system checks
            facts,  # noqa: F401 - the fact source `registry` of 秒批 and 免申即享 rules
        )
