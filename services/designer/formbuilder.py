"""The form builder: a palette of field kinds turned into the JSON Schema subset of services.schema,
never typed by hand. Each operation takes a schema and returns a new one; the designer saves it
through catalog.update_draft, which checks it like any schema.

A field's kind is read back from its schema (`kind_of`), so a form written elsewhere (imported, or
from before the builder) opens in the builder too.
"""

from __future__ import annotations

import copy
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Text presets: what people are asked for most, with the pattern the server and the schema share.
PRESETS = {
    "plain": (gettext_lazy("plain text"), None, None),
    "phone": (gettext_lazy("mobile phone number"), r"^1[3-9][0-9]{9}$",
              {"zh-hans": "请输入 11 位手机号，如 13800138000", "en": "Enter an 11-digit mobile number, e.g. 13800138000"}),
    "postcode": (gettext_lazy("postcode"), r"^[0-9]{6}$",
                 {"zh-hans": "请输入 6 位邮政编码，如 310000", "en": "Enter a 6-digit postcode, e.g. 310000"}),
    "uscc": (gettext_lazy("unified social credit code (统一社会信用代码)"),
             r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
             {"zh-hans": "请输入 18 位统一社会信用代码，如 91330100MA27XXXXXX", "en": "Enter the 18-character unified social credit code"}),
    "id_number": (gettext_lazy("resident ID number (公民身份号码)"), None, None),
    "email": (gettext_lazy("e-mail address"), None, None),
    "custom": (gettext_lazy("my own pattern"), None, None),
}  # fmt: skip

KINDS = {
    "text": gettext_lazy("short text"),
    "textarea": gettext_lazy("long text"),
    "integer": gettext_lazy("whole number"),
    "number": gettext_lazy("number"),
    "date": gettext_lazy("date"),
    "choice": gettext_lazy("choice (one of a list)"),
    "yesno": gettext_lazy("yes or no (an explicit answer)"),
    "agree": gettext_lazy("a box the applicant must tick (I agree …)"),
    "group": gettext_lazy("repeating group (e.g. one row per dog)"),
    "prefill": gettext_lazy("from the verified profile (shown, not asked)"),
}
PREFILL_SOURCES = {
    "real_name": gettext_lazy("real name"),
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("mobile phone"),
    "email": gettext_lazy("e-mail"),
    "organisation_name": gettext_lazy("organisation name"),
    "uscc": gettext_lazy("unified social credit code"),
}
YES_NO = {"yes": {"zh-hans": "是", "en": "Yes"}, "no": {"zh-hans": "否", "en": "No"}}
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def empty_schema() -> dict:
    return {"type": "object", "properties": {}, "required": [], "x-order": []}


def _object(schema: dict, group: str | None) -> dict:
    """The object the fields live in: the form, or the rows of a repeating group."""
    if group is None:
        return schema
    prop = schema["properties"].get(group)
    if not prop or prop.get("type") != "array":
        raise ValidationError({"group": [_("No such repeating group.")]})
    return prop["items"]


def _order(obj: dict) -> list[str]:
    order = obj.setdefault("x-order", list(obj.get("properties", {})))
    return [name for name in order if name in obj.get("properties", {})]


def kind_of(prop: dict) -> str:
    if prop.get("x-prefill"):
        return "prefill"
    kind = prop.get("type")
    if kind == "array":
        return "group"
    if kind == "boolean":
        return "agree"
    if kind in ("integer", "number"):
        return kind
    if prop.get("format") == "date":
        return "date"
    if prop.get("enum") is not None:
        return "yesno" if set(prop["enum"]) == {"yes", "no"} else "choice"
    if prop.get("x-widget") == "textarea":
        return "textarea"
    return "text"


def preset_of(prop: dict) -> str:
    if prop.get("format") in ("id_number", "email"):
        return prop["format"]
    for key, (_label, pattern, _message) in PRESETS.items():
        if pattern and prop.get("pattern") == pattern:
            return key
    return "custom" if prop.get("pattern") else "plain"


def _labels(spec: dict) -> dict:
    zh, en = (spec.get("label") or "").strip(), (spec.get("label_en") or "").strip()
    if not zh:
        raise ValidationError({"label": [_("Give the field a label, as the applicant reads it.")]})
    labels = {"title": zh, "x-label": {"zh-hans": zh, **({"en": en} if en else {})}}
    help_zh, help_en = (spec.get("help") or "").strip(), (spec.get("help_en") or "").strip()
    if help_zh or help_en:
        labels["x-help"] = {k: v for k, v in (("zh-hans", help_zh), ("en", help_en)) if v}
    section, section_en = (
        (spec.get("section") or "").strip(),
        (spec.get("section_en") or "").strip(),
    )
    if section or section_en:
        labels["x-section"] = {k: v for k, v in (("zh-hans", section), ("en", section_en)) if v}
    return labels


def _number(value):
    if value in (None, ""):
        return None
    return int(value) if float(value).is_integer() else float(value)


def property_for(spec: dict) -> dict:
    """The schema of one field from what the builder's form says about it."""
    kind = spec["kind"]
    prop = _labels(spec)
    if kind in ("text", "textarea"):
        prop["type"] = "string"
        if kind == "textarea":
            prop["x-widget"] = "textarea"
        if spec.get("max_length"):
            prop["maxLength"] = int(spec["max_length"])
        preset = spec.get("preset") or "plain"
        if preset in ("id_number", "email"):
            prop["format"] = preset
        elif preset == "custom":
            if not spec.get("pattern"):
                raise ValidationError({"pattern": [_("Write the pattern, or choose a preset.")]})
            try:
                re.compile(spec["pattern"])
            except re.error as exc:
                raise ValidationError(
                    {"pattern": [_("Not a valid pattern: %(e)s") % {"e": exc}]}
                ) from exc
            prop["pattern"] = spec["pattern"]
            message = {k: v.strip() for k, v in (("zh-hans", spec.get("pattern_message") or ""),
                                                  ("en", spec.get("pattern_message_en") or "")) if v.strip()}  # fmt: skip
            if message:
                prop["x-pattern-message"] = message
        elif PRESETS.get(preset, (None, None, None))[1]:
            prop["pattern"] = PRESETS[preset][1]
            prop["x-pattern-message"] = PRESETS[preset][2]
    elif kind in ("integer", "number"):
        prop["type"] = kind
        for key, name in (("minimum", "minimum"), ("maximum", "maximum")):
            value = _number(spec.get(key))
            if value is not None:
                prop[name] = int(value) if kind == "integer" else value
        if spec.get("unit"):
            prop["title"] = f"{prop['title']}（{spec['unit']}）"
            prop["x-label"]["zh-hans"] = prop["title"]
    elif kind == "date":
        prop.update(type="string", format="date")
        prop.update(_date_bounds(spec))
    elif kind == "choice":
        options = [o for o in spec.get("options") or [] if o.get("label")]
        if len(options) < 2:
            raise ValidationError({"options": [_("Give at least two choices.")]})
        values = [o.get("value") or f"option_{i + 1}" for i, o in enumerate(options)]
        if len(set(values)) != len(values):
            raise ValidationError({"options": [_("Each choice needs a value of its own.")]})
        prop.update(type="string", enum=values)
        prop["x-enum-labels"] = {
            value: {"zh-hans": o["label"], **({"en": o["label_en"]} if o.get("label_en") else {})}
            for value, o in zip(values, options, strict=True)
        }
        if spec.get("widget", "radio") == "radio":
            prop["x-widget"] = "radio"
    elif kind == "yesno":
        prop.update(type="string", enum=["yes", "no"], **{"x-enum-labels": YES_NO})
        prop["x-widget"] = "radio"
    elif kind == "agree":
        prop.update(type="boolean", const=True)
    elif kind == "group":
        # A group starts with one field of its rows (a schema lists at least one): its name.
        first = {"type": "string", "title": "名称", "x-label": {"zh-hans": "名称", "en": "Name"}}
        prop.update(
            type="array",
            items={"type": "object", "properties": {"name": first}, "required": ["name"],
                   "x-order": ["name"]},
        )  # fmt: skip
        prop["minItems"] = int(spec.get("min_rows") or 1)
        if spec.get("max_rows"):
            prop["maxItems"] = int(spec["max_rows"])
    elif kind == "prefill":
        source = spec.get("source")
        if source not in PREFILL_SOURCES:
            raise ValidationError({"source": [_("Choose what the field is filled with.")]})
        prop.update(type="string", **{"x-prefill": source})
    else:
        raise ValidationError({"kind": [_("Choose a kind of field.")]})
    return prop


def _date_bounds(spec: dict) -> dict:
    """x-date-min and x-date-max from the builder's "earliest" and "latest" answers."""
    bounds = {}
    for key, keyword in (("earliest", "x-date-min"), ("latest", "x-date-max")):
        how, day = spec.get(key) or "", spec.get(f"{key}_date")
        if how == "today":
            bounds[keyword] = "today"
        elif how == "date":
            if not day:
                raise ValidationError({f"{key}_date": [_("Enter the date, e.g. 2020-01-01.")]})
            bounds[keyword] = day.isoformat() if hasattr(day, "isoformat") else str(day)
    low, high = bounds.get("x-date-min"), bounds.get("x-date-max")
    if low and high and "today" not in (low, high) and low > high:
        raise ValidationError(
            {"latest_date": [_("The latest date is before the earliest; swap them.")]}
        )
    return bounds


def _fresh_name(obj: dict, wanted: str | None) -> str:
    properties = obj.setdefault("properties", {})
    if wanted:
        if not NAME.match(wanted):
            raise ValidationError(
                {
                    "name": [
                        _(
                            "Lower-case letters, digits and _, starting with a letter, e.g. dog_name."
                        )
                    ]
                }
            )
        if wanted in properties:
            raise ValidationError({"name": [_("Another field has this name.")]})
        return wanted
    number = len(properties) + 1
    while f"field_{number}" in properties:
        number += 1
    return f"field_{number}"


# What a field starts with when picked from the palette, before its page says more.
STARTING = {
    "choice": {"options": [{"label": "选项一", "label_en": "Option 1", "value": "option_1"},
                           {"label": "选项二", "label_en": "Option 2", "value": "option_2"}]},
    "prefill": {"source": "real_name"},
    "group": {"min_rows": 1},
}  # fmt: skip


def add_field(schema: dict, spec: dict, *, group: str | None = None) -> tuple[dict, str]:
    """A new field at the end of the form (or of a repeating group's rows); returns its name."""
    spec = {**STARTING.get(spec.get("kind"), {}), **spec}
    schema = copy.deepcopy(schema or empty_schema())
    obj = _object(schema, group)
    if group is not None and spec.get("kind") == "group":
        raise ValidationError({"kind": [_("A repeating group cannot hold another one.")]})
    name = _fresh_name(obj, spec.get("name"))
    obj["properties"][name] = property_for(spec)
    obj["x-order"] = [*_order(obj), name]
    _set_required(obj, name, bool(spec.get("required")) and spec["kind"] not in ("prefill",))
    return schema, name


def update_field(schema: dict, name: str, spec: dict, *, group: str | None = None) -> dict:
    schema = copy.deepcopy(schema)
    obj = _object(schema, group)
    old = obj["properties"].get(name)
    if old is None:
        raise ValidationError({"name": [_("No such field.")]})
    prop = property_for(spec)
    if old.get("type") == "array" and prop.get("type") == "array":
        prop["items"] = old["items"]  # the group keeps its fields
    obj["properties"][name] = prop
    conditional = any(name in _shown_by(rule) for rule in obj.get("allOf", []))
    if conditional:
        for rule in obj.get("allOf", []):
            shown = rule.get("then", {})
            if name in _shown_by(rule):
                _rule_requires(shown, name, bool(spec.get("required")))
    else:
        _set_required(obj, name, bool(spec.get("required")) and spec["kind"] != "prefill")
    return schema


def _set_required(obj: dict, name: str, required: bool) -> None:
    names = [n for n in obj.get("required", []) if n != name]
    obj["required"] = [*names, name] if required else names


def _shown_by(rule: dict) -> set[str]:
    then = rule.get("then", {})
    return set(then.get("required", [])) | set(then.get("properties", {}))


def _rule_requires(then: dict, name: str, required: bool) -> None:
    then["required"] = [n for n in then.get("required", []) if n != name] + (
        [name] if required else []
    )
    then["properties"] = {k: v for k, v in then.get("properties", {}).items() if k != name}
    if not required:
        then["properties"][name] = {}
    if not then["properties"]:
        then.pop("properties")
    if not then["required"]:
        then.pop("required")


def move_field(schema: dict, name: str, delta: int, *, group: str | None = None) -> dict:
    schema = copy.deepcopy(schema)
    obj = _object(schema, group)
    order = _order(obj)
    if name not in order:
        raise ValidationError({"name": [_("No such field.")]})
    index = order.index(name)
    target = max(0, min(len(order) - 1, index + delta))
    order.insert(target, order.pop(index))
    obj["x-order"] = order
    return schema


def remove_field(schema: dict, name: str, *, group: str | None = None) -> dict:
    """Remove a field, its requirement, and every rule that tests or shows it."""
    schema = copy.deepcopy(schema)
    obj = _object(schema, group)
    if obj["properties"].pop(name, None) is None:
        raise ValidationError({"name": [_("No such field.")]})
    obj["x-order"] = [n for n in _order(obj) if n != name]
    obj["required"] = [n for n in obj.get("required", []) if n != name]
    rules = []
    for rule in obj.get("allOf", []):
        if name in rule.get("if", {}).get("properties", {}):
            continue  # its test is gone: what it showed is asked always, not required
        then = rule.get("then", {})
        if name in _shown_by(rule):
            then["required"] = [n for n in then.get("required", []) if n != name]
            then.get("properties", {}).pop(name, None)
        if _shown_by(rule):
            rules.append(rule)
    _set_rules(obj, rules)
    return schema


def duplicate_field(schema: dict, name: str, *, group: str | None = None) -> tuple[dict, str]:
    schema = copy.deepcopy(schema)
    obj = _object(schema, group)
    prop = obj["properties"].get(name)
    if prop is None:
        raise ValidationError({"name": [_("No such field.")]})
    copy_name = _fresh_name(obj, None)
    duplicate = copy.deepcopy(prop)
    duplicate["title"] = _("%(label)s (copy)") % {"label": prop.get("title", name)}
    duplicate.setdefault("x-label", {})["zh-hans"] = duplicate["title"]
    obj["properties"][copy_name] = duplicate
    order = _order(obj)
    order.insert(order.index(name) + 1, copy_name)
    obj["x-order"] = order
    if name in obj.get("required", []):
        obj["required"].append(copy_name)
    return schema, copy_name


def condition_of(obj: dict, name: str) -> dict | None:
    """{"field", "values", "required"} when `name` is shown only under a rule."""
    for rule in obj.get("allOf", []):
        if name in _shown_by(rule):
            (field, test), *_rest = rule["if"]["properties"].items()
            values = test.get("enum") or [test.get("const")]
            return {
                "field": field,
                "values": values,
                "required": name in rule["then"].get("required", []),
            }
    return None


def set_condition(
    schema: dict, name: str, *, field: str | None, values: list, group: str | None = None
) -> dict:
    """Show (and, if the field is required, require) `name` only when `field` has one of
    `values`; without `field`, the field is asked always again."""
    schema = copy.deepcopy(schema)
    obj = _object(schema, group)
    if name not in obj["properties"]:
        raise ValidationError({"name": [_("No such field.")]})
    current = condition_of(obj, name)
    required = (current or {}).get("required") or name in obj.get("required", [])
    rules = []
    for rule in obj.get("allOf", []):
        then = rule.get("then", {})
        if name in _shown_by(rule):
            then["required"] = [n for n in then.get("required", []) if n != name]
            then.get("properties", {}).pop(name, None)
            for key in ("required", "properties"):
                if key in then and not then[key]:
                    then.pop(key)
        if _shown_by(rule):
            rules.append(rule)
    if field:
        tested = obj["properties"].get(field)
        if tested is None or field == name:
            raise ValidationError({"condition_field": [_("Choose another field of this form.")]})
        if condition_of({"allOf": rules}, field) is not None or tested.get("x-prefill"):
            raise ValidationError(
                {
                    "condition_field": [
                        _(
                            "The field tested must be asked always, not itself conditional or prefilled."
                        )
                    ]
                }
            )
        values = [_typed(tested, v) for v in values if v not in (None, "")]
        if not values:
            raise ValidationError({"condition_values": [_("Choose the answer that shows it.")]})
        test = {"const": values[0]} if len(values) == 1 else {"enum": values}
        then = {"required": [name]} if required else {"properties": {name: {}}}
        rules.append({"if": {"properties": {field: test}, "required": [field]}, "then": then})
        obj["required"] = [n for n in obj.get("required", []) if n != name]
    elif required:
        _set_required(obj, name, True)
    _set_rules(obj, rules)
    return schema


def _typed(prop: dict, value):
    kind = prop.get("type")
    if kind == "boolean":
        return value in (True, "true", "on", "1", "yes")
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    return str(value)


def _set_rules(obj: dict, rules: list) -> None:
    if rules:
        obj["allOf"] = rules
    else:
        obj.pop("allOf", None)


def fields_of(schema: dict, group: str | None = None) -> list[dict]:
    """What the builder's list shows for each field, in order."""
    obj = _object(schema, group) if schema.get("properties") else empty_schema()
    rows = []
    for name in _order(obj):
        prop = obj["properties"][name]
        rows.append(
            {
                "name": name,
                "prop": prop,
                "kind": kind_of(prop),
                "kind_label": KINDS[kind_of(prop)],
                "required": name in obj.get("required", [])
                or bool((condition_of(obj, name) or {}).get("required")),
                "condition": condition_of(obj, name),
                "fields": fields_of(schema, name)
                if prop.get("type") == "array" and group is None
                else [],
            }
        )
    return rows


def spec_of(schema: dict, name: str, group: str | None = None) -> dict:
    """The builder form's initial values for an existing field."""
    obj = _object(schema, group)
    prop = obj["properties"][name]
    labels = prop.get("x-label") or {}
    helps = prop.get("x-help") or {}
    condition = condition_of(obj, name)
    spec = {
        "kind": kind_of(prop), "name": name, "label": labels.get("zh-hans") or prop.get("title", ""),
        "label_en": labels.get("en", ""), "help": helps.get("zh-hans", ""), "help_en": helps.get("en", ""),
        "section": (prop.get("x-section") or {}).get("zh-hans", ""),
        "section_en": (prop.get("x-section") or {}).get("en", ""),
        "required": name in obj.get("required", []) or bool((condition or {}).get("required")),
        "preset": preset_of(prop), "pattern": prop.get("pattern", "") if preset_of(prop) == "custom" else "",
        "pattern_message": (prop.get("x-pattern-message") or {}).get("zh-hans", ""),
        "pattern_message_en": (prop.get("x-pattern-message") or {}).get("en", ""),
        "max_length": prop.get("maxLength"), "minimum": prop.get("minimum"), "maximum": prop.get("maximum"),
        "widget": prop.get("x-widget", "select"), "min_rows": prop.get("minItems"),
        "max_rows": prop.get("maxItems"), "source": prop.get("x-prefill", ""),
        "options": [
            {"value": value, "label": (prop.get("x-enum-labels", {}).get(value) or {}).get("zh-hans", value),
             "label_en": (prop.get("x-enum-labels", {}).get(value) or {}).get("en", "")}
            for value in prop.get("enum", [])
        ],
        **{key: "today" if prop.get(kw) == "today" else "date" if prop.get(kw) else ""
           for key, kw in (("earliest", "x-date-min"), ("latest", "x-date-max"))},
        **{f"{key}_date": prop[kw] if prop.get(kw) not in (None, "today") else None
           for key, kw in (("earliest", "x-date-min"), ("latest", "x-date-max"))},
        "condition_field": (condition or {}).get("field", ""),
        "condition_values": [str(v).lower() if isinstance(v, bool) else str(v) for v in (condition or {}).get("values", [])],
    }  # fmt: skip
    return spec
