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
]
