"""Strings of Django itself that its zh_Hans catalogue lacks or words for other uses. Listing them
here lets makemessages carry them into locale/zh_Hans, which Django reads before its own."""

from django.utils.translation import gettext_lazy, ngettext_lazy

DJANGO_STRINGS = [
    # Form labels end in a full-width colon in Chinese.
    gettext_lazy(":"),
    # Django 5.2 reworded this message; its Chinese catalogue has only the older wording.
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        "min_length",
    ),
    # Django 5.2's admin strings its Chinese catalogue lacks: the screen-reader headers of the
    # index's model table, the user add page's hint, the error prefix of page titles.
    gettext_lazy("Model name"),
    gettext_lazy("Add link"),
    gettext_lazy("Change or view list link"),
    gettext_lazy("After you’ve created a user, you’ll be able to edit more user options."),
    gettext_lazy("Error:"),
    gettext_lazy("Forgotten your login credentials?"),
    gettext_lazy("In case you’ve forgotten, you are:"),
]

# django-auditlog ships no Chinese: the words of its admin pages and log entries (portal/audit.py).
AUDITLOG_STRINGS = [
    gettext_lazy("Audit log"),
    gettext_lazy("Audit log: %s"),
    gettext_lazy("log entry"),
    gettext_lazy("log entries"),
    gettext_lazy("Changes"),
    gettext_lazy("Created"),
    gettext_lazy("Resource"),
    gettext_lazy("Resource Type"),
    gettext_lazy("Action"),
    gettext_lazy("Field"),
    gettext_lazy("From"),
    gettext_lazy("To"),
    gettext_lazy("No field changes"),
    gettext_lazy("No log entries found."),
    gettext_lazy("actor"),
    gettext_lazy("action"),
    gettext_lazy("timestamp"),
    gettext_lazy("remote address"),
    gettext_lazy("object representation"),
    gettext_lazy("content type"),
    gettext_lazy("create"),
    gettext_lazy("update"),
    gettext_lazy("delete"),
    gettext_lazy("access"),
    gettext_lazy("system"),
]
