"""免申即享 (benefits without applying): a service's policy, checked when saved, and as the
interchange format carries it. The sweep, the offers and the cases they file: cases.proactive.

A policy's eligibility rules have the form of 秒批 rules (services.auto_rules) and name registry
facts only (`registry.<code>.<fact>`, cases.sharing.facts), those the registry can answer for
everyone at once (`Registry.set_facts`: a daily sweep never asks person by person); the service
must hold a sharing grant (SharingGrant) for the fields they need. `answers` fill the form of the
case filed for the person: a fixed value, or `{"identity": "real_name" | "id_number" | "phone"}`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from .auto_rules import rule_problems, split
from .schema import ordered_properties

IDENTITY_SOURCES = ("real_name", "id_number", "phone")


def _version(service):
    if service is None:
        return None
    return service.current_version or service.versions.order_by("-number").first()


def registry_rules(rules: list[dict]) -> dict[str, list[dict]]:
    """The rules by the registry they ask: {registry code: [rule, ...]}."""
    grouped: dict[str, list[dict]] = {}
    for rule in rules:
        _source, name = split(rule.get("fact", ""))
        code, _dot, _fact = name.partition(".")
        grouped.setdefault(code, []).append(rule)
    return grouped


def _rules_problems(service, rules, *, enabled: bool) -> list[str]:
    from cases.sharing.registry import get_registry

    version = _version(service)
    problems = rule_problems(rules, version)
    if problems:
        return problems
    grants = {g.registry: set(g.fields) for g in service.sharing_grants.all()} if service else {}
    for number, rule in enumerate(rules, start=1):
        prefix = _("Rule %(n)s: ") % {"n": number}
        source, name = split(rule["fact"])
        code, _dot, fact = name.partition(".")
        registry = get_registry(code) if source == "registry" else None
        if registry is None:
            problems.append(
                prefix + _("eligibility is found in registry data: name a registry fact.")
            )
        elif fact not in registry.set_facts():
            problems.append(
                prefix
                + _(
                    "%(registry)s cannot find everyone with “%(fact)s” at once; use one of: %(known)s."
                )
                % {
                    "registry": registry.label,
                    "fact": fact,
                    "known": ", ".join(
                        f"registry.{code}.{f}" for f in sorted(registry.set_facts())
                    ),
                }
            )
        elif (
            enabled
            and service is not None
            and set(registry.fields_for([fact])) - grants.get(code, set())
        ):
            problems.append(
                prefix
                + _("the service has no sharing grant to ask %(registry)s for %(fields)s.")
                % {"registry": registry.label, "fields": ", ".join(registry.fields_for([fact]))}
            )
    return problems


def _answers_problems(service, answers) -> list[str]:
    if not isinstance(answers, dict):
        return [_('Give the answers as an object, e.g. {"relation": "self"}.')]
    version = _version(service)
    fields = dict(ordered_properties(version.form_schema or {})) if version else None
    problems = []
    for name, value in answers.items():
        if fields is not None and name not in fields:
            problems.append(_("The form has no field “%(name)s”.") % {"name": name})
        elif isinstance(value, dict) and (
            set(value) != {"identity"} or value["identity"] not in IDENTITY_SOURCES
        ):
            problems.append(
                _("“%(name)s”: an answer from the person's identity is written "
                  '{"identity": "real_name"} (or id_number, phone).') % {"name": name}
            )  # fmt: skip
    return problems


def policy_problems(*, service, enabled: bool, rules, answers) -> dict[str, list[str]]:
    """Every problem of a policy by field; empty when it may be saved. The service's sharing
    grants must cover the rules' fields to switch it on."""
    errors = {}
    if problems := _rules_problems(service, rules, enabled=enabled):
        errors["rules"] = problems
    elif enabled and not rules:
        errors["rules"] = [_("Give at least one eligibility rule, or turn 免申即享 off.")]
    if problems := _answers_problems(service, answers):
        errors["answers"] = problems
    return errors


def save_proactive_policy(*, service, enabled: bool, mode: str, rules: list, answers: dict):
    """Create or change the service's 免申即享 policy, checked first (ValidationError by field)."""
    from .models import ProactivePolicy

    with transaction.atomic():
        policy = ProactivePolicy.objects.select_for_update().filter(service=service).first()
        policy = policy or ProactivePolicy(service=service)
        policy.enabled, policy.mode = bool(enabled), mode
        policy.rules, policy.answers = rules, answers
        policy.full_clean()
        policy.save()
    return policy


def proactive_document(service) -> dict | None:
    """The policy as the interchange format carries it; null when the service has none."""
    from .models import ProactivePolicy

    policy = ProactivePolicy.objects.filter(service=service).first()
    if policy is None:
        return None
    return {
        "enabled": policy.enabled,
        "mode": policy.mode,
        "rules": policy.rules,
        "answers": policy.answers,
    }


def filed_answers(answers: dict, profile) -> dict:
    """The form data of the case filed for `profile` (its identity answers filled in)."""
    values = {
        "real_name": profile.real_name,
        "id_number": profile.id_number,
        "phone": profile.phone,
    }
    return {
        name: values[value["identity"]] if isinstance(value, dict) else value
        for name, value in (answers or {}).items()
    }
