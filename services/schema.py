"""Application forms as data: a JSON Schema subset, rendered as accessible Django forms and validated
server-side by the same code for pages and the API.

A schema is a standard JSON Schema (draft 2020-12) object, so any JSON Schema tool can read it; labels,
help texts and hints use extra keywords starting with `x-`:

    {
      "type": "object",
      "x-order": ["shop_name", "area", "opening", "staff"],
      "required": ["shop_name", "area"],
      "properties": {
        "shop_name": {"type": "string", "maxLength": 60, "title": "店铺名称",
                      "x-label": {"zh-hans": "店铺名称", "en": "Shop name"},
                      "x-help": {"zh-hans": "与招牌一致", "en": "As on the sign"}},
        "area": {"type": "number", "minimum": 1, "maximum": 10000, "title": "经营面积（平方米）"},
        "opening": {"type": "string", "format": "date", "title": "开业日期"},
        "kind": {"type": "string", "enum": ["retail", "catering"],
                 "x-enum-labels": {"retail": {"zh-hans": "零售", "en": "Retail"}}},
        "staff": {"type": "array", "minItems": 1, "maxItems": 5, "title": "从业人员",
                  "items": {"type": "object", "required": ["name"],
                            "properties": {"name": {"type": "string", "title": "姓名"}}}}
      }
    }

Supported: string (minLength, maxLength, pattern, format "date" or "email", enum), integer and number
(minimum, maximum, exclusiveMinimum, exclusiveMaximum, enum), boolean (const true for a box that must
be ticked), arrays of objects of those scalars (minItems, maxItems), required. Hints: `x-prefill`
(real_name, id_number, phone, email, organisation_name, uscc: filled from the applicant's verified data),
`x-widget` ("textarea", "radio"). PostgreSQL does not keep the order of JSON keys, so `x-order` lists the
fields in order; `normalize_schema` adds it from the order written when it is missing.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

SCALAR_TYPES = {"string", "integer", "number", "boolean"}
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PREFILL_SOURCES = {"real_name", "id_number", "phone", "email", "organisation_name", "uscc"}
COMMON_KEYWORDS = {"type", "title", "description", "x-label", "x-help", "x-prefill", "x-widget"}
KEYWORDS = {
    "string": COMMON_KEYWORDS
    | {"minLength", "maxLength", "pattern", "format", "enum", "x-enum-labels"},
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
    "x-order",
    "x-label",
    "x-help",
}
MAX_ROWS = 50


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
    return problems


def _check_labels(prop: dict, path: str) -> list[str]:
    problems = []
    for keyword in ("x-label", "x-help"):
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
            not isinstance(prop[keyword], int | float) or isinstance(prop[keyword], bool)
        ):
            problems.append(
                _("%(path)s: %(keyword)s must be a number.") % {"path": path, "keyword": keyword}
            )
            return problems
    if prop.get("x-prefill") is not None and prop["x-prefill"] not in PREFILL_SOURCES:
        problems.append(
            _("%(path)s: x-prefill must be one of %(sources)s.")
            % {"path": path, "sources": ", ".join(sorted(PREFILL_SOURCES))}
        )
    if prop.get("x-widget") not in (None, "textarea", "radio"):
        problems.append(_('%(path)s: x-widget must be "textarea" or "radio".') % {"path": path})
    if kind == "string":
        if prop.get("format") not in (None, "date", "email"):
            problems.append(_('%(path)s: format must be "date" or "email".') % {"path": path})
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


def scalar_field(prop: dict, *, name: str, required: bool) -> forms.Field:
    """The Django form field for one scalar property; its clean() is the validation of that value."""
    kind = prop["type"]
    common = {
        "label": label_of(prop, name),
        "help_text": help_of(prop),
        "required": required,
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
        return forms.BooleanField(
            label=common["label"],
            help_text=common["help_text"],
            required=prop.get("const") is True,
        )
    if kind == "integer" or kind == "number":
        bounds = {
            "min_value": prop.get("minimum"),
            "max_value": prop.get("maximum"),
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
            field.validators.append(_exclusive(prop["exclusiveMinimum"], above=True))
        if "exclusiveMaximum" in prop:
            field.validators.append(_exclusive(prop["exclusiveMaximum"], above=False))
        return field
    if prop.get("format") == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if prop.get("format") == "email":
        return forms.EmailField(max_length=prop.get("maxLength"), **common)
    validators = []
    if "pattern" in prop:
        validators.append(
            RegexValidator(
                prop["pattern"],
                message=_("Enter a value in the form this field asks for."),
            )
        )
    long_text = prop.get("x-widget") == "textarea" or (prop.get("maxLength") or 0) > 200
    return forms.CharField(
        min_length=prop.get("minLength"),
        max_length=prop.get("maxLength"),
        validators=validators,
        widget=forms.Textarea(attrs={"rows": 4, **attrs})
        if long_text
        else forms.TextInput(attrs=attrs),
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


def _type_error(prop: dict, value: Any) -> str | None:
    kind = prop["type"]
    if kind != "boolean" and isinstance(value, bool):
        return _("Expected a %(type)s, not true or false.") % {"type": kind}
    if not isinstance(value, _JSON_TYPES[kind]):
        return _("Expected a %(type)s.") % {"type": kind}
    return None


def _clean_scalar(prop: dict, name: str, value: Any, required: bool) -> Any:
    field = scalar_field(prop, name=name, required=required)
    if value is None or value == "":
        raw = "" if prop["type"] != "boolean" else False
    elif prop["type"] == "boolean":
        raw = value
    else:
        raw = str(value) if not isinstance(value, str) else value
    return _to_json(field.clean(raw))


def _check_rows(
    prop: dict, rows: list[dict], path: str, errors: dict[str, list[str]]
) -> list[dict]:
    """Per-row required fields, and the number of rows. Shared by pages and API."""
    items = prop["items"]
    required = set(items.get("required", []))
    for index, row in enumerate(rows):
        for sub in required:
            if row.get(sub) in (None, ""):
                errors.setdefault(f"{path}[{index}].{sub}", []).append(_("This field is required."))
    low, high = prop.get("minItems"), prop.get("maxItems")
    if low and len(rows) < low:
        errors.setdefault(path, []).append(_("Add at least %(count)d entries.") % {"count": low})
    if high is not None and len(rows) > high:
        errors.setdefault(path, []).append(_("Enter at most %(count)d entries.") % {"count": high})
    return rows


def validate_data(schema: dict, data: Any, *, partial: bool = False) -> dict:
    """Check application data (JSON) against its form schema; return it cleaned and typed.

    Raises ValidationError whose error_dict keys are field paths ("shop_name", "staff[0].name"),
    each with messages in the active language. Unknown fields are refused, not silently dropped.
    `partial` (a draft being saved) checks what is there and leaves out what is required but missing.
    """
    if not isinstance(data, dict):
        raise ValidationError({"data": [_("The form data must be a JSON object.")]})
    errors: dict[str, list[str]] = {}
    properties = dict(ordered_properties(schema))
    required = set() if partial else set(schema.get("required", []))
    for name in sorted(set(data) - set(properties)):
        errors.setdefault(name, []).append(_("This form has no such field."))
    cleaned: dict[str, Any] = {}
    for name, prop in properties.items():
        value = data.get(name)
        if prop["type"] == "array":
            if value is None:
                value = []
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                errors.setdefault(name, []).append(_("Expected a list of entries."))
                continue
            rows = []
            for index, row in enumerate(value):
                item_props = dict(ordered_properties(prop["items"]))
                for sub in sorted(set(row) - set(item_props)):
                    errors.setdefault(f"{name}[{index}].{sub}", []).append(
                        _("This form has no such field.")
                    )
                clean_row = {}
                for sub, sub_prop in item_props.items():
                    sub_value = row.get(sub)
                    path = f"{name}[{index}].{sub}"
                    if sub_value not in (None, "") and (
                        problem := _type_error(sub_prop, sub_value)
                    ):
                        errors.setdefault(path, []).append(problem)
                        continue
                    try:
                        clean_value = _clean_scalar(sub_prop, sub, sub_value, False)
                    except ValidationError as exc:
                        errors.setdefault(path, []).extend(exc.messages)
                        continue
                    if clean_value not in (None, ""):
                        clean_row[sub] = clean_value
                rows.append(clean_row)
            if name in required and not rows:
                errors.setdefault(name, []).append(_("This field is required."))
            cleaned[name] = rows if partial else _check_rows(prop, rows, name, errors)
            continue
        if value not in (None, "") and (problem := _type_error(prop, value)):
            errors.setdefault(name, []).append(problem)
            continue
        if partial and prop["type"] == "boolean" and not value:
            cleaned[name] = False  # a box not ticked yet in a draft
            continue
        try:
            clean_value = _clean_scalar(prop, name, value, name in required)
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.messages)
            continue
        if clean_value not in (None, ""):
            cleaned[name] = clean_value
        elif prop["type"] == "boolean":
            cleaned[name] = False
    if errors:
        raise ValidationError(errors)
    return cleaned


# --- The page form ---------------------------------------------------------------------------------


def row_field_name(array: str, index: int, sub: str) -> str:
    return f"{array}__{index}__{sub}"


class SchemaForm(forms.Form):
    """An accessible Django form for a schema. Lists of entries are shown as numbered groups of
    fields; `rows` says how many groups each list shows (an "add" button asks for one more).

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
        required = set(schema.get("required", []))
        rows = rows or {}
        for name, prop in ordered_properties(schema):
            if name in fixed:
                continue
            if prop["type"] != "array":
                self.fields[name] = scalar_field(prop, name=name, required=name in required)
                if prop["type"] == "boolean":
                    self.fields[name].label_suffix = ""
                if name in initial_json:
                    self.initial[name] = initial_json[name]
                self.groups.append({"kind": "field", "name": name})
                continue
            existing = initial_json.get(name) or []
            count = max(rows.get(name, 0), len(existing), prop.get("minItems") or 0, 1)
            count = min(count, prop.get("maxItems") or MAX_ROWS)
            group = {
                "kind": "list",
                "name": name,
                "label": label_of(prop, name),
                "help": help_of(prop),
                "rows": [],
                "can_add": count < (prop.get("maxItems") or MAX_ROWS),
            }
            for index in range(count):
                row_names = []
                for sub, sub_prop in ordered_properties(prop["items"]):
                    field_name = row_field_name(name, index, sub)
                    field = scalar_field(sub_prop, name=sub, required=False)
                    field.widget.attrs.setdefault("data-row", str(index + 1))
                    self.fields[field_name] = field
                    if index < len(existing) and sub in existing[index]:
                        self.initial[field_name] = existing[index][sub]
                    row_names.append(field_name)
                group["rows"].append({"number": index + 1, "fields": row_names})
            self.groups.append(group)
        self._json: dict | None = None
        self._partial: dict = {}

    def clean(self):
        # Runs even when some fields failed, so every problem is shown at once.
        cleaned = super().clean()
        data: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        required = set(self.schema.get("required", []))
        for group in self.groups:
            name = group["name"]
            prop = self.schema["properties"][name]
            if group["kind"] == "field":
                value = _to_json(cleaned.get(name))
                if value not in (None, ""):
                    data[name] = value
                elif prop["type"] == "boolean":
                    data[name] = False
                continue
            rows = []
            for row in group["rows"]:
                values = {
                    field_name.split("__")[-1]: _to_json(cleaned.get(field_name))
                    for field_name in row["fields"]
                }
                values = {k: v for k, v in values.items() if v not in (None, "", False)}
                if values:
                    rows.append(values)
            if name in required and not rows:
                errors.setdefault(name, []).append(_("This field is required."))
            data[name] = _check_rows(prop, rows, name, errors)
        for path, messages in errors.items():
            match = re.match(r"^(\w+)\[(\d+)\]\.(\w+)$", path)
            if match:
                # Rows are numbered as entered after empty ones are skipped; map back to the field.
                self.add_error(row_field_name(*_row_position(self, match)), messages)
            else:
                label = label_of(self.schema["properties"][path], path)
                for message in messages:
                    self.add_error(None, f"{label}: {message}")
        self._partial = data
        self._json = None if self.errors else data
        return cleaned

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


def _row_position(form: SchemaForm, match: re.Match) -> tuple[str, int, str]:
    name, index, sub = match.group(1), int(match.group(2)), match.group(3)
    group = next(g for g in form.groups if g["name"] == name)
    filled = [
        row
        for row in group["rows"]
        if any(form.cleaned_data.get(f) not in (None, "", False) for f in row["fields"])
    ]
    position = filled[index]["number"] - 1 if index < len(filled) else index
    return name, position, sub


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
