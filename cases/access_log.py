"""Every view of a person's data by staff is written down (DESIGN "Personal data"; issue 17 item 2).

One INSERT per request, however many people a case names (the applicant and a proxy): the rows
are bulk-created. The role is the one the viewer holds on the case (or "expert" when consulted, or
the clerk's at a counter), the department the one acting on the case; the person reads them on
“谁查看了我的信息” and `GET me/access-log/`, with department and role, never the viewer's name.
"""

from __future__ import annotations

from accounts.models import PersonalDataAccess, Role, StaffMembership, User

from .models import Case

Action = PersonalDataAccess.Action
EXPERT = "expert"


def _role_on(case: Case, user: User, roles: set[str] | None = None) -> str:
    from . import access
    from .workflow import rules

    if roles is None:
        roles = rules.roles_for(case, user) - {"applicant"}
    if roles:
        return sorted(roles)[0]
    return EXPERT if access.is_consulted(user, case) else ""


def staff_saw(
    user: User,
    case: Case,
    *,
    action: str,
    field: str = "",
    purpose: str = "",
    role: str = "",
    roles: set[str] | None = None,
) -> None:
    """`user` (staff) saw `case`'s people: one row per person, in one INSERT. `roles`: the
    user's staff roles on the case (rules.roles_for without 'applicant'), when known."""
    if not user.is_authenticated or case.applicant.user_id == user.pk:
        return
    people = [case.applicant_id] + ([case.agent_id] if case.agent_id else [])
    role = role or _role_on(case, user, roles)
    PersonalDataAccess.objects.bulk_create(
        PersonalDataAccess(
            viewer=user, profile_id=person, action=action, role=role,
            department_id=case.acting_department_id or case.department_id,
            case_number=case.number, field=field[:32], purpose=purpose[:200],
        )
        for person in people
    )  # fmt: skip


def clerk_looked_up(user: User, profile) -> None:
    """A counter clerk typed a citizen's ID number and found them."""
    membership = (
        StaffMembership.objects.filter(user=user, role=Role.COUNTER_CLERK)
        .values_list("department_id", flat=True)
        .first()
    )
    PersonalDataAccess.objects.create(
        viewer=user, profile=profile, action=Action.LOOKED_UP, role=Role.COUNTER_CLERK,
        department_id=membership, field="id_number", purpose="counter intake",
    )  # fmt: skip


REVEALABLE = ("id_number", "phone")


def reveal(user: User, case: Case, *, field: str, reason: str) -> str:
    """The applicant's full ID number or phone, for a member of staff who works the case and says
    why (查看完整号码); written down before it is shown."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    errors = {}
    if field not in REVEALABLE:
        errors["field"] = [_("Choose the ID number or the phone.")]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Say why you need the full number; the citizen can read it.")]
    if errors:
        raise ValidationError(errors)
    profile = case.applicant
    staff_saw(user, case, action=Action.REVEALED, field=field, purpose=reason)
    return profile.id_number if field == "id_number" else profile.phone


def log_of(user: User):
    """The views of `user`'s own data, newest first (their citizen profile's)."""
    profile = getattr(user, "citizen_profile", None)
    if profile is None:
        return PersonalDataAccess.objects.none()
    return (
        PersonalDataAccess.objects.filter(profile=profile)
        .select_related("department")
        .order_by("-at", "-pk")
    )
