"""The case engine: drafts, submission, and every transition of a case, for every channel.

Everything that changes a case goes through these functions (web pages, the API, the counter and
Celery alike). Each runs in one transaction, locks the case row (select_for_update), checks what the
published workflow allows from the current stage and who may do it, writes exactly one event to the
append-only trail, and queues side effects to run after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CitizenProfile, OrganisationAgent, StaffMembership, User
from services.calendar import add_working_days_provisional
from services.models import (
    APPLICANT,
    Audience,
    DepartmentRule,
    Effect,
    MaterialSource,
    OuterState,
    ServiceItem,
    ServiceMaterial,
    StageKind,
    WorkflowStage,
    WorkflowTransition,
)
from services.schema import ordered_properties, validate_data

from . import uploads
from .models import (
    CLOSED_STATES,
    Attachment,
    Case,
    CaseNumberCounter,
    Channel,
    Event,
    Licence,
    SupplementRequest,
)

# 行政许可法 §32: accept, refuse or ask for what is missing within five working days of receipt.
INTAKE_LIMIT_WORKING_DAYS = 5


class CaseConflict(Exception):
    """The case is not in a state where this can happen (HTTP 409): stale, concurrent or too late."""

    def __init__(self, message: str, code: str = "conflict"):
        super().__init__(message)
        self.message = message
        self.code = code


# --- Helpers ---------------------------------------------------------------------------------------


def _today() -> dt.date:
    return timezone.localdate()


def next_case_number(*, service: ServiceItem, day: dt.date) -> str:
    """Service code + date + a sequence for that service and day, unique under concurrency: the
    counter row is locked until the surrounding transaction commits."""
    key = f"{service.code}-{day:%Y%m%d}"
    with transaction.atomic():
        counter, _created = CaseNumberCounter.objects.select_for_update().get_or_create(key=key)
        counter.value += 1
        counter.save(update_fields=["value"])
    return f"{key}-{counter.value:04d}"


def _append_event(
    case: Case,
    *,
    action: str,
    actor: User | None,
    actor_role: str = "",
    channel: str = "",
    from_state: str = "",
    from_stage: str = "",
    opinion: str = "",
    details: dict | None = None,
) -> Event:
    """Append one event with the hash of the one before; the caller holds the case row lock."""
    last = Event.objects.filter(case=case).order_by("-sequence").values("sequence", "hash").first()
    event = Event(
        case=case,
        sequence=(last["sequence"] + 1) if last else 1,
        action=action,
        actor=actor,
        actor_role=actor_role,
        channel=channel,
        from_state=from_state,
        to_state=case.state,
        from_stage=from_stage,
        to_stage=case.stage.code if case.stage_id else "",
        opinion=opinion,
        details=details or {},
        at=timezone.now(),
        previous_hash=last["hash"] if last else "0" * 64,
    )
    event.hash = event.compute_hash()
    event.save()
    return event


def _locked(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("service_version__workflow", "stage", "applicant", "department")
        .get(pk=case.pk)
    )


def applicant_profile(user: User) -> CitizenProfile:
    profile = getattr(user, "citizen_profile", None)
    if profile is None:
        raise ValidationError(
            {"applicant": [_("Complete your real-name profile before you apply.")]},
            code="no_profile",
        )
    return profile


def prefill_values(*, profile: CitizenProfile, organisation=None) -> dict[str, str]:
    """What the applicant never types: their verified identity, filled into `x-prefill` fields."""
    values = {
        "real_name": profile.real_name,
        "id_number": profile.id_number,
        "phone": profile.phone,
        "email": profile.user.email if profile.user_id else "",
    }
    if organisation is not None:
        values.update(organisation_name=organisation.name, uscc=organisation.uscc)
    return values


def prefilled_fields(schema: dict) -> dict[str, str]:
    """Field name → prefill source, for the fields of a schema filled from verified data."""
    return {
        name: prop["x-prefill"]
        for name, prop in ordered_properties(schema)
        if prop.get("x-prefill") and prop["type"] == "string"
    }


def _apply_prefill(case: Case, data: dict) -> dict:
    values = prefill_values(profile=case.applicant, organisation=case.organisation)
    for name, source in prefilled_fields(case.service_version.form_schema).items():
        if values.get(source):
            data[name] = values[source]
    return data


# --- Drafts ----------------------------------------------------------------------------------------


def create_draft(
    *,
    service: ServiceItem,
    user: User,
    data: dict | None = None,
    channel: str = Channel.ONLINE,
    idempotency_key: str | None = None,
    organisation_id: int | None = None,
    applicant: CitizenProfile | None = None,
) -> tuple[Case, bool]:
    """Start an application under the service's current published version.

    Returns (case, created). With an idempotency key, a repeat of the same request by the same
    account returns the first case instead of a second one, even when the repeats race.
    """
    if idempotency_key:
        existing = Case.objects.filter(filed_by=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    if service.status != ServiceItem.Status.PUBLISHED or service.current_version_id is None:
        raise ValidationError({"service": [_("This service is not open for applications.")]})
    version = service.current_version
    if channel in (Channel.ONLINE, Channel.API) and not version.channel_online:
        raise ValidationError(
            {"service": [_("This service cannot be applied for online; please visit a counter.")]}
        )
    profile = applicant or applicant_profile(user)
    organisation = None
    if organisation_id is not None:
        agency = (
            OrganisationAgent.objects.select_related("organisation")
            .filter(user=user, organisation_id=organisation_id, valid_from__lte=_today())
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=_today()))
            .first()
        )
        if agency is None:
            raise ValidationError(
                {"agent_for": [_("You are not authorised to act for this organisation.")]}
            )
        organisation = agency.organisation
    if version.audience == Audience.ORGANISATION and organisation is None:
        raise ValidationError(
            {"agent_for": [_("This service is for organisations: say which one you act for.")]}
        )
    cleaned = validate_data(version.form_schema, data or {}, partial=True)
    try:
        with transaction.atomic():
            case = Case(
                number=next_case_number(service=service, day=_today()),
                service=service,
                service_version=version,
                department_id=service.department_id,
                applicant=profile,
                organisation=organisation,
                filed_by=user,
                channel=channel,
                idempotency_key=idempotency_key or None,
            )
            case.data = _apply_prefill(case, cleaned)
            case.save()
            _append_event(case, action="create", actor=user, actor_role=APPLICANT, channel=channel)
    except IntegrityError:
        if idempotency_key:
            # Another request with the same key won the race: answer with its case.
            return Case.objects.get(filed_by=user, idempotency_key=idempotency_key), False
        raise
    return case, True


def update_draft(*, case: Case, user: User, data: dict) -> Case:
    """Save what the applicant has entered so far (autosave); checks what is there, not what is not."""
    with transaction.atomic():
        case = _locked(case)
        if not case.is_draft:
            raise CaseConflict(
                _("This application has been submitted and can no longer be edited.")
            )
        cleaned = validate_data(case.service_version.form_schema, data, partial=True)
        case.data = _apply_prefill(case, cleaned)
        case.row_version += 1
        case.save(update_fields=["data", "row_version", "updated_at"])
    return case


def _material(case: Case, material_id) -> ServiceMaterial:
    try:
        return case.service_version.materials.get(pk=int(material_id))
    except (ServiceMaterial.DoesNotExist, TypeError, ValueError):
        raise ValidationError(
            {"material": [_("This application has no such material.")]}, code="unknown_material"
        ) from None


def _may_add_documents(case: Case) -> SupplementRequest | None:
    """Documents are added to a draft, or to answer an open request for documents."""
    if case.is_draft:
        return None
    open_request = case.supplement_requests.filter(state=SupplementRequest.State.OPEN).first()
    if case.state == OuterState.SUPPLEMENT_REQUESTED and open_request is not None:
        return open_request
    raise CaseConflict(
        _("Documents can only be added to a draft or to answer a request for documents.")
    )


def add_attachment(*, case: Case, material_id, upload, user: User) -> Attachment:
    """Store an uploaded document for one material. Oversized or disguised files are refused and
    nothing is written."""
    with transaction.atomic():
        case = _locked(case)
        supplement = _may_add_documents(case)
        material = _material(case, material_id)
        try:
            stored = uploads.store_upload(upload)
        except ValidationError as exc:
            raise ValidationError({"file": exc.messages}) from exc
        try:
            attachment = Attachment.objects.create(
                case=case,
                material=material,
                stored_name=stored.stored_name,
                original_name=stored.original_name,
                size=stored.size,
                sha256=stored.sha256,
                content_type=stored.content_type,
                uploaded_by=user,
                for_supplement=supplement,
            )
            case.row_version += 1
            case.save(update_fields=["row_version", "updated_at"])
        except Exception:
            uploads.path_of(stored.stored_name).unlink(missing_ok=True)
            raise
    return attachment


def documents_on_file(profile: CitizenProfile) -> list[Attachment]:
    """Documents this person uploaded before, newest first and one per content, for reuse."""
    seen: set[str] = set()
    result = []
    for attachment in (
        Attachment.objects.filter(case__applicant=profile, reused_from__isnull=True)
        .select_related("material")
        .order_by("-created_at")[:200]
    ):
        if attachment.sha256 not in seen:
            seen.add(attachment.sha256)
            result.append(attachment)
    return result


def reuse_document(*, case: Case, material_id, attachment_id, user: User) -> Attachment:
    """Attach a document already on file instead of uploading it again."""
    with transaction.atomic():
        case = _locked(case)
        supplement = _may_add_documents(case)
        material = _material(case, material_id)
        source = Attachment.objects.filter(pk=attachment_id, case__applicant=case.applicant).first()
        if source is None:
            raise ValidationError({"document": [_("No such document on file.")]})
        attachment = Attachment.objects.create(
            case=case,
            material=material,
            stored_name=source.stored_name,
            original_name=source.original_name,
            size=source.size,
            sha256=source.sha256,
            content_type=source.content_type,
            uploaded_by=user,
            reused_from=source,
            for_supplement=supplement,
        )
        case.row_version += 1
        case.save(update_fields=["row_version", "updated_at"])
    return attachment


def remove_attachment(*, case: Case, attachment_id, user: User) -> None:
    with transaction.atomic():
        case = _locked(case)
        if not case.is_draft:
            raise CaseConflict(_("Documents of a submitted application cannot be removed."))
        deleted, _rows = Attachment.objects.filter(case=case, pk=attachment_id).delete()
        if not deleted:
            raise ValidationError({"attachment": [_("No such document in this application.")]})


def held_licences(case: Case) -> dict[int, Licence]:
    """Valid e-licences of the applicant, by licence type: materials they satisfy need no upload."""
    today = _today()
    licences = Licence.objects.filter(
        holder=case.applicant, revoked_at__isnull=True, valid_from__lte=today
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
    return {licence.licence_type_id: licence for licence in licences}


def missing_materials(case: Case) -> list[ServiceMaterial]:
    """Required materials not yet provided: uploads without a document, licences not held."""
    attached = set(case.attachments.values_list("material_id", flat=True))
    licences = held_licences(case)
    missing = []
    for material in case.service_version.materials.all():
        if not material.required or material.pk in attached:
            continue
        if material.source == MaterialSource.SHARED:
            continue  # another department shares it; nothing for the applicant to do
        if material.source == MaterialSource.LICENCE and material.licence_type_id in licences:
            continue
        missing.append(material)
    return missing


# --- Submission ------------------------------------------------------------------------------------


def _intake_stage(case: Case) -> WorkflowStage:
    return case.service_version.workflow.stages.get(kind=StageKind.INTAKE)


def submit_application(*, case: Case, user: User, channel: str | None = None) -> Case:
    """Hand the application in: full validation of the form and the materials, then `submitted`
    in the intake stage, with the intake deadline of 行政许可法 §32."""
    with transaction.atomic():
        case = _locked(case)
        if not case.is_draft:
            raise CaseConflict(
                _("This application has already been submitted."), code="already_submitted"
            )
        errors: dict[str, list[str]] = {}
        try:
            case.data = _apply_prefill(
                case, validate_data(case.service_version.form_schema, case.data)
            )
        except ValidationError as exc:
            errors.update(
                {f"data.{k}" if k != "data" else k: v for k, v in exc.message_dict.items()}
            )
        missing = missing_materials(case)
        if missing:
            errors["materials"] = [
                _("Missing: %(material)s") % {"material": material.label} for material in missing
            ]
        if errors:
            raise ValidationError(errors)
        now = timezone.now()
        from_state = case.state
        case.state = OuterState.SUBMITTED
        case.stage = _intake_stage(case)
        case.received_at = now
        intake_due, provisional = add_working_days_provisional(
            timezone.localdate(now), INTAKE_LIMIT_WORKING_DAYS
        )
        case.intake_due_date = intake_due
        case.due_date_provisional = provisional
        case.row_version += 1
        case.save(
            update_fields=[
                "data",
                "state",
                "stage",
                "received_at",
                "intake_due_date",
                "due_date_provisional",
                "row_version",
                "updated_at",
            ]
        )
        _append_event(
            case,
            action="submit",
            actor=user,
            actor_role=APPLICANT,
            channel=channel or case.channel,
            from_state=from_state,
        )
    return case


# --- Transitions -----------------------------------------------------------------------------------


def acting_department_id(case: Case, stage: WorkflowStage | None) -> int:
    if stage is None or stage.department_rule == DepartmentRule.SERVICE_DEPARTMENT:
        return case.department_id
    if stage.department_rule == DepartmentRule.PARENT_DEPARTMENT:
        return case.department.parent_id or case.department_id
    return stage.fixed_department_id


def is_applicant_side(case: Case, user: User) -> bool:
    """The applicant themselves, or the account that filed for them (a proxy)."""
    return user.is_authenticated and (
        case.applicant.user_id == user.pk
        or (case.filed_by_id == user.pk and case.channel != Channel.COUNTER)
    )


def roles_for(case: Case, user: User, stage: WorkflowStage | None = None) -> set[str]:
    """What `user` is for this case right now: 'applicant' and the staff roles they hold in the
    department that acts on the case's current stage."""
    roles: set[str] = set()
    if is_applicant_side(case, user):
        roles.add(APPLICANT)
    department_id = acting_department_id(case, stage or case.stage)
    roles |= set(
        StaffMembership.objects.filter(user=user, department_id=department_id).values_list(
            "role", flat=True
        )
    )
    return roles


def available_transitions(case: Case) -> list[WorkflowTransition]:
    """The transitions the workflow allows from the case's stage and state (whoever takes them)."""
    if case.is_draft or case.state in CLOSED_STATES or case.stage is None:
        return []
    candidates = WorkflowTransition.objects.filter(definition_id=case.stage.definition_id).filter(
        Q(source=case.stage) | Q(source__isnull=True)
    )
    return [t for t in candidates.select_related("target") if _state_allows(case, t)]


def _state_allows(case: Case, transition: WorkflowTransition) -> bool:
    """The outer lifecycle's own rules on top of the workflow's graph."""
    state = case.state
    if state == OuterState.SUSPENDED:
        return transition.name in ("resume", "withdraw")
    if transition.name == "resume":
        return False
    if state == OuterState.SUPPLEMENT_REQUESTED:
        return transition.name in ("supplement", "withdraw", "not_accept")
    return transition.name != "supplement"


def transitions_for(case: Case, user: User) -> list[WorkflowTransition]:
    """What this user may do to this case now: what a page offers and the API lists as actions."""
    roles = roles_for(case, user)
    return [t for t in available_transitions(case) if roles & set(t.allowed_roles)]


EffectHandler = Callable[[Case, WorkflowTransition, Event], None]
_effect_handlers: dict[str, list[EffectHandler]] = {}


def on_effect(effect: str) -> Callable[[EffectHandler], EffectHandler]:
    """Register what runs after commit when a transition with `effect` is applied."""

    def register(handler: EffectHandler) -> EffectHandler:
        _effect_handlers.setdefault(effect, []).append(handler)
        return handler

    return register


def apply_transition(
    *,
    case: Case,
    name: str,
    actor: User,
    opinion: str = "",
    expected_version: int | None = None,
    channel: str = Channel.ONLINE,
    details: dict | None = None,
    before_save: Callable[[Case], Iterable[str]] | None = None,
) -> Case:
    """Move a case along its workflow.

    Refuses (CaseConflict, 409) what the definition does not allow from the current stage and
    state, a stale `expected_version`, and a case already closed; refuses (PermissionDenied) an
    actor without the role; refuses (ValidationError) a missing required opinion. On success one
    event is written and the transition's effects run after commit.
    """
    with transaction.atomic():
        case = _locked(case)
        if expected_version is not None and expected_version != case.row_version:
            raise CaseConflict(
                _(
                    "Someone else changed this application in the meantime; reload it and try again."
                ),
                code="stale",
            )
        if case.is_draft:
            raise CaseConflict(_("This application has not been submitted yet."), code="draft")
        if case.state in CLOSED_STATES:
            raise CaseConflict(
                _("This application is closed (%(state)s); nothing more can be done to it.")
                % {"state": case.get_state_display()},
                code="closed",
            )
        transition = next((t for t in available_transitions(case) if t.name == name), None)
        if transition is None:
            raise CaseConflict(
                _("“%(name)s” is not possible while the application is %(state)s.")
                % {"name": name, "state": case.get_state_display()},
                code="not_allowed",
            )
        roles = roles_for(case, actor) & set(transition.allowed_roles)
        if not roles:
            raise PermissionDenied(_("You may not do this for this application."))
        opinion = (opinion or "").strip()
        if transition.opinion_required and not opinion:
            raise ValidationError({"opinion": [_("Give the reason; the applicant will read it.")]})

        from_state, from_stage = case.state, case.stage.code
        now = timezone.now()
        if transition.outcome in (OuterState.SUSPENDED, OuterState.SUPPLEMENT_REQUESTED):
            case.state_before_pause = case.state
        if transition.outcome:
            case.state = transition.outcome
        elif transition.name == "resume" and case.state_before_pause:
            case.state = case.state_before_pause
            case.state_before_pause = ""
        if transition.target_id:
            case.stage = transition.target
        if case.state == OuterState.ACCEPTED and case.accepted_at is None:
            case.accepted_at = now
        if case.state in (OuterState.APPROVED, OuterState.REJECTED, OuterState.NOT_ACCEPTED):
            case.decided_at = now
            case.decision_reason = opinion
        if case.state in CLOSED_STATES:
            case.closed_at = now
        fields = ["state", "state_before_pause", "stage", "accepted_at", "decided_at", "closed_at",
                  "decision_reason", "row_version", "updated_at"]  # fmt: skip
        if before_save is not None:
            fields += list(before_save(case))
        case.row_version += 1
        case.save(update_fields=fields)
        event = _append_event(
            case,
            action=transition.name,
            actor=actor,
            actor_role=sorted(roles)[0],
            channel=channel,
            from_state=from_state,
            from_stage=from_stage,
            opinion=opinion,
            details=details,
        )
        for effect in transition.effects:
            for handler in _effect_handlers.get(effect, []):
                transaction.on_commit(
                    lambda handler=handler: handler(case, transition, event), robust=True
                )
    return case


# --- The applicant's side --------------------------------------------------------------------------


def withdraw_case(*, case: Case, user: User, reason: str, channel: str = Channel.ONLINE) -> Case:
    """The applicant withdraws (撤回) an open application, with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Tell the department why you withdraw.")]})
    return apply_transition(case=case, name="withdraw", actor=user, opinion=reason, channel=channel)


def answer_supplement(
    *, case: Case, user: User, note: str = "", channel: str = Channel.ONLINE
) -> Case:
    """Hand in the documents a request asked for; the case returns to intake and the clock runs."""

    def close_request(locked: Case) -> list[str]:
        request = locked.supplement_requests.filter(state=SupplementRequest.State.OPEN).first()
        if request is None:
            raise CaseConflict(_("There is no open request for documents."))
        answered = set(request.attachments.values_list("material_id", flat=True))
        missing = [m.label for m in request.materials.all() if m.pk not in answered]
        if missing:
            raise ValidationError(
                {"materials": [_("Missing: %(material)s") % {"material": name} for name in missing]}
            )
        request.state = SupplementRequest.State.ANSWERED
        request.answered_at = timezone.now()
        request.save(update_fields=["state", "answered_at"])
        return []

    return apply_transition(
        case=case,
        name="supplement",
        actor=user,
        opinion=note,
        channel=channel,
        before_save=close_request,
    )


def request_supplement(
    *,
    case: Case,
    actor: User,
    materials: list[ServiceMaterial],
    note: str,
    channel: str = Channel.ONLINE,
) -> Case:
    """Staff ask for everything missing in one notice (一次性告知); the applicant answers by the
    deadline or the application is deemed withdrawn."""
    days = settings.SUPPLEMENT_ANSWER_WORKING_DAYS

    def open_request(locked: Case) -> list[str]:
        deadline, _provisional = add_working_days_provisional(_today(), days)
        request = SupplementRequest.objects.create(
            case=locked, requested_by=actor, note=note, deadline=deadline
        )
        request.materials.set([m for m in materials if m.version_id == locked.service_version_id])
        return []

    return apply_transition(
        case=case,
        name="request_supplement",
        actor=actor,
        opinion=note,
        channel=channel,
        details={"materials": [m.pk for m in materials]},
        before_save=open_request,
    )


__all__ = [
    "CaseConflict",
    "Effect",
    "add_attachment",
    "answer_supplement",
    "apply_transition",
    "create_draft",
    "missing_materials",
    "request_supplement",
    "submit_application",
    "transitions_for",
    "update_draft",
    "withdraw_case",
]
