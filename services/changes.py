"""What a draft changes against the published version, in words an admin confirms before publishing
(issue 14, item 5): guide fields, materials, form fields and the workflow, one sentence each."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .interchange import export_service, guide_fields
from .models import ServiceItem, ServiceVersion

# Guide fields not worth a line of their own (they follow from others or are bookkeeping).
QUIET = {"x-order"}


def _label(field: str) -> str:
    return str(ServiceVersion._meta.get_field(field).verbose_name)


def _short(value) -> str:
    text = "—" if value in (None, "", []) else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _field_title(prop: dict, name: str) -> str:
    label = prop.get("x-label") or {}
    return label.get("zh-hans") or prop.get("title") or name


def _by_key(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def describe_changes(old: dict | None, new: dict) -> list[str]:
    """Sentences for every difference between two exported documents (old: the published one)."""
    if old is None:
        return [_("First publication: everything is new.")]
    changes: list[str] = []
    for field in guide_fields():
        before, after = old["guide"].get(field), new["guide"].get(field)
        if before != after:
            changes.append(
                _("%(field)s: %(before)s → %(after)s")
                % {"field": _label(field), "before": _short(before), "after": _short(after)}
            )
    if old.get("licence_type") != new.get("licence_type"):
        changes.append(
            _("E-licence issued: %(before)s → %(after)s")
            % {"before": _short(old.get("licence_type")), "after": _short(new.get("licence_type"))}
        )
    if sorted(old.get("life_events", [])) != sorted(new.get("life_events", [])):
        changes.append(_("Life events changed."))
    changes += _material_changes(old["materials"], new["materials"])
    changes += _form_changes(old["form_schema"], new["form_schema"])
    changes += _workflow_changes(old["workflow"], new["workflow"])
    return changes


def _material_changes(old: list[dict], new: list[dict]) -> list[str]:
    changes = []
    before, after = _by_key(old, "name"), _by_key(new, "name")
    for name in after.keys() - before.keys():
        changes.append(_("New material: %(name)s") % {"name": name})
    for name in before.keys() - after.keys():
        changes.append(_("Material removed: %(name)s") % {"name": name})
    for name in sorted(after.keys() & before.keys()):
        if before[name] != after[name]:
            what = [key for key in after[name] if after[name].get(key) != before[name].get(key)]
            changes.append(
                _("Material %(name)s changed: %(fields)s")
                % {"name": name, "fields": "、".join(what)}
            )
    return changes


def _form_changes(old: dict, new: dict) -> list[str]:
    changes = []
    before, after = old.get("properties", {}), new.get("properties", {})
    for name in [n for n in new.get("x-order", list(after)) if n in after and n not in before]:
        changes.append(_("New form field: %(field)s") % {"field": _field_title(after[name], name)})
    for name in [n for n in old.get("x-order", list(before)) if n in before and n not in after]:
        changes.append(
            _("Form field removed: %(field)s") % {"field": _field_title(before[name], name)}
        )
    for name in [n for n in after if n in before and after[n] != before[n]]:
        changes.append(
            _("Form field changed: %(field)s") % {"field": _field_title(after[name], name)}
        )
    if set(old.get("required", [])) != set(new.get("required", [])):
        changes.append(_("Which form fields are required changed."))
    rest = {k: v for k, v in new.items() if k not in ("properties", "required", *QUIET)}
    if rest != {k: v for k, v in old.items() if k not in ("properties", "required", *QUIET)}:
        changes.append(_("Form rules changed (conditions or layout)."))
    return changes


def _workflow_changes(old: dict, new: dict) -> list[str]:
    changes = []
    before, after = _by_key(old["stages"], "key"), _by_key(new["stages"], "key")
    for key in after.keys() - before.keys():
        changes.append(_("New stage: %(stage)s") % {"stage": after[key]["name"]})
    for key in before.keys() - after.keys():
        changes.append(_("Stage removed: %(stage)s") % {"stage": before[key]["name"]})
    for key in sorted(after.keys() & before.keys()):
        if after[key] != before[key]:
            changes.append(_("Stage changed: %(stage)s") % {"stage": after[key]["name"]})
    moves_before = {(t["name"], t["from"]): t for t in old["transitions"]}
    moves_after = {(t["name"], t["from"]): t for t in new["transitions"]}
    for key in moves_after.keys() - moves_before.keys():
        changes.append(_("New step: %(step)s") % {"step": moves_after[key]["label"] or key[0]})
    for key in moves_before.keys() - moves_after.keys():
        changes.append(_("Step removed: %(step)s") % {"step": moves_before[key]["label"] or key[0]})
    for key in sorted(moves_after.keys() & moves_before.keys(), key=str):
        if moves_after[key] != moves_before[key]:
            changes.append(
                _("Step changed: %(step)s") % {"step": moves_after[key]["label"] or key[0]}
            )
    return changes


def changes_to_publish(item: ServiceItem) -> list[str]:
    """The draft of `item` against its published version, in words."""
    draft = item.versions.filter(state=ServiceVersion.State.DRAFT).first()
    if draft is None:
        return []
    new = export_service(item, version=draft)
    old = export_service(item, version=item.current_version) if item.current_version_id else None
    return describe_changes(old, new)
