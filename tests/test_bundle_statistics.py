"""Bundles (一件事) in the public statistics, apart from single cases (issue 18): received, every
member concluded, ended otherwise, working days end to end; in the stats API, its JSON export and
on the public page."""

import re

import pytest
import time_machine
from django.test import Client

from accounts.models import Role
from cases import workflow
from cases.models import BundleApplication

from .test_bundles import (  # noqa: F401 - the bundle world of the bundle API tests
    _decide,
    _filed,
    bundle,
    client,
    departments,
    parent,
    private_media,
    services,
    staff,
)

pytestmark = pytest.mark.django_db


def _conclude(application, service, people):
    link = application.member_cases.get(service__code=service)
    case = _decide(link.case, people)
    if case.state != "concluded":
        workflow.apply_transition(case=case, name="conclude", actor=people[Role.CASEWORKER])


def test_bundles_are_counted_apart_with_their_days_end_to_end(bundle, client, staff):  # noqa: F811
    with time_machine.travel("2026-03-02 10:00 +0800", tick=False):  # a Monday
        done = BundleApplication.objects.get(number=_filed(client)["number"])
        other = BundleApplication.objects.get(number=_filed(client)["number"])
        _filed(client)  # received, still in progress
    with time_machine.travel("2026-03-05 10:00 +0800", tick=False):  # Thursday: 3 working days
        for service, department in (("PSB-BIRTH", "psb"), ("HSA-ENROL", "hsa")):
            _conclude(done, service, staff[department])
        _conclude(done, "HRSS-CARD", staff["hrss"])
        # 出生登记 refused: 社会保障卡 is never filed; the bundle ends without every member.
        birth = other.member_cases.get(service__code="PSB-BIRTH").case
        _decide(birth, staff["psb"], name="reject")
        _conclude(other, "HSA-ENROL", staff["hsa"])
    with time_machine.travel("2026-03-20 10:00 +0800", tick=False):
        body = Client().get("/api/v1/stats/?period=2026-03").json()
        page = Client().get("/stats/?period=2026-03").content.decode()
        lead = Client().get("/api/v1/stats/?period=2026-03&department=psb").json()
        elsewhere = Client().get("/api/v1/stats/?period=2026-03&department=hsa").json()
        before = Client().get("/api/v1/stats/?period=2026-02").json()
    totals = body["bundles"]["totals"]
    assert totals == {"received": 3, "completed": 1, "ended": 1, "completed_rate": 0.5,
                      "median_days": 3.0, "p90_days": 3}  # fmt: skip
    (row,) = body["bundles"]["bundles"]
    assert row["code"] == "YJS-BIRTH" and row["lead_department"] == "psb"
    assert row["received"] == 3 and row["completed"] == 1
    assert lead["bundles"]["totals"]["received"] == 3
    assert elsewhere["bundles"] == {"totals": {**totals, "received": 0, "completed": 0, "ended": 0,
                                               "completed_rate": None, "median_days": None,
                                               "p90_days": None}, "bundles": []}  # fmt: skip
    assert before["bundles"]["totals"]["received"] == 0

    def shown(element_id):
        match = re.search(rf'id="{element_id}">([^<]*)', page)
        return match.group(1).strip()

    assert shown("bundles-received") == "3"
    assert shown("bundles-completed") == "1"
    assert shown("bundles-days") == "3"
    assert "出生一件事" in page
