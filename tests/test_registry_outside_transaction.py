"""A registry is never called inside the submission's transaction (issue 20): it is asked before,
and a case that changed meanwhile is refused with a clear conflict, nothing lost."""

import pytest

from accounts.models import Role
from cases import workflow
from cases.models import Case, SharingRequest
from cases.sharing.demo import enter_in_demo_registry

from .factories import StaffMembershipFactory, id_number_for, logged_in
from .support.registries import WatchingHouseholdRegistry
from .test_sharing import ADDRESS, HOUSEHOLD, apply, submit
from .test_sharing import world as world  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)
WATCHING = "tests.support.registries.WatchingHouseholdRegistry"


@pytest.fixture
def watched(world, settings):  # noqa: F811
    settings.DATA_REGISTRIES = [WATCHING]
    WatchingHouseholdRegistry.in_transaction = []
    WatchingHouseholdRegistry.meanwhile = None
    yield world
    WatchingHouseholdRegistry.meanwhile = None


def test_the_registry_is_asked_outside_the_transaction_online_and_logged_inside(watched):
    number = apply(watched["citizen"], watched["service"])
    WatchingHouseholdRegistry.in_transaction.clear()  # the draft's prefill asked already
    submitted = submit(watched["citizen"], number)
    assert submitted.status_code == 200, submitted.json()
    assert WatchingHouseholdRegistry.in_transaction == [False]
    (shared,) = submitted.json()["shared_materials"]
    assert shared["verified"] is True
    assert SharingRequest.objects.get(case__number=number, purpose="material").outcome == "found"


def test_the_registry_is_asked_outside_the_transaction_at_a_counter(watched):
    clerk = StaffMembershipFactory(department=watched["amr"], role=Role.COUNTER_CLERK).user
    walk_in = {"id_number": id_number_for(862), "real_name": "王大爷", "phone": "13512345678"}
    enter_in_demo_registry(
        registry="household", id_number=walk_in["id_number"], data={**HOUSEHOLD, "name": "王大爷"}
    )
    filed = logged_in(clerk).post(
        "/api/v1/counter/applications/",
        {"citizen": walk_in, "service": "SH-1", "data": {"shop_area": 12},
         "materials_received": []},
        content_type="application/json",
    )  # fmt: skip
    assert filed.status_code == 201, filed.json()
    (shared,) = filed.json()["shared_materials"]
    assert shared["verified"] is True
    # the draft's prefill (the address) and the material's lookup, both before the filing's
    # transaction, and logged inside it
    assert WatchingHouseholdRegistry.in_transaction == [False, False]
    case = Case.objects.get(number=filed.json()["number"])
    assert case.data["home_address"] == ADDRESS
    assert set(case.sharing_requests.values_list("purpose", "outcome")) == {
        ("prefill", "found"), ("material", "found")
    }  # fmt: skip


def test_the_draft_prefill_is_asked_outside_the_transaction_and_logged_inside(watched):
    number = apply(watched["citizen"], watched["service"])
    assert WatchingHouseholdRegistry.in_transaction == [False]
    case = Case.objects.get(number=number)
    assert case.data["home_address"] == ADDRESS
    (prefill,) = SharingRequest.objects.filter(case=case, purpose="prefill")
    assert (prefill.outcome, prefill.fields) == ("found", ["address"])


def test_a_case_changed_while_the_registry_answered_is_refused_clearly_and_nothing_is_lost(
    watched,
):
    citizen, applicant = watched["citizen"], watched["applicant"]
    number = apply(citizen, watched["service"])
    case = Case.objects.get(number=number)

    def autosave_from_another_tab():
        workflow.update_draft(case=case, user=applicant.user, data={"shop_area": 40})

    WatchingHouseholdRegistry.meanwhile = autosave_from_another_tab
    refused = submit(citizen, number)
    assert refused.status_code == 409
    assert "changed while it was being handed in" in refused.json()["detail"]
    case.refresh_from_db()
    assert case.is_draft and case.data["shop_area"] == 40  # the other tab's answer kept
    assert not SharingRequest.objects.filter(case=case, purpose="material").exists()

    page = citizen.post(f"/applications/{number}/review/")  # the page says so too
    assert page.status_code == 400
    assert "changed while it was being handed in" in page.content.decode()

    WatchingHouseholdRegistry.meanwhile = None
    again = submit(citizen, number)
    assert again.status_code == 200 and again.json()["state"] == "submitted"


class Lookups(list):
    """Every registry lookup of the sharing services (`_ask`, where each one is made) as (registry
    code, whether a transaction was open on the connection); `meanwhile`, done at the next one."""

    meanwhile = None

    def outside(self) -> bool:
        return bool(self) and not any(inside for _code, inside in self)


@pytest.fixture
def lookups(monkeypatch):
    from django.db import connection

    from cases.sharing import services as sharing

    made, ask = Lookups(), sharing._ask

    def watched_ask(registry, code, person, fields):
        made.append((code, connection.in_atomic_block))
        if made.meanwhile is not None:
            action, made.meanwhile = made.meanwhile, None
            action()
        return ask(registry, code, person, fields)

    monkeypatch.setattr(sharing, "_ask", watched_ask)
    return made


@pytest.fixture
def demo(settings, tmp_path):
    from django.core.management import call_command

    settings.DEBUG = True
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    call_command("load_demo")


def _birth_bundle_ready(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from services.demo_bundles import BIRTH

    from . import files
    from .test_demo_bundles import BIRTH_ANSWERS

    made = client.post(
        "/api/v1/bundle-applications/", {"bundle": BIRTH["code"], "data": BIRTH_ANSWERS},
        content_type="application/json",
    )  # fmt: skip
    assert made.status_code == 201, made.json()
    number = made.json()["number"]
    pdf = SimpleUploadedFile("file.pdf", files.PDF, content_type="application/pdf")
    material = made.json()["missing_materials"][0]["id"]
    attached = client.post(
        f"/api/v1/bundle-applications/{number}/attachments/", {"material": material, "file": pdf}
    )
    assert attached.status_code == 201, attached.json()
    return number


def test_a_bundle_submission_asks_the_registries_outside_its_transaction(demo, lookups):
    from django.test import Client

    from accounts.models import User
    from cases.bundles.services import update_bundle_application
    from cases.models import BundleApplication

    client = Client()
    client.force_login(User.objects.get(username="citizen"))
    number = _birth_bundle_ready(client)
    application = BundleApplication.objects.get(number=number)

    def answers_changed_in_another_tab():
        update_bundle_application(
            application=application, user=application.filed_by, data=application.data
        )

    lookups.clear()
    lookups.meanwhile = answers_changed_in_another_tab
    refused = client.post(f"/api/v1/bundle-applications/{number}/submit/")
    assert refused.status_code == 409, refused.json()
    assert "此申请在提交过程中已被修改" in refused.json()["detail"]
    application.refresh_from_db()
    assert application.state == "draft" and application.attachments.count() == 1
    assert not Case.objects.filter(bundle_link__application=application).exists()
    assert lookups.outside()
    lookups.meanwhile = answers_changed_in_another_tab  # the page says so too
    page = client.post(f"/applications/bundles/{number}/materials/", {"submit": "1"})
    assert page.status_code == 400
    assert "此申请在提交过程中已被修改" in page.content.decode()

    lookups.clear()
    submitted = client.post(f"/api/v1/bundle-applications/{number}/submit/")
    assert submitted.status_code == 200, submitted.json()
    assert lookups.outside()
    members = {m["service"]: m for m in submitted.json()["members"]}
    filed = Case.objects.filter(number__in=[m["number"] for m in members.values() if m["number"]])
    assert filed.count() == 2
    logged = SharingRequest.objects.filter(case__in=filed, purpose="material")
    assert logged.count() == 2 and {r.outcome for r in logged} == {"found"}


def test_a_counter_bundle_asks_the_registries_outside_its_transaction(demo, lookups):
    from django.test import Client

    from accounts.models import Department
    from cases.models import BundleApplication
    from services import bundles
    from services.demo_bundles import BIRTH
    from services.models import Bundle

    from .test_demo_bundles import BIRTH_ANSWERS

    clerk = StaffMembershipFactory(
        department=Department.objects.get(code="city-psb"), role=Role.COUNTER_CLERK
    ).user
    client = Client()
    client.force_login(clerk)
    walk_in = {"id_number": id_number_for(873), "real_name": "陈妈妈", "phone": "13712345678"}
    bundle = Bundle.objects.get(code=BIRTH["code"])
    (certificate,) = [
        m["id"] for m in bundles.combined_materials(bundle) if m["name"] == "出生医学证明"
    ]
    lookups.clear()
    filed = client.post(
        "/api/v1/counter/bundle-applications/",
        {"citizen": walk_in, "bundle": BIRTH["code"], "data": BIRTH_ANSWERS,
         "materials_received": [certificate]},
        content_type="application/json",
    )  # fmt: skip
    assert filed.status_code == 201, filed.json()
    assert lookups.outside()
    application = BundleApplication.objects.get(number=filed.json()["number"])
    logged = SharingRequest.objects.filter(
        case__bundle_link__application=application, purpose="material"
    )
    assert logged.count() == 2 and {r.channel for r in logged} == {"counter"}
