"""One vocabulary of what happens to a case: event actions, their labels, who sees what of them.

An event of the trail records either a workflow transition (its `action` is the transition's name,
as the admin wrote it, and `outcome` says what it meant) or one of the engine's own actions below.
Everything that words an event for a person (the applicant's timeline, the public tracking page,
the staff trail, the messages) reads it from here, by outcome or by action, never by a transition's
name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.signals import setting_changed
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from services.models import Outcome

from .models import NotificationEvent


class EventAction(models.TextChoices):
    """Actions of the engine that are not a transition of a workflow."""

    CREATE = "create", _("Application started")
    SUBMIT = "submit", _("Application handed in")
    CLAIM = "claim", _("Claimed")
    RELEASE = "release", _("Released")
    TAKE_OVER = "take_over", _("Taken over from a colleague")
    DEEMED_ACCEPTED = "deemed_accepted", _("Accepted: no answer within five working days (§32)")
    DEEMED_WITHDRAWN = (
        "deemed_withdrawn",
        _("Deemed withdrawn: the documents did not arrive in time"),
    )
    REPAIRED = "repaired", _("Moved by the department administrator")
    LICENCE_REVOKED = "licence_revoked", _("E-licence revoked")
    LICENCE_ANNULLED = "licence_annulled", _("E-licence annulled")
    LICENCE_SUPERSEDED = "licence_superseded", _("E-licence replaced by a later one")
    CONSULTED = "consulted", _("Opinion asked of another department")
    CONSULTATION_ANSWERED = "consultation_answered", _("Opinion given")
    CONSULTATION_WITHDRAWN = "consultation_withdrawn", _("Request for an opinion withdrawn")
    COMMITMENT_SIGNED = "commitment_signed", _("Commitment signed (告知承诺)")
    COMMITMENT_WITHDRAWN = "commitment_withdrawn", _("Commitment taken back before submission")
    MATERIAL_DELIVERED = "material_delivered", _("Material accepted to follow handed in (容缺补齐)")
    VERIFIED = "verified", _("Commitment checked (核查)")
    RATED = "rated", _("Service rated")
    RATING_ANSWERED = "rating_answered", _("The department answered the rating")
    DRAFT_PURGED = "draft_purged", _("Draft removed with its documents: left untouched too long")
    ARCHIVED = (
        "archived",
        _("Archived: personal data removed after the retention period (保管期限)"),
    )
    BUNDLE_PURGED = (
        "bundle_purged",
        _("The bundle's combined form and documents removed after the retention period"),
    )
    FEE_DUE = "fee_due", _("Fee to pay")
    FEE_PAID = "fee_paid", _("Fee paid")
    FEE_REFUNDED = "fee_refunded", _("Fee refunded")
    AUTO_CHECK_FAILED = (
        "auto_check_failed",
        _("Not approved automatically: a rule did not hold; a caseworker decides"),
    )
    AUTO_SAMPLED = "auto_sampled", _("Automated approval sampled for a post-check (事后核查)")
    HUMAN_REVIEW_REQUESTED = (
        "human_review_requested",
        _("A person was asked to review the automated decision"),
    )
    HUMAN_REVIEW_DECIDED = (
        "human_review_decided",
        _("Decided by a caseworker after a human review; replaces the automated decision"),
    )


# In words an applicant understands, per outcome (whatever the transition is called).
OUTCOME_LABELS = {
    Outcome.ACCEPTED: _("Accepted by the department"),
    Outcome.NOT_ACCEPTED: _("Not accepted"),
    Outcome.SUPPLEMENT_REQUESTED: _("Department asked for more documents"),
    Outcome.SUPPLEMENT_ANSWERED: _("You handed in the missing documents"),
    Outcome.SUSPENDED: _("Paused for a special procedure"),
    Outcome.RESUMED: _("Processing resumed"),
    Outcome.EXTENDED: _("Time limit extended"),
    Outcome.PASSED: _("Moved on to the next step"),
    Outcome.RETURNED: _("Sent back for another check"),
    Outcome.APPROVED: _("Approved"),
    Outcome.REJECTED: _("Rejected"),
    Outcome.CONCLUDED: _("Result delivered; case closed"),
    Outcome.WITHDRAWN: _("Withdrawn"),
}

# Whose opinion the applicant reads: the reasons given to them (a refusal, what is missing, why a
# pause or an extension) and the decision's words.
PUBLIC_OPINION_OUTCOMES = frozenset(
    {
        Outcome.NOT_ACCEPTED,
        Outcome.SUPPLEMENT_REQUESTED,
        Outcome.SUSPENDED,
        Outcome.EXTENDED,
        Outcome.APPROVED,
        Outcome.REJECTED,
        Outcome.WITHDRAWN,
    }
)
PUBLIC_OPINION_ACTIONS = frozenset(
    {
        EventAction.DEEMED_WITHDRAWN,
        EventAction.DEEMED_ACCEPTED,
        EventAction.LICENCE_REVOKED,
        EventAction.LICENCE_ANNULLED,
        EventAction.LICENCE_SUPERSEDED,  # its opinion is the number of the licence replacing it
        EventAction.HUMAN_REVIEW_REQUESTED,
        EventAction.HUMAN_REVIEW_DECIDED,
        EventAction.FEE_DUE,
        EventAction.FEE_PAID,
        EventAction.FEE_REFUNDED,
    }
)

# Staff bookkeeping that means nothing to the applicant or the public.
INTERNAL_ACTIONS = frozenset(
    {
        EventAction.CLAIM,
        EventAction.RELEASE,
        EventAction.TAKE_OVER,
        EventAction.CONSULTED,
        EventAction.CONSULTATION_ANSWERED,
        EventAction.CONSULTATION_WITHDRAWN,
        EventAction.AUTO_SAMPLED,
    }
)

# What the applicant is told when a transition with "notify the applicant" is taken.
OUTCOME_MESSAGES = {
    Outcome.ACCEPTED: NotificationEvent.ACCEPTED,
    Outcome.NOT_ACCEPTED: NotificationEvent.NOT_ACCEPTED,
    Outcome.SUPPLEMENT_REQUESTED: NotificationEvent.SUPPLEMENT_REQUESTED,
    Outcome.SUPPLEMENT_ANSWERED: NotificationEvent.PROGRESSED,
    Outcome.SUSPENDED: NotificationEvent.SUSPENDED,
    Outcome.RESUMED: NotificationEvent.RESUMED,
    Outcome.EXTENDED: NotificationEvent.EXTENDED,
    Outcome.PASSED: NotificationEvent.PROGRESSED,
    Outcome.RETURNED: NotificationEvent.PROGRESSED,
    Outcome.APPROVED: NotificationEvent.DECIDED,
    Outcome.REJECTED: NotificationEvent.DECIDED,
    Outcome.CONCLUDED: NotificationEvent.READY_FOR_PICKUP,
    Outcome.WITHDRAWN: NotificationEvent.WITHDRAWN,
}


# Built once per process and language, not per event: `EventAction.values` and `.choices` make
# their lists afresh at every call (issue 20). Only code-defined words are kept here; the
# transitions' labels, which admins edit, are passed in by the caller for each case.
_ENGINE_LABELS = {member.value: member.label for member in EventAction}
_WORDS_BY_LANGUAGE: dict[tuple[str, str | None], object] = {}
_MISSING = object()
T = TypeVar("T")


def _forget_words(*, setting: str, **kwargs) -> None:
    if setting in ("LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"):
        _WORDS_BY_LANGUAGE.clear()


setting_changed.connect(_forget_words, dispatch_uid="vocabulary-words")


def per_language(name: str, build: Callable[[], T]) -> T:
    """`build()` (words defined in code, translated) kept per process for the active language."""
    key = (name, get_language())
    words = _WORDS_BY_LANGUAGE.get(key, _MISSING)
    if words is _MISSING:
        words = _WORDS_BY_LANGUAGE[key] = build()
    return words


def _words() -> tuple[dict[str, str], dict[str, str]]:
    """(engine action → label, outcome → applicant's words) in the active language."""
    return per_language(
        "events",
        lambda: (
            {action: str(label) for action, label in _ENGINE_LABELS.items()},
            {outcome: str(label) for outcome, label in OUTCOME_LABELS.items()},
        ),
    )


def applicant_label(action: str, outcome: str, transition_labels: dict[str, str]) -> str:
    """The words of the applicant's timeline for one event."""
    engine, outcomes = _words()
    if outcome in outcomes:
        return outcomes[outcome]
    if action in engine:
        return engine[action]
    return transition_labels.get(action, action)


def staff_label(action: str, outcome: str, transition_labels: dict[str, str]) -> str:
    """The words of the staff trail: the transition's own label, as the admin wrote it."""
    if action in transition_labels and outcome:
        return transition_labels[action]
    engine = _words()[0]
    if action in engine:
        return engine[action]
    return transition_labels.get(action) or applicant_label(action, outcome, transition_labels)


def opinion_is_public(action: str, outcome: str) -> bool:
    return outcome in PUBLIC_OPINION_OUTCOMES or action in PUBLIC_OPINION_ACTIONS
