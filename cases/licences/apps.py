from django.apps import AppConfig


class LicencesConfig(AppConfig):
    """Model-less: installed so that its templates/ is found. Its models live in cases.models; its
    effect handler is imported by cases.apps, next to the check that wants it registered."""

    name = "cases.licences"
    label = "cases_licences"
