from django.apps import AppConfig


class TransparencyConfig(AppConfig):
    """Model-less: installed so that its templates/ is found. Its models live in cases.models."""

    name = "cases.transparency"
    label = "cases_transparency"
