"""What every page with a form shares."""

from django import forms
from django.core.exceptions import ValidationError


def attach_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """A service's refusal shown on the form: each message on its own field where the form has
    it, the rest at the top of the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)
