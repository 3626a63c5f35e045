"""告知承诺 after the decision: the department checks (核查) what the applicant promised, by a
deadline; a false commitment lets the department head revoke the licence the decision gave, with a
reason the applicant reads. Each step is in the case's trail."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, StaffMembership, User
from services.calendar import add_working_days_provisional

from ..models import Case, Verification
from ..vocabulary import EventAction
from .errors import CaseConflict
from .trail import append_event, locked

# The department checks a commitment within this many working days of the decision.
VERIFICATION_WORKING_DAYS = 20
CHECKING_ROLES = {Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD}


def open_verification(case: Case, day: dt.date) -> Verification:
    """The check of a commitment, for the deciding department (once per case)."""
    due, _provisional = add_working_days_provisional(day, VERIFICATION_WORKING_DAYS)
    verification, _created = Verification.objects.get_or_create(
        case=case, defaults={"department_id": case.department_id, "due_date": due}
    )
    return verification


def _roles(user: User, department_id: int) -> set[str]:
    return set(
        StaffMembership.objects.filter(user=user, department_id=department_id).values_list(
            "role", flat=True
        )
    )


def verifications_for(user: User) -> QuerySet[Verification]:
    """The checks of the user's departments, open ones first, then by deadline."""
    departments = StaffMembership.objects.filter(user=user, role__in=CHECKING_ROLES).values(
        "department_id"
    )
    return (
        Verification.objects.filter(department_id__in=departments)
        .select_related("case__service_version", "case__applicant", "department", "checked_by")
        .order_by("-state", "due_date", "pk")  # "open" sorts after "false" and "confirmed"
    )


def record_finding(
    *, verification: Verification, user: User, commitment_true: bool, finding: str
) -> Verification:
    """What the check found: the commitment true, or false (then the head may revoke)."""
    finding = (finding or "").strip()
    if not finding:
        raise ValidationError({"finding": [_("Say what you checked and what you found.")]})
    if not _roles(user, verification.department_id) & CHECKING_ROLES:
        raise PermissionDenied(_("Only staff of the deciding department check a commitment."))
    with transaction.atomic():
        case = locked(verification.case)
        verification = Verification.objects.select_for_update().get(pk=verification.pk)
        if verification.state != Verification.State.OPEN:
            raise CaseConflict(_("This commitment has already been checked."))
        verification.state = (
            Verification.State.CONFIRMED if commitment_true else Verification.State.FALSE
        )
        verification.finding = finding
        verification.checked_by = user
        verification.checked_at = timezone.now()
        verification.save(update_fields=["state", "finding", "checked_by", "checked_at"])
        append_event(
            case,
            action=EventAction.VERIFIED,
            actor=user,
            actor_role=sorted(_roles(user, verification.department_id) & CHECKING_ROLES)[0],
            opinion=finding,
            details={"commitment_true": commitment_true},
        )
    return verification


def revoke_after_false_commitment(*, verification: Verification, user: User, reason: str) -> int:
    """The department head revokes the licence of a decision made on a false commitment."""
    from ..licences import services as licences

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason; the applicant will read it.")]})
    if Role.DEPARTMENT_HEAD not in _roles(user, verification.department_id):
        raise PermissionDenied(_("Only the department head revokes a licence."))
    if verification.state != Verification.State.FALSE:
        raise CaseConflict(
            _("A licence is revoked only after the check found the commitment false.")
        )
    with transaction.atomic():
        case = locked(verification.case)
        who = SimpleNamespace(actor=user, actor_role=Role.DEPARTMENT_HEAD, channel="")
        revoked = licences.revoke_for_case(case=case, reason=reason, event=who)
        if not revoked:
            raise CaseConflict(_("This decision gave no licence that is still valid."))
        return revoked
