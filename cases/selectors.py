"""Reads of cases that need access control. Views and the API never filter cases themselves."""

from __future__ import annotations

from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import departments_with_role
from services.calendar import add_working_days_provisional
from services.models import OuterState

from .models import Attachment, Case, Channel, Event, SupplementRequest


def cases_visible_to_applicant(user: User) -> QuerySet[Case]:
    """The applicant's own cases, and those they applied for as someone's proxy (帮办代办)."""
    if not user.is_authenticated:
        return Case.objects.none()
    # A clerk who filed a walk-in citizen's case at a counter does not keep it as their own.
    return Case.objects.filter(
        Q(applicant__user=user)
        | Q(agent__user=user)
        | (Q(filed_by=user) & ~Q(channel=Channel.COUNTER))
    )


def my_applications(user: User) -> QuerySet[Case]:
    """'My applications': what a list shows, in a constant number of queries."""
    return (
        cases_visible_to_applicant(user)
        .select_related("service_version", "service", "department", "stage", "applicant", "agent")
        .order_by("-created_at", "-pk")
    )


def application_ref(user: User, number: str) -> Case | None:
    """Just enough of one of the user's cases to act on it (the engine locks and loads the rest)."""
    return cases_visible_to_applicant(user).filter(number=number).only("pk", "number").first()


def application_for_applicant(user: User, number: str) -> Case | None:
    """One of the user's cases with what its page shows, or None (the caller answers 404)."""
    return (
        cases_visible_to_applicant(user)
        .filter(number=number)
        .select_related(
            "service_version__workflow",
            "service",
            "department",
            "stage",
            "applicant",
            "organisation",
            "agent",
            "authorisation",
        )
        .prefetch_related(
            Prefetch(
                "attachments",
                queryset=Attachment.objects.select_related("material").order_by(
                    "material__order", "pk"
                ),
            ),
            Prefetch(
                "supplement_requests",
                queryset=SupplementRequest.objects.prefetch_related("materials").order_by(
                    "-created_at"
                ),
            ),
            "service_version__materials",
        )
        .first()
    )


# Plain-language names of what happened, for applicants; transitions of custom workflows fall back
# to their own labels.
ACTION_LABELS = {
    "create": lambda: _("Application started"),
    "submit": lambda: _("Application handed in"),
    "accept": lambda: _("Accepted by the department"),
    "not_accept": lambda: _("Not accepted"),
    "request_supplement": lambda: _("Department asked for more documents"),
    "supplement": lambda: _("You handed in the missing documents"),
    "pass_review": lambda: _("Review completed"),
    "return_to_intake": lambda: _("Sent back for another check"),
    "approve": lambda: _("Approved"),
    "reject": lambda: _("Rejected"),
    "conclude": lambda: _("Result delivered; case closed"),
    "suspend": lambda: _("Paused for a special procedure"),
    "resume": lambda: _("Processing resumed"),
    "extend": lambda: _("Time limit extended"),
    "withdraw": lambda: _("Withdrawn"),
    "deemed_withdrawn": lambda: _("Deemed withdrawn: the documents did not arrive in time"),
    "claim": lambda: _("Claimed"),
    "release": lambda: _("Released"),
    "rated": lambda: _("Service rated"),
    "rating_answered": lambda: _("The department answered the rating"),
}
PUBLIC_OPINIONS = {
    "not_accept",
    "request_supplement",
    "reject",
    "withdraw",
    "suspend",
    "extend",
    "approve",
}


def timeline(case: Case, events: list[Event] | None = None) -> list[dict]:
    """One entry per event, in words an applicant understands; staff names are not shown."""
    labels = {t.name: t.localized_label for t in case.service_version.workflow.transitions.all()}
    events = events if events is not None else list(case.events.order_by("sequence"))
    entries = []
    for event in events:
        label = ACTION_LABELS.get(event.action)
        entries.append(
            {
                "action": event.action,
                "label": label() if label else labels.get(event.action, event.action),
                "at": event.at,
                "state": event.to_state,
                "state_label": OuterState(event.to_state).label if event.to_state else "",
                "opinion": event.opinion if event.action in PUBLIC_OPINIONS else "",
            }
        )
    return entries


# --- Staff -----------------------------------------------------------------------------------------


def cases_visible_to_staff(user: User) -> QuerySet[Case]:
    """Submitted cases of the departments the user works in (any role); drafts stay private."""
    if not user.is_authenticated:
        return Case.objects.none()
    return Case.objects.filter(department__in=departments_with_role(user)).exclude(
        state=OuterState.DRAFT
    )


QUEUE_STATES = [
    OuterState.SUBMITTED,
    OuterState.ACCEPTED,
    OuterState.SUPPLEMENT_REQUESTED,
    OuterState.SUSPENDED,
    OuterState.APPROVED,
]


def work_queue(
    user: User,
    *,
    stage: str = "",
    service: str = "",
    channel: str = "",
    due: str = "",
    mine: bool = False,
    today=None,
) -> QuerySet[Case]:
    """The department queue: open cases by deadline (the decision's due date once accepted, the
    intake deadline before), with filters. Ordered by (deadline, pk) for keyset pagination."""
    today = today or timezone.localdate()
    cases = (
        cases_visible_to_staff(user)
        .filter(state__in=QUEUE_STATES)
        .annotate(deadline=Coalesce(F("due_date"), F("intake_due_date")))
        .select_related("service_version", "service", "stage", "assignee", "applicant")
    )
    if stage:
        cases = cases.filter(stage__code=stage)
    if service:
        cases = cases.filter(service__code=service)
    if channel:
        cases = cases.filter(channel=channel)
    if mine:
        cases = cases.filter(assignee=user)
    if due == "overdue":
        cases = cases.filter(deadline__lt=today)
    elif due == "soon":
        soon, _provisional = add_working_days_provisional(today, 2)
        cases = cases.filter(deadline__gte=today, deadline__lte=soon)
    elif due == "paused":
        cases = cases.filter(paused_since__isnull=False)
    return cases.order_by("deadline", "pk")


def case_for_staff(user: User, number: str) -> Case | None:
    return (
        cases_visible_to_staff(user)
        .filter(number=number)
        .select_related(
            "service_version__workflow", "service", "department", "stage", "applicant", "organisation",
            "assignee", "filed_by", "agent", "authorisation",
        )
        .prefetch_related(
            Prefetch(
                "attachments",
                queryset=Attachment.objects.select_related("material").order_by("material__order", "pk"),
            ),
            Prefetch(
                "supplement_requests",
                queryset=SupplementRequest.objects.prefetch_related("materials").order_by("-created_at"),
            ),
            "service_version__materials",
        )
        .first()
    )  # fmt: skip


def staff_timeline(case: Case) -> list[dict]:
    """The full trail for staff: who (by name), in which role, from and to, every opinion."""
    from accounts.models import Role
    from services.models import APPLICANT

    labels = {t.name: t.localized_label for t in case.service_version.workflow.transitions.all()}
    roles = {**dict(Role.choices), APPLICANT: _("applicant"), "system": _("system")}
    states = dict(OuterState.choices)
    entries = []
    for event in case.events.select_related("actor").order_by("sequence"):
        plain = ACTION_LABELS.get(event.action)
        entries.append(
            {
                "sequence": event.sequence,
                "action": event.action,
                "label": labels.get(event.action) or (plain() if plain else event.action),
                "role_label": roles.get(event.actor_role, event.actor_role),
                "from_state_label": states.get(event.from_state, ""),
                "to_state_label": states.get(event.to_state, ""),
                "actor": (event.actor.get_full_name() or event.actor.username)
                if event.actor
                else _("system"),
                "role": event.actor_role,
                "at": event.at,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "from_stage": event.from_stage,
                "to_stage": event.to_stage,
                "opinion": event.opinion,
                "details": event.details,
            }
        )
    return entries


def can_view_case(user: User, case: Case) -> bool:
    return (
        cases_visible_to_applicant(user).filter(pk=case.pk).exists()
        or cases_visible_to_staff(user).filter(pk=case.pk).exists()
    )
