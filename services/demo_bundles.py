"""The demo bundles (一件事一次办, issue 18), written as the documents of the bundle import format
(services.bundles.FORMAT) and imported by services.demo.load(); idempotent, as load runs on every
`make run`.

- 出生一件事 (led by 公安): 出生登记 (公安), 城乡居民医保参保 (医保) and 新生儿社会保障卡申领 (人社),
  which waits for 出生登记's result and is then filed with its case number.
- 开办企业一件事 (led by 市场监管): 个体工商户设立登记 (市场监管) and 个体工商户印章刻制备案 (公安),
  which waits for the business licence and is then filed with its number. (Members for
  organisations are refused in bundles for now, so both are services for the operator.)
"""

from __future__ import annotations

from django.db import transaction

from . import bundles
from .models import Bundle, ServiceItem

BIRTH = {
    "format": bundles.FORMAT,
    "code": "330100-YJS-001",
    "name": "出生一件事",
    "name_en": "Having a baby",
    "guide": (
        "新生儿出生后，父母一次填写、一次上传出生医学证明、一次提交，同时办理出生登记（公安）、"
        "城乡居民医保参保（医保）和社会保障卡申领（人社）。各部门按各自流程和时限办理；"
        "社会保障卡在出生登记办结后自动提交，出生登记编号自动带入，无需再次申请。"
    ),
    "guide_en": (
        "After a birth, parents fill in one form, upload the medical birth certificate once and "
        "submit once: the birth registration (police), residents' medical insurance (healthcare "
        "security) and the social security card (human resources and social security) are filed "
        "together. Each department works its own case in its own time; the card is filed by "
        "itself once the birth is registered, with the registration number filled in."
    ),
    "lead_department": "city-psb",
    "life_events": ["birth"],
    "members": [
        {"key": "birth", "service": "330100-PSB-QR-001",
         "fields": {"child_name": "child_name", "child_sex": "child_sex",
                    "birth_date": "birth_date", "consent": "consent"}},
        {"key": "insurance", "service": "330100-YB-DJ-001",
         "fields": {"child_name": "insured_name", "consent": "consent"}},
        {"key": "card", "service": "330100-RS-GG-002",
         "fields": {"child_name": "child_name", "child_sex": "child_sex",
                    "birth_date": "birth_date", "consent": "consent"}},
    ],
    "dependencies": [
        {"member": "card", "waits_for": "birth",
         "prefill": {"birth_registration": "case.number"}},
    ],
}  # fmt: skip

BUSINESS = {
    "format": bundles.FORMAT,
    "code": "330100-YJS-002",
    "name": "开办企业一件事",
    "name_en": "Starting a business",
    "guide": (
        "个体工商户经营者一次填写、一次提交，办理个体工商户设立登记（市场监管）和印章刻制备案（公安）。"
        "营业执照核发后，印章刻制备案自动提交，执照编号自动带入。"
    ),
    "guide_en": (
        "The operator of an individual business fills in one form and submits once: the "
        "registration (market regulation) and the record of the seal (police). The seal record is "
        "filed by itself once the business licence is issued, with its number filled in."
    ),
    "lead_department": "city-amr",
    "life_events": ["starting-a-business"],
    "members": [
        {"key": "registration", "service": "330100-AMR-DJ-001",
         "fields": {"business_name": "business_name", "consent": "consent"}},
        {"key": "seal", "service": "330100-PSB-BA-001",
         "fields": {"business_name": "business_name", "consent": "consent"}},
    ],
    "dependencies": [
        {"member": "seal", "waits_for": "registration",
         "prefill": {"licence_number": "licence.number"}},
    ],
}  # fmt: skip

DOCUMENTS = [BIRTH, BUSINESS]


def _insurance_for_newborns() -> None:
    """Databases loaded before 出生一件事 hold 城乡居民医保参保 asking every insured person for an
    ID number, which a newborn gets only at 出生登记: publish the demo's current form as a new
    version (cases filed under the old one keep it)."""
    from .catalog import publish_version, start_new_draft, update_draft
    from .demo import _services

    item = ServiceItem.objects.filter(code="330100-YB-DJ-001").select_related("current_version")
    item = item.first()
    if item is None or "insured_id" not in item.current_version.form_schema.get("required", []):
        return
    form = next(s["form"] for s in _services() if s["code"] == item.code)
    draft = start_new_draft(service=item)
    draft = update_draft(version=draft, fields={"form_schema": form})
    publish_version(version=draft)


@transaction.atomic
def load_bundles() -> int:
    """Import and publish each demo bundle not there yet; return how many demo bundles exist."""
    _insurance_for_newborns()
    for document in DOCUMENTS:
        if not Bundle.objects.filter(code=document["code"]).exists():
            bundles.import_bundle(document=document, publish=True)
    return Bundle.objects.filter(code__in=[d["code"] for d in DOCUMENTS]).count()
