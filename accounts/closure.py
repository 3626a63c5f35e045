"""A citizen closes their account (注销): confirmed with the password, refused while a case of theirs
is in progress, never for staff (whose accounts an administrator ends).

What closing does, in one transaction:
- the account can no longer sign in (inactive, no usable password: every session's auth hash is
  void) and every API token of it ends;
- what nothing needs is removed: e-mail, username (replaced by `closed-<id>`), the name copied on
  the account, preferences, authenticator devices, the proxy authorisations given and held
  (revoked), company agencies (ended);
- drafts are purged at once (cases.retention.purge_draft: data and documents gone, trail kept);
- the citizen profile loses the phone and leaves the account: it keeps the name and ID number only
  while a case on file needs them (the department's records, until their retention period passes:
  cases.retention), exactly like a person registered at a counter; with no such case it is cleared
  at once. The account row itself stays (cases and the trail point to it) with `closed_at`.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import second_factor, tokens
from .models import Language, OrganisationAgent, ProxyAuthorisation, User


def cases_in_progress(user: User):
    """The submitted, not yet closed cases the user applied for, or applied for as a proxy."""
    from cases.access import cases_visible_to_applicant
    from cases.models import OPEN_STATES

    return cases_visible_to_applicant(user).filter(state__in=OPEN_STATES)


def close_account(*, user: User, password: str, now: dt.datetime | None = None) -> User:
    """Close `user`'s account (module docstring). Raises PermissionDenied for staff accounts and
    ValidationError with a field message for a wrong password (`password`) or cases in progress
    (`account`); nothing changes then."""
    from cases.models import Case
    from cases.retention import clear_profile, profiles_to_clear, purge_draft
    from services.models import OuterState

    now = now or timezone.now()
    if user.closed_at is not None or not user.is_active:
        raise ValidationError({"account": [_("This account is closed already.")]})
    if second_factor.is_staff_account(user):
        raise PermissionDenied(
            _("Staff accounts cannot be closed here: ask your department's administrator.")
        )
    if not user.check_password(password or ""):
        raise ValidationError({"password": [_("The password is wrong.")]})
    _refuse_while_in_progress(user)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        profile = getattr(user, "citizen_profile", None)
        drafts = Case.objects.filter(state=OuterState.DRAFT, purged_at__isnull=True).filter(
            Q(applicant__user=user) | Q(agent__user=user) | Q(filed_by=user)
        )
        for draft in list(drafts.only("pk")):
            purge_draft(case=draft, now=now, reason="account_closed")
        _refuse_while_in_progress(user)  # after the drafts: one handed in meanwhile counts
        tokens.revoke_tokens(user=user)
        second_factor_devices(user).delete()
        OrganisationAgent.objects.filter(user=user).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=timezone.localdate(now))
        ).update(valid_until=timezone.localdate(now))
        if profile is not None:
            ProxyAuthorisation.objects.filter(
                Q(principal=profile) | Q(agent=profile), revoked_at__isnull=True
            ).update(revoked_at=now)
            profile.phone, profile.user = "", None
            profile.save(update_fields=["phone", "user"])
        user.username = f"closed-{user.pk}"
        user.email = user.first_name = user.last_name = ""
        user.preferred_language, user.elder_mode = Language.ZH_HANS, False
        user.is_active, user.closed_at = False, now
        user.set_unusable_password()
        user.save()  # with the new password: User.save ends every token again
        if profile is not None and profiles_to_clear().filter(pk=profile.pk).exists():
            clear_profile(profile=profile)
    return user


def _refuse_while_in_progress(user: User) -> None:
    open_cases = list(cases_in_progress(user).values_list("number", flat=True)[:20])
    if open_cases:
        raise ValidationError(
            {
                "account": [
                    ngettext(
                        "Your application %(numbers)s is still in progress. You can close your "
                        "account once it is decided and closed, or after you withdraw it.",
                        "Your applications %(numbers)s are still in progress. You can close your "
                        "account once they are decided and closed, or after you withdraw them.",
                        len(open_cases),
                    )
                    % {"numbers": ", ".join(open_cases)}
                ]
            }
        )


def second_factor_devices(user: User):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user)
