"""The effects an admin may tick on a transition, each carried out by exactly one handler.

A handler is registered once with `effect_handler(effect, phase=...)`; registering an effect twice
is an error at import, and the system check `cases.E001` fails at start-up when an effect that an
admin can tick has no handler (nothing an admin can tick may do nothing). Phases:

- CHANGE: inside the transaction, before the case is saved; may change the case (the clock, a
  request for documents) and refuse the transition by raising.
- RECORDED: inside the transaction, after the event is written (messages into the outbox).
- COMMITTED: after commit (robust: a failure is logged, never undoes the change); handlers here are
  idempotent and a sweep repairs what they missed (e.g. licences, `licences.issue_missing`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Role, User
from services.calendar import add_working_days_provisional
from services.models import Effect, MaterialSource, WorkflowTransition

from ..models import Case, Event, SupplementRequest
from . import clock
from .errors import CaseConflict

logger = logging.getLogger(__name__)


class Phase(enum.Enum):
    CHANGE = "change"
    RECORDED = "recorded"
    COMMITTED = "committed"


@dataclasses.dataclass
class Step:
    """One transition being applied: what a handler may read and change."""

    case: Case
    transition: WorkflowTransition
    actor: User | None
    roles: set[str]  # all the actor's roles on the case (the department head's say, e.g.)
    details: dict
    day: dt.date
    opinion: str = ""
    channel: str = ""
    event: Event | None = None


@dataclasses.dataclass(frozen=True)
class Handler:
    effect: str
    phase: Phase
    run: Callable[[Step], list[str] | None]


_handlers: dict[str, Handler] = {}


def effect_handler(effect: str, *, phase: Phase):
    """Register the one handler of `effect`."""
    if effect not in Effect.values:
        raise ImproperlyConfigured(f"{effect!r} is not an effect an admin can tick")

    def register(func: Callable[[Step], list[str] | None]):
        if effect in _handlers and _handlers[effect].run is not func:
            raise ImproperlyConfigured(
                f"effect {effect!r} already has a handler ({_handlers[effect].run.__qualname__})"
            )
        _handlers[effect] = Handler(effect, phase, func)
        return func

    return register


def handler_of(effect: str) -> Handler | None:
    return _handlers.get(effect)


def missing_handlers() -> list[str]:
    return [effect for effect in Effect.values if effect not in _handlers]


def run(step: Step, phase: Phase) -> list[str]:
    """Run the transition's effects of one phase, in the order the admin listed them; returns the
    case fields they changed."""
    changed: list[str] = []
    for effect in step.transition.effects:
        handler = _handlers.get(effect)
        if handler is None:  # the system check refuses to start without it; never silently skip
            raise ImproperlyConfigured(f"effect {effect!r} has no handler")
        if handler.phase != phase:
            continue
        if phase is Phase.COMMITTED:
            transaction.on_commit(lambda h=handler: h.run(step), robust=True)
        else:
            changed += handler.run(step) or []
    return changed


# --- The engine's own handlers ---------------------------------------------------------------------


@effect_handler(Effect.PAUSE_CLOCK, phase=Phase.CHANGE)
def pause_clock(step: Step) -> list[str]:
    return clock.pause(step.case, step.day)


@effect_handler(Effect.RESUME_CLOCK, phase=Phase.CHANGE)
def resume_clock(step: Step) -> list[str]:
    return clock.resume(step.case, step.day)


@effect_handler(Effect.EXTEND_DEADLINE, phase=Phase.CHANGE)
def extend_deadline(step: Step) -> list[str]:
    return clock.extend(step.case, step.details.get("days"))


@effect_handler(Effect.REQUEST_DOCUMENTS, phase=Phase.CHANGE)
def open_request_for_documents(step: Step) -> list[str]:
    """补正告知 (行政许可法 §32): everything missing in one notice, within five working days of
    receipt; a second notice needs the department head's reason."""
    case = step.case
    materials = list(
        case.service_version.materials.filter(pk__in=step.details.get("materials") or [])
    )
    if any(m.source == MaterialSource.FORM for m in materials):
        raise ValidationError(
            {"materials": [_("The application form is made from the answers: ask about the "
                             "answers in the note instead.")]}
        )  # fmt: skip
    if not materials:
        raise ValidationError({"materials": [_("List everything that is missing, in one notice.")]})
    if case.accepted_at is None and case.intake_due_date and step.day > case.intake_due_date:
        raise CaseConflict(
            _("More than five working days have passed since receipt: the application counts "
              "as accepted (行政许可法 §32). Accept it instead."),
            code="intake_period_over",
        )  # fmt: skip
    if case.supplement_requests.exists():
        reason = (step.details.get("supervisor_reason") or "").strip()
        if not reason or Role.DEPARTMENT_HEAD not in step.roles:
            raise ValidationError(
                {"supervisor_reason": [_("A second request for documents needs the department "
                                         "head's reason: everything missing belongs in one notice.")]}
            )  # fmt: skip
    deadline, _provisional = add_working_days_provisional(
        step.day, settings.SUPPLEMENT_ANSWER_WORKING_DAYS
    )
    request = SupplementRequest.objects.create(
        case=case,
        requested_by=step.actor,
        note=step.opinion,
        deadline=deadline,
    )
    request.materials.set(materials)
    step.details["materials"] = [m.pk for m in materials]
    step.details["deadline"] = deadline.isoformat()
    return []


@effect_handler(Effect.NOTIFY_APPLICANT, phase=Phase.RECORDED)
def notify_applicant(step: Step) -> list[str]:
    from ..notifications import services as notifications

    notifications.tell_applicant_of_transition(step.case, step.transition, step.event)
    return []
