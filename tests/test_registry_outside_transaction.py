"""A registry is never called inside the submission's transaction (issue 20): it is asked before,
and a case that changed meanwhile is refused with a clear conflict, nothing lost."""

import pytest

from accounts.models import Role
from cases import workflow
from cases.models import Case, SharingRequest
from cases.sharing.demo import enter_in_demo_registry

from .factories import StaffMembershipFactory, id_number_for, logged_in
from .support.registries import WatchingHouseholdRegistry
from .test_sharing import HOUSEHOLD, apply, submit
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
    # the material's lookup (the draft's prefill is asked inside the filing still)
    assert False in WatchingHouseholdRegistry.in_transaction


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
