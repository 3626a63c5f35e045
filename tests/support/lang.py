"""Chinese text an English page leaves unmarked (WCAG 2.2 SC 3.1.2 Language of Parts).

A screen reader reads a part in the language of its nearest `lang`; Chinese under `<html lang="en">`
is spelled out with an English voice. `unmarked_chinese(html)` walks the text (and the attributes a
screen reader speaks: alt, title, aria-label, placeholder) of a rendered page and returns every run
of Chinese characters whose nearest ancestor with a `lang` attribute is not zh-Hans, with the path of
elements that leads to it, so a failure says where to look.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# CJK ideographs (extension A, unified, compatibility), CJK punctuation and full-width forms.
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip
SPOKEN_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")
# Scripts and styles are not read; what a person typed into a text area is theirs, in their words.
SKIPPED = {"script", "style", "template", "textarea"}


def _is_chinese(lang: str | None) -> bool:
    return (lang or "").lower().replace("_", "-").startswith(("zh-hans", "zh-cn"))


class _Walker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # (tag, description, lang or None)
        self.stack: list[tuple[str, str, str | None]] = []
        self.found: list[tuple[str, str]] = []

    def _lang(self) -> str | None:
        for _tag, _description, lang in reversed(self.stack):
            if lang is not None:
                return lang
        return None

    def _path(self) -> str:
        return " > ".join(description for _tag, description, _lang in self.stack)

    def _skipping(self) -> bool:
        return any(tag in SKIPPED for tag, _d, _l in self.stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        description = tag
        if attributes.get("id"):
            description += f"#{attributes['id']}"
        elif attributes.get("class"):
            description += "." + ".".join((attributes["class"] or "").split())
        entry = (tag, description, attributes.get("lang"))
        self.stack.append(entry)
        if not self._skipping() and not _is_chinese(self._lang()):
            for name in SPOKEN_ATTRIBUTES:
                for run in CJK.findall(attributes.get(name) or ""):
                    self.found.append((f"{run} (in @{name})", self._path()))
        if tag in VOID:
            self.stack.pop()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if self._skipping() or _is_chinese(self._lang()):
            return
        for run in CJK.findall(data):
            self.found.append((run, self._path()))


def unmarked_chinese(html: str) -> list[tuple[str, str]]:
    """Every (Chinese run, element path) outside an element marked lang="zh-Hans"."""
    walker = _Walker()
    walker.feed(html)
    walker.close()
    return walker.found


def report(pages: dict[str, str]) -> str:
    """A readable list of what each page leaves unmarked; empty when every page is clean."""
    lines = []
    for url, html in pages.items():
        for run, path in unmarked_chinese(html):
            lines.append(f"{url}: {run!r} at {path}")
    return "\n".join(lines)
