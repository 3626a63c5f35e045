from django.apps import AppConfig


class CounterConfig(AppConfig):
    """Model-less: installed so that its templates/ is found. Its models live in cases.models."""

    name = "cases.counter"
    label = "cases_counter"
