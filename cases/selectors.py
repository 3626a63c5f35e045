"""Reads of cases that need access control. Views and the API never filter cases themselves."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from services.models import OuterState

from .models import Attachment, Case, Event, SupplementRequest


def cases_visible_to_applicant(user: User) -> QuerySet[Case]:
    """The applicant's own cases, and those they filed for someone else (proxy)."""
    if not user.is_authenticated:
        return Case.objects.none()
    return Case.objects.filter(Q(applicant__user=user) | Q(filed_by=user))


def my_applications(user: User) -> QuerySet[Case]:
    """'My applications': what a list shows, in a constant number of queries."""
    return (
        cases_visible_to_applicant(user)
        .select_related("service_version", "service", "department", "stage")
        .order_by("-created_at", "-pk")
    )


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
