"""The registry interface: one class per data source another department keeps (户籍, 婚姻, 社保,
不动产 ...), named in settings.DATA_REGISTRIES: a dotted path (a subclass that knows everything
itself, as the demo registries), or an object configuring an adapter, `{"class": <dotted path,
cases.sharing.http.HttpRegistry by default>, <its keyword arguments>}` (cases.sharing.http); a system
check fails at start-up when an entry names no `Registry` subclass or cannot be built.

A registry answers `lookup(person, fields)` with an `Answer`; when its source cannot be reached it
raises `RegistryUnavailable`, and callers tell the citizen, who may upload the document instead.
Nothing here checks purpose limitation or writes the sharing log: every caller goes through
`cases.sharing.services.request_shared_data`, which does both, so never call `lookup` directly
from a case's flow.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.validators import normalize_id_number

# What a request to a registry can come to (cases.models.SharingRequest.Outcome), and where a
# case's shared material stands: also "pending" (fetched at submission) and "no_registry" (the
# sharing department has no registry configured); for the API's enums.
SHARING_OUTCOMES = ["found", "not_found", "unavailable", "refused"]
SHARED_MATERIAL_OUTCOMES = ["pending", *SHARING_OUTCOMES, "no_registry"]


class RegistryUnavailable(Exception):
    """The registry's source did not answer (down, timed out, refused the connection)."""


@dataclass(frozen=True)
class Person:
    """Whom a registry is asked about: a resident ID number (never stored by this module) and the
    name, for registries that check both."""

    id_number: str
    real_name: str = ""

    @classmethod
    def of(cls, profile) -> Person:
        """The person of a CitizenProfile."""
        return cls(id_number=profile.id_number, real_name=profile.real_name)

    @property
    def normalized_id_number(self) -> str:
        return normalize_id_number(self.id_number)


@dataclass(frozen=True)
class Answer:
    """What a registry said: `found` false when it holds nothing on the person; `data` holds only
    the fields asked for; `as_of` is when the registry's record was last updated (its 数据时点)."""

    found: bool
    data: dict = field(default_factory=dict)
    as_of: dt.datetime | None = None


class Registry:
    """A data source of one department. Subclasses set `code` (short, stable: it is stored in
    grants and the log), `department_code` (the owner, an accounts.Department code), `name` and
    `name_en`, `fields` (field name → label) and implement `lookup`."""

    code: str = ""
    department_code: str = ""
    name: str = ""
    name_en: str = ""
    fields: dict[str, str] = {}

    # Field name → the kind of its values for rules (services.auto_rules.Kind); unnamed fields are
    # texts, and "list" fields (e.g. a list of properties) are no facts.
    field_kinds: dict[str, str] = {}

    def lookup(self, person: Person, fields: list[str]) -> Answer:
        raise NotImplementedError

    # --- Facts for rules (秒批, 免申即享) ----------------------------------------------------------

    def facts(self) -> dict:
        """Fact name → services.auto_rules.Fact that rules may name as `registry.<code>.<name>`:
        the registry's scalar fields, plus what a subclass derives (`derived_facts`)."""
        from services.auto_rules import Fact

        facts = {
            name: Fact(self.field_kinds.get(name, "string"), f"{self.label}：{label}")
            for name, label in self.fields.items()
            if self.field_kinds.get(name, "string") != "list"
        }
        for name, (kind, label, _needs) in self.derived_facts().items():
            facts[name] = Fact(kind, f"{self.label}：{label}")
        return facts

    def derived_facts(self) -> dict[str, tuple[str, str, list[str]]]:
        """Facts computed from fields: name → (kind, label, the fields it needs)."""
        return {}

    def fields_for(self, facts: list[str]) -> list[str]:
        """The fields to ask for to know `facts` (what the service's grant must cover)."""
        derived = self.derived_facts()
        needed: list[str] = []
        for name in facts:
            needed.extend(derived[name][2] if name in derived else [name])
        return list(dict.fromkeys(needed))

    def fact_values(self, found: bool, data: dict, facts: list[str], day: dt.date) -> dict:
        """The values of `facts` from an answer (`found`, `data` with `fields_for(facts)`), on
        `day`; a fact without a value is left out. Subclasses compute their derived facts."""
        if not found:
            return {}
        return {name: data[name] for name in facts if data.get(name) not in (None, "")}

    def eligible(self, rules: list[dict], day: dt.date) -> list[str]:
        """Set-based (免申即享 sweeps): the keyed hashes of the ID numbers (as
        CitizenProfile.id_number_hash) of everyone for whom every rule holds on `day`; rules name
        this registry's facts (`{"fact": "registry.<code>.<name>", "op": ..., "value": ...}`).
        Raises RegistryUnavailable when down, NotImplementedError when it cannot answer sets."""
        raise NotImplementedError

    def set_facts(self) -> set[str]:
        """The facts `eligible` can answer for (rules of a 免申即享 policy name only these)."""
        return set()

    def lookup_many(self, people: list[Person], fields: list[str]) -> dict[str, Answer]:
        """Answers by normalised ID number; registries that can answer in one query override it
        (set-based sweeps such as 免申即享 use this)."""
        return {person.normalized_id_number: self.lookup(person, fields) for person in people}

    @property
    def label(self) -> str:
        from services.models import localized

        return localized(self, "name")


HTTP_REGISTRY = "cases.sharing.http.HttpRegistry"


def entry_class(entry) -> tuple[object, dict]:
    """What an entry of DATA_REGISTRIES names: the class (or whatever the path imports to; None
    when it imports nothing) and the keyword arguments to build it with."""
    if isinstance(entry, dict):
        options = dict(entry)
        path = options.pop("class", HTTP_REGISTRY)
    else:
        path, options = entry, {}
    try:
        return import_string(path), options
    except ImportError:
        return None, options


def build(entry) -> Registry:
    """The registry of one entry (raises TypeError, ValueError or ImproperlyConfigured)."""
    registry_class, options = entry_class(entry)
    if not (isinstance(registry_class, type) and issubclass(registry_class, Registry)):
        raise ValueError(f"{entry!r} names no subclass of cases.sharing.registry.Registry")
    return registry_class(**options)


@cache
def _instances(entries: str) -> dict[str, Registry]:
    registries = {}
    for entry in json.loads(entries):
        registry = build(entry)
        registries[registry.code] = registry
    return registries


def registries() -> dict[str, Registry]:
    """The configured registries by code (settings.DATA_REGISTRIES, read at call time)."""
    return _instances(json.dumps(list(settings.DATA_REGISTRIES), sort_keys=True))


def get_registry(code: str) -> Registry | None:
    return registries().get(code)


def registries_of(department_code: str) -> list[Registry]:
    """The registries a department owns, in the configured order."""
    return [r for r in registries().values() if r.department_code == department_code]


def prefill_source(value: str) -> tuple[Registry, str] | None:
    """The registry and field an `x-prefill` source such as "household.address" names, or None
    for an identity source (real_name, id_number ...) or one no configured registry has."""
    if not isinstance(value, str) or "." not in value:
        return None
    code, _dot, name = value.partition(".")
    registry = get_registry(code)
    if registry is None or name not in registry.fields:
        return None
    return registry, name
