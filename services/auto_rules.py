"""秒批 (automatic approval): the rules an admin writes for a service, as data, and the facts they read.

A rule is one JSON object, `{"fact": "<source>.<name>", "op": "<operator>", "value": ..., "label":
"..."}` (`label` optional: the words staff and the applicant read; one is made from the rule when
absent). Every rule of a service's policy must hold for the system to approve a case at submission;
any rule that does not hold (or whose fact is unknown for the case) sends the case to the normal
queue with that rule shown to staff (cases.automation).

Facts come from **fact sources**, registered once in code with `register_fact_source`. A source
says which facts it offers for a service version (`facts`: name → Fact, with its kind and, where
the values are a closed set, their choices) and reads them for a case (`read(case, names)` →
{name: value}; a name it has no value for is left out; raising `FactUnavailable` says the source
is down, and the rule fails, so the case goes to a person). The cases app registers `form` (the
answers), `applicant` (age at submission and residence, derived from the verified ID number),
`licences` (the e-licence types the applicant holds in force) and `materials` (whether every
required material came from e-licences or shared data, with no upload).

Registry facts plug in the same way: a registry of another department (cases/sharing, with
`lookup(person, fields)`) registers a source such as `household` whose `read` calls `lookup`;
rules then name `household.resident` and the like. Nothing here needs to change for it.

Rules are checked when a policy is saved (`rule_problems`): an unknown source or fact, an operator
that does not apply to the fact's kind, a value of the wrong type or outside the fact's choices is
named with the rule's number, in words an admin understands.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class FactUnavailable(Exception):  # noqa: N818 - a state of a source, not an error of the caller
    """A source cannot answer now (a registry down): the rule does not hold, a person decides."""


class Kind:
    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    LIST = "list"  # a set of codes, e.g. the licence types held


OPERATORS = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
    "in": "∈",
    "startswith": "^=",
    "contains": "∋",
}
OPERATORS_FOR = {
    Kind.NUMBER: ("eq", "ne", "lt", "lte", "gt", "gte", "in"),
    Kind.STRING: ("eq", "ne", "in", "startswith"),
    Kind.BOOLEAN: ("eq",),
    Kind.DATE: ("eq", "lt", "lte", "gt", "gte"),
    Kind.LIST: ("contains",),
}
RULE_KEYS = {"fact", "op", "value", "label"}


@dataclasses.dataclass(frozen=True)
class Fact:
    kind: str
    label: str
    choices: Callable[[], list[str]] | None = None  # the values allowed in a rule, when closed


@dataclasses.dataclass(frozen=True)
class FactSource:
    name: str
    label: Any
    facts: Callable[[Any], dict[str, Fact]]  # (service version or None) → name → Fact
    read: Callable[[Any, list[str]], dict[str, Any]]  # (case, names) → name → value


_sources: dict[str, FactSource] = {}


def register_fact_source(source: FactSource) -> FactSource:
    """Register a source once; a second, different registration under the same name is an error."""
    if "." in source.name or not source.name:
        raise ImproperlyConfigured(f"fact source name {source.name!r} must be a word without dots")
    known = _sources.get(source.name)
    if known is not None and known != source:
        raise ImproperlyConfigured(f"fact source {source.name!r} is already registered")
    _sources[source.name] = source
    return source


def fact_sources() -> dict[str, FactSource]:
    return dict(_sources)


def split(fact: str) -> tuple[str, str]:
    source, _dot, name = str(fact).partition(".")
    return source, name


def fact_of(fact: str, version) -> Fact | None:
    source_name, name = split(fact)
    source = _sources.get(source_name)
    if source is None or not name:
        return None
    return source.facts(version).get(name)


def known_facts(version) -> list[str]:
    return sorted(
        f"{source.name}.{name}" for source in _sources.values() for name in source.facts(version)
    )


# --- Checking rules when a policy is saved ------------------------------------------------------------


def _is_date(value) -> bool:
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def _value_problem(kind: str, op: str, value, fact: Fact) -> str | None:
    """What is wrong with `value` for `op` on a fact of `kind`, or None."""
    values = value if op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value):
        return _("“in” compares with a list of values, e.g. [1, 2].")
    for item in values:
        if kind == Kind.NUMBER and (isinstance(item, bool) or not isinstance(item, int | float)):
            return _("this fact is a number: compare it with a number.")
        if kind in (Kind.STRING, Kind.LIST) and not isinstance(item, str):
            return _("this fact is a text: compare it with a text in quotes.")
        if kind == Kind.BOOLEAN and not isinstance(item, bool):
            return _("this fact is true or false: compare it with true or false.")
        if kind == Kind.DATE and not _is_date(item):
            return _("this fact is a date: compare it with a date written 2026-12-01.")
        if fact.choices is not None and op != "startswith":
            choices = fact.choices()
            if str(item) not in choices:
                return _("“%(value)s” is not one of: %(choices)s.") % {
                    "value": item,
                    "choices": ", ".join(choices) or "—",
                }
    return None


def rule_problems(rules, version) -> list[str]:
    """Every problem of `rules` for a service whose current (or latest) version is `version`."""
    if not isinstance(rules, list):
        return [_('Give the rules as a list of objects, e.g. [{"fact": …, "op": …, "value": …}].')]
    problems = []
    for number, rule in enumerate(rules, start=1):
        prefix = _("Rule %(n)s: ") % {"n": number}
        if not isinstance(rule, dict) or not {"fact", "op", "value"} <= set(rule):
            problems.append(prefix + _("give it as an object with fact, op and value."))
            continue
        if unknown := sorted(set(rule) - RULE_KEYS):
            problems.append(prefix + _("unknown key %(keys)s.") % {"keys": ", ".join(unknown)})
            continue
        fact = fact_of(rule["fact"], version)
        if fact is None:
            problems.append(
                prefix
                + _("unknown fact “%(fact)s”; known facts: %(known)s.")
                % {"fact": rule["fact"], "known": ", ".join(known_facts(version))}
            )
            continue
        allowed = OPERATORS_FOR[fact.kind]
        if rule["op"] not in allowed:
            problems.append(
                prefix
                + _("the operator “%(op)s” does not apply to %(fact)s; use one of: %(ops)s.")
                % {"op": rule["op"], "fact": rule["fact"], "ops": ", ".join(allowed)}
            )
            continue
        if problem := _value_problem(fact.kind, rule["op"], rule["value"], fact):
            problems.append(prefix + problem)
        if "label" in rule and not isinstance(rule["label"], str):
            problems.append(prefix + _("the label is a text."))
    return problems


def rule_label(rule: dict, version=None) -> str:
    """The words of a rule: its own label, else the fact's label, the operator and the value."""
    if rule.get("label"):
        return str(rule["label"])
    fact = fact_of(rule.get("fact", ""), version)
    name = str(fact.label) if fact else str(rule.get("fact", ""))
    value = rule.get("value")
    if isinstance(value, bool):
        value = _("yes") if value else _("no")
    elif isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return f"{name} {OPERATORS.get(rule.get('op'), rule.get('op'))} {value}"


# --- Evaluating ---------------------------------------------------------------------------------------


def _compare(kind: str, op: str, actual, expected) -> bool:
    if kind == Kind.DATE:
        actual = dt.date.fromisoformat(str(actual)) if not isinstance(actual, dt.date) else actual
        expected = dt.date.fromisoformat(str(expected))
    if kind == Kind.NUMBER and (isinstance(actual, bool) or not isinstance(actual, int | float)):
        raise TypeError("not a number")
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "lt":
        return actual < expected
    if op == "lte":
        return actual <= expected
    if op == "gt":
        return actual > expected
    if op == "gte":
        return actual >= expected
    if op == "in":
        return actual in expected
    if op == "startswith":
        return str(actual).startswith(str(expected))
    if op == "contains":
        return expected in (actual or ())
    raise ValueError(op)


@dataclasses.dataclass(frozen=True)
class RuleResult:
    rule: dict
    label: str
    held: bool
    why: str  # why it did not hold ("no answer", "source unavailable", "the value differs")

    def as_record(self) -> dict:
        return {**self.rule, "label": self.label, "held": self.held, "why": self.why}


WHY_NO_VALUE = gettext_lazy("no value for this application")
WHY_UNAVAILABLE = gettext_lazy("the source could not be reached")
WHY_UNKNOWN = gettext_lazy("the fact is not known for this application's service version")
WHY_DIFFERS = gettext_lazy("the value does not meet the rule")


def evaluate(rules: list[dict], case) -> list[RuleResult]:
    """Each rule's result for `case`, reading every source once for the facts its rules name."""
    version = case.service_version
    wanted: dict[str, list[str]] = {}
    for rule in rules:
        source, name = split(rule.get("fact", ""))
        wanted.setdefault(source, []).append(name)
    values: dict[str, dict | None] = {}
    for source_name, names in wanted.items():
        source = _sources.get(source_name)
        try:
            values[source_name] = source.read(case, names) if source else None
        except FactUnavailable:
            values[source_name] = None
    results = []
    for rule in rules:
        source_name, name = split(rule.get("fact", ""))
        fact = fact_of(rule.get("fact", ""), version)
        label = rule_label(rule, version)
        read = values.get(source_name)
        if fact is None:
            results.append(RuleResult(rule, label, False, str(WHY_UNKNOWN)))
        elif read is None:
            results.append(RuleResult(rule, label, False, str(WHY_UNAVAILABLE)))
        elif name not in read or read[name] in (None, ""):
            results.append(RuleResult(rule, label, False, str(WHY_NO_VALUE)))
        else:
            try:
                held = _compare(fact.kind, rule["op"], read[name], rule["value"])
            except (TypeError, ValueError):
                held = False
            results.append(RuleResult(rule, label, held, "" if held else str(WHY_DIFFERS)))
    return results


# --- Saving a policy ----------------------------------------------------------------------------------


def save_policy(
    *,
    service,
    enabled: bool,
    rules: list,
    article=None,
    sample_percent: int | None = None,
):
    """Create or change the service's 秒批 policy, checked first (ValidationError by field)."""
    from django.db import transaction

    from .models import AutoApprovalPolicy

    with transaction.atomic():
        policy = AutoApprovalPolicy.objects.select_for_update().filter(service=service).first()
        policy = policy or AutoApprovalPolicy(service=service)
        policy.enabled, policy.rules = bool(enabled), rules
        policy.article, policy.sample_percent = article, sample_percent
        policy.full_clean()
        policy.save()
    return policy


def policy_document(service) -> dict | None:
    """The policy as the interchange format carries it (the article by law and article)."""
    from .models import AutoApprovalPolicy

    policy = AutoApprovalPolicy.objects.filter(service=service).select_related("article").first()
    if policy is None:
        return None
    article = policy.article
    return {
        "enabled": policy.enabled,
        "rules": policy.rules,
        "sample_percent": policy.sample_percent,
        "article": {"law": article.law, "article": article.article} if article else None,
    }
