"""What the applicant is told comes next, with dates (GOV.UK's "What happens next"): after
submitting, and while a request for documents (补正) waits for their answer.

Dates are counted on the working-day calendar (DESIGN "Time"); a date that crosses a year the
calendar does not know yet is marked provisional.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from services.calendar import add_working_days_provisional
from services.models import join_names, localized

from .models import Attachment, Case, SupplementRequest
from .workflow.clock import INTAKE_LIMIT_WORKING_DAYS, paused_working_days


def _owed(case: Case) -> list:
    from .workflow import owed_materials

    return owed_materials(case)


@dataclass(frozen=True)
class NextStep:
    title: str
    text: str
    date: dt.date | None = None
    provisional: bool = False


def after_submission(case: Case) -> list[NextStep]:
    """The steps after a submission, each with its date: receipt, intake (§32: five working days),
    a possible request for documents and its answer period, the decision (the promised limit from
    acceptance), and how the result reaches the applicant."""
    version = case.service_version
    received = timezone.localdate(case.received_at) if case.received_at else timezone.localdate()
    steps = [
        NextStep(
            _("We have your application"),
            _("Keep the application number; you are told at every step in “Messages” and by SMS."),
            received,
        )
    ]
    if case.decided_at:
        steps.append(
            NextStep(
                _("Decided"),
                _("The decision is on the application's page."),
                timezone.localdate(case.decided_at),
            )
        )
        return steps
    if case.materials_owed_by and (owed := _owed(case)):
        steps.append(
            NextStep(
                _("Upload what you still owe (容缺受理)"),
                _(
                    "%(materials)s: upload on the application's page. The department goes on "
                    "without it, and decides once it has arrived."
                )
                % {"materials": join_names(m.label for m in owed)},
                case.materials_owed_by,
            )
        )
    if case.accepted_at is None:
        intake_due = case.intake_due_date
        provisional = False
        if intake_due is None:
            intake_due, provisional = add_working_days_provisional(
                received, INTAKE_LIMIT_WORKING_DAYS
            )
        steps.append(
            NextStep(
                _("Accepted, or told what is missing"),
                _(
                    "Within %(days)d working days the department accepts the application, or "
                    "tells you in one notice everything that is missing (行政许可法 §32). You "
                    "would then have %(answer)d working days to send it, or the application is "
                    "deemed withdrawn."
                )
                % {
                    "days": INTAKE_LIMIT_WORKING_DAYS,
                    "answer": settings.SUPPLEMENT_ANSWER_WORKING_DAYS,
                },
                intake_due,
                provisional,
            )
        )
        accepted_by = intake_due
    else:
        accepted_by = timezone.localdate(case.accepted_at)
    if version.is_immediate:
        steps.append(
            NextStep(
                _("Decision"),
                _("This service is decided on the spot when the application is accepted."),
                accepted_by,
            )
        )
    else:
        decision_by, provisional = (
            (case.due_date, case.due_date_provisional)
            if case.due_date
            else add_working_days_provisional(accepted_by, version.promised_limit_days)
        )
        steps.append(
            NextStep(
                _("Decision"),
                _(
                    "The department decides within %(days)d working days of acceptance; "
                    "accepted on the last day of intake, the decision comes by the date shown at "
                    "the latest (time to send missing documents is not counted)."
                )
                % {"days": version.promised_limit_days},
                decision_by,
                provisional,
            )
        )
    ways = []
    if version.delivery_electronic:
        ways.append(_("in “My e-licences” on the portal"))
    if version.delivery_pickup:
        ways.append(_("at the counter"))
    if version.delivery_mail:
        ways.append(_("by post"))
    steps.append(
        NextStep(
            _("Your result"),
            _("%(result)s: you receive it %(ways)s, and you are told when it is ready.")
            % {"result": localized(version, "result_name"), "ways": _(", or ").join(ways)}
            if ways
            else _("%(result)s: you are told when it is ready.")
            % {"result": localized(version, "result_name")},
        )
    )
    return steps


@dataclass
class SupplementStatus:
    """Where the applicant's answer to an open request for documents stands."""

    request: SupplementRequest
    rows: list[dict] = field(default_factory=list)  # {"material", "attachments", "errors"}
    missing: list = field(default_factory=list)  # materials asked for with nothing uploaded
    uploaded: list[Attachment] = field(default_factory=list)  # uploaded, not yet handed in
    working_days_left: int = 0

    @property
    def deadline(self) -> dt.date:
        return self.request.deadline

    @property
    def deemed_withdrawn_on(self) -> dt.date:
        """The day the sweep closes the case if nothing is handed in (deadline < today)."""
        return self.request.deadline + dt.timedelta(days=1)

    @property
    def last_day(self) -> bool:
        return self.request.deadline == timezone.localdate()

    @property
    def ready(self) -> bool:
        return not self.missing

    @property
    def waiting_to_be_sent(self) -> bool:
        """Something was uploaded, and the answer has not been handed in."""
        return bool(self.uploaded)


def supplement_status(case: Case, request: SupplementRequest) -> SupplementStatus:
    """From what the case page already loaded (its attachments and the request's materials)."""
    mine = [a for a in case.attachments.all() if a.for_supplement_id == request.pk]
    status = SupplementStatus(request=request, uploaded=mine)
    for material in request.materials.all():
        files = [a for a in mine if a.material_id == material.pk]
        status.rows.append({"material": material, "attachments": files, "errors": []})
        if not files:
            status.missing.append(material)
    today = timezone.localdate()
    status.working_days_left = (
        paused_working_days(today, request.deadline) if request.deadline >= today else 0
    )
    return status
