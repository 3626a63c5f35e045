"""Registry facts for rules (秒批 and 免申即享): the fact source `registry`, registered when the
sharing app is ready.

A rule names `registry.<registry code>.<fact>`, e.g. `registry.household.resident` (本市户籍),
`registry.household.age` (whole years at submission), `registry.social_insurance.insured`; the
facts of every configured registry are its scalar fields and what it derives from them
(`Registry.facts`). Reading them for a case goes through `request_shared_data`, under the service's
grant and logged (purpose "rule"), one request per registry. A registry that is down makes the
source unavailable (`FactUnavailable`): the rule does not hold and a person decides; a request
outside the grant, or nobody on record, leaves the facts without a value, so the rule does not
hold either. Nothing here ever blocks a submission.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from services.auto_rules import Fact, FactSource, FactUnavailable, register_fact_source

from .registry import Person, registries

SOURCE = "registry"


def _facts(version) -> dict[str, Fact]:
    return {
        f"{code}.{name}": fact
        for code, registry in registries().items()
        for name, fact in registry.facts().items()
    }


def _read(case, names: list[str]) -> dict:
    from ..models import SharingRequest
    from .services import request_shared_data

    wanted: dict[str, list[str]] = {}
    for name in names:
        code, _dot, fact = name.partition(".")
        wanted.setdefault(code, []).append(fact)
    day = timezone.localdate(case.received_at) if case.received_at else timezone.localdate()
    person, values, down = Person.of(case.applicant), {}, False
    for code, facts in wanted.items():
        registry = registries().get(code)
        if registry is None:
            continue
        known = [fact for fact in facts if fact in registry.facts()]
        if not known:
            continue
        request = request_shared_data(
            registry_code=code,
            service=case.service,
            person=person,
            fields=registry.fields_for(known),
            purpose=SharingRequest.Purpose.RULE,
            channel=case.channel,
            case=case,
        )
        if request.outcome == SharingRequest.Outcome.UNAVAILABLE:
            down = True
            continue
        if request.outcome not in (SharingRequest.Outcome.FOUND, SharingRequest.Outcome.NOT_FOUND):
            continue  # refused: outside the service's grant, so no value
        found = request.outcome == SharingRequest.Outcome.FOUND
        for fact, value in registry.fact_values(found, request.data, known, day).items():
            values[f"{code}.{fact}"] = value
    if down:
        raise FactUnavailable(_("a registry could not be reached"))
    return values


REGISTRY = register_fact_source(
    FactSource(
        name=SOURCE,
        label=_("registries of other departments (数据共享)"),
        facts=_facts,
        read=_read,
    )
)
