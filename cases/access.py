"""The one access policy for cases (DESIGN "Data protection"): which cases a user may see, and what
they may do to one. Every page, API view, counter view, rating view, pickup search, tracking lookup
and notification route asks here; nothing else filters `Case` for a user.

- The applicant's side: the applicant, the proxy named on the case (帮办代办), and the account that
  filed it online.
- Staff: submitted cases of the departments that own them or act on their current stage (own,
  parent or fixed, as the workflow's stage says); never drafts.
- Consulted experts (征求意见 / 会签): one case each, through a django-guardian object permission,
  until they answer or the request is withdrawn.
- Counter clerks: the cases they filed at their counter, and the results waiting at the counters
  of the departments they serve.
- Department admins: the cases of their departments, to repair a stranded one.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import BigIntegerField, Q, QuerySet, Subquery
from django.db.models.functions import Cast
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts.models import CitizenProfile, Role, StaffMembership, User
from accounts.permissions import departments_with_role
from services.models import OuterState, StageKind

from .models import Case, Channel, Consultation
from .workflow.claims import may_repair
from .workflow.rules import is_applicant_side, roles_for, transitions_for

CONSULT_PERMISSION = "cases.consult_case"

__all__ = [
    "can_view_case",
    "cases_for_counter",
    "cases_visible_to",
    "cases_visible_to_applicant",
    "cases_visible_to_staff",
    "staff_may_see",
    "staff_roles_by_department",
    "consulted_cases",
    "is_applicant_side",
    "is_consulted",
    "may_repair",
    "results_waiting_for",
    "roles_for",
    "staff_working_stage",
    "trackable_cases",
    "transitions_for",
]


def cases_visible_to_applicant(user: User) -> QuerySet[Case]:
    """The applicant's own cases, and those they applied for as someone's proxy (帮办代办); not
    purged drafts."""
    if not user.is_authenticated:
        return Case.objects.none()
    # The user's profile (one at most) as a scalar subquery, not a join: each arm of the OR is then
    # a lookup in its own index (case_applicant_recent, case_agent_recent, case_filed_online_recent)
    # and only the user's rows are read, whatever the size of the table.
    profile = Subquery(CitizenProfile.objects.filter(user=user).values("pk")[:1])
    # A clerk who filed a walk-in citizen's case at a counter does not keep it as their own. A
    # purged draft (cases.retention) is gone for everyone: only its trail remains.
    return Case.objects.filter(
        Q(applicant_id=profile)
        | Q(agent_id=profile)
        | (Q(filed_by=user) & ~Q(channel=Channel.COUNTER))
    ).exclude(state=OuterState.DRAFT, purged_at__isnull=False)


def _consulted_case_ids(user: User) -> Q:
    """The cases the user holds the consult permission on, granted to them or to a group of
    theirs. guardian's `get_objects_for_user` compares `case.id::varchar` with the grants, which
    reads every case; here the grants are read and their object ids cast once."""
    content_type = ContentType.objects.get_for_model(Case)
    codename = CONSULT_PERMISSION.split(".", 1)[1]
    grants = {"content_type": content_type, "permission__codename": codename}
    as_id = Cast("object_pk", BigIntegerField())
    by_user = UserObjectPermission.objects.filter(user=user, **grants)
    by_group = GroupObjectPermission.objects.filter(group__user=user, **grants)
    return Q(pk__in=by_user.values(case_id=as_id)) | Q(pk__in=by_group.values(case_id=as_id))


def consulted_cases(user: User) -> QuerySet[Case]:
    """The cases this person was asked for an opinion on and has not answered yet."""
    if not user.is_authenticated:
        return Case.objects.none()
    # Superusers hold every permission in guardian's eyes; a grant here is only an explicit one.
    return Case.objects.filter(_consulted_case_ids(user))


def cases_visible_to_staff(user: User) -> QuerySet[Case]:
    """Submitted cases of the departments the user works in, as owner or as the department acting
    on the current stage, and the cases they are consulted on; drafts stay private."""
    if not user.is_authenticated:
        return Case.objects.none()
    departments = departments_with_role(user)
    by_department = Q(department__in=departments) | Q(acting_department__in=departments)
    return Case.objects.filter(by_department | _consulted_case_ids(user)).exclude(
        state=OuterState.DRAFT
    )


def staff_roles_by_department(user: User) -> dict[int, frozenset[str]]:
    """The user's staff roles, by department id (one query)."""
    if not user.is_authenticated:
        return {}
    roles: dict[int, set[str]] = {}
    for department_id, role in StaffMembership.objects.filter(user=user).values_list(
        "department_id", "role"
    ):
        roles.setdefault(department_id, set()).add(role)
    return {department_id: frozenset(held) for department_id, held in roles.items()}


def staff_may_see(user: User, case: Case, roles_by_department: dict[int, frozenset[str]]) -> bool:
    """`cases_visible_to_staff(user)` for one case already read, its rule in Python: not a draft,
    and the user works in its department or the one acting on its stage, or is consulted on it
    (the grants are read only then). `roles_by_department`: staff_roles_by_department(user)."""
    if not user.is_authenticated or case.state == OuterState.DRAFT:
        return False
    if case.department_id in roles_by_department or (
        case.acting_department_id is not None and case.acting_department_id in roles_by_department
    ):
        return True
    return Case.objects.filter(_consulted_case_ids(user), pk=case.pk).exists()


def cases_visible_to(user: User) -> QuerySet[Case]:
    """Everything the user may open: their own side's cases and their work."""
    return (cases_visible_to_applicant(user) | cases_visible_to_staff(user)).distinct()


def can_view_case(user: User, case: Case) -> bool:
    return cases_visible_to(user).filter(pk=case.pk).exists()


def is_consulted(user: User, case: Case) -> bool:
    return (
        user.is_authenticated
        and Consultation.objects.filter(
            case=case, expert=user, state=Consultation.State.OPEN
        ).exists()
    )


def staff_working_stage(case: Case) -> list[User]:
    """Who works the case's current stage: holders of its acting role in its acting department
    (whom the queue, the messages and the deadline sweep address)."""
    role = case.stage.role if case.stage_id and case.stage.role else Role.CASEWORKER
    department_id = case.acting_department_id or case.department_id
    return [
        membership.user
        for membership in StaffMembership.objects.filter(department_id=department_id, role=role)
        .select_related("user")
        .order_by("pk")
    ]


def trackable_cases() -> QuerySet[Case]:
    """What public tracking may find (by number and the applicant's name): anything submitted."""
    return Case.objects.exclude(state=OuterState.DRAFT)


# --- Counter clerks -----------------------------------------------------------------------------------


def cases_for_counter(clerk: User) -> QuerySet[Case]:
    """What a clerk may open at the counter: what they filed there, and the cases of the
    departments whose counter they serve."""
    if not clerk.is_authenticated:
        return Case.objects.none()
    departments = departments_with_role(clerk, Role.COUNTER_CLERK)
    return Case.objects.filter(
        (Q(filed_by=clerk) & Q(channel=Channel.COUNTER))
        | Q(department__in=departments)
        | Q(acting_department__in=departments)
    ).exclude(state=OuterState.DRAFT)


def results_waiting_for(clerk: User, profile) -> QuerySet[Case]:
    """The person's approved applications whose result waits at this clerk's counter."""
    return cases_for_counter(clerk).filter(
        applicant=profile, state=OuterState.APPROVED, stage__kind=StageKind.DELIVERY
    )
