"""Asking other departments' registries, under purpose limitation, with every request logged.

`request_shared_data` is the one door to a registry: it checks the service's grant
(services.SharingGrant, 《政务数据共享条例》: a stated purpose, no more fields than it needs), asks the
registry only when the grant covers every field, and writes a `SharingRequest` whatever happens
(found, nothing on record, registry down, refused). A found answer is kept on that row, encrypted:
the case's snapshot, shown to staff as "已核验：来自 X，时间 Y".

Two moments use it: `fetch_shared_materials` at submission (online, through the API, at a counter)
and `prefill_from_registries` when a draft is started (form fields whose `x-prefill` names a
registry field, e.g. "household.address"). Neither ever blocks a case: a material that could not be
fetched is told to the applicant, who may upload it instead (`upload_instead`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, User
from services.models import MaterialSource, ServiceItem, ServiceMaterial, SharingGrant, localized
from services.schema import ordered_properties, validate_data

from ..models import CLOSED_STATES, Case, Channel, SharingRequest
from .registry import Person, Registry, RegistryUnavailable, get_registry, prefill_source  # noqa: F401 - Person for callers
from .registry import registries_of as _registries_of

logger = logging.getLogger(__name__)

Outcome = SharingRequest.Outcome


def request_shared_data(
    *,
    registry_code: str,
    service: ServiceItem,
    person: Person,
    fields: list[str],
    purpose: str,
    channel: str,
    case: Case | None = None,
    material: ServiceMaterial | None = None,
    user: User | None = None,
    answers: RegistryAnswers | None = None,
) -> SharingRequest:
    """Ask one registry about one person for `fields`, for `service`; the logged request, with
    the data when found. Refused (and the registry never asked) unless a grant of the service
    covers every field. Never raises for the registry's sake: a registry that is down, or an
    adapter that fails, is an `unavailable` outcome.

    With `answers` (asked before a transaction opened, `ask_for_materials`), the registry is not
    called: its answer is taken from them, and AnswersOutdated raised when they hold none for this
    request (the grant changed meanwhile)."""
    registry = get_registry(registry_code)
    grant = SharingGrant.objects.filter(service=service, registry=registry_code).first()
    fields = list(dict.fromkeys(fields))
    data, as_of = {}, None
    if registry is None or grant is None or not fields or set(fields) - set(grant.fields):
        outcome = Outcome.REFUSED
    elif answers is not None:
        asked = answers.get(registry_code, person, fields)
        if asked is None:  # the grant or the person changed since: never asked inside
            raise AnswersOutdated(registry_code)
        outcome, data, as_of = asked
    else:
        outcome, data, as_of = _ask(registry, registry_code, person, fields)
    return SharingRequest.objects.create(
        registry=registry_code,
        department=_owner(registry),
        service=service,
        case=case,
        material=material,
        purpose=purpose,
        fields=fields,
        outcome=outcome,
        requested_by=user if user is not None and user.is_authenticated else None,
        channel=channel,
        requested_at=timezone.now(),
        data=data,
        as_of=as_of,
    )


class AnswersOutdated(Exception):
    """Registry answers fetched before a transaction do not cover what it found: ask again."""


Asked = tuple[str, dict, object]  # outcome, data, as_of


def _ask(registry: Registry, registry_code: str, person: Person, fields: list[str]) -> Asked:
    """The registry's answer as (outcome, data, as_of); never raises for the registry's sake."""
    try:
        answer = registry.lookup(person, fields)
    except RegistryUnavailable:
        return Outcome.UNAVAILABLE, {}, None
    except Exception as exc:  # an adapter's bug must not lose the citizen's submission
        logger.warning("registry %s failed: %s", registry_code, type(exc).__name__)
        return Outcome.UNAVAILABLE, {}, None
    if not answer.found:
        return Outcome.NOT_FOUND, {}, None
    return Outcome.FOUND, {f: answer.data.get(f) for f in fields}, answer.as_of


class RegistryAnswers:
    """What registries answered, asked before the submission's transaction opens, so that no
    registry call (a network round trip of up to its timeout) holds the case's row lock; the
    transaction logs them (`request_shared_data(answers=...)`)."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, Person, tuple[str, ...]], Asked] = {}

    def put(self, code: str, person: Person, fields: list[str], asked: Asked) -> None:
        self._answers[code, person, tuple(fields)] = asked

    def get(self, code: str, person: Person, fields: list[str]) -> Asked | None:
        return self._answers.get((code, person, tuple(dict.fromkeys(fields))))

    def __len__(self) -> int:
        return len(self._answers)


def ask_for_materials(
    *, service: ServiceItem, materials: list[ServiceMaterial], person: Person,
    answers: RegistryAnswers | None = None,
) -> RegistryAnswers:  # fmt: skip
    """Outside any transaction: ask the registries for every shared material of `materials` (the
    version's, read with `shared_by`) that the service's grants cover; what `fetch_shared_materials`
    logs inside the submission. Refused requests are never sent, so nothing is asked for them."""
    answers = RegistryAnswers() if answers is None else answers
    shared = [m for m in materials if m.source == MaterialSource.SHARED]
    if not shared:
        return answers
    grants = {g.registry: g.fields for g in service.sharing_grants.all()}
    for material in shared:
        for code, fields in _material_registries(service, material, grants):
            fields = list(dict.fromkeys(fields))
            registry = get_registry(code)
            if registry is None or not fields or set(fields) - set(grants.get(code, [])):
                continue
            if answers.get(code, person, fields) is None:
                answers.put(code, person, fields, _ask(registry, code, person, fields))
    return answers


def find_eligible(
    *, registry_code: str, service: ServiceItem, rules: list[dict], day
) -> list[str] | None:
    """免申即享 sweeps: ask one registry, set-based, whom every rule holds for on `day` (rules over
    `registry.<code>.<fact>`); the keyed hashes of their ID numbers, or None when the registry was
    down, cannot answer sets, or the service's grant does not cover the fields the rules need.
    Logged as one sharing request (purpose eligibility, no person, how many found kept with it)."""
    registry = get_registry(registry_code)
    grant = SharingGrant.objects.filter(service=service, registry=registry_code).first()
    prefix = f"registry.{registry_code}."
    facts = [str(rule.get("fact", "")).removeprefix(prefix) for rule in rules]
    fields = registry.fields_for(facts) if registry is not None else []
    found: list[str] | None = None
    if registry is None or grant is None or not fields or set(fields) - set(grant.fields):
        outcome = Outcome.REFUSED
    else:
        try:
            found = list(registry.eligible(rules, day))
        except (RegistryUnavailable, NotImplementedError):
            outcome = Outcome.UNAVAILABLE
        except Exception as exc:  # an adapter's bug must not stop the other services' sweeps
            logger.warning("registry %s failed: %s", registry_code, type(exc).__name__)
            outcome = Outcome.UNAVAILABLE
        else:
            outcome = Outcome.FOUND if found else Outcome.NOT_FOUND
    SharingRequest.objects.create(
        registry=registry_code,
        department=_owner(registry),
        service=service,
        purpose=SharingRequest.Purpose.ELIGIBILITY,
        fields=fields,
        outcome=outcome,
        channel=Channel.PROACTIVE,
        requested_at=timezone.now(),
        data={"rules": rules, "day": day.isoformat(), "found": len(found or [])},
    )
    return found if outcome in (Outcome.FOUND, Outcome.NOT_FOUND) else None


def _owner(registry: Registry | None) -> Department | None:
    if registry is None:
        return None
    return Department.objects.filter(code=registry.department_code).first()


# --- Materials -------------------------------------------------------------------------------------


def _material_registries(
    service: ServiceItem, material: ServiceMaterial, grants: dict[str, list[str]] | None = None
) -> list[tuple[str, list[str]]]:
    """(registry code, fields) to ask for a shared material: the registries its sharing
    department owns that the service holds a grant for, with the granted fields. With no grant, the
    department's registries with all their fields, which `request_shared_data` refuses (and logs)."""
    owned = _registries_of(material.shared_by.code) if material.shared_by_id else []
    if grants is None:
        grants = {g.registry: g.fields for g in service.sharing_grants.all()}
    granted = [(r.code, grants[r.code]) for r in owned if r.code in grants]
    return granted or [(r.code, list(r.fields)) for r in owned]


def fetch_shared_materials(
    *, case: Case, user: User | None, channel: str, answers: RegistryAnswers | None = None
) -> list[SharingRequest]:
    """At submission: fetch every material whose source is data shared by another department
    (online and at a counter alike), one logged request per registry. What is found is the case's
    snapshot; what is not, the applicant is told of and may upload (`shared_materials`)."""
    made = []
    person = Person.of(case.applicant)
    # `.all()`: the materials the submission has already read (prefetched with `shared_by`).
    materials = [
        m for m in case.service_version.materials.all() if m.source == MaterialSource.SHARED
    ]
    for material in materials:
        for code, fields in _material_registries(case.service, material):
            made.append(
                request_shared_data(
                    registry_code=code,
                    service=case.service,
                    person=person,
                    fields=fields,
                    purpose=SharingRequest.Purpose.MATERIAL,
                    channel=channel,
                    case=case,
                    material=material,
                    user=user,
                    answers=answers,
                )  # fmt: skip
            )
    return made


@dataclass
class SharedMaterial:
    """Where a case's shared material stands: `requests` the latest per registry; `verified` when
    every registry asked found the person; `uploaded` when the applicant gave a document for it."""

    material: ServiceMaterial
    requests: list[SharingRequest]
    uploaded: bool
    open: bool
    submitted: bool
    has_registry: bool  # its sharing department has a registry configured here

    @property
    def fetched(self) -> bool:
        """Asked at submission, or nothing could be asked (no registry): the outcome is known."""
        return bool(self.requests) or (self.submitted and not self.has_registry)

    @property
    def verified(self) -> bool:
        return bool(self.requests) and all(r.outcome == Outcome.FOUND for r in self.requests)

    @property
    def may_upload(self) -> bool:
        """Not verified nor uploaded yet: the applicant may upload it instead while the case is
        open."""
        return self.fetched and not self.verified and not self.uploaded and self.open

    @property
    def outcome(self) -> str:
        if not self.fetched:
            return "pending"
        if not self.requests:
            return "no_registry"
        failed = [r.outcome for r in self.requests if r.outcome != Outcome.FOUND]
        return failed[0] if failed else Outcome.FOUND

    @property
    def message(self) -> str:
        """What the applicant is told; empty when verified or not fetched yet."""
        failed = next((r for r in self.requests if r.outcome != Outcome.FOUND), None)
        if failed is None and self.outcome != "no_registry":
            return ""
        source = (
            source_label(failed)
            if failed is not None
            else localized(self.material.shared_by, "name")
            if self.material.shared_by_id
            else ""
        )
        values = {"material": self.material.label, "source": source}
        if self.uploaded:
            return (
                _("%(material)s: not available from %(source)s; you uploaded it instead.") % values
            )
        if failed is None:
            text = _(
                "%(material)s: %(source)s does not share it with this portal yet. Upload the "
                "document instead; your application goes on meanwhile."
            )
        elif failed.outcome == Outcome.UNAVAILABLE:
            text = _(
                "%(material)s: %(source)s could not be reached when you submitted. "
                "Upload the document instead; your application goes on meanwhile."
            )
        elif failed.outcome == Outcome.NOT_FOUND:
            text = _(
                "%(material)s: %(source)s holds no record of you. Upload the document instead; "
                "your application goes on meanwhile."
            )
        else:
            text = _(
                "%(material)s: this service may not ask %(source)s for it. Upload the document "
                "instead; your application goes on meanwhile."
            )
        return text % values


def source_label(request: SharingRequest) -> str:
    """The registry's name, or its department's, or its code."""
    registry = get_registry(request.registry)
    if registry is not None:
        return registry.label
    return localized(request.department, "name") if request.department_id else request.registry


def shared_materials(case: Case) -> list[SharedMaterial]:
    """Each shared material of the case with its latest request per registry."""
    version = case.service_version
    if "materials" in getattr(version, "_prefetched_objects_cache", {}):  # read at submission
        materials = [m for m in version.materials.all() if m.source == MaterialSource.SHARED]
        prefetch_related_objects(materials, "shared_by")  # nothing to read when read with them
    else:
        materials = list(
            version.materials.filter(source=MaterialSource.SHARED).select_related("shared_by")
        )
    if not materials:
        return []
    latest: dict[tuple[int, str], SharingRequest] = {}
    for request in (
        case.sharing_requests.filter(purpose=SharingRequest.Purpose.MATERIAL)
        .select_related("department")
        .order_by("requested_at", "pk")
    ):
        latest[request.material_id, request.registry] = request
    uploaded = set(case.attachments.values_list("material_id", flat=True))
    is_open = not case.is_draft and case.state not in CLOSED_STATES
    return [
        SharedMaterial(
            material=m,
            requests=[r for (mid, _code), r in latest.items() if mid == m.pk],
            uploaded=m.pk in uploaded,
            open=is_open,
            submitted=not case.is_draft,
            has_registry=bool(m.shared_by_id and _registries_of(m.shared_by.code)),
        )
        for m in materials
    ]


def upload_instead(case: Case, material: ServiceMaterial) -> bool:
    """A submitted, open case's shared material that could not be fetched: the applicant may
    upload it (cases.workflow.drafts._may_add_documents)."""
    if material.source != MaterialSource.SHARED:
        return False
    return any(s.material.pk == material.pk and s.may_upload for s in shared_materials(case))


def verified_label(request: SharingRequest) -> str:
    """ "已核验：来自 X，时间 Y" for staff."""
    return _("Verified: from %(source)s, at %(time)s") % {
        "source": source_label(request),
        "time": timezone.localtime(request.requested_at).strftime("%Y-%m-%d %H:%M"),
    }


def staff_view(case: Case) -> list[dict]:
    """The shared data of a case as staff see it (page and API): per material and registry,
    whether it was verified, from where and when, and the data received."""
    rows = []
    for shared in shared_materials(case):
        if not shared.requests:
            pending = shared.outcome == "pending"
            rows.append({
                "material": shared.material.pk, "material_name": shared.material.label,
                "registry": None, "source": localized(shared.material.shared_by, "name")
                if shared.material.shared_by_id else "",
                "outcome": shared.outcome,
                "outcome_label": _("not fetched yet") if pending else _("no registry"),
                "verified": False,
                "label": _("Not fetched yet: it is fetched at submission.") if pending
                else _("Not verified: the department shares it through no registry here."),
                "fetched_at": None, "as_of": None, "data": [], "uploaded": shared.uploaded,
            })  # fmt: skip
        for request in shared.requests:
            registry = get_registry(request.registry)
            labels = registry.fields if registry else {}
            found = request.outcome == Outcome.FOUND
            rows.append({
                "material": shared.material.pk, "material_name": shared.material.label,
                "registry": request.registry, "source": source_label(request),
                "outcome": request.outcome, "outcome_label": request.get_outcome_display(),
                "verified": found,
                "label": verified_label(request) if found else _(
                    "Not verified: %(outcome)s (%(source)s, %(time)s)"
                ) % {"outcome": request.get_outcome_display(), "source": source_label(request),
                     "time": timezone.localtime(request.requested_at).strftime("%Y-%m-%d %H:%M")},
                "fetched_at": request.requested_at, "as_of": request.as_of,
                "data": [
                    {"field": name, "label": labels.get(name, name),
                     "value": _shown(request.data.get(name))}
                    for name in request.fields
                ] if found else [],
                "uploaded": shared.uploaded,
            })  # fmt: skip
    return rows


def _shown(value) -> str:
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if isinstance(value, list):
        return "；".join(
            "，".join(str(v) for v in item.values()) if isinstance(item, dict) else str(item)
            for item in value
        )
    return "" if value is None else str(value)


# --- Prefill ---------------------------------------------------------------------------------------


def registry_prefilled_fields(schema: dict) -> dict[str, str]:
    """Field name → "registry.field" for the form's fields filled from a registry."""
    return {
        name: prop["x-prefill"]
        for name, prop in ordered_properties(schema)
        if prop.get("type") == "string"
        and isinstance(prop.get("x-prefill"), str)
        and "." in prop["x-prefill"]
    }


def _prefill_wanted(schema: dict, data: dict) -> dict[str, dict[str, str]]:
    """Registry → {registry field: form field} for the form's empty registry-sourced fields."""
    wanted: dict[str, dict[str, str]] = {}
    for name, source in registry_prefilled_fields(schema).items():
        if data.get(name) in (None, ""):
            found = prefill_source(source)
            code, field = source.split(".", 1) if found is None else (found[0].code, found[1])
            wanted.setdefault(code, {})[field] = name
    return wanted


def ask_for_prefill(
    *, service: ServiceItem, schema: dict, data: dict, person: Person | None,
    answers: RegistryAnswers | None = None,
) -> RegistryAnswers:  # fmt: skip
    """Outside any transaction: ask the registries what `prefill_from_registries` will log when
    the draft (of `schema`, with the answers `data`) is created about `person`; only the granted
    fields, as it does. Nothing is asked without a person or a registry-sourced empty field."""
    answers = RegistryAnswers() if answers is None else answers
    if person is None or not registry_prefilled_fields(schema):
        return answers
    try:  # as the draft will hold them; what is refused, its creation refuses
        data = validate_data(schema, data or {}, partial=True)
    except ValidationError:
        return answers
    wanted = _prefill_wanted(schema, data)
    if not wanted:
        return answers
    grants = {g.registry: set(g.fields) for g in service.sharing_grants.all()}
    for code, fields in wanted.items():
        allowed = list(dict.fromkeys(f for f in fields if f in grants.get(code, set())))
        registry = get_registry(code)
        if registry is None or not allowed or answers.get(code, person, allowed) is not None:
            continue
        answers.put(code, person, allowed, _ask(registry, code, person, allowed))
    return answers


def prefill_from_registries(
    *, case: Case, user: User | None, channel: str, answers: RegistryAnswers | None = None
) -> bool:
    """Fill the draft's empty registry-sourced fields (x-prefill "household.address" ...), one
    logged request per registry, asking only what the service's grant allows: a field outside it is
    a refused request and stays for the applicant to answer. The fields stay editable (the
    applicant may correct them; staff see the registry's answer beside). Saves the case's data;
    True if it changed. With `answers` (`ask_for_prefill`, before the transaction), no registry
    is called: AnswersOutdated when they lack one."""
    wanted = _prefill_wanted(case.service_version.form_schema, case.data)
    if not wanted:
        return False
    grants = {g.registry: set(g.fields) for g in case.service.sharing_grants.all()}
    person, changed = Person.of(case.applicant), False
    for code, fields in wanted.items():
        allowed = [f for f in fields if f in grants.get(code, set())]
        refused = [f for f in fields if f not in allowed]
        common = {"registry_code": code, "service": case.service, "person": person,
                  "purpose": SharingRequest.Purpose.PREFILL, "channel": channel, "case": case,
                  "user": user}  # fmt: skip
        if refused:  # outside the grant: logged, never sent
            request_shared_data(fields=refused, **common)
        if not allowed:
            continue
        request = request_shared_data(fields=allowed, answers=answers, **common)
        if request.outcome != Outcome.FOUND:
            continue
        for field in allowed:
            value = request.data.get(field)
            if value not in (None, ""):
                case.data[fields[field]] = str(value)
                changed = True
    if changed:
        case.save(update_fields=["data", "updated_at"])
    return changed
