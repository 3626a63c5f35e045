"""The demo service centre (`make run`): 示范市民中心, operated by the demo city's service centre
department, with windows 1–4 for the demo services that need a visit and bookings for each of them.
Idempotent: a centre an admin changed keeps its changes; missing services and windows are added."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from accounts.models import Department
from services.models import ServiceItem

from .models import CentreService, ServiceCentre, Window

CENTRE_CODE = "demo-citizens-centre"
CENTRE = {
    "name": "示范市民中心",
    "name_en": "Demo City Citizens' Centre",
    "address": "示范市解放东路18号 市民中心B座1楼",
    "address_en": "Citizens' Centre, Building B, ground floor, 18 Jiefang East Road, Demo City",
    "phone": "0571-12345",
    "opens_at": dt.time(9, 0),
    "closes_at": dt.time(17, 0),
    "lunch_from": dt.time(12, 0),
    "lunch_until": dt.time(13, 30),
}
OPERATORS = ("city-centre", "demo-city")


def _visit_services() -> list[ServiceItem]:
    return list(
        ServiceItem.objects.filter(
            status=ServiceItem.Status.PUBLISHED, current_version__visits_required__gte=1
        ).order_by("code")
    )


@transaction.atomic
def load() -> int:
    """The demo centre and its services; how many services it books."""
    department = (
        Department.objects.filter(code__in=OPERATORS).order_by("code").first()
        or Department.objects.filter(parent__isnull=True).first()
    )
    if department is None:
        return 0
    centre, _created = ServiceCentre.objects.get_or_create(
        code=CENTRE_CODE, defaults={**CENTRE, "department": department}
    )
    services = _visit_services()
    for service in services:
        CentreService.objects.get_or_create(
            centre=centre, service=service, defaults={"slot_minutes": 30, "capacity": 2}
        )
    half = (len(services) + 1) // 2
    # Windows 1 and 2 serve everything (综合窗口); 3 and 4 share the services between them.
    for number, label, served in (
        (1, "综合窗口", services),
        (2, "综合窗口", services),
        (3, "", services[:half]),
        (4, "", services[half:]),
    ):
        window, created = Window.objects.get_or_create(
            centre=centre, number=number, defaults={"label": label}
        )
        if created:
            window.services.set(served)
    return centre.services.count()
