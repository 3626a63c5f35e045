"""The demo's 免申即享: 高龄津贴 (330108-WH-GF-001) offered to residents aged 80 and over, found in
the household register (cases.sharing.demo); the demo grandmother 张秀兰 (born 1946) is one. The
case filed is the elder's own: the answers name her, from her verified identity."""

from __future__ import annotations

from django.db import transaction

from services.models import ProactivePolicy, ServiceItem
from services.proactive import save_proactive_policy

OLD_AGE_ALLOWANCE = "330108-WH-GF-001"
RULES = [
    {"fact": "registry.household.resident", "op": "eq", "value": True, "label": "本市户籍"},
    {"fact": "registry.household.age", "op": "gte", "value": 80, "label": "年满80周岁"},
]
ANSWERS = {
    "elder_name": {"identity": "real_name"},
    "elder_id": {"identity": "id_number"},
    "relation": "self",
    "consent": True,  # confirming the offer is the declaration
}


@transaction.atomic
def load() -> int:
    """The demo policies, unless an admin set one already; how many services have one."""
    service = ServiceItem.objects.filter(code=OLD_AGE_ALLOWANCE).first()
    if service is not None and not ProactivePolicy.objects.filter(service=service).exists():
        save_proactive_policy(
            service=service,
            enabled=True,
            mode=ProactivePolicy.Mode.OFFER,
            rules=RULES,
            answers=ANSWERS,
        )
    return ProactivePolicy.objects.filter(enabled=True).count()
