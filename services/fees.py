"""The fee of a service version (收费): a declarative rule, checked when the version is saved and
evaluated over the answers of a case, in integer fen (分), never floats.

A rule is a JSON object; an empty one means the fee (if any) is not collected through the portal.
Either a fixed amount::

    {"amount_fen": 2000, "due": "before_result", "refund_on": ["rejected", "withdrawn"]}

or an amount per unit of a numeric form field, with an optional base and cap::

    {"per_unit_fen": 1000, "unit_field": "copies", "base_fen": 8000, "cap_fen": 20000,
     "due": "before_acceptance", "refund_on": ["not_accepted", "rejected", "withdrawn"]}

`due`: before acceptance (受理前缴费) or before the result is handed over (出证前缴费).
`refund_on`: the outcomes after which what was paid is refunded (退费). Nothing is evaluated as
code: the rule is data, and this module is the only reader.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

BEFORE_ACCEPTANCE = "before_acceptance"
BEFORE_RESULT = "before_result"
DUE_CHOICES = (BEFORE_ACCEPTANCE, BEFORE_RESULT)
REFUND_OUTCOMES = ("not_accepted", "rejected", "withdrawn")
MAX_FEN = 100_000_000  # ¥1,000,000: no service fee is larger; a typo of zeros is caught
KEYS = {"amount_fen", "per_unit_fen", "unit_field", "base_fen", "cap_fen", "due", "refund_on"}


def _fen(rule: dict, key: str, errors: list[str], *, positive: bool = False) -> None:
    value = rule.get(key)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        errors.append(
            _("“%(key)s” must be a whole number of fen (分), e.g. 2000 for ¥20.00.") % {"key": key}
        )
    elif value < (1 if positive else 0) or value > MAX_FEN:
        errors.append(_("“%(key)s” is out of range.") % {"key": key})


def check_fee_rule(rule, schema: dict | None = None) -> None:
    """Raise ValidationError (a list of messages) when `rule` is not a fee rule this module can
    evaluate; `schema`: the version's form, whose numeric field a per-unit rule must name."""
    if rule in (None, {}):
        return
    if not isinstance(rule, dict):
        raise ValidationError(_("The fee rule must be a JSON object."))
    errors: list[str] = []
    if unknown := sorted(set(rule) - KEYS):
        errors.append(_("Unknown keys in the fee rule: %(keys)s.") % {"keys": ", ".join(unknown)})
    fixed, per_unit = "amount_fen" in rule, "per_unit_fen" in rule
    if fixed == per_unit:
        errors.append(_("Give either “amount_fen” or “per_unit_fen” with “unit_field”."))
    _fen(rule, "amount_fen", errors, positive=True)
    _fen(rule, "per_unit_fen", errors, positive=True)
    _fen(rule, "base_fen", errors)
    _fen(rule, "cap_fen", errors, positive=True)
    if per_unit:
        field = rule.get("unit_field")
        properties = (schema or {}).get("properties") or {}
        if not isinstance(field, str) or not field:
            errors.append(_("Name the form field that counts the units (“unit_field”)."))
        elif schema is not None and (properties.get(field) or {}).get("type") not in (
            "integer",
            "number",
        ):
            errors.append(
                _("The form has no numeric field “%(field)s” to count the units.")
                % {"field": field}
            )
    elif "unit_field" in rule or "base_fen" in rule or "cap_fen" in rule:
        errors.append(_("“unit_field”, “base_fen” and “cap_fen” belong to a per-unit fee."))
    if rule.get("due") not in DUE_CHOICES:
        errors.append(
            _("Say when the fee is due: “due” is “before_acceptance” or “before_result”.")
        )
    refund_on = rule.get("refund_on", [])
    if not isinstance(refund_on, list) or any(o not in REFUND_OUTCOMES for o in refund_on):
        errors.append(
            _("“refund_on” lists outcomes among: %(outcomes)s.")
            % {"outcomes": ", ".join(REFUND_OUTCOMES)}
        )
    if errors:
        raise ValidationError(errors)


def amount_fen(rule: dict, data: dict | None) -> int:
    """The fee in fen for a case with answers `data` (the rule is valid: check_fee_rule held)."""
    if "amount_fen" in rule:
        return int(rule["amount_fen"])
    raw = (data or {}).get(rule["unit_field"])
    try:
        units = 0 if raw is None or isinstance(raw, bool) or raw == "" else int(raw)
    except (TypeError, ValueError):
        units = 0
    total = int(rule.get("base_fen", 0)) + int(rule["per_unit_fen"]) * max(units, 0)
    if "cap_fen" in rule:
        total = min(total, int(rule["cap_fen"]))
    return total


def yuan(fen: int) -> str:
    """¥ with two decimals, from integer fen: 2050 → "20.50" (integer arithmetic only)."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"
