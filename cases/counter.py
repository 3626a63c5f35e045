"""Counter mode (线下渠道): a clerk files a walk-in citizen's application through the same engine.

The clerk finds the citizen by ID number or registers them on the spot, fills the same form, ticks
the paper materials received, and files with channel `counter`. A clerk who also holds the intake
role accepts it there and then (即收即受); otherwise it goes to the department queue like any online
application. Nothing here needs Redis: messages wait in the outbox.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Role, StaffMembership, User
from accounts.services import register_walk_in
from services.models import ServiceItem

from . import workflow
from .models import Case, Channel


def is_counter_clerk(user: User) -> bool:
    return (
        user.is_authenticated
        and StaffMembership.objects.filter(user=user, role=Role.COUNTER_CLERK).exists()
    )


def file_counter_application(
    *,
    clerk: User,
    citizen: dict,
    service: ServiceItem,
    data: dict,
    materials_received: list[int],
    accept: bool = False,
    queue_ticket: str = "",
) -> Case:
    """Register or find the citizen, file and submit their application, accept it if asked and
    allowed. All or nothing: a refused filing leaves no case and no half-registered person."""
    if not is_counter_clerk(clerk):
        raise PermissionDenied(_("Only counter clerks file applications at a counter."))
    with transaction.atomic():
        profile, _created = register_walk_in(
            real_name=citizen.get("real_name", ""),
            id_number=citizen.get("id_number", ""),
            phone=citizen.get("phone", ""),
        )
        case, _new = workflow.create_draft(
            service=service, user=clerk, data=data, channel=Channel.COUNTER, applicant=profile
        )
        valid_ids = set(case.service_version.materials.values_list("pk", flat=True))
        unknown = [m for m in materials_received if m not in valid_ids]
        if unknown:
            raise ValidationError({"materials_received": [_("This service has no such material.")]})
        case.materials_received = sorted(set(materials_received))
        case.queue_ticket = (queue_ticket or "")[:20]
        case.visits = 1
        case.save(update_fields=["materials_received", "queue_ticket", "visits"])
        case = workflow.submit_application(case=case, user=clerk, channel=Channel.COUNTER)
        if accept and "accept" in {t.name for t in workflow.transitions_for(case, clerk)}:
            case = workflow.apply_transition(
                case=case, name="accept", actor=clerk, channel=Channel.COUNTER,
                opinion=_("Accepted at the counter on receipt (即收即受)."),
            )  # fmt: skip
    return case


def ready_for_pickup(profile) -> list[Case]:
    """The person's approved applications whose result waits at the counter."""
    from services.models import OuterState, StageKind

    return list(
        Case.objects.filter(
            applicant=profile, state=OuterState.APPROVED, stage__kind=StageKind.DELIVERY
        )
        .select_related("service_version")
        .order_by("decided_at")
    )


def hand_over(*, clerk: User, case: Case, collected_by: str, identity_checked: bool) -> Case:
    """The result is handed over at the counter: who collected it and when go into the trail, and
    the case is concluded (办结) through the engine."""
    collected_by = (collected_by or "").strip()
    errors = {}
    if not identity_checked:
        errors["identity_checked"] = [_("Check the ID card of whoever collects the result.")]
    if not collected_by:
        errors["collected_by"] = [_("Write who collected the result.")]
    if errors:
        raise ValidationError(errors)

    def count_the_visit(locked: Case) -> list[str]:
        locked.visits += 1
        return ["visits"]

    return workflow.apply_transition(
        case=case,
        name="conclude",
        before_save=count_the_visit,
        actor=clerk,
        channel=Channel.COUNTER,
        opinion=_("Result handed over at the counter to %(name)s.") % {"name": collected_by},
        details={"collected_by": collected_by, "identity_checked": True},
    )
