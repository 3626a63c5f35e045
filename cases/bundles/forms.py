"""The one form of a bundle on a page: the combined form_schema (services.bundles.combined_schema)
flattened so the case form's SchemaForm renders it. A member's own group `key` becomes fields
`key-<field>` under a heading with the service's name; its conditions are renamed with it."""

from __future__ import annotations

import copy

from services.schema import SchemaForm, ordered_properties

SEPARATOR = "-"


def _rename_rule(rule: dict, key: str) -> dict:
    rule = copy.deepcopy(rule)
    condition = rule["if"]
    condition["properties"] = {
        f"{key}{SEPARATOR}{name}": test for name, test in condition["properties"].items()
    }
    condition["required"] = [f"{key}{SEPARATOR}{n}" for n in condition.get("required", [])]
    then = rule["then"]
    then["required"] = [f"{key}{SEPARATOR}{n}" for n in then.get("required", [])]
    if "properties" in then:
        then["properties"] = {f"{key}{SEPARATOR}{n}": p for n, p in then["properties"].items()}
    return rule


def flat_schema(schema: dict) -> tuple[dict, dict[str, tuple[str | None, str]]]:
    """The combined schema as one flat form schema, and flat name → (group key or None, field)."""
    properties, order, required, rules = {}, [], [], []
    where: dict[str, tuple[str | None, str]] = {}
    top_required = set(schema.get("required", []))
    for name, prop in ordered_properties(schema):
        if prop.get("type") != "object":
            properties[name], where[name] = prop, (None, name)
            order.append(name)
            if name in top_required:
                required.append(name)
            continue
        for index, (sub, sub_prop) in enumerate(ordered_properties(prop)):
            flat = f"{name}{SEPARATOR}{sub}"
            sub_prop = dict(sub_prop)
            if index == 0:
                sub_prop["x-section"] = prop.get("x-label") or {"zh-hans": prop.get("title", "")}
            properties[flat], where[flat] = sub_prop, (name, sub)
            order.append(flat)
        required += [f"{name}{SEPARATOR}{n}" for n in prop.get("required", [])]
        rules += [_rename_rule(rule, name) for rule in prop.get("allOf", [])]
    flat = {"type": "object", "x-order": order, "required": required, "properties": properties}
    if rules:
        flat["allOf"] = rules
    return flat, where


def flatten(data: dict, where: dict[str, tuple[str | None, str]]) -> dict:
    values = {}
    for flat, (key, field) in where.items():
        source = data if key is None else (data.get(key) or {})
        if isinstance(source, dict) and field in source:
            values[flat] = source[field]
    return values


def unflatten(values: dict, where: dict[str, tuple[str | None, str]]) -> dict:
    data: dict = {}
    for flat, value in values.items():
        key, field = where.get(flat, (None, flat))
        if key is None:
            data[field] = value
        else:
            data.setdefault(key, {})[field] = value
    return data


def flat_error_name(path: str, where: dict[str, tuple[str | None, str]]) -> str | None:
    """The page's field for an error of the combined form ("data.insurance.category")."""
    parts = path.removeprefix("data.").split(".", 1)
    flat = parts[0] if len(parts) == 1 else f"{parts[0]}{SEPARATOR}{parts[1]}"
    flat = flat.split("[", 1)[0]
    return flat if flat in where else None


def bundle_form(schema: dict, data=None, *, initial: dict | None = None):
    flat, where = flat_schema(schema)
    return SchemaForm(flat, data, initial_json=flatten(initial or {}, where)), where
