"""法人授权: an organisation's legal representative authorises its agents (法人经办人) online.

Only the organisation's current legal representative (an OrganisationAgent row with
is_legal_representative, valid today) may add an agent, naming them by their portal account (the
username, or the ID number and real name they registered with), for a period, and end an agent's
authorisation. Every grant and end is written to the audit log. Department and system admins still
manage agents in Django admin too.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Organisation, OrganisationAgent, User
from .services import find_citizen_by_id_number
from .validators import validate_id_number

MAX_VALIDITY_DAYS = 366 * 3


def _today() -> dt.date:
    return timezone.localdate()


def _current(queryset: QuerySet[OrganisationAgent]) -> QuerySet[OrganisationAgent]:
    today = _today()
    return queryset.filter(valid_from__lte=today).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today)
    )


def current_agencies(user: User) -> QuerySet[OrganisationAgent]:
    """The organisations `user` may act for today (法人经办人 or legal representative)."""
    return _current(OrganisationAgent.objects.filter(user=user)).select_related("organisation")


def represented_by(user: User) -> QuerySet[Organisation]:
    """The organisations `user` is the legal representative of today."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    rows = _current(OrganisationAgent.objects.filter(user=user, is_legal_representative=True))
    return Organisation.objects.filter(pk__in=rows.values("organisation_id")).order_by("name")


def organisation_for_representative(user: User, uscc: str) -> Organisation:
    """The organisation `uscc` if `user` represents it today; PermissionDenied otherwise (whether it
    exists or not: a page answers 404 either way)."""
    found = represented_by(user).filter(uscc=(uscc or "").upper()).first()
    if found is None:
        raise PermissionDenied(_("Only the organisation's legal representative may do this."))
    return found


def agents_of(organisation: Organisation) -> QuerySet[OrganisationAgent]:
    return organisation.agents.select_related("user", "user__citizen_profile").order_by(
        "-is_legal_representative", "-valid_from", "pk"
    )


def _agent_account(*, username: str, id_number: str, real_name: str) -> User:
    username, id_number, real_name = (
        (username or "").strip(),
        (id_number or "").strip(),
        (real_name or "").strip(),
    )
    if username:
        user = User.objects.filter(username__iexact=username, is_active=True).first()
        if user is None or not hasattr(user, "citizen_profile"):
            raise ValidationError(
                {"agent_username": [_("No registered citizen has this username.")]}
            )
        return user
    if not id_number and not real_name:
        raise ValidationError(
            {
                "agent_username": [
                    _("Name the agent: their username, or their ID number and real name.")
                ]
            }
        )
    problems: dict[str, list[str]] = {}
    try:
        validate_id_number(id_number)
    except ValidationError as exc:
        problems["agent_id_number"] = exc.messages
    if not real_name:
        problems["agent_real_name"] = [_("Enter the agent's real name as on their ID card.")]
    if problems:
        raise ValidationError(problems)
    profile = find_citizen_by_id_number(id_number)
    if profile is None or profile.user_id is None or profile.real_name != real_name:
        raise ValidationError(
            {
                "agent_id_number": [
                    _(
                        "No registered citizen has this ID number and name: they must register "
                        "on the portal first."
                    )
                ]
            }
        )
    return profile.user


def _period(valid_from: dt.date | None, valid_until: dt.date | None) -> tuple[dt.date, dt.date]:
    today = _today()
    valid_from = valid_from or today
    if valid_from < today:
        raise ValidationError({"valid_from": [_("The first day cannot be in the past.")]})
    if valid_until is None:
        raise ValidationError({"valid_until": [_("Enter the last day the agent may act.")]})
    if valid_until < valid_from:
        raise ValidationError({"valid_until": [_("The last day cannot be before the first.")]})
    if valid_until > today + dt.timedelta(days=MAX_VALIDITY_DAYS):
        raise ValidationError(
            {"valid_until": [_("An authorisation lasts at most three years; renew it later.")]}
        )
    return valid_from, valid_until


def _log(agency: OrganisationAgent, *, actor: User, event: str) -> None:
    from auditlog.models import LogEntry

    LogEntry.objects.log_create(
        agency,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        actor=actor,
        object_repr=f"agent #{agency.user_id} of organisation #{agency.organisation_id}",
        changes={
            "valid_from": [None, str(agency.valid_from)],
            "valid_until": [None, str(agency.valid_until)],
        },
        additional_data={"event": event, "organisation": agency.organisation.uscc},
    )


@transaction.atomic
def authorise_agent(
    *,
    actor: User,
    organisation: Organisation,
    agent_username: str = "",
    agent_id_number: str = "",
    agent_real_name: str = "",
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
) -> OrganisationAgent:
    """The legal representative authorises an agent for a period (a renewed or changed period for
    someone already an agent). Raises PermissionDenied for anyone else, ValidationError by field."""
    organisation = organisation_for_representative(actor, organisation.uscc)
    agent = _agent_account(
        username=agent_username, id_number=agent_id_number, real_name=agent_real_name
    )
    valid_from, valid_until = _period(valid_from, valid_until)
    existing = (
        OrganisationAgent.objects.select_for_update()
        .filter(organisation=organisation, user=agent)
        .first()
    )
    if existing is not None and existing.is_legal_representative:
        raise ValidationError(
            {"agent_username": [_("The legal representative acts for the organisation already.")]}
        )
    if existing is None:
        existing = OrganisationAgent(organisation=organisation, user=agent)
    existing.valid_from, existing.valid_until = valid_from, valid_until
    existing.save()
    _log(existing, actor=actor, event="agent_authorised")
    return existing


@transaction.atomic
def end_agent_authorisation(*, actor: User, organisation: Organisation, agency_id) -> None:
    """End an agent's authorisation now: yesterday becomes its last day (an authorisation that had
    not begun before today is withdrawn). The legal representative's own row is not theirs to end."""
    organisation = organisation_for_representative(actor, organisation.uscc)
    agency = (
        OrganisationAgent.objects.select_for_update()
        .filter(organisation=organisation, pk=agency_id if str(agency_id).isdigit() else None)
        .first()
    )
    if agency is None or agency.is_legal_representative:
        raise PermissionDenied(_("There is no such authorisation to end."))
    yesterday = _today() - dt.timedelta(days=1)
    if agency.valid_from <= yesterday:
        if agency.valid_until is None or agency.valid_until > yesterday:
            agency.valid_until = yesterday
            agency.save(update_fields=["valid_until"])
        _log(agency, actor=actor, event="agent_authorisation_ended")
    else:
        _log(agency, actor=actor, event="agent_authorisation_withdrawn")
        agency.delete()
