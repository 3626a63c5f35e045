"""Reads of cases that need access control. Views and the API never filter cases themselves."""

from __future__ import annotations

from django.db.models import (
    Exists,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from services.calendar import add_working_days_provisional
from services.models import OuterState

from . import vocabulary
from .access import can_view_case, cases_visible_to_applicant, cases_visible_to_staff
from .keyset import NO_DEADLINE
from .models import Attachment, Case, Event, SupplementRequest

__all__ = ["can_view_case", "cases_visible_to_applicant", "cases_visible_to_staff"]


# What a list row never shows: the form data and the people's encrypted identifiers (each a
# decryption per row) and the version's form schema (a JSON document per row). Deferred, not
# `only()`, so a field a list starts to show later costs a query that the tests count.
LIST_DEFERRED = (
    "data",
    "applicant__id_number",
    "applicant__phone",
    "service_version__form_schema",
    # the version's guide texts (the guide page shows them, a row only the name)
    *(
        f"service_version__{text}{suffix}"
        for text in ("summary", "legal_basis", "conditions", "fee_standard", "fee_basis",
                     "commitment_text")
        for suffix in ("", "_en")
    ),
    "service_version__fee_rule",
)  # fmt: skip


def my_applications(user: User) -> QuerySet[Case]:
    """'My applications': what a list shows, in a constant number of queries. A case waiting for
    documents carries the open request's deadline (`supplement_deadline`) and whether something
    is uploaded but not yet sent (`supplement_uploaded`); a member case of a bundle (一件事) its
    bundle application (`bundle_link.application`), in the same query."""
    open_request = SupplementRequest.objects.filter(
        case=OuterRef("pk"), state=SupplementRequest.State.OPEN
    )
    return (
        cases_visible_to_applicant(user)
        .select_related(
            # what the page and the API show: no department, no stage
            "service_version",
            "service",
            "applicant",
            "agent",
            "bundle_link__application__bundle",
        )  # fmt: skip
        .annotate(
            supplement_deadline=Subquery(open_request.values("deadline")[:1]),
            supplement_uploaded=Exists(
                Attachment.objects.filter(
                    case=OuterRef("pk"),
                    for_supplement__state=SupplementRequest.State.OPEN,
                )
            ),
        )
        .defer(*LIST_DEFERRED, "agent__id_number", "agent__phone")
        .order_by("-created_at", "-pk")
    )


def _case_page_prefetches() -> tuple:
    """What a case's page lists under it (applicant's and staff's): its files in the order of the
    materials, its requests for documents newest first, the version's materials."""
    return (
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
        .prefetch_related(*_case_page_prefetches())
        .first()
    )


def _transition_words(case: Case) -> tuple[dict[str, str], dict[str, str]]:
    """Labels and outcomes of the case's workflow by transition name (events before outcomes were
    recorded on the trail take theirs from the definition)."""
    from .workflow.rules import workflow_transitions

    transitions = workflow_transitions(case, case.service_version.workflow_id)
    return (
        {t.name: t.localized_label for t in transitions},
        {t.name: t.outcome for t in transitions},
    )


def timeline(case: Case, events: list[Event] | None = None) -> list[dict]:
    """One entry per event, in words an applicant understands; staff names are not shown."""
    labels, outcomes = _transition_words(case)
    events = events if events is not None else list(case.events.order_by("sequence"))
    entries = []
    for event in events:
        outcome = event.outcome or outcomes.get(event.action, "")
        entries.append(
            {
                "action": event.action,
                "outcome": outcome,
                "internal": event.action in vocabulary.INTERNAL_ACTIONS,
                "label": vocabulary.applicant_label(event.action, outcome, labels),
                "at": event.at,
                "state": event.to_state,
                "state_label": OuterState(event.to_state).label if event.to_state else "",
                "opinion": event.opinion
                if vocabulary.opinion_is_public(event.action, outcome)
                else "",
            }
        )
    return entries


# --- Staff -----------------------------------------------------------------------------------------


QUEUE_STATES = [
    OuterState.SUBMITTED,
    OuterState.ACCEPTED,
    OuterState.SUPPLEMENT_REQUESTED,
    OuterState.SUSPENDED,
    OuterState.APPROVED,
]


# The queue's order: the deadline, a case without one last. The same expression is indexed
# (Case.Meta: case_queue_by_deadline), so a page is a walk along the index from its cursor.
QUEUE_KEY = Coalesce(F("due_date"), F("intake_due_date"), Value(NO_DEADLINE))


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
    intake deadline before), with filters. Ordered by (`queue_key`, pk), the key of the index
    case_queue_by_deadline, for keyset pagination (cases.keyset)."""
    today = today or timezone.localdate()
    cases = (
        cases_visible_to_staff(user)
        .filter(state__in=QUEUE_STATES)
        .annotate(deadline=Coalesce(F("due_date"), F("intake_due_date")), queue_key=QUEUE_KEY)
        .select_related("service_version", "service", "stage", "assignee", "applicant")
        .defer(*LIST_DEFERRED)
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
    return cases.order_by("queue_key", "pk")


def case_for_staff(user: User, number: str) -> Case | None:
    """The case `number` if `user` may work it or is consulted on it (access.staff_may_see, the
    rule of cases_visible_to_staff), with what the case page and API show. Read by its number
    alone and checked on the row: the visibility subqueries and a dozen joins cost more to compile
    than to run. The user's roles by department are kept on the case for workflow.roles_for."""
    from . import access

    roles_by_department = access.staff_roles_by_department(user)
    case = (
        Case.objects.filter(number=number)
        .select_related(
            "service_version", "service", "stage", "applicant", "assignee", "acting_department",
        )
        .first()
    )  # fmt: skip
    if case is None or not access.staff_may_see(user, case, roles_by_department):
        return None
    case._staff_roles = (user.pk, roles_by_department)
    prefetch_related_objects([case], *_case_page_prefetches())
    return case


def staff_timeline(case: Case) -> list[dict]:
    """The full trail for staff: who (by name), in which role, from and to, every opinion."""
    from accounts.models import Role
    from services.models import APPLICANT

    from .automation.services import AUTO_APPROVER

    labels, outcomes = _transition_words(case)
    roles, states, system, auto_approval = vocabulary.per_language(
        "staff-trail",
        lambda: (
            {
                **{k: str(v) for k, v in Role.choices},
                APPLICANT: _("applicant"),
                "system": _("system"),
                "expert": _("consulted expert"),
                AUTO_APPROVER: _("automatic approval"),
            },
            {k: str(v) for k, v in OuterState.choices},
            _("system"),
            _("Automatic approval (系统自动审批)"),
        ),
    )
    entries = []
    for event in case.events.select_related("actor").order_by("sequence"):
        outcome = event.outcome or outcomes.get(event.action, "")
        entries.append(
            {
                "sequence": event.sequence,
                "action": event.action,
                "outcome": outcome,
                "label": vocabulary.staff_label(event.action, outcome, labels),
                "role_label": roles.get(event.actor_role, event.actor_role),
                "from_state_label": states.get(event.from_state, ""),
                "to_state_label": states.get(event.to_state, ""),
                "actor": (event.actor.get_full_name() or event.actor.username)
                if event.actor
                else (auto_approval if event.actor_role == AUTO_APPROVER else system),
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
