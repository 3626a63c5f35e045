"""Chinese left in an English page is marked lang="zh-Hans" (WCAG 2.2 SC 3.1.2 Language of Parts).

A law's title, a Chinese term in brackets (容缺受理), a person's or a shop's name: they may stay
Chinese in an English page, but a screen reader must read them with a Chinese voice. `{{ value|zh }}`
wraps each run of Chinese characters in `<span lang="zh-Hans">` while the page is English, and does
nothing in a Chinese page. The value is escaped first (unless it is already safe, e.g. the output of
linebreaksbr), so the filter never lets markup through; inside safe HTML only text between tags is
touched, never a tag or an attribute.

    {{ version.legal_basis_en|linebreaksbr|zh }}
    {% translate "Who can apply (受理条件)" as title %}{{ title|zh }}
"""

import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import get_language

register = template.Library()

_CHINESE = "\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
# A run: Chinese characters, with the digits and spaces written between them ("市民路 1 号").
CHINESE_RUN = re.compile(rf"[{_CHINESE}](?:[{_CHINESE}0-9 ]*[{_CHINESE}])?")
_TAG = re.compile(r"(<[^>]*>)")


def _page_is_english() -> bool:
    return (get_language() or "").startswith("en")


def mark_chinese(value) -> str:
    """`value`, escaped, with its Chinese runs in `<span lang="zh-Hans">` (whatever the language)."""
    html = str(conditional_escape(value))
    parts = _TAG.split(html)
    for index in range(0, len(parts), 2):  # text between tags; odd indexes are the tags
        parts[index] = CHINESE_RUN.sub(r'<span lang="zh-Hans">\g<0></span>', parts[index])
    return mark_safe("".join(parts))  # noqa: S308 - escaped above, only our spans added


@register.filter(needs_autoescape=True)
def zh(value, autoescape=True):
    """In an English page, mark the Chinese runs of `value`; in a Chinese page, `value` itself."""
    if value is None or value == "":
        return value
    if not _page_is_english() or not CHINESE_RUN.search(str(value)):
        return value
    if not autoescape and not isinstance(value, SafeData):
        value = mark_safe(value)  # noqa: S308 - the template turned autoescaping off itself
    return mark_chinese(value)


@register.filter
def local(obj, field: str):
    """`obj.<field>_en` in an English page when it is filled in, else `obj.<field>`:
    `{{ version|local:"conditions" }}` (services.models.localized in a template)."""
    from services.models import localized

    return localized(obj, field) if obj is not None else ""


@register.filter
def lang_attr(value) -> str:
    """` lang="zh-Hans"` for an element whose text is `value`, when it is Chinese in an English page:
    for what cannot hold a span (an <option>)."""
    if _page_is_english() and value and CHINESE_RUN.search(str(value)):
        return mark_safe(' lang="zh-Hans"')
    return ""


@register.filter
def names(values) -> str:
    """Names as a list in the page's language: 甲、乙 in Chinese, “A, B” in English; a material (or
    anything with a `label`) by its label, its English name in an English page."""
    from services.models import join_names

    return join_names(str(getattr(value, "label", value)) for value in values)
