"""Request bodies the portal can store and show, checked at the edge (DESIGN "API": bad input is a 400
with field messages, never a 500).

A JSON body is refused, naming the field, when it holds what no layer behind it can keep: a lone
surrogate (\\ud800 without its pair: no Unicode text, refused by PostgreSQL's jsonb and by UTF-8, and
not I-JSON, RFC 7493 §2.1), the NUL character (PostgreSQL stores no NUL in text), an integer outside
64 bits (SQLite's and PostgreSQL's integers), or nesting deeper than `MAX_DEPTH` (no form nests more
than four levels; Python's decoder would exhaust the stack first at about a thousand).
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers
from rest_framework.utils.json import strict_constant

MAX_DEPTH = 64
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
UNSTORABLE_TEXT = re.compile(r"[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why this text cannot be kept, or None: the message the pages and the API give alike."""
    found = UNSTORABLE_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return _(
            "The text holds an invisible NUL character (\\x00); type it again instead of pasting it."
        )
    return _(
        "The text holds a broken character (half of a surrogate pair, %(code)s); type it again "
        "instead of pasting it."
    ) % {"code": f"\\u{ord(found.group()):04x}"}


def integer_problem(value: int) -> str | None:
    if INT_MIN <= value <= INT_MAX:
        return None
    return _("The number is too large: whole numbers go from %(low)s to %(high)s.") % {
        "low": INT_MIN,
        "high": INT_MAX,
    }


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def body_errors(document: Any, *, max_depth: int = MAX_DEPTH) -> dict[str, list[str]]:
    """Field path (`data.staff[0].name`) → messages for what `document` may not hold; iterative, so
    any depth the decoder returned is walked without recursion."""
    errors: dict[str, list[str]] = {}
    stack: list[tuple[str, Any, int]] = [("", document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= max_depth:
                errors.setdefault(path or "non_field_errors", []).append(
                    _("The data is nested more than %(depth)s levels deep.") % {"depth": max_depth}
                )
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and (problem := text_problem(key)):
                    errors.setdefault(_join(path, repr(key)[1:-1]), []).append(problem)
                    continue
                stack.append((_join(path, key), item, depth + 1))
        elif isinstance(value, str):
            if problem := text_problem(value):
                errors.setdefault(path or "non_field_errors", []).append(problem)
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and (problem := integer_problem(value))
        ):
            errors.setdefault(path or "non_field_errors", []).append(problem)
    return errors


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (strict: no NaN or Infinity) with the checks of the module docstring."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            document = json.loads(text, parse_constant=strict_constant)
        except RecursionError:
            raise exceptions.ValidationError(
                {
                    "non_field_errors": [
                        _("The data is nested more than %(depth)s levels deep.")
                        % {"depth": MAX_DEPTH}
                    ]
                }
            ) from None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError too
            raise exceptions.ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from exc
        if errors := body_errors(document):
            raise exceptions.ValidationError(errors)
        return document


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def displayable(value: Any) -> Any:
    """`value` (JSON data) with each lone surrogate replaced by U+FFFD (�): what UTF-8 can write, for
    rows kept before the checks above refused them. Returns `value` itself when nothing needs it."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {displayable(key): displayable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [displayable(item) for item in value]
    return value
