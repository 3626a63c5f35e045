"""The error summary's lines (GOV.UK pattern): each links to its field and reads on its own.

A message that already names its field ("请填写联系电话，如 13800138000") is shown as it is; one that
does not ("两次输入的密码不一致") gets the field's label in front, so the summary never says only
what is wrong without saying where.
"""

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def error_line(label, message) -> str:
    label, message = str(label or ""), str(message)
    if not label or label in message:
        return message
    return _("%(field)s: %(message)s") % {"field": label, "message": message}


@register.simple_tag
def form_error_items(form) -> list[dict]:
    """Every error of a bound form, in the order of its fields: `{"href", "text"}`."""
    if form is None or not getattr(form, "errors", None):
        return []
    items = [{"href": "", "text": str(error)} for error in form.non_field_errors()]
    for field in form:
        for error in field.errors:
            items.append({"href": f"#{field.auto_id}", "text": error_line(field.label, error)})
    return items
