"""Choosing the service at the counter (窗口选择事项): by its Chinese or English name, its code or an
alias (the version's keywords), typed in full or picked from the list that opens as the clerk types.

The list in the page (static/js/service-picker.js) matches the same words in the browser; the rule
here is what the server keeps, with or without that script: an exact code, name or alias is the
service; anything else that fits offers the services it fits to choose from, never one guessed.

Bundles (一件事) are picked the same way, by their name or code, and listed apart: after the
services, marked as a bundle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from services import bundles as bundle_definitions
from services import catalog
from services.models import Bundle, BundleMember, ServiceItem, ServiceVersion, localized

MAX_CANDIDATES = 12
_ALIAS_SEPARATORS = re.compile(r"[\s,，、;；/]+")


def counter_services() -> list[ServiceItem]:
    """The published services a counter files, in the catalog's order."""
    return list(catalog.published_services().filter(current_version__channel_counter=True))


def counter_bundles() -> list[Bundle]:
    """The published bundles a counter files: those whose every member is filed at a counter."""
    not_at_counter = BundleMember.objects.filter(bundle=OuterRef("pk")).exclude(
        service__current_version__channel_counter=True
    )
    return list(
        bundle_definitions.published_bundles().exclude(Exists(not_at_counter)).order_by("code")
    )


def is_bundle(item) -> bool:
    return isinstance(item, Bundle)


def aliases_of(version: ServiceVersion) -> list[str]:
    """The everyday words of a service (keywords and aliases, e.g. 个体户 开店)."""
    return [word for word in _ALIAS_SEPARATORS.split(version.keywords or "") if word]


def _key(text: str) -> str:
    """Compared without case or spaces: "c-9", "C-9 " and "C - 9" are one code."""
    return re.sub(r"\s+", "", text or "").casefold()


def _names_of(item) -> tuple[str, str]:
    """(Chinese name, English name) of a service's current version or of a bundle."""
    source = item if is_bundle(item) else item.current_version
    return source.name, source.name_en


def _aliases(item) -> list[str]:
    return [] if is_bundle(item) else aliases_of(item.current_version)


def label_of(item) -> str:
    """How a candidate is named in the page: its name, its code, and “bundle” for a bundle."""
    name = localized(item if is_bundle(item) else item.current_version, "name")
    if is_bundle(item):
        return _("%(name)s (%(code)s) · bundle (一件事)") % {"name": name, "code": item.code}
    return f"{name} ({item.code})"


def choices(services: list[ServiceItem], bundles: list[Bundle] = ()) -> list[dict]:
    """What the page's list shows and searches, one entry per service: the name in the page's
    language (and the language it is in, for a Chinese name left in an English page), the code,
    the aliases, and every word it is found by. Then one entry per bundle, with `group` naming
    it a bundle."""
    entries = []
    for s in services:
        version = s.current_version
        name = localized(version, "name")
        entries.append(
            {
                "code": s.code,
                "name": name,
                "name_lang": "zh-Hans" if name == version.name else "en",
                "aliases": aliases_of(version),
                "words": [s.code, version.name, version.name_en, *aliases_of(version)],
            }
        )
    for b in bundles:
        name = localized(b, "name")
        entries.append(
            {
                "code": b.code,
                "name": name,
                "name_lang": "zh-Hans" if name == b.name else "en",
                "aliases": [],
                "words": [b.code, b.name, b.name_en, "一件事"],
                "group": _("bundle (一件事)"),
            }
        )
    return entries


@dataclass
class Pick:
    """The service the text names, or those it might mean (`candidates`) when it names none
    exactly or several."""

    service: ServiceItem | Bundle | None = None
    candidates: list[ServiceItem | Bundle] = field(default_factory=list)


def pick_service(
    text: str, services: list[ServiceItem], *, code: str = "", bundles: list[Bundle] = ()
) -> Pick:
    """The service (or bundle) typed as `text`. `code` is what the page's list chose: it decides
    between services of the same name, as long as the text still is that service's name, code or
    alias."""
    key = _key(text)
    if not key:
        return Pick()
    services = [*services, *bundles]

    def names(s) -> set[str]:
        return {_key(name) for name in _names_of(s)} - {""}

    def aliases(s) -> set[str]:
        return {_key(word) for word in _aliases(s)}

    exact = [s for s in services if key == _key(s.code) or key in names(s) | aliases(s)]
    chosen = next((s for s in exact if s.code == code), None)
    if chosen is not None:
        return Pick(service=chosen)
    for rule in (
        lambda s: key == _key(s.code),
        lambda s: key in names(s),
        lambda s: key in aliases(s),
    ):
        found = [s for s in exact if rule(s)]
        if len(found) == 1:
            return Pick(service=found[0])
        if found:
            return Pick(candidates=found[:MAX_CANDIDATES])

    def fits(s: ServiceItem) -> int | None:
        """0 when the text starts a name, code or alias, 1 when it is inside one."""
        words = [_key(s.code), *names(s), *aliases(s)]
        if any(word.startswith(key) for word in words):
            return 0
        if any(key in word for word in words):
            return 1
        return None

    ranked = sorted(
        ((rank, s) for s in services if (rank := fits(s)) is not None), key=lambda pair: pair[0]
    )
    return Pick(candidates=[s for _rank, s in ranked[:MAX_CANDIDATES]])
