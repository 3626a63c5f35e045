"""Proxy authorisations (委托) for 帮办代办: someone applies on another person's behalf.

An authorisation is given online by the principal from their own account, naming a registered
person by ID number and name, or recorded by a counter clerk who has checked the signed letter
(授权委托书) and keeps its scan. Cases filed under it name both people (cases/workflow/drafts.py).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import CitizenProfile, ProxyAuthorisation, User
from .services import find_citizen_by_id_number
from .validators import validate_id_number

# Long enough for a family member who handles an elderly parent's affairs; renewable.
MAX_VALIDITY_DAYS = 366 * 3
DEFAULT_VALIDITY_DAYS = 365


def _today() -> dt.date:
    return timezone.localdate()


def active() -> QuerySet[ProxyAuthorisation]:
    today = _today()
    return ProxyAuthorisation.objects.filter(
        revoked_at__isnull=True, valid_from__lte=today, valid_until__gte=today
    )


def held_by(user: User) -> QuerySet[ProxyAuthorisation]:
    """Authorisations the user may act under today (they are the agent)."""
    if not user.is_authenticated:
        return ProxyAuthorisation.objects.none()
    return active().filter(agent__user=user).select_related("principal").order_by("-created_at")


def given_by(user: User) -> QuerySet[ProxyAuthorisation]:
    """Everything the user has authorised, current or not, newest first."""
    if not user.is_authenticated:
        return ProxyAuthorisation.objects.none()
    return ProxyAuthorisation.objects.filter(principal__user=user).select_related("agent")


def authorisation_for(user: User, authorisation_id) -> ProxyAuthorisation:
    """The active authorisation `authorisation_id` held by `user`, or a field error."""
    found = (
        held_by(user).filter(pk=authorisation_id).first()
        if str(authorisation_id).isdigit()
        else None
    )
    if found is None:
        raise ValidationError(
            {"on_behalf_of": [_("You hold no current authorisation to apply for this person.")]}
        )
    return found


def _validity(valid_until: dt.date | None) -> dt.date:
    today = _today()
    valid_until = valid_until or today + dt.timedelta(days=DEFAULT_VALIDITY_DAYS)
    if valid_until < today:
        raise ValidationError({"valid_until": [_("The end date cannot be in the past.")]})
    if valid_until > today + dt.timedelta(days=MAX_VALIDITY_DAYS):
        raise ValidationError(
            {"valid_until": [_("An authorisation lasts at most three years; renew it later.")]}
        )
    return valid_until


def _relationship(value: str) -> str:
    if value not in ProxyAuthorisation.Relationship.values:
        raise ValidationError({"relationship": [_("Choose the relationship.")]})
    return value


def grant(
    *,
    principal_user: User,
    agent_id_number: str,
    agent_real_name: str,
    relationship: str,
    valid_until: dt.date | None = None,
    shares_documents: bool = False,
) -> ProxyAuthorisation:
    """The principal authorises a registered person, named by ID number and real name, to apply for
    them. Both must match one person, so a typo never authorises a stranger. `shares_documents`:
    the proxy may reuse the principal's documents and e-licences on file (off by default)."""
    principal = getattr(principal_user, "citizen_profile", None)
    if principal is None:
        raise ValidationError(
            {"agent_id_number": [_("Complete your real-name profile before you authorise anyone.")]}
        )
    try:
        validate_id_number(agent_id_number or "")
    except ValidationError as exc:  # a typo is told as such, not as "no such person"
        raise ValidationError({"agent_id_number": exc.messages}) from exc
    relationship = _relationship(relationship)
    valid_until = _validity(valid_until)
    agent = find_citizen_by_id_number(agent_id_number)
    if agent is None or agent.real_name != (agent_real_name or "").strip() or agent.user is None:
        raise ValidationError(
            {
                "agent_id_number": [
                    _(
                        "No registered person has this ID number and name. The person you "
                        "authorise registers on the portal first, with their own ID card."
                    )
                ]
            }
        )
    if agent.pk == principal.pk:
        raise ValidationError({"agent_id_number": [_("You cannot authorise yourself.")]})
    return ProxyAuthorisation.objects.create(
        principal=principal,
        agent=agent,
        relationship=relationship,
        valid_from=_today(),
        valid_until=valid_until,
        channel=ProxyAuthorisation.Channel.ONLINE,
        shares_documents=bool(shares_documents),
        recorded_by=principal_user,
    )


def revoke(*, principal_user: User, authorisation_id) -> ProxyAuthorisation:
    """The principal ends an authorisation; cases already filed under it stay theirs and visible to
    the agent, who filed them, but nothing new can be filed."""
    with transaction.atomic():
        found = (
            given_by(principal_user)
            .select_for_update()
            .filter(pk=authorisation_id, revoked_at__isnull=True)
            .first()
        )
        if found is None:
            raise PermissionDenied(_("No such current authorisation of yours."))
        found.revoked_at = timezone.now()
        found.save(update_fields=["revoked_at"])
    return found


def record_at_counter(
    *,
    clerk: User,
    principal: CitizenProfile,
    agent: CitizenProfile,
    relationship: str,
    letter_checked: bool,
    letter=None,
    valid_until: dt.date | None = None,
) -> tuple[ProxyAuthorisation, bool]:
    """A clerk records an authorisation from the signed letter shown at the counter: the agent's
    current authorisation is reused when there is one, so a family member who comes every month is
    not asked for a new letter each time. Without one, the clerk must have checked the letter."""
    existing = active().filter(principal=principal, agent=agent).order_by("-valid_until").first()
    if existing is not None and letter is None:
        return existing, False
    errors: dict[str, list[str]] = {}
    if principal.pk == agent.pk:
        errors["agent"] = [_("The proxy and the applicant are the same person.")]
    if not letter_checked:
        errors["letter_checked"] = [
            _("Check the signed authorisation letter (授权委托书) and the applicant's ID card.")
        ]
    try:
        relationship = _relationship(relationship)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        valid_until = valid_until or _today()  # by default, for today's visit only
        valid_until = _validity(valid_until)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    stored = None
    if letter is not None and not errors:
        from cases import uploads  # the one place uploads are checked and stored

        try:
            stored = uploads.store_upload(letter)
        except ValidationError as exc:
            errors["letter"] = exc.messages
    if errors:
        raise ValidationError(errors)
    created = ProxyAuthorisation.objects.create(
        principal=principal,
        agent=agent,
        relationship=relationship,
        valid_from=_today(),
        valid_until=valid_until,
        channel=ProxyAuthorisation.Channel.COUNTER,
        recorded_by=clerk,
        letter_stored_name=stored.stored_name if stored else "",
        letter_original_name=stored.original_name if stored else "",
        letter_content_type=stored.content_type if stored else "",
    )
    return created, True
