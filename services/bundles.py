"""Bundles (一件事一次办): the definition side. What a bundle's combined form and materials are, what
is wrong with a definition, publishing, and the import format the demo and other cities use.

The combined form (`combined_schema`) is computed from the members' published forms, never stored:
- a combined field (a key of a member's `field_map`) is asked once at the top, with the label and
  rules of the first member (by order) that maps it; it is required when any member requires it;
- a member's other fields are asked under the member's `key` (grouped by service), with those of
  its conditions that stay inside the group;
- fields filled from the verified profile (`x-prefill`) and fields a dependency prefills from
  another member's result are not asked.

The same material (`material_key`): materials of the members with the same name (white space
ignored) and the same source are one material of the bundle. The catalog's material names come
from the standard list of materials (标准化材料目录), so 出生医学证明 is called the same in every
department; a department that words it otherwise renames its material rather than the bundle
guessing. One upload then serves every member that lists it.

The members' own validation stays the contract: combined answers are split per member
(`member_data`) and checked by each member's schema, errors named by their combined path.
"""

from __future__ import annotations

import copy
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department

from .models import (
    FIELD_NAME,
    Bundle,
    BundleDependency,
    BundleMember,
    LifeEvent,
    ServiceItem,
    ServiceMaterial,
    localized,
)
from .schema import JSON_SCHEMA_DIALECT, ordered_properties, published_schema, rules_of

FORMAT = "yiwang-bundle/1"
PREFILL_SOURCE = re.compile(r"^(data\.[a-z][a-z0-9_]{0,39}|case\.number|case\.decided_on|licence\.number)$")  # fmt: skip


def material_key(material: ServiceMaterial) -> tuple[str, str]:
    """Materials with the same key are one material of the bundle (module docstring)."""
    return (" ".join(material.name.split()), material.source)


def members_of(bundle: Bundle) -> list[BundleMember]:
    """The members in order, with their published versions, materials and dependencies read."""
    return list(
        bundle.members.select_related(
            "service__department", "service__current_version"
        ).prefetch_related(
            "service__current_version__materials",
            "waits__waits_for",
        )
    )


def _schema(member: BundleMember) -> dict:
    version = member.service.current_version
    return version.form_schema if version is not None else {"properties": {}}


def _dependency_filled(member: BundleMember) -> set[str]:
    return {field for dependency in member.waits.all() for field in dependency.prefill}


def _member_only(member: BundleMember, mapped: set[str]) -> dict:
    """The member's own part of the combined form, as a form schema of its own."""
    schema = _schema(member)
    skip = mapped | _dependency_filled(member)
    properties = {
        name: prop
        for name, prop in ordered_properties(schema)
        if name not in skip and not prop.get("x-prefill")
    }
    kept_rules = [
        raw
        for raw, rule in zip(schema.get("allOf", []), rules_of(schema), strict=False)
        if rule.field in properties and set(rule.shows) <= set(properties)
    ]
    group = {
        "type": "object",
        "x-order": list(properties),
        "required": [n for n in schema.get("required", []) if n in properties],
        "properties": properties,
    }
    if kept_rules:
        group["allOf"] = kept_rules
    return group


def combined_schema(bundle: Bundle, members: list[BundleMember] | None = None) -> dict:
    """The one form of the bundle, as a standard JSON Schema (module docstring)."""
    members = members_of(bundle) if members is None else members
    shared: dict[str, dict] = {}
    shared_required: list[str] = []
    groups: dict[str, dict] = {}
    for member in members:
        schema = _schema(member)
        required = set(schema.get("required", []))
        # PostgreSQL does not keep the order of JSON keys: the member's form gives it.
        inverse = {field: combined for combined, field in (member.field_map or {}).items()}
        for field, prop in ordered_properties(schema):
            combined = inverse.get(field)
            if combined is None or prop.get("x-prefill"):
                continue
            if combined not in shared:
                shared[combined] = copy.deepcopy(prop)
            if field in required and combined not in shared_required:
                shared_required.append(combined)
        group = _member_only(member, set((member.field_map or {}).values()))
        if group["properties"]:
            version = member.service.current_version
            published = published_schema(group)
            published.pop("$schema", None)
            published.update(
                title=version.name,
                **{
                    "x-label": {"zh-hans": version.name, "en": version.name_en or version.name},
                    "x-service": member.service.code,
                },
            )
            groups[member.key] = published
    top = published_schema(
        {"type": "object", "x-order": list(shared), "required": shared_required,
         "properties": shared}
    )  # fmt: skip
    top["properties"].update(groups)
    top["x-order"] = [*shared, *groups]
    group_required = [key for key, group in groups.items() if group.get("required")]
    if group_required:
        top["required"] = [*top.get("required", []), *group_required]
    return {"$schema": JSON_SCHEMA_DIALECT, **{k: v for k, v in top.items() if k != "$schema"}}


def member_data(member: BundleMember, data: dict) -> dict:
    """The answers of one member, from the combined answers."""
    values = {
        field: data[combined]
        for combined, field in (member.field_map or {}).items()
        if combined in data
    }
    own = data.get(member.key)
    if isinstance(own, dict):
        values.update(own)
    return values


def combined_path(member: BundleMember, path: str) -> str:
    """Where, in the combined form, the member's field `path` ("name", "rows[0].x") is asked."""
    root = re.split(r"[.\[]", path, maxsplit=1)[0]
    rest = path[len(root) :]
    for combined, field in (member.field_map or {}).items():
        if field == root:
            return f"data.{combined}{rest}"
    return f"data.{member.key}.{path}"


def unknown_fields(members: list[BundleMember], data: dict) -> dict[str, list[str]]:
    """Top-level keys of the combined answers that no member asks."""
    known = {member.key for member in members}
    for member in members:
        known |= set(member.field_map or {})
    errors = {}
    for key in data:
        if key not in known:
            errors[f"data.{key}"] = [_("This bundle's form has no such field.")]
        elif key in {m.key for m in members} and not isinstance(data[key], dict):
            errors[f"data.{key}"] = [_("Send this service's answers as a JSON object.")]
    return errors


def combined_materials(bundle: Bundle, members: list[BundleMember] | None = None) -> list[dict]:
    """The bundle's materials, each once: {id, key, name, name_en, required, tolerable, source,
    licence_type_id, members: [service codes], material_ids: {member key: material id}}. `id` is
    the first member's material id (what `attachments/` takes; any member's id is accepted)."""
    members = members_of(bundle) if members is None else members
    by_key: dict[tuple[str, str], dict] = {}
    for member in members:
        version = member.service.current_version
        if version is None:
            continue
        for material in version.materials.all():
            key = material_key(material)
            entry = by_key.get(key)
            strict = material.required and not (version.allows_tolerance and material.tolerable)
            if entry is None:
                entry = by_key[key] = {
                    "id": material.pk,
                    "key": key,
                    "name": key[0],
                    "name_en": material.name_en,
                    "label": localized(material, "name"),
                    "required": False,
                    "tolerable": True,
                    "source": material.source,
                    "licence_type_id": material.licence_type_id,
                    "members": [],
                    "material_ids": {},
                }
            entry["required"] = entry["required"] or material.required
            # may follow only if it may follow for every member that requires it
            if material.required:
                entry["tolerable"] = entry["tolerable"] and not strict
            entry["members"].append(member.service.code)
            entry["material_ids"][member.key] = material.pk
    for entry in by_key.values():
        if not entry["required"]:
            entry["tolerable"] = False
    return list(by_key.values())


# --- Checks and publishing -------------------------------------------------------------------------


def _cycle(members: list[BundleMember]) -> list[str] | None:
    """The keys of one dependency cycle, or None."""
    edges = {m.key: [d.waits_for.key for d in m.waits.all()] for m in members}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        stack.append(key)
        for other in edges.get(key, []):
            if state.get(other) == 1:
                return [*stack[stack.index(other) :], other]
            if other not in state and (found := visit(other)):
                return found
        stack.pop()
        state[key] = 2
        return None

    for key in edges:
        if key not in state and (found := visit(key)):
            return found
    return None


def bundle_problems(bundle: Bundle, members: list[BundleMember] | None = None) -> list[str]:
    """Everything that stops the bundle from being published (or filed), one message each."""
    members = members_of(bundle) if members is None else members
    problems: list[str] = []
    if len(members) < 2:
        problems.append(_("A bundle joins at least two services."))
    field_types: dict[str, tuple[str, str]] = {}
    for member in members:
        service, version = member.service, member.service.current_version
        name = f"{member.key} ({service.code})"
        if service.status != ServiceItem.Status.PUBLISHED or version is None:
            problems.append(
                _("%(member)s: the service is not published; publish it or remove it.")
                % {"member": name}
            )
            continue
        properties = version.form_schema.get("properties", {})
        field_map = member.field_map
        if not isinstance(field_map, dict):
            problems.append(
                _('%(member)s: the field map is an object {"combined field": "its field"}.')
                % {"member": name}
            )
            continue
        if member.key in {m.key for m in members} and member.key in {
            c for m in members for c in (m.field_map or {})
        }:
            problems.append(
                _("%(member)s: the key is also the name of a combined field; rename one.")
                % {"member": name}
            )
        for combined, field in field_map.items():
            if not FIELD_NAME.match(str(combined)):
                problems.append(
                    _("%(member)s: “%(field)s” is no field name (lower-case letters, digits, _).")
                    % {"member": name, "field": combined}
                )
            if field not in properties:
                problems.append(
                    _("%(member)s: the combined field %(combined)s is mapped to %(field)s, "
                      "which the form of %(service)s does not have.")
                    % {"member": name, "combined": combined, "field": field,
                       "service": version.name}
                )  # fmt: skip
                continue
            kind = (properties[field].get("type"), properties[field].get("format", ""))
            if field_types.setdefault(combined, kind) != kind:
                problems.append(
                    _("%(member)s: the combined field %(combined)s is mapped to fields of "
                      "different types.")
                    % {"member": name, "combined": combined}
                )  # fmt: skip
        for dependency in member.waits.all():
            other = dependency.waits_for
            if other.bundle_id != bundle.pk:
                problems.append(
                    _("%(member)s waits for a service of another bundle.") % {"member": name}
                )
                continue
            other_version = other.service.current_version
            other_fields = other_version.form_schema.get("properties", {}) if other_version else {}
            prefill = dependency.prefill
            if not isinstance(prefill, dict):
                problems.append(
                    _('%(member)s: the prefill is an object {"its field": "source"}.')
                    % {"member": name}
                )
                continue
            for field, source in prefill.items():
                if field not in properties:
                    problems.append(
                        _("%(member)s: the prefill fills %(field)s, which its form does not have.")
                        % {"member": name, "field": field}
                    )
                if not isinstance(source, str) or not PREFILL_SOURCE.match(source):
                    problems.append(
                        _("%(member)s: “%(source)s” is no source; write data.<field>, "
                          "case.number, case.decided_on or licence.number.")
                        % {"member": name, "source": source}
                    )  # fmt: skip
                elif source.startswith("data.") and source[5:] not in other_fields:
                    problems.append(
                        _("%(member)s: the prefill reads %(source)s, which the form of "
                          "%(other)s does not have.")
                        % {"member": name, "source": source, "other": other.key}
                    )  # fmt: skip
                elif source.startswith("licence.") and (
                    other_version is None or other_version.licence_type_id is None
                ):
                    problems.append(
                        _("%(member)s: the prefill reads %(source)s, but %(other)s issues no "
                          "e-licence.")
                        % {"member": name, "source": source, "other": other.key}
                    )  # fmt: skip
    cycle = _cycle(members)
    if cycle:
        problems.append(
            _("The members wait for each other in a circle: %(cycle)s.")
            % {"cycle": " → ".join(cycle)}
        )
    return problems


def publish_bundle(*, bundle: Bundle) -> Bundle:
    """Publish the bundle, or raise ValidationError listing every problem."""
    problems = bundle_problems(bundle)
    if problems:
        raise ValidationError(problems)
    bundle.is_published, bundle.published_at = True, timezone.now()
    bundle.save(update_fields=["is_published", "published_at"])
    return bundle


def unpublish_bundle(*, bundle: Bundle) -> Bundle:
    bundle.is_published = False
    bundle.save(update_fields=["is_published"])
    return bundle


def published_bundles():
    """Bundles citizens may find and apply for."""
    return Bundle.objects.filter(is_published=True).select_related("lead_department")


def bundle_to_apply_for(code: str) -> Bundle:
    bundle = published_bundles().filter(code=code).first()
    if bundle is None:
        raise ValidationError({"bundle": [_("No such bundle.")]})
    return bundle


# --- Import ----------------------------------------------------------------------------------------


def import_bundle(*, document: dict, publish: bool = False) -> Bundle:
    """Read a bundle document (FORMAT) into a new bundle; every problem is named by its path and
    nothing is written unless all of it holds:

        {"format": "yiwang-bundle/1", "code": "...", "name": "...", "name_en": "...",
         "guide": "...", "guide_en": "...", "lead_department": "<department code>",
         "life_events": ["birth"],
         "members": [{"key": "birth", "service": "<service code>", "fields": {"combined": "own"}}],
         "dependencies": [{"member": "sscard", "waits_for": "birth",
                           "prefill": {"own field": "data.<field> | case.number | ..."}}]}
    """
    problems: list[str] = []
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValidationError({"format": [_("Write “format”: “%(format)s”.") % {"format": FORMAT}]})
    department = Department.objects.filter(code=document.get("lead_department")).first()
    if department is None:
        problems.append(_("lead_department: no such department."))
    events = list(LifeEvent.objects.filter(code__in=document.get("life_events") or []))
    if len(events) != len(set(document.get("life_events") or [])):
        problems.append(_("life_events: unknown life event."))
    if Bundle.objects.filter(code=document.get("code")).exists():
        problems.append(_("code: a bundle with this code exists."))
    rows = document.get("members") or []
    services = {s.code: s for s in ServiceItem.objects.filter(code__in=[r.get("service") for r in rows])}  # fmt: skip
    for index, row in enumerate(rows):
        if row.get("service") not in services:
            problems.append(_("members[%(i)d].service: no such service.") % {"i": index})
    if problems:
        raise ValidationError(problems)
    try:
        with transaction.atomic():
            bundle = Bundle.objects.create(
                code=document["code"],
                name=document.get("name", ""),
                name_en=document.get("name_en", ""),
                guide=document.get("guide", ""),
                guide_en=document.get("guide_en", ""),
                lead_department=department,
            )
            bundle.life_events.set(events)
            members = {}
            for index, row in enumerate(rows):
                members[row.get("key")] = BundleMember.objects.create(
                    bundle=bundle,
                    key=row.get("key"),
                    service=services[row["service"]],
                    order=index,
                    field_map=row.get("fields") or {},
                )
            for index, row in enumerate(document.get("dependencies") or []):
                member, other = members.get(row.get("member")), members.get(row.get("waits_for"))
                if member is None or other is None:
                    raise ValidationError(
                        _("dependencies[%(i)d]: name two members by their keys.") % {"i": index}
                    )
                BundleDependency.objects.create(
                    member=member, waits_for=other, prefill=row.get("prefill") or {}
                )
            problems = bundle_problems(bundle)
            if problems:
                raise ValidationError(problems)
            if publish:
                publish_bundle(bundle=bundle)
    except ValidationError as exc:
        raise ValidationError(exc.messages) from exc
    return bundle


def export_bundle(bundle: Bundle) -> dict:
    """The bundle as one document of FORMAT (what import_bundle reads)."""
    members = members_of(bundle)
    return {
        "format": FORMAT,
        "code": bundle.code,
        "name": bundle.name,
        "name_en": bundle.name_en,
        "guide": bundle.guide,
        "guide_en": bundle.guide_en,
        "lead_department": bundle.lead_department.code,
        "life_events": [e.code for e in bundle.life_events.all()],
        "members": [
            {"key": m.key, "service": m.service.code, "fields": m.field_map} for m in members
        ],
        "dependencies": [
            {"member": m.key, "waits_for": d.waits_for.key, "prefill": d.prefill}
            for m in members
            for d in m.waits.all()
        ],
    }
