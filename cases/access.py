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

from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from accounts.models import Role, StaffMembership, User
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
    # A clerk who filed a walk-in citizen's case at a counter does not keep it as their own. A
    # purged draft (cases.retention) is gone for everyone: only its trail remains.
    return Case.objects.filter(
        Q(applicant__user=user)
        | Q(agent__user=user)
        | (Q(filed_by=user) & ~Q(channel=Channel.COUNTER))
    ).exclude(state=OuterState.DRAFT, purged_at__isnull=False)


def consulted_cases(user: User) -> QuerySet[Case]:
    """The cases this person was asked for an opinion on and has not answered yet."""
    if not user.is_authenticated:
        return Case.objects.none()
    # Superusers hold every permission in guardian's eyes; a grant here is only an explicit one.
    return get_objects_for_user(
        user, CONSULT_PERMISSION, klass=Case, accept_global_perms=False, with_superuser=False
    )


def cases_visible_to_staff(user: User) -> QuerySet[Case]:
    """Submitted cases of the departments the user works in, as owner or as the department acting
    on the current stage, and the cases they are consulted on; drafts stay private."""
    if not user.is_authenticated:
        return Case.objects.none()
    departments = departments_with_role(user)
    by_department = Q(department__in=departments) | Q(acting_department__in=departments)
    consulted = Q(pk__in=consulted_cases(user).values("pk"))
    return Case.objects.filter(by_department | consulted).exclude(state=OuterState.DRAFT)


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
