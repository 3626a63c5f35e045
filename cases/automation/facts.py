"""The fact sources 秒批 rules read (services.auto_rules), registered when the cases app is ready.

- `form.<field>`: the applicant's answer to a field of the service version's form (not the
  prefilled identity fields: rules about the person read `applicant`);
- `applicant.age` (whole years at the submission date), `applicant.region` (the six-digit region
  code of the ID number: residence as first registered, compare with `startswith`, e.g. "3301"),
  `applicant.birth_date`: derived from the verified ID number, never kept;
- `licences.held`: the types (codes) of the e-licences the holder has in force
  (cases.workflow.held_licences: a company's for a company's case);
- `materials.none_uploaded`: every required material comes from an e-licence held, data shared by
  another department or the form itself; nothing was uploaded or handed over on paper.

A registry of another department registers its own source the same way (see services.auto_rules).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

from services.auto_rules import Fact, FactSource, Kind, register_fact_source
from services.models import LicenceType, MaterialSource
from services.schema import ordered_properties

# Form fields of these kinds are facts; identity fields filled by the server are not.
_FORM_KINDS = {"integer": Kind.NUMBER, "number": Kind.NUMBER, "boolean": Kind.BOOLEAN}


def _form_facts(version) -> dict[str, Fact]:
    if version is None:
        return {}
    facts = {}
    for name, prop in ordered_properties(version.form_schema or {}):
        if prop.get("x-prefill") or prop.get("format") == "id_number":
            continue
        kind = _FORM_KINDS.get(prop.get("type"))
        if prop.get("type") == "string":
            kind = Kind.DATE if prop.get("format") == "date" else Kind.STRING
        if kind is None:
            continue  # arrays of objects: not compared as one value
        enum = prop.get("enum")
        label = (prop.get("x-label") or {}).get("zh-hans") or prop.get("title") or name
        facts[name] = Fact(
            kind, label, choices=(lambda values=enum: [str(v) for v in values]) if enum else None
        )
    return facts


def _read_form(case, names: list[str]) -> dict:
    data = case.data or {}
    return {name: data[name] for name in names if name in data}


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _read_applicant(case, names: list[str]) -> dict:
    number = case.applicant.id_number or ""
    try:
        birth = ric.get_birth_date(number)
    except Exception:  # noqa: BLE001 - stdnum raises its own errors for a number it cannot read
        return {}
    day = timezone.localdate(case.received_at) if case.received_at else timezone.localdate()
    values = {"age": _age_on(birth, day), "region": number[:6], "birth_date": birth.isoformat()}
    return {name: values[name] for name in names if name in values}


def _licence_codes() -> list[str]:
    return list(LicenceType.objects.order_by("code").values_list("code", flat=True))


def _read_licences(case, names: list[str]) -> dict:
    from ..workflow import held_licences

    held = sorted(licence.licence_type.code for licence in held_licences(case).values())
    return {"held": held} if "held" in names else {}


def _read_materials(case, names: list[str]) -> dict:
    from ..workflow import held_licences

    required = [m for m in case.service_version.materials.all() if m.required]
    licences = (
        held_licences(case) if any(m.source == MaterialSource.LICENCE for m in required) else {}
    )
    none_uploaded = (
        not case.attachments.exists()
        and not case.materials_received
        and all(
            m.source in (MaterialSource.SHARED, MaterialSource.FORM)
            or (m.source == MaterialSource.LICENCE and m.licence_type_id in licences)
            for m in required
        )
    )
    return {"none_uploaded": none_uploaded} if "none_uploaded" in names else {}


FORM = FactSource(name="form", label=_("the application form"), facts=_form_facts, read=_read_form)
APPLICANT = FactSource(
    name="applicant",
    label=_("the applicant (from the verified ID number)"),
    facts=lambda version: {
        "age": Fact(Kind.NUMBER, _("age at submission")),
        "region": Fact(Kind.STRING, _("region code of the ID number")),
        "birth_date": Fact(Kind.DATE, _("date of birth")),
    },
    read=_read_applicant,
)
LICENCES = FactSource(
    name="licences",
    label=_("e-licences held"),
    facts=lambda version: {
        "held": Fact(Kind.LIST, _("e-licence types held in force"), choices=_licence_codes)
    },
    read=_read_licences,
)
MATERIALS = FactSource(
    name="materials",
    label=_("materials"),
    facts=lambda version: {
        "none_uploaded": Fact(
            Kind.BOOLEAN, _("every required material from e-licences or shared data, no upload")
        )
    },
    read=_read_materials,
)

for _source in (FORM, APPLICANT, LICENCES, MATERIALS):
    register_fact_source(_source)
