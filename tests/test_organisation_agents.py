"""法人授权 (issue 17 item 3): an organisation's legal representative authorises agents online, and
nobody else may."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone
from stdnum.cn import uscc

from accounts.models import Organisation, OrganisationAgent

from .factories import CitizenProfileFactory, logged_in, make_service


def _uscc(body: str) -> str:
    return body + uscc.calc_check_digit(body)


@pytest.fixture
def company(db):
    organisation = Organisation.objects.create(
        uscc=_uscc("91110105MA01ABCD7"), name="示范科技有限公司", legal_representative="李华"
    )
    boss = CitizenProfileFactory(real_name="李华", user__username="boss")
    OrganisationAgent.objects.create(
        organisation=organisation, user=boss.user, valid_from=dt.date(2024, 1, 1),
        is_legal_representative=True,
    )  # fmt: skip
    clerk = CitizenProfileFactory(real_name="王会计", user__username="accountant")
    return {"organisation": organisation, "boss": boss.user, "clerk": clerk}


def page(organisation):
    return reverse("accounts:organisation_agents", args=[organisation.uscc])


def until(days=90):
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


@pytest.mark.django_db
def test_the_legal_representative_adds_lists_and_ends_an_agent(company):
    boss = logged_in(company["boss"])
    organisation = company["organisation"]
    assert organisation.name in boss.get(reverse("accounts:profile")).content.decode()
    added = boss.post(
        page(organisation),
        {"authorise": "1", "agent_id_number": company["clerk"].id_number,
         "agent_real_name": "王会计", "valid_until": until()},
    )  # fmt: skip
    assert added.status_code == 302
    agency = OrganisationAgent.objects.get(user=company["clerk"].user)
    assert agency.valid_from == timezone.localdate() and agency.valid_until.isoformat() == until()
    listed = boss.get(page(organisation)).content.decode()
    assert "王会计" in listed and until() in listed
    # The agent may now apply for the company; once ended, no more.
    make_service("ORG-1")
    agent = logged_in(company["clerk"].user)

    def apply():
        return agent.post(
            "/api/v1/applications/",
            {"service": "ORG-1", "data": {"shop_area": 20}, "agent_for": organisation.pk},
            content_type="application/json",
        )

    assert apply().status_code == 201
    ended = boss.post(page(organisation), {"end": str(agency.pk)})
    assert ended.status_code == 302
    refused = apply()
    assert refused.status_code == 400 and "agent_for" in refused.json()["errors"]
    assert not OrganisationAgent.objects.filter(
        user=company["clerk"].user, valid_until__gte=timezone.localdate()
    ).exists()
    events = set(
        LogEntry.objects.filter(additional_data__organisation=organisation.uscc).values_list(
            "additional_data__event", flat=True
        )
    )
    assert events == {"agent_authorised", "agent_authorisation_withdrawn"}


@pytest.mark.django_db
def test_by_username_and_field_errors(company):
    boss = logged_in(company["boss"])
    organisation = company["organisation"]
    boss.cookies["django_language"] = "en"
    nobody = boss.post(page(organisation), {"authorise": "1", "agent_username": "ghost",
                                             "valid_until": until()})  # fmt: skip
    assert nobody.status_code == 400
    assert "No registered citizen" in " ".join(nobody.context["form"].errors["agent_username"])
    wrong_name = boss.post(page(organisation), {"authorise": "1", "agent_real_name": "别人",
        "agent_id_number": company["clerk"].id_number, "valid_until": until()})  # fmt: skip
    assert wrong_name.status_code == 400 and wrong_name.context["form"].errors["agent_id_number"]
    too_long = boss.post(page(organisation), {"authorise": "1", "agent_username": "accountant",
                                               "valid_until": until(5 * 365)})  # fmt: skip
    assert too_long.status_code == 400 and too_long.context["form"].errors["valid_until"]
    no_end = boss.post(page(organisation), {"authorise": "1", "agent_username": "accountant"})
    assert no_end.status_code == 400 and no_end.context["form"].errors["valid_until"]
    assert not OrganisationAgent.objects.filter(user=company["clerk"].user).exists()
    ok = boss.post(page(organisation), {"authorise": "1", "agent_username": "ACCOUNTANT",
                                         "valid_until": until()})  # fmt: skip
    assert ok.status_code == 302


@pytest.mark.django_db
def test_only_the_legal_representative_of_that_organisation_may(company):
    organisation = company["organisation"]
    # An agent (not the legal representative) of the company.
    OrganisationAgent.objects.create(
        organisation=organisation, user=company["clerk"].user, valid_from=dt.date(2024, 1, 1)
    )
    stranger = CitizenProfileFactory(user__username="stranger").user
    other_boss = CitizenProfileFactory(user__username="otherboss").user
    other = Organisation.objects.create(
        uscc=_uscc("91110105MA01WXYT7"), name="别家公司", legal_representative="某人"
    )
    OrganisationAgent.objects.create(
        organisation=other, user=other_boss, valid_from=dt.date(2024, 1, 1),
        is_legal_representative=True,
    )  # fmt: skip
    former_boss = CitizenProfileFactory(user__username="former").user
    OrganisationAgent.objects.create(
        organisation=organisation, user=former_boss, valid_from=dt.date(2020, 1, 1),
        valid_until=dt.date(2023, 12, 31), is_legal_representative=True,
    )  # fmt: skip
    grab = {"authorise": "1", "agent_username": "stranger", "valid_until": until()}
    agency = OrganisationAgent.objects.get(user=company["clerk"].user)
    for user in (company["clerk"].user, stranger, other_boss, former_boss):
        client = logged_in(user)
        assert client.get(page(organisation)).status_code == 404
        assert client.post(page(organisation), grab).status_code == 404
        assert client.post(page(organisation), {"end": str(agency.pk)}).status_code == 404
    assert not OrganisationAgent.objects.filter(user=stranger).exists()
    agency.refresh_from_db()
    assert agency.valid_until is None
    # The other company's legal representative cannot end this company's agent from their page.
    logged_in(other_boss).post(page(other), {"end": str(agency.pk)})
    agency.refresh_from_db()
    assert agency.valid_until is None
    # Signed out: to the sign-in page.
    from django.test import Client

    assert Client().get(page(organisation)).status_code == 302


@pytest.mark.django_db
def test_the_start_page_offers_only_the_organisations_one_may_act_for_today(company):
    organisation = company["organisation"]
    former = Organisation.objects.create(
        uscc=_uscc("91110105MA01ABCE8"), name="旧东家有限公司", legal_representative="张某"
    )
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    OrganisationAgent.objects.create(
        organisation=former, user=company["boss"], valid_from=dt.date(2024, 1, 1),
        valid_until=yesterday,
    )  # fmt: skip
    make_service("ORG-2", audience="both")
    start = logged_in(company["boss"]).get(reverse("cases:start", args=["ORG-2"])).content.decode()
    assert organisation.name in start and "旧东家有限公司" not in start
