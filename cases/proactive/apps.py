from django.apps import AppConfig


class ProactiveConfig(AppConfig):
    """Model-less: installed for its templates. Its models live in cases.models (the offers) and
    services.models (the policies)."""

    name = "cases.proactive"
    label = "cases_proactive"
