r"""Application forms as data: a JSON Schema subset, rendered as accessible Django forms and validated
server-side by the same code for pages and the API.

A schema is a standard JSON Schema (draft 2020-12) object, so any JSON Schema tool can read it; labels,
help texts and hints use extra keywords starting with `x-`:

    {
      "type": "object",
      "x-order": ["shop_name", "area", "opening", "kind", "seats", "staff"],
      "required": ["shop_name", "area"],
      "properties": {
        "shop_name": {"type": "string", "maxLength": 60, "title": "店铺名称",
                      "x-label": {"zh-hans": "店铺名称", "en": "Shop name"},
                      "x-help": {"zh-hans": "与招牌一致", "en": "As on the sign"}},
        "area": {"type": "number", "minimum": 1, "maximum": 10000, "title": "经营面积（平方米）"},
        "opening": {"type": "string", "format": "date", "title": "开业日期"},
        "kind": {"type": "string", "enum": ["retail", "catering"], "title": "类型",
                 "x-enum-labels": {"retail": {"zh-hans": "零售", "en": "Retail"}}},
        "seats": {"type": "integer", "minimum": 1, "title": "座位数"},
        "staff": {"type": "array", "minItems": 1, "maxItems": 5, "title": "从业人员",
                  "items": {"type": "object", "required": ["name", "id_number"],
                            "properties": {"name": {"type": "string", "title": "姓名"},
                                           "id_number": {"type": "string", "format": "id_number",
                                                         "title": "公民身份号码"}}}}
      },
      "allOf": [
        {"if": {"properties": {"kind": {"const": "catering"}}, "required": ["kind"]},
         "then": {"required": ["seats"]}}
      ]
    }

Supported: string (minLength, maxLength, pattern, enum, format "date", "email" or "id_number"),
integer and number (minimum, maximum, exclusiveMinimum, exclusiveMaximum; integer also enum), boolean
(const true for a box that must be ticked, whether listed in required or not), arrays of objects of
those scalars (minItems, maxItems: a repeating group; minItems of 1 or more makes it required
wherever it is asked), required. Hints: `x-prefill` (real_name,
id_number, phone, email, organisation_name, uscc: filled from the applicant's verified data; or a
registry's field such as household.address: suggested from another department's registry when the
draft starts, where the service's sharing grant allows, and left the applicant's to answer),
`x-widget` ("textarea", "radio"). PostgreSQL does not keep the order of JSON keys, so `x-order` lists
the fields in order; `normalize_schema` adds it from the order written when it is missing.

Formats: "date" is a calendar date written 2026-12-01 (nothing else is read as a date); "email" an
address of Latin letters and digits (an internationalised domain in its xn-- form); "id_number" a
resident identity card number (公民身份号码) of 18 characters, checked as registration checks it
(accounts.validators: the check digit, a real birth date not in the future, a region code of any
period). A field with a format has no pattern of its own: the format brings its pattern. A date may
carry bounds, `x-date-min` and `x-date-max`, each "today" (the day the data is checked, in the
portal's time zone: "not in the future" is `"x-date-max": "today"`) or a date such as "2020-01-01";
the published schema writes them out as the date pattern of the dates allowed on the day it is
served.

Conditions ("ask this only when ..."): an object (the form, or the entries of a list) may carry
`allOf`, a list of rules, each exactly

    {"if": {"properties": {"<field>": {"const": <value>}}, "required": ["<field>"]},
     "then": {"required": ["<shown and required>", ...], "properties": {"<shown only>": {}}}}

with `{"enum": [<value>, ...]}` in place of const for "one of these". The tested field is a text,
whole-number or yes/no field of the same object (a yes/no field is tested for true); it is neither
conditional itself nor filled from the profile. Every field named under `then` is conditional: shown
while a rule naming it holds, hidden otherwise, and never in the object's own `required`. A hidden
field is not asked for; a value sent for it anyway is checked like any value (as the schema says)
and then dropped, so stored data never answers a question that was not asked. Pages evaluate the
rules on the data at hand, without JavaScript: the next step shows what the last answers made
relevant. Each conditional field's wrapper carries `data-show-if` (JSON: `[{"field": "<input name>",
"values": ["<value>", ...]}]`, a ticked box being "true") and `hidden` while hidden, for a script to
show and hide live.

The published schema (`published_schema`: the `form_schema` of `GET services/{code}/`) is the exact
contract of `validate_data` (DESIGN "API"): what the server does is spelt out in standard keywords,
so that every instance the published schema accepts is accepted at submit: `additionalProperties:
false` on every object; required text with `minLength` 1 and `"not": {"pattern": "\\x00|^[…]*$"}`
(neither blank nor with the NUL character, which PostgreSQL cannot store; the server's blank is white
space that Python's and ECMAScript's \s both match, spelt out as a class, so either engine refuses
exactly that), other text with
`"not": {"pattern": "\\x00"}`, a pattern of the field's own kept as it is; each format as a
pattern (the date pattern knows month lengths, leap years and the field's bounds); numbers with
`minimum` and `maximum` within a 64-bit whole number (what the databases keep: `stored_bounds`);
required lists with `minItems` 1;
boxes with const true required; conditional requirements inside their rules; fields filled from
the profile `readOnly` and out of `required` (the server fills them; a value sent is checked, then
replaced). A pattern cannot compute an ID number's check digit:
`FORMAT_CHECKER` asserts format "id_number" for a validator that wants that too. An integer written
3.0 is the integer 3, as JSON Schema has it. Text with a lone surrogate (\ud800 unpaired) is no
Unicode text at all: refused here and at the edge (portal.parsers), whatever a pattern would say. Text is stored as sent: pages trim what people type,
the API keeps what a program sends. The stored schema stays as its author wrote it; the published
one is derived when served, so versions published earlier keep to the contract as well.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import functools
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from accounts.validators import normalize_id_number, validate_id_number
from portal.parsers import INT_MAX, INT_MIN, text_problem

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCALAR_TYPES = {"string", "integer", "number", "boolean"}
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PREFILL_SOURCES = {"real_name", "id_number", "phone", "email", "organisation_name", "uscc"}
# x-section: a heading shown before the field ({"zh-hans": ..., "en": ...}), to group a long form.
COMMON_KEYWORDS = {
    "type", "title", "description", "x-label", "x-help", "x-prefill", "x-widget", "x-section",
}  # fmt: skip
KEYWORDS = {
    "string": COMMON_KEYWORDS
    | {
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "enum",
        "x-enum-labels",
        "x-pattern-message",
        "x-date-min",
        "x-date-max",
    },
    "integer": COMMON_KEYWORDS
    | {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "x-enum-labels"},
    "number": COMMON_KEYWORDS | {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
    "boolean": COMMON_KEYWORDS | {"const"},
    "array": COMMON_KEYWORDS | {"items", "minItems", "maxItems"},
}
OBJECT_KEYWORDS = {
    "$schema",
    "type",
    "title",
    "description",
    "properties",
    "required",
    "additionalProperties",
    "allOf",
    "x-order",
    "x-label",
    "x-help",
}
MAX_ROWS = 50

# --- Patterns: what the server accepts, written so that Python's re and ECMAScript read them alike --

# Blank text is text of white space that Python's re and ECMAScript both match with \s (and only
# that). The published pattern spells these characters out rather than writing \s: Python's \s
# also matches \x1c-\x1f and ECMAScript's \ufeff, so with \s the two engines, and the server,
# would each call different text blank.
_BLANK_CLASS = r"[\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_BLANK = re.compile(_BLANK_CLASS + "*")
NUL = r"\x00"
BLANK_OR_NUL = rf"\x00|^{_BLANK_CLASS}*$"
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
DATE_PATTERN = (
    rf"^(?:{_YEAR}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    rf"|(?:0[13578]|1[02])-31)|{_LEAP_YEAR}-02-29)$"
)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z][A-Za-z0-9-]{{0,61}}[A-Za-z0-9]$"
ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9Xx]$"
FORMAT_PATTERNS = {"date": DATE_PATTERN, "email": EMAIL_PATTERN, "id_number": ID_NUMBER_PATTERN}
_DATE = re.compile(DATE_PATTERN)
_ID_NUMBER = re.compile(ID_NUMBER_PATTERN)

# --- Date bounds: "not in the future", "on or after 2020-01-01" -----------------------------------

# `x-date-min` / `x-date-max` on a date field: "today" (resolved on the day data is checked, in the
# portal's time zone) or a fixed date. The published schema spells the bounds out as the date
# pattern of that day, so that it stays the exact contract.
DATE_BOUND = re.compile("today|" + DATE_PATTERN[1:-1])  # read with fullmatch
_MONTH_DAY = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)"
)
_LEAP_ENDINGS = r"(?:0[48]|[2468][048]|[13579][26])"


def _digits(low: int, high: int, width: int) -> str:
    """A pattern for the numbers low..high written with `width` digits (leading zeros)."""
    if width == 0:
        return ""
    if low == high:
        return f"{low:0{width}d}"
    unit = 10 ** (width - 1)
    first, last = low // unit, high // unit
    if first == last:
        return f"{first}{_digits(low % unit, high % unit, width - 1)}"
    parts = []
    if low % unit:
        parts.append(f"{first}{_digits(low % unit, unit - 1, width - 1)}")
        first += 1
    tail = None
    if high % unit != unit - 1:
        tail = f"{last}{_digits(0, high % unit, width - 1)}"
        last -= 1
    if first <= last:
        digit = str(first) if first == last else f"[{first}-{last}]"
        parts.append(
            digit + ("[0-9]" if width == 2 else f"[0-9]{{{width - 1}}}" if width > 2 else "")
        )
    if tail:
        parts.append(tail)
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _leap_years(low: int, high: int) -> list[str]:
    """Patterns for the leap years low..high (low ≥ 1): whole centuries by their last two digits,
    the years before and after them one by one (fewer than a hundred each)."""
    if low > high:
        return []
    first, end = -(-low // 100), (high + 1) // 100  # the whole centuries first..end-1 inside
    if first >= end:
        return [f"{year:04d}" for year in range(low, high + 1) if _is_leap(year)]
    return [
        *_leap_years(low, first * 100 - 1),
        f"{_digits(first, end - 1, 2)}{_LEAP_ENDINGS}",
        *(f"{century:02d}00" for century in range(first, end) if century % 4 == 0),
        *_leap_years(end * 100, high),
    ]


def _days_of_year(year: int, start: dt.date, end: dt.date) -> list[str]:
    """Patterns for the dates start..end of one year (month by month)."""
    parts = []
    for month in range(start.month, end.month + 1):
        last = calendar.monthrange(year, month)[1]
        low = start.day if month == start.month else 1
        high = end.day if month == end.month else last
        parts.append(f"{month:02d}-{_digits(low, high, 2)}")
    return [f"{year:04d}-(?:{'|'.join(parts)})" if len(parts) > 1 else f"{year:04d}-{parts[0]}"]


def date_range_pattern(low: dt.date | None, high: dt.date | None) -> str:
    """The date pattern (as DATE_PATTERN) for the dates low..high and nothing else."""
    low, high = low or dt.date.min, high or dt.date.max
    if low > high:
        raise ValueError("no date lies between the bounds")
    if low.year == high.year:
        parts = _days_of_year(low.year, low, high)
    else:
        parts = _days_of_year(low.year, low, dt.date(low.year, 12, 31))
        if low.year + 1 <= high.year - 1:
            parts.append(f"{_digits(low.year + 1, high.year - 1, 4)}-{_MONTH_DAY}")
            leap = _leap_years(low.year + 1, high.year - 1)
            if leap:
                years = leap[0] if len(leap) == 1 else "(?:" + "|".join(leap) + ")"
                parts.append(f"{years}-02-29")
        parts += _days_of_year(high.year, dt.date(high.year, 1, 1), high)
    return "^(?:" + "|".join(parts) + ")$"


def _resolve_bound(bound: str | None, today: dt.date) -> dt.date | None:
    if bound is None:
        return None
    return today if bound == "today" else dt.date.fromisoformat(bound)


def date_bounds(prop: dict, today: dt.date | None = None) -> tuple[dt.date | None, dt.date | None]:
    """The earliest and latest date a date field takes today (None: no bound)."""
    today = today or timezone.localdate()
    return (
        _resolve_bound(prop.get("x-date-min"), today),
        _resolve_bound(prop.get("x-date-max"), today),
    )


def _date_bound_validator(prop: dict):
    """Refuse a date (a datetime.date) outside the field's bounds, saying which bound and why."""

    def check(value: dt.date) -> None:
        today = timezone.localdate()
        low, high = date_bounds(prop, today)
        if low and high and low > high:
            raise ValidationError(
                _("No date can be entered here today; tell the department."), code="no_date"
            )
        if low and value < low:
            message = (
                _("Enter today's date or a later one (today is %(date)s).")
                if prop.get("x-date-min") == "today"
                else _("Enter %(date)s or a later date.")
            )
            raise ValidationError(message % {"date": low.isoformat()}, code="date_too_early")
        if high and value > high:
            message = (
                _("The date cannot be in the future: enter %(date)s (today) or an earlier one.")
                if prop.get("x-date-max") == "today"
                else _("Enter %(date)s or an earlier date.")
            )
            raise ValidationError(message % {"date": high.isoformat()}, code="date_too_late")

    return check


FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks("id_number")
def is_id_number(value: object) -> bool:
    """Format "id_number" with its check digit, as the server checks it."""
    if not isinstance(value, str):
        return True
    try:
        validate_id_number(value)
    except ValidationError:
        return False
    return bool(_ID_NUMBER.search(value))


# --- Conditions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One rule of an object's `allOf`: while `field` has one of `values`, the fields `shows` are
    asked and `requires` (some of them) required; otherwise all of `shows` are hidden."""

    field: str
    values: tuple
    shows: tuple[str, ...]
    requires: tuple[str, ...]

    def holds(self, values: dict) -> bool:
        if self.field not in values:
            return False
        value = values[self.field]
        return any(
            value == v and isinstance(value, bool) == isinstance(v, bool) for v in self.values
        )


def rules_of(schema: dict) -> list[Rule]:
    """The rules of a checked object schema (the form, or the entries of a list)."""
    rules = []
    for rule in schema.get("allOf") or []:
        ((field, test),) = rule["if"]["properties"].items()
        values = tuple(test["enum"]) if "enum" in test else (test["const"],)
        requires = tuple(rule["then"].get("required", []))
        shows = tuple(dict.fromkeys([*requires, *rule["then"].get("properties", {})]))
        rules.append(Rule(field, values, shows, requires))
    return rules


def hidden_fields(schema: dict, values: dict) -> set[str]:
    """The conditional fields no rule shows for these values (of the same object)."""
    rules = rules_of(schema)
    shown = {name for rule in rules if rule.holds(values) for name in rule.shows}
    return {name for rule in rules for name in rule.shows} - shown


def required_fields(schema: dict, values: dict) -> set[str]:
    """What must be answered for these values: `required`, what holding rules require, and boxes
    that must be ticked (const true) unless they are hidden."""
    rules = rules_of(schema)
    holding = [rule for rule in rules if rule.holds(values)]
    conditional = {name for rule in rules for name in rule.shows}
    shown = {name for rule in holding for name in rule.shows}
    required = set(schema.get("required", [])) | {n for rule in holding for n in rule.requires}
    for name, prop in schema.get("properties", {}).items():
        if _must_answer(prop) and (name not in conditional or name in shown):
            required.add(name)
    return required


def _must_tick(prop: dict) -> bool:
    return prop.get("type") == "boolean" and prop.get("const") is True


def _must_answer(prop: dict) -> bool:
    """Required whenever asked, whether listed in required or not: a box that must be ticked, a
    list of at least one entry."""
    return _must_tick(prop) or (prop.get("type") == "array" and (prop.get("minItems") or 0) > 0)


def _missing(prop: dict, value: Any) -> bool:
    if _must_tick(prop):
        return value is not True
    return value in (None, "", [])


# --- Checking schemas ------------------------------------------------------------------------------


def normalize_schema(schema: dict) -> dict:
    """Add `x-order` (from the order the fields were written in) wherever an object lacks it."""
    if not isinstance(schema, dict):
        return schema
    result = dict(schema)
    properties = result.get("properties")
    if isinstance(properties, dict):
        result.setdefault("x-order", list(properties))
        result["properties"] = {
            name: (
                {**prop, "items": normalize_schema(prop["items"])}
                if isinstance(prop, dict) and isinstance(prop.get("items"), dict)
                else prop
            )
            for name, prop in properties.items()
        }
    return result


def _check_object(schema: Any, path: str, *, nested: bool) -> list[str]:
    problems: list[str] = []
    where = path or _("the form")
    if not isinstance(schema, dict):
        return [_("%(where)s must be a JSON object.") % {"where": where}]
    if schema.get("type") != "object":
        problems.append(_('%(where)s must have "type": "object".') % {"where": where})
    for keyword in sorted(set(schema) - OBJECT_KEYWORDS):
        problems.append(
            _('%(where)s: the keyword "%(keyword)s" is not supported.')
            % {"where": where, "keyword": keyword}
        )
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        problems.append(_("%(where)s must list its fields under properties.") % {"where": where})
        return problems
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        problems.append(_("%(where)s: required must be a list of field names.") % {"where": where})
        required = []
    else:
        for name in required:
            if name not in properties:
                problems.append(
                    _('%(where)s: required names "%(name)s", which is not a field.')
                    % {"where": where, "name": name}
                )
    order = schema.get("x-order")
    if order is not None and (not isinstance(order, list) or sorted(order) != sorted(properties)):
        problems.append(_("%(where)s: x-order must list every field once.") % {"where": where})
    for name, prop in properties.items():
        field_path = f"{path}.{name}" if path else name
        if not NAME.match(name):
            problems.append(
                _(
                    'Field name "%(name)s": use lower-case letters, digits and _, starting with a letter.'
                )
                % {"name": field_path}
            )
        problems += _check_property(prop, field_path, nested=nested)
    if "allOf" in schema and not problems:
        problems += _check_rules(schema, where, required=set(required), nested=nested)
    return problems


def _check_rules(schema: dict, where: str, *, required: set[str], nested: bool) -> list[str]:
    rules = schema["allOf"]
    properties = schema["properties"]
    if not isinstance(rules, list) or not rules:
        return [
            _('%(where)s: allOf must be a list of conditions {"if": ..., "then": ...}.')
            % {"where": where}
        ]
    problems: list[str] = []
    tested: set[str] = set()
    shown: set[str] = set()
    for number, rule in enumerate(rules, start=1):
        at = {"where": where, "number": number}
        condition = rule.get("if") if isinstance(rule, dict) else None
        then = rule.get("then") if isinstance(rule, dict) else None
        if not (
            isinstance(rule, dict)
            and set(rule) == {"if", "then"}
            and isinstance(condition, dict)
            and set(condition) == {"properties", "required"}
            and isinstance(condition["properties"], dict)
            and len(condition["properties"]) == 1
            and condition["required"] == list(condition["properties"])
            and isinstance(then, dict)
            and set(then) <= {"required", "properties"}
        ):
            problems.append(
                _(
                    '%(where)s, condition %(number)d: write it as {"if": {"properties": {"kind": '
                    '{"const": "catering"}}, "required": ["kind"]}, "then": {"required": ["seats"]}}.'
                )
                % at
            )
            continue
        ((name, test),) = condition["properties"].items()
        prop = properties.get(name)
        if prop is None:
            problems.append(
                _('%(where)s, condition %(number)d: "%(name)s" is not a field here.')
                % {**at, "name": name}
            )
            continue
        tested.add(name)
        if prop["type"] not in ("string", "integer", "boolean") or prop.get("x-prefill"):
            problems.append(
                _(
                    "%(where)s, condition %(number)d: a condition tests a text, whole-number or "
                    'yes/no field that the applicant answers, not "%(name)s".'
                )
                % {**at, "name": name}
            )
            continue
        values = (
            test.get("enum")
            if isinstance(test, dict) and set(test) == {"enum"}
            else [test.get("const")]
            if isinstance(test, dict) and set(test) == {"const"}
            else None
        )
        python_type = {"string": str, "integer": int, "boolean": bool}[prop["type"]]
        if (
            not isinstance(values, list)
            or not values
            or not all(
                isinstance(v, python_type) and (python_type is bool or not isinstance(v, bool))
                for v in values
            )
            or (prop["type"] == "boolean" and values != [True])
            or (prop["type"] == "string" and any(_BLANK.fullmatch(v) for v in values))
            or ("enum" in prop and not all(v in prop["enum"] for v in values))
        ):
            problems.append(
                _(
                    '%(where)s, condition %(number)d: test "%(name)s" with {"const": value} or '
                    '{"enum": [values]}, values it accepts (a yes/no field: {"const": true}).'
                )
                % {**at, "name": name}
            )
        then_required = then.get("required", [])
        then_properties = then.get("properties", {})
        if (
            not isinstance(then_required, list)
            or not isinstance(then_properties, dict)
            or not all(isinstance(n, str) for n in then_required)
            or not all(v == {} or v is True for v in then_properties.values())
            or not (then_required or then_properties)
        ):
            problems.append(
                _(
                    '%(where)s, condition %(number)d: "then" names the fields it shows: "required" '
                    'for those it also requires, "properties" with {} for those it only shows.'
                )
                % at
            )
            continue
        for dependent in [*then_required, *then_properties]:
            if dependent not in properties:
                problems.append(
                    _('%(where)s, condition %(number)d: "%(name)s" is not a field here.')
                    % {**at, "name": dependent}
                )
            elif (
                dependent == name or dependent in required or properties[dependent].get("x-prefill")
            ):
                problems.append(
                    _(
                        '%(where)s, condition %(number)d: "%(name)s" cannot be shown by a condition: '
                        "it is the field tested, always required or filled from the profile."
                    )
                    % {**at, "name": dependent}
                )
            else:
                shown.add(dependent)
    for name in sorted(tested & shown):
        problems.append(
            _('%(where)s: "%(name)s" decides on other fields, so it cannot itself be conditional.')
            % {"where": where, "name": name}
        )
    return problems


def _check_labels(prop: dict, path: str) -> list[str]:
    problems = []
    for keyword in ("x-label", "x-help", "x-pattern-message", "x-section"):
        value = prop.get(keyword)
        if value is not None and not (
            isinstance(value, dict)
            and value
            and set(value) <= {"zh-hans", "en"}
            and all(isinstance(v, str) for v in value.values())
        ):
            problems.append(
                _('%(path)s: %(keyword)s must be {"zh-hans": "...", "en": "..."}.')
                % {"path": path, "keyword": keyword}
            )
    if not (prop.get("title") or prop.get("x-label")):
        problems.append(_("%(path)s needs a label (title or x-label).") % {"path": path})
    return problems


def _check_property(prop: Any, path: str, *, nested: bool) -> list[str]:
    if not isinstance(prop, dict):
        return [_("%(path)s must be a JSON object.") % {"path": path}]
    kind = prop.get("type")
    if kind not in KEYWORDS:
        return [
            _("%(path)s: type must be one of string, integer, number, boolean, array.")
            % {"path": path}
        ]
    problems = _check_labels(prop, path)
    for keyword in sorted(set(prop) - KEYWORDS[kind]):
        problems.append(
            _('%(path)s: the keyword "%(keyword)s" is not supported for %(type)s.')
            % {"path": path, "keyword": keyword, "type": kind}
        )
    for keyword in ("minLength", "maxLength", "minItems", "maxItems"):
        if keyword in prop and (
            not isinstance(prop[keyword], int)
            or isinstance(prop[keyword], bool)
            or prop[keyword] < 0
        ):
            problems.append(
                _("%(path)s: %(keyword)s must be a whole number of 0 or more.")
                % {"path": path, "keyword": keyword}
            )
            return problems
    for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if keyword in prop and (
            not isinstance(prop[keyword], int | float)
            or isinstance(prop[keyword], bool)
            or not math.isfinite(prop[keyword])
        ):
            problems.append(
                _("%(path)s: %(keyword)s must be a number.") % {"path": path, "keyword": keyword}
            )
            return problems
    if (
        prop.get("x-prefill") is not None
        and prop["x-prefill"] not in PREFILL_SOURCES
        and not _registry_source(prop["x-prefill"])
    ):
        problems.append(
            _(
                "%(path)s: x-prefill must be one of %(sources)s, or a registry's field such as "
                "household.address."
            )
            % {"path": path, "sources": ", ".join(sorted(PREFILL_SOURCES))}
        )
    if prop.get("x-widget") not in (None, "textarea", "radio"):
        problems.append(_('%(path)s: x-widget must be "textarea" or "radio".') % {"path": path})
    if kind == "string":
        if prop.get("format") not in (None, *FORMAT_PATTERNS):
            problems.append(
                _(
                    '%(path)s: format must be "date" or "email", or "id_number" for a resident '
                    "ID number."
                )
                % {"path": path}
            )
        elif "format" in prop and "pattern" in prop:
            problems.append(
                _('%(path)s: format "%(format)s" brings its own pattern; remove "pattern".')
                % {"path": path, "format": prop["format"]}
            )
        if "pattern" in prop:
            try:
                re.compile(prop["pattern"])
            except (re.error, TypeError):
                problems.append(
                    _("%(path)s: the pattern is not a valid regular expression.") % {"path": path}
                )
        low, high = prop.get("minLength"), prop.get("maxLength")
        if low is not None and high is not None and low > high:
            problems.append(_("%(path)s: minLength is larger than maxLength.") % {"path": path})
        problems += _check_date_bounds(prop, path)
    if kind in ("integer", "number"):
        low, high = prop.get("minimum"), prop.get("maximum")
        if low is not None and high is not None and low > high:
            problems.append(_("%(path)s: minimum is larger than maximum.") % {"path": path})
    if "enum" in prop:
        values = prop["enum"]
        python_type = str if kind == "string" else int
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, python_type) and not isinstance(v, bool) for v in values)
            or len(set(values)) != len(values)
        ):
            problems.append(
                _("%(path)s: enum must be a list of distinct %(type)s values.")
                % {"path": path, "type": kind}
            )
        elif kind == "string" and any(_BLANK.fullmatch(v) for v in values):
            problems.append(
                _(
                    "%(path)s: a choice cannot be empty or only spaces; give it a code such as “other”."
                )
                % {"path": path}
            )
    if kind == "boolean" and "const" in prop and prop["const"] is not True:
        problems.append(_("%(path)s: a boolean may only be const true.") % {"path": path})
    if kind == "array":
        if nested:
            problems.append(_("%(path)s: a list cannot contain another list.") % {"path": path})
        else:
            problems += _check_object(prop.get("items"), f"{path}[]", nested=True)
        low, high = prop.get("minItems"), prop.get("maxItems")
        if high is not None and (not isinstance(high, int) or high > MAX_ROWS):
            problems.append(
                _("%(path)s: maxItems is at most %(max)d.") % {"path": path, "max": MAX_ROWS}
            )
        if low is not None and high is not None and low > high:
            problems.append(_("%(path)s: minItems is larger than maxItems.") % {"path": path})
    return problems


def _check_date_bounds(prop: dict, path: str) -> list[str]:
    bounds = [k for k in ("x-date-min", "x-date-max") if k in prop]
    if not bounds:
        return []
    if prop.get("format") != "date":
        return [_('%(path)s: x-date-min and x-date-max are for format "date".') % {"path": path}]
    for keyword in bounds:
        if not isinstance(prop[keyword], str) or not DATE_BOUND.fullmatch(prop[keyword]):
            return [
                _('%(path)s: %(keyword)s must be "today" or a date such as 2020-01-01.')
                % {"path": path, "keyword": keyword}
            ]
    low, high = date_bounds(prop)
    if low and high and low > high:
        return [_("%(path)s: the earliest date is after the latest.") % {"path": path}]
    return []


def check_schema(schema: Any) -> None:
    """Raise ValidationError listing every problem of a form schema, in words an admin can act on."""
    if schema in (None, {}):
        raise ValidationError(_("The form needs at least one field."), code="empty_schema")
    # The subset's own checks first: their messages name the field and say what to change.
    problems = _check_object(schema, "", nested=False)
    if problems:
        raise ValidationError(problems, code="unsupported_schema")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ValidationError(
            _("This is not a valid JSON Schema: %(error)s") % {"error": exc.message},
            code="invalid_schema",
        ) from exc


# --- The published schema: the contract clients are given -----------------------------------------


def _registry_source(value) -> bool:
    """An x-prefill naming a configured registry's field ("household.address", cases.sharing)."""
    from cases.sharing.registry import prefill_source

    return prefill_source(value) is not None


def prefill_fields(schema: dict) -> set[str]:
    """Fields the server fills from verified data (as cases.workflow.prefilled_fields reads them).
    A field filled from a registry ("household.address") is not among them: it is suggested when
    the draft starts and stays the applicant's answer, required or not as the schema says."""
    return {
        name
        for name, prop in schema.get("properties", {}).items()
        if prop.get("x-prefill")
        and prop.get("type") == "string"
        and "." not in str(prop["x-prefill"])
    }


def published_schema(schema: dict) -> dict:
    """The form schema as clients are given it, with what `validate_data` does spelt out in
    standard keywords (see the module docstring): any instance it accepts is accepted at submit,
    once the server has filled the `readOnly` fields."""
    return {"$schema": JSON_SCHEMA_DIALECT, **_published_object(schema, top=True)}


def _published_object(schema: dict, *, top: bool) -> dict:
    properties = schema["properties"]
    prefilled = prefill_fields(schema) if top else set()
    rules = rules_of(schema)
    conditional = {name for rule in rules for name in rule.shows}
    stated = set(schema.get("required", []))
    required = [
        name
        for name, prop in properties.items()
        if name not in prefilled
        and (name in stated or (_must_answer(prop) and name not in conditional))
    ]
    result = {
        key: value
        for key, value in schema.items()
        if key not in ("$schema", "properties", "required", "allOf", "additionalProperties")
    }
    result["properties"] = {
        name: _published_property(prop, required=name in required, read_only=name in prefilled)
        for name, prop in properties.items()
    }
    if required:
        result["required"] = required
    if rules:
        result["allOf"] = [
            _published_rule(raw, rule, properties)
            for raw, rule in zip(schema["allOf"], rules, strict=True)
        ]
    result["additionalProperties"] = False
    return result


def _published_property(prop: dict, *, required: bool, read_only: bool) -> dict:
    result = dict(prop)
    if read_only:
        result["readOnly"] = True
    if prop["type"] == "string" and "enum" not in prop:
        if required:
            result["minLength"] = max(1, prop.get("minLength", 0))
        if prop.get("format") == "date" and date_bounds(prop) != (None, None):
            low, high = date_bounds(prop)
            if low and high and low > high:  # "today" went past a fixed bound: nothing is taken
                result["not"] = {}
            else:
                result["pattern"] = date_range_pattern(low, high)
        elif prop.get("format") in FORMAT_PATTERNS:
            result["pattern"] = FORMAT_PATTERNS[prop["format"]]
        else:  # what text may not be; a pattern of the field's own stays as it is
            result["not"] = {"pattern": BLANK_OR_NUL if required else NUL}
    if prop["type"] in ("integer", "number") and "enum" not in prop:
        result.update(stored_bounds(prop))
    if prop["type"] == "array":
        result["items"] = _published_object(prop["items"], top=False)
        if required:
            result["minItems"] = max(1, prop.get("minItems", 0))
    return result


def _published_rule(raw: dict, rule: Rule, properties: dict) -> dict:
    """A rule with what "required" means for its fields: text filled in, a list not empty, a box
    that must be ticked required while shown."""
    requires = [*rule.requires]
    requires += [n for n in rule.shows if _must_answer(properties[n]) and n not in requires]
    then_properties = {}
    for name in rule.shows:
        prop = properties[name]
        extra: dict[str, Any] = {}
        if name in requires and prop["type"] == "string" and "enum" not in prop:
            extra["minLength"] = max(1, prop.get("minLength", 0))
            if prop.get("format") not in FORMAT_PATTERNS:
                extra["not"] = {"pattern": BLANK_OR_NUL}
        elif name in requires and prop["type"] == "array":
            extra["minItems"] = max(1, prop.get("minItems", 0))
        then_properties[name] = extra
    then: dict[str, Any] = {"required": requires} if requires else {}
    then["properties"] = then_properties
    return {"if": copy.deepcopy(raw["if"]), "then": then}


# --- Labels ----------------------------------------------------------------------------------------


def _text(prop: dict, keyword: str, fallback: str, language: str | None = None) -> str:
    language = language or get_language() or "zh-hans"
    value = prop.get(keyword)
    if isinstance(value, dict):
        key = "en" if language.startswith("en") else "zh-hans"
        return value.get(key) or value.get("zh-hans") or value.get("en") or ""
    return prop.get(fallback, "") or ""


def label_of(prop: dict, name: str = "", language: str | None = None) -> str:
    return _text(prop, "x-label", "title", language) or name


def help_of(prop: dict, language: str | None = None) -> str:
    return _text(prop, "x-help", "description", language)


def ordered_properties(schema: dict) -> list[tuple[str, dict]]:
    properties = schema.get("properties", {})
    order = schema.get("x-order") or list(properties)
    return [(name, properties[name]) for name in order if name in properties]


def enum_label(prop: dict, value: Any, language: str | None = None) -> str:
    labels = prop.get("x-enum-labels", {}).get(str(value))
    if isinstance(labels, dict):
        return _text({"x": labels}, "x", "", language) or str(value)
    return str(value)


# --- Fields: the one place scalar values are parsed and checked --------------------------------------


class IdNumberField(forms.CharField):
    """A resident ID number (公民身份号码), checked as registration checks it. On a page, spaces and
    dashes typed are removed; `strict` (JSON) takes the value as sent. Stored with a capital X."""

    def __init__(self, *, strict: bool = False, **kwargs):
        self.strict = strict
        kwargs.setdefault("widget", forms.TextInput(attrs={"spellcheck": "false"}))
        super().__init__(strip=not strict, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return value if self.strict or not value else normalize_id_number(value)

    def validate(self, value):
        super().validate(value)
        if value in self.empty_values:
            return
        # What is wrong, each problem with its own message: length, characters, region, birth
        # date, check digit (accounts.validators).
        validate_id_number(value)
        if not _ID_NUMBER.search(value):  # only as sent in JSON: spaces or full-width digits
            raise ValidationError(
                _(
                    "Enter the 18 characters of the ID number without spaces; the last may be X, "
                    "e.g. 11010519491231002X."
                ),
                code="id_number_form",
            )

    def clean(self, value):
        value = super().clean(value)
        return normalize_id_number(value) if value else value


# --- Messages that say how to fix (GOV.UK pattern) ----------------------------------------------
# Each names its field and the fix, with an example where one helps: "请填写联系电话，如 13800138000".
# The author's own x-pattern-message is kept as written: it already says how to fix it.

_SIMPLE_DIGITS = re.compile(r"^\^(?:\\d|\[0-9\])\{(\d+)\}\$$")
_PHONE_WORDS = ("电话", "手机", "phone", "mobile")
_POSTCODE_WORDS = ("邮编", "邮政编码", "postcode", "postal code", "zip")


def _escaped(label: str) -> str:
    """A label put into a message that Django fills in later with % (limit values)."""
    return label.replace("%", "%%")


def _number_example(prop: dict) -> str:
    low = prop.get("minimum")
    if low is None and prop.get("exclusiveMinimum") is not None:
        low = math.floor(prop["exclusiveMinimum"]) + 1
    high = prop.get("maximum")
    if high is None and prop.get("exclusiveMaximum") is not None:
        high = math.ceil(prop["exclusiveMaximum"]) - 1
    example: int | float = 1 if prop["type"] == "integer" else 12.5
    if low is not None and example < low:
        example = math.ceil(low)
    if high is not None and example > high:
        example = math.floor(high)
    return str(example)


def example_of(prop: dict, name: str = "") -> str:
    """An example answer for a field, to show in its error message ("" when none would help)."""
    kind, fmt, prefill = prop.get("type"), prop.get("format"), prop.get("x-prefill")
    if kind in ("integer", "number"):
        return _number_example(prop)
    if kind != "string" or "enum" in prop:
        return ""
    if fmt == "date":
        low, high = date_bounds(prop)
        example = timezone.localdate()
        if high and example > high:
            example = high
        if low and example < low:
            example = low
        return example.isoformat()
    if fmt == "email" or prefill == "email":
        return "zhang.san@example.com"
    if fmt == "id_number" or prefill == "id_number":
        return "11010519491231002X"
    words = " ".join(filter(None, [label_of(prop, name, "zh-hans"), label_of(prop, name, "en")]))
    words = words.lower()
    if prefill == "phone" or any(word in words for word in _PHONE_WORDS):
        return "13800138000"
    if prefill == "real_name":
        return _("Zhang San")
    match = _SIMPLE_DIGITS.match(prop.get("pattern", ""))
    if match:
        count = int(match.group(1))
        if any(word in words for word in _POSTCODE_WORDS) and count == 6:
            return "310000"
        return ("1234567890" * 5)[:count]
    return ""


def required_message(prop: dict, name: str = "") -> str:
    """What to do when a field was left unanswered, naming the field."""
    label = label_of(prop, name)
    kind = prop.get("type")
    if kind == "boolean":
        return _("Tick “%(field)s” to continue.") % {"field": label}
    if kind == "array":
        return _("Add at least one entry to “%(field)s”.") % {"field": label}
    if "enum" in prop:
        return _("Choose %(field)s.") % {"field": label}
    if prop.get("format") == "date":
        return _date_message(prop, name)
    example = example_of(prop, name)
    if example:
        return _("Enter %(field)s, e.g. %(example)s.") % {"field": label, "example": example}
    return _("Enter %(field)s.") % {"field": label}


def _date_message(prop: dict, name: str = "") -> str:
    return _("Enter %(field)s as year-month-day, e.g. %(example)s.") % {
        "field": label_of(prop, name),
        "example": example_of(prop, name),
    }


def _pattern_message(prop: dict, name: str = "") -> str:
    """The author's message on how to fix it; else what the pattern asks for, when it can be said."""
    authored = _text(prop, "x-pattern-message", "")
    if authored:
        return authored
    label = label_of(prop, name)
    match = _SIMPLE_DIGITS.match(prop.get("pattern", ""))
    if match:
        return _("Enter %(field)s as %(count)s digits, e.g. %(example)s.") % {
            "field": label,
            "count": match.group(1),
            "example": example_of(prop, name),
        }
    hint = help_of(prop)
    if hint:
        return _("Enter %(field)s in the form this field asks for: %(hint)s") % {
            "field": label,
            "hint": hint,
        }
    return _(
        "Enter %(field)s in the form this field asks for: check it against the document you "
        "copy it from, without extra spaces or signs."
    ) % {"field": label}


def field_error_messages(prop: dict, name: str = "") -> dict[str, str]:
    """Django error messages for a field of this property, each naming the field and the fix.
    Limits are filled in by Django (`%(limit_value)s`), so the label is escaped for it."""
    label = _escaped(label_of(prop, name))
    kind = prop.get("type")
    example = example_of(prop, name)
    messages = {"required": _escaped(required_message(prop, name))}
    if "enum" in prop:
        messages["invalid_choice"] = _("Choose %(field)s from the options shown.") % {
            "field": label
        }
        return messages
    if kind == "integer":
        messages["invalid"] = _("Enter %(field)s as a whole number, e.g. %(example)s.") % {
            "field": label,
            "example": example,
        }
    elif kind == "number":
        messages["invalid"] = _("Enter %(field)s as a number, e.g. %(example)s.") % {
            "field": label,
            "example": example,
        }
    if kind in ("integer", "number"):
        messages["min_value"] = _(
            "%(field)s must be at least %%(limit_value)s: enter %%(limit_value)s or more."
        ) % {"field": label}
        messages["max_value"] = _(
            "%(field)s can be at most %%(limit_value)s: enter %%(limit_value)s or less."
        ) % {"field": label}
        return messages
    if prop.get("format") == "date":
        messages["invalid"] = _escaped(_date_message(prop, name))
        return messages
    if prop.get("format") == "email":
        messages["invalid"] = _("Enter %(field)s as an e-mail address, e.g. %(example)s.") % {
            "field": label,
            "example": example,
        }
    messages["min_length"] = _(
        "%(field)s needs at least %%(limit_value)d characters (it has %%(show_value)d): add to it."
    ) % {"field": label}
    messages["max_length"] = _(
        "%(field)s takes at most %%(limit_value)d characters (it has %%(show_value)d): shorten it."
    ) % {"field": label}
    return messages


def _bound(value: int | float) -> Decimal:
    """A schema bound as a page's DecimalField compares it: 0.1 is one tenth, not the float."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def scalar_field(prop: dict, *, name: str, required: bool, strict: bool = False) -> forms.Field:
    """The Django form field for one scalar property; its clean() is the validation of that value.

    `strict` is for JSON (the API, and what pages hand on): text is taken as sent, not trimmed.
    """
    kind = prop["type"]
    common = {
        "label": label_of(prop, name),
        "help_text": help_of(prop),
        "required": required,
        "error_messages": field_error_messages(prop, name),
    }
    attrs: dict[str, Any] = {}
    if prop.get("x-prefill") in ("real_name",):
        attrs["autocomplete"] = "name"
    elif prop.get("x-prefill") == "phone":
        attrs["autocomplete"] = "tel"
    elif prop.get("x-prefill") == "email":
        attrs["autocomplete"] = "email"
    if "enum" in prop:
        choices = [(str(v), enum_label(prop, v)) for v in prop["enum"]]
        radio = prop.get("x-widget") == "radio" or len(choices) <= 4
        if not radio or not required:
            choices = [("", "—")] + choices if not radio else choices
        widget = forms.RadioSelect if radio else forms.Select
        return forms.TypedChoiceField(
            choices=choices,
            coerce=int if kind == "integer" else str,
            empty_value=None,
            widget=widget,
            **common,
        )
    if kind == "boolean":
        return forms.BooleanField(**common)
    if kind == "integer" or kind == "number":
        prop = {**prop, **stored_bounds(prop)}
        bounds = {
            "min_value": None if prop.get("minimum") is None else _bound(prop["minimum"]),
            "max_value": None if prop.get("maximum") is None else _bound(prop["maximum"]),
        }
        field_class = forms.IntegerField if kind == "integer" else forms.DecimalField
        field = field_class(
            widget=forms.NumberInput(
                attrs={"inputmode": "numeric" if kind == "integer" else "decimal", **attrs}
            ),
            **bounds,
            **common,
        )
        if "exclusiveMinimum" in prop:
            field.validators.append(_exclusive(_bound(prop["exclusiveMinimum"]), above=True))
        if "exclusiveMaximum" in prop:
            field.validators.append(_exclusive(_bound(prop["exclusiveMaximum"]), above=False))
        return field
    lengths = {"min_length": prop.get("minLength"), "max_length": prop.get("maxLength")}
    if prop.get("format") == "date":
        low, high = date_bounds(prop)
        attrs = {"type": "date"}
        if low:
            attrs["min"] = low.isoformat()
        if high:
            attrs["max"] = high.isoformat()
        validators = [_date_bound_validator(prop)] if (low or high) else []
        return forms.DateField(widget=forms.DateInput(attrs=attrs), validators=validators, **common)
    if prop.get("format") == "id_number":
        return IdNumberField(strict=strict, **lengths, **common)
    if prop.get("format") == "email":
        email = RegexValidator(EMAIL_PATTERN, message=common["error_messages"]["invalid"])
        if strict:
            return forms.CharField(strip=False, validators=[email], **lengths, **common)
        return forms.EmailField(validators=[email], **lengths, **common)
    validators = []
    if "pattern" in prop:
        validators.append(
            RegexValidator(
                prop["pattern"],
                # The author's words on how to fix it ("请输入 11 位手机号，如 13800138000").
                message=_pattern_message(prop, name),
            )
        )
    long_text = prop.get("x-widget") == "textarea" or (prop.get("maxLength") or 0) > 200
    return forms.CharField(
        strip=not strict,
        validators=validators,
        widget=forms.Textarea(attrs={"rows": 4, **attrs})
        if long_text
        else forms.TextInput(attrs=attrs),
        **lengths,
        **common,
    )


def _exclusive(bound, *, above: bool):
    def check(value):
        if (above and not value > bound) or (not above and not value < bound):
            message = (
                _("Enter a value greater than %(bound)s.")
                if above
                else _("Enter a value less than %(bound)s.")
            )
            raise ValidationError(message % {"bound": bound}, code="exclusive_bound")

    return check


def stored_bounds(prop: dict) -> dict:
    """A number field's `minimum` and `maximum` within what databases keep: a whole number of 64
    bits (portal.parsers). The published schema carries them; pages and the API check them."""
    low, high = prop.get("minimum"), prop.get("maximum")
    return {
        "minimum": INT_MIN if low is None else min(max(low, INT_MIN), INT_MAX),
        "maximum": INT_MAX if high is None else max(min(high, INT_MAX), INT_MIN),
    }


def _number_validators(prop: dict, name: str = "") -> list:
    """Bounds on a JSON number, compared as JSON Schema compares them (no rounding to decimals)."""
    prop = {**prop, **stored_bounds(prop)}
    checks = []
    messages = field_error_messages(prop, name)
    if prop.get("minimum") is not None:
        checks.append(MinValueValidator(prop["minimum"], message=messages["min_value"]))
    if prop.get("maximum") is not None:
        checks.append(MaxValueValidator(prop["maximum"], message=messages["max_value"]))
    if "exclusiveMinimum" in prop:
        checks.append(_exclusive(prop["exclusiveMinimum"], above=True))
    if "exclusiveMaximum" in prop:
        checks.append(_exclusive(prop["exclusiveMaximum"], above=False))
    return checks


def _to_json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


_JSON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_NO_ANSWER = object()


def _type_error(prop: dict, value: Any) -> str | None:
    kind = prop["type"]
    if kind != "boolean" and isinstance(value, bool):
        return _("Expected a %(type)s, not true or false.") % {"type": kind}
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return None  # 3.0 is the integer 3 in JSON Schema
    if not isinstance(value, _JSON_TYPES[kind]) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return _("Expected a %(type)s.") % {"type": kind}
    return None


def _clean_json(prop: dict, name: str, value: Any) -> Any:
    """One value of JSON data, checked exactly as the published schema says and returned as stored;
    `_NO_ANSWER` for null or blank text (its absence is judged by whoever knows what is required)."""
    if value is None:
        return _NO_ANSWER
    if problem := _type_error(prop, value):
        raise ValidationError(problem, code="type")
    kind = prop["type"]
    if kind == "boolean":
        return value
    if kind == "string" and _BLANK.fullmatch(value):
        return _NO_ANSWER
    if kind == "string" and (problem := text_problem(value)):
        raise ValidationError(problem, code="null_characters_not_allowed")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if kind in ("integer", "number") and "enum" not in prop:
        messages = []
        for check in _number_validators(prop, name):
            try:
                check(value)
            except ValidationError as exc:
                messages += exc.messages
        if messages:
            raise ValidationError(messages, code="bounds")
        return value
    if prop.get("format") == "date":
        if not _DATE.search(value):
            raise ValidationError(_date_message(prop, name), code="invalid_date")
        date = dt.date.fromisoformat(value[:10])  # $ lets a final newline through, as in the schema
        _date_bound_validator(prop)(date)
        return date.isoformat()
    field = scalar_field(prop, name=name, required=False, strict=True)
    return _to_json(field.clean(value if kind == "string" else str(value)))


def _check_rows(
    prop: dict, rows: list[dict], path: str, errors: dict[str, list[str]]
) -> list[dict]:
    """Per-row required fields (conditions included), and the number of rows. Pages and API."""
    items = prop["items"]
    properties = items["properties"]
    for index, row in enumerate(rows):
        for sub in sorted(required_fields(items, row)):
            if _missing(properties[sub], row.get(sub)):
                errors.setdefault(f"{path}[{index}].{sub}", []).append(
                    required_message(properties[sub], sub)
                )
    _check_rows_count(prop, rows, path, errors)
    return rows


def _validate_object(
    schema: dict, data: dict, *, prefix: str, partial: bool, errors: dict[str, list[str]]
) -> dict:
    """One object of JSON data (the form, or one entry of a list): every field checked, hidden
    fields dropped, then what is required for the answers given (unless `partial`)."""
    properties = dict(ordered_properties(schema))
    for name in sorted(set(data) - set(properties)):
        errors.setdefault(f"{prefix}{name}", []).append(_("This form has no such field."))
    cleaned: dict[str, Any] = {}
    for name, prop in properties.items():
        path = f"{prefix}{name}"
        value = data.get(name)
        if prop["type"] == "array":
            if value is None:
                value = []
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                errors.setdefault(path, []).append(_("Expected a list of entries."))
                continue
            rows = [
                _validate_object(
                    prop["items"], row, prefix=f"{path}[{index}].", partial=partial, errors=errors
                )
                for index, row in enumerate(value)
            ]
            cleaned[name] = rows
            continue
        try:
            clean_value = _clean_json(prop, name, value)
        except ValidationError as exc:
            errors.setdefault(path, []).extend(exc.messages)
            continue
        if clean_value is not _NO_ANSWER:
            cleaned[name] = clean_value
        elif prop["type"] == "boolean":
            cleaned[name] = False  # a box not ticked
    for name in hidden_fields(schema, cleaned):
        cleaned.pop(name, None)
    if not partial:
        for name, prop in properties.items():
            if prop["type"] == "array" and name in cleaned:  # asked: not hidden
                _check_rows_count(prop, cleaned[name], f"{prefix}{name}", errors)
        for name in sorted(required_fields(schema, cleaned)):
            path = f"{prefix}{name}"
            invalid = path in errors and properties[name]["type"] != "array"
            if not invalid and _missing(properties[name], cleaned.get(name)):
                errors.setdefault(path, []).append(required_message(properties[name], name))
    return cleaned


def _check_rows_count(prop: dict, rows: list, path: str, errors: dict[str, list[str]]) -> None:
    low, high = prop.get("minItems"), prop.get("maxItems")
    if low and 0 < len(rows) < low:  # none at all: "required" says it (_must_answer)
        errors.setdefault(path, []).append(_("Add at least %(count)d entries.") % {"count": low})
    if high is not None and len(rows) > high:
        errors.setdefault(path, []).append(_("Enter at most %(count)d entries.") % {"count": high})


def validate_data(schema: dict, data: Any, *, partial: bool = False) -> dict:
    """Check application data (JSON) against its form schema; return it cleaned and typed.

    Raises ValidationError whose error_dict keys are field paths ("shop_name", "staff[0].name"),
    each with messages in the active language. Unknown fields are refused, not silently dropped;
    fields hidden by a condition are checked and dropped. What the published schema accepts is
    accepted (module docstring). `partial` (a draft being saved) checks what is there and leaves
    out what is required but missing, and the number of entries of lists.
    """
    if not isinstance(data, dict):
        raise ValidationError({"data": [_("The form data must be a JSON object.")]})
    errors: dict[str, list[str]] = {}
    cleaned = _validate_object(schema, data, prefix="", partial=partial, errors=errors)
    if errors:
        raise ValidationError(errors)
    return cleaned


# --- The page form ---------------------------------------------------------------------------------


def row_field_name(array: str, index: int, sub: str) -> str:
    return f"{array}__{index}__{sub}"


def _show_if(schema: dict, name: str, input_name) -> str:
    """The data-show-if hook of a conditional field ("" for others): which inputs, with which
    values (as the page submits them), show it."""
    conditions = [
        {
            "field": input_name(rule.field),
            "values": ["true" if v is True else str(v) for v in rule.values],
        }
        for rule in rules_of(schema)
        if name in rule.shows
    ]
    return json.dumps(conditions, ensure_ascii=False) if conditions else ""


class SchemaForm(forms.Form):
    """An accessible Django form for a schema. Lists of entries are shown as numbered groups of
    fields; `rows` says how many groups each list shows (an "add" button asks for one more).
    Conditional fields are shown or hidden for the data at hand (module docstring).

    `cleaned_json()` gives the data in the shape `validate_data` returns, validated by the same code.
    """

    template_name = "services/schema_form.html"

    def __init__(
        self,
        schema: dict,
        *args,
        rows: dict[str, int] | None = None,
        initial_json: dict | None = None,
        fixed: dict[str, str] | None = None,
        **kwargs,
    ):
        """`fixed`: field name → the value to show, for fields the applicant does not fill in
        (verified data filled from their profile); they are shown, not asked."""
        self.schema = schema
        initial = kwargs.pop("initial", None) or {}
        initial_json = initial_json or {}
        super().__init__(*args, initial=initial, **kwargs)
        self.groups: list[dict] = []
        fixed = fixed or {}
        self.fixed = [
            {"label": label_of(prop, name), "value": fixed[name]}
            for name, prop in ordered_properties(schema)
            if name in fixed
        ]
        conditional = {name for rule in rules_of(schema) for name in rule.shows}
        required = set(schema.get("required", []))
        rows = rows or {}
        # What conditions are judged on for display: the data saved, until the form is checked.
        self._values: dict[str, Any] = dict(initial_json)
        self._row_values: dict[tuple[str, int], dict] = {}
        for name, prop in ordered_properties(schema):
            if name in fixed:
                continue
            show_if = _show_if(schema, name, str)
            if prop["type"] != "array":
                # To a Django BooleanField "required" means ticked: only for const true.
                asked = _must_tick(prop) if prop["type"] == "boolean" else name in required
                always = asked and name not in conditional
                self.fields[name] = scalar_field(prop, name=name, required=always)
                if prop["type"] == "boolean":
                    self.fields[name].label_suffix = ""
                if name in initial_json:
                    self.initial[name] = initial_json[name]
                self.groups.append(
                    {"kind": "field", "name": name, "show_if": show_if,
                     "section": _text(prop, "x-section", "")}
                )  # fmt: skip
                continue
            existing = initial_json.get(name) or []
            count = max(rows.get(name, 0), len(existing), prop.get("minItems") or 0, 1)
            count = min(count, prop.get("maxItems") or MAX_ROWS)
            group = {
                "kind": "list",
                "section": _text(prop, "x-section", ""),
                "name": name,
                "label": label_of(prop, name),
                "help": help_of(prop),
                "show_if": show_if,
                "rows": [],
                "can_add": count < (prop.get("maxItems") or MAX_ROWS),
            }
            for index in range(count):
                row_names, cells = [], []
                for sub, sub_prop in ordered_properties(prop["items"]):
                    field_name = row_field_name(name, index, sub)
                    field = scalar_field(sub_prop, name=sub, required=False)
                    field.widget.attrs.setdefault("data-row", str(index + 1))
                    self.fields[field_name] = field
                    if index < len(existing) and sub in existing[index]:
                        self.initial[field_name] = existing[index][sub]
                    row_names.append(field_name)
                    in_row = functools.partial(row_field_name, name, index)
                    cells.append(
                        {
                            "name": field_name,
                            "sub": sub,
                            "show_if": _show_if(prop["items"], sub, in_row),
                        }
                    )
                group["rows"].append({"number": index + 1, "fields": row_names, "cells": cells})
            self.groups.append(group)
        self._json: dict | None = None
        self._partial: dict = {}

    def clean(self):
        # Runs even when some fields failed, so every problem is shown at once.
        cleaned = super().clean()
        data: dict[str, Any] = {}
        for group in self.groups:
            name = group["name"]
            if group["kind"] == "field":
                value = _to_json(cleaned.get(name))
                if value not in (None, ""):
                    data[name] = value
                elif self.schema["properties"][name]["type"] == "boolean":
                    data[name] = False
        self._values = dict(data)
        hidden = hidden_fields(self.schema, data)
        errors: dict[str, list[str]] = {}
        positions: dict[str, list[int]] = {}  # list name → the row index of each entry given
        for group in self.groups:
            name = group["name"]
            if name in hidden:
                # Not asked: whatever was typed there is forgotten, mistakes included.
                data.pop(name, None)
                for row in group.get("rows", []):
                    for field_name in row["fields"]:
                        self._errors.pop(field_name, None)
                self._errors.pop(name, None)
                continue
            if group["kind"] == "field":
                continue
            items = self.schema["properties"][name]["items"]
            rows, positions[name] = [], []
            for index, row in enumerate(group["rows"]):
                values = {
                    cell["sub"]: _to_json(cleaned.get(cell["name"]))
                    for cell in row["cells"]
                    if cell["name"] in cleaned
                }
                self._row_values[name, index] = dict(values)
                for sub in hidden_fields(items, values):
                    values.pop(sub, None)
                    self._errors.pop(row_field_name(name, index, sub), None)
                values = {k: v for k, v in values.items() if v not in (None, "", False)}
                if values:
                    rows.append(values)
                    positions[name].append(index)
            data[name] = _check_rows(self.schema["properties"][name], rows, name, errors)
        asked = {group["name"] for group in self.groups}
        for name in sorted(required_fields(self.schema, data) & asked):
            # Fields required always are the Django fields' own concern; this adds lists and
            # what conditions require.
            if name not in self._errors and _missing(
                self.schema["properties"][name], data.get(name)
            ):
                errors.setdefault(name, []).append(
                    required_message(self.schema["properties"][name], name)
                )
        for path, messages in errors.items():
            match = re.match(r"^(\w+)\[(\d+)\]\.(\w+)$", path)
            if match:
                # Rows are numbered as entered after empty ones are skipped; map back to the field.
                name, entry, sub = match.group(1), int(match.group(2)), match.group(3)
                field_name = row_field_name(name, positions[name][entry], sub)
                if field_name not in self._errors:
                    self.add_error(field_name, messages)
            elif path in self.fields:
                if path not in self._errors:
                    self.add_error(path, messages)
            else:
                label = label_of(self.schema["properties"][path], path)
                for message in messages:
                    self.add_error(None, message if label in message else f"{label}: {message}")
        self._partial = data
        self._json = None if self.errors else data
        return cleaned

    def get_context(self):
        """Mark conditional fields hidden for the data at hand: what was submitted (or saved)."""
        if self.is_bound:
            self.is_valid()
        hidden = hidden_fields(self.schema, self._values)
        for group in self.groups:
            group["hidden"] = group["name"] in hidden
            if group["kind"] != "list":
                continue
            items = self.schema["properties"][group["name"]]["items"]
            saved = self._values.get(group["name"]) or []
            for index, row in enumerate(group["rows"]):
                values = self._row_values.get((group["name"], index))
                if values is None:
                    values = saved[index] if index < len(saved) else {}
                row_hidden = hidden_fields(items, values)
                for cell in row["cells"]:
                    cell["hidden"] = cell["sub"] in row_hidden
        return super().get_context()

    def partial_json(self, previous: dict | None = None) -> dict:
        """What was entered correctly so far, to save a draft without losing anything: a field (or
        list) whose new value is wrong keeps its `previous` value."""
        self.is_valid()
        data = dict(self._partial)
        failed = {name.split("__")[0] for name in self.errors if name != "__all__"}
        for name in failed:
            data.pop(name, None)
            if previous and name in previous:
                data[name] = previous[name]
        return data

    def cleaned_json(self) -> dict:
        if self._json is None:
            raise ValueError("call is_valid() first")
        return self._json

    def add_row_to(self, name: str) -> dict[str, int]:
        """The row counts to show after the applicant asked for one more entry in list `name`."""
        counts = {g["name"]: len(g["rows"]) for g in self.groups if g["kind"] == "list"}
        if name in counts:
            counts[name] += 1
        return counts


def answers(schema: dict, data: dict) -> list[dict]:
    """The data as a reader sees it: label and display value per field, lists as numbered rows."""
    result = []
    for name, prop in ordered_properties(schema):
        value = data.get(name)
        if prop["type"] == "array":
            rows = []
            for row in value or []:
                rows.append(
                    [
                        {
                            "label": label_of(sub_prop, sub),
                            "value": _display(sub_prop, row.get(sub)),
                        }
                        for sub, sub_prop in ordered_properties(prop["items"])
                        if row.get(sub) not in (None, "")
                    ]
                )
            result.append({"label": label_of(prop, name), "rows": rows, "value": ""})
        elif value not in (None, ""):
            result.append(
                {"label": label_of(prop, name), "value": _display(prop, value), "rows": None}
            )
    return result


def _display(prop: dict, value: Any) -> str:
    if prop["type"] == "boolean":
        return _("Yes") if value else _("No")
    if "enum" in prop:
        return enum_label(prop, value)
    return str(value)
