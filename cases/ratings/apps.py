from django.apps import AppConfig


class RatingsConfig(AppConfig):
    """Model-less: installed so that its templates/ is found. Its models live in cases.models."""

    name = "cases.ratings"
    label = "cases_ratings"
