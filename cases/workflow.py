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
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import (
    CitizenProfile,
    OrganisationAgent,
    ProxyAuthorisation,
    Role,
    StaffMembership,
    User,
)
from services.calendar import (
    CalendarYearMissing,
    add_working_days_provisional,
    working_days_between,
)
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

from . import notifications, uploads
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


def _paused_working_days(since: dt.date, until: dt.date) -> int:
    """Working days a paused clock stood still; weekdays only for a year the calendar lacks."""
    try:
        return working_days_between(since, until)
    except CalendarYearMissing:
        return sum(
            1
            for offset in range(1, (until - since).days + 1)
            if (since + dt.timedelta(days=offset)).weekday() < 5
        )


def _record_outcome(case: Case, decided: dt.date) -> list[str]:
    """Working days the decision took (pauses excluded) and whether it met its deadline: written
    once, at the decision, for the public statistics."""
    if case.state == OuterState.NOT_ACCEPTED or case.accepted_at is None:
        start, deadline = timezone.localdate(case.received_at), case.intake_due_date
    else:
        start, deadline = timezone.localdate(case.accepted_at), case.due_date
    elapsed = _paused_working_days(start, decided)  # weekdays when the calendar lacks the year
    case.working_days_used = max(0, elapsed - case.paused_working_days)
    case.decided_on_time = deadline is None or decided <= deadline
    return ["working_days_used", "decided_on_time", "paused_working_days"]


def _clock_effects(
    case: Case, transition: WorkflowTransition, details: dict, today: dt.date
) -> list[str]:
    """Deadlines in working days (DESIGN "Time"): set at acceptance from the promised limit, paused
    by requests for documents and special procedures (§45), moved on resume, extended (§42)."""
    changed: list[str] = []
    effects = set(transition.effects)
    if transition.outcome == OuterState.ACCEPTED and case.due_date is None:
        start = timezone.localdate(case.accepted_at) if case.accepted_at else today
        case.due_date, case.due_date_provisional = add_working_days_provisional(
            start, case.service_version.promised_limit_days
        )
        changed += ["due_date", "due_date_provisional"]
    if Effect.PAUSE_CLOCK in effects and case.paused_since is None:
        case.paused_since = today
        changed.append("paused_since")
    if Effect.RESUME_CLOCK in effects and case.paused_since is not None:
        stood_still = _paused_working_days(case.paused_since, today)
        case.paused_working_days += stood_still
        changed.append("paused_working_days")
        if case.due_date is not None and stood_still:
            case.due_date, provisional = add_working_days_provisional(case.due_date, stood_still)
            case.due_date_provisional = case.due_date_provisional or provisional
            changed += ["due_date", "due_date_provisional"]
        if case.accepted_at is None:
            # Complete materials arrived: the five days of §32 count again from today.
            case.intake_due_date, _provisional = add_working_days_provisional(
                today, INTAKE_LIMIT_WORKING_DAYS
            )
            changed.append("intake_due_date")
        case.paused_since = None
        changed.append("paused_since")
    if Effect.EXTEND_DEADLINE in effects:
        days = details.get("days", settings.EXTENSION_MAX_WORKING_DAYS)
        if (
            not isinstance(days, int)
            or days < 1
            or case.extended_days + days > settings.EXTENSION_MAX_WORKING_DAYS
        ):
            raise ValidationError(
                {"days": [_("An extension is 1 to %(max)d working days in all (行政许可法 §42).")
                          % {"max": settings.EXTENSION_MAX_WORKING_DAYS}]}
            )  # fmt: skip
        if case.due_date is None:
            raise CaseConflict(_("Only an accepted application has a time limit to extend."))
        case.due_date, provisional = add_working_days_provisional(case.due_date, days)
        case.due_date_provisional = case.due_date_provisional or provisional
        case.extended_days += days
        changed += ["due_date", "due_date_provisional", "extended_days"]
    return changed


def next_case_number(*, service: ServiceItem, day: dt.date) -> str:
    """Service code + date + a sequence for that service and day, unique under concurrency.

    One UPDATE ... RETURNING increments and reads the counter; its row stays locked until the
    surrounding transaction commits, so two filings can never get the same number.
    """
    key = f"{service.code}-{day:%Y%m%d}"
    table = connection.ops.quote_name(CaseNumberCounter._meta.db_table)
    for _attempt in range(2):
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET value = value + 1 WHERE key = %s RETURNING value",  # noqa: S608
                [key],
            )
            row = cursor.fetchone()
        if row is not None:
            return f"{key}-{row[0]:04d}"
        try:
            with transaction.atomic():
                CaseNumberCounter.objects.create(key=key, value=0)
        except IntegrityError:
            pass  # another filing created it first: increment that one
    raise RuntimeError(f"case number counter {key} could not be incremented")


def _append_event(
    case: Case,
    *,
    first: bool = False,
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
    last = (
        None
        if first
        else Event.objects.filter(case=case)
        .order_by("-sequence")
        .values("sequence", "hash")
        .first()
    )
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
    # The messages this event causes are written in the same transaction (outbox).
    notifications.record_for_event(case, event)
    return event


def _locked(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("service_version", "service", "stage", "applicant")
        .get(pk=case.pk)
    )


# For the modules beside the engine (ratings) that write to a case's trail under its lock.
lock_case = _locked
append_event = _append_event


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


def display_data(case: Case) -> dict:
    """The form data as shown on a page: ID numbers masked (DESIGN "Data protection")."""
    from accounts.validators import mask_id_number

    data = dict(case.data)
    for name, source in prefilled_fields(case.service_version.form_schema).items():
        if source == "id_number" and data.get(name):
            data[name] = mask_id_number(data[name])
    return data


def _apply_prefill(case: Case, data: dict) -> dict:
    fields = prefilled_fields(case.service_version.form_schema)
    if not fields:
        return data
    values = prefill_values(profile=case.applicant, organisation=case.organisation)
    if "email" in fields.values() and case.applicant.user_id:
        values["email"] = case.applicant.user.email
    for name, source in fields.items():
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
    authorisation: ProxyAuthorisation | None = None,
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
    if (
        authorisation is not None
    ):  # 帮办代办: for the principal, by (or through a clerk, for) the agent
        profile = authorisation.principal
    else:
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
                agent=authorisation.agent if authorisation else None,
                authorisation=authorisation,
                filed_by=user,
                channel=channel,
                idempotency_key=idempotency_key or None,
            )
            case.data = _apply_prefill(case, cleaned)
            case.save()
            _append_event(
                case,
                first=True,
                action="create",
                actor=user,
                actor_role=Role.COUNTER_CLERK if channel == Channel.COUNTER else APPLICANT,
                channel=channel,
            )
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


def documents_on_file(profile: CitizenProfile, *, besides: Case | None = None) -> list[Attachment]:
    """Documents this person gave in earlier applications, newest first and one per content, for
    reuse (those of the application `besides` are already in it)."""
    seen: set[str] = set()
    result = []
    earlier = Attachment.objects.filter(case__applicant=profile, reused_from__isnull=True)
    if besides is not None:
        earlier = earlier.exclude(case=besides)
    for attachment in earlier.select_related("material").order_by("-created_at")[:200]:
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
    """Required materials not yet provided: uploads without a document, licences not held.
    Data shared by another department is never the applicant's to provide."""
    needed = [
        m
        for m in case.service_version.materials.all()
        if m.required and m.source != MaterialSource.SHARED
    ]
    if not needed:
        return []
    attached = set(case.attachments.values_list("material_id", flat=True))
    attached |= set(case.materials_received or [])  # handed over on paper at a counter
    needed = [m for m in needed if m.pk not in attached]
    if any(m.source == MaterialSource.LICENCE for m in needed):
        licences = held_licences(case)
        needed = [
            m
            for m in needed
            if not (m.source == MaterialSource.LICENCE and m.licence_type_id in licences)
        ]
    return needed


# --- Submission ------------------------------------------------------------------------------------


def _intake_stage(case: Case) -> WorkflowStage:
    return WorkflowStage.objects.get(
        definition_id=case.service_version.workflow_id, kind=StageKind.INTAKE
    )


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
            actor_role=Role.COUNTER_CLERK if case.channel == Channel.COUNTER else APPLICANT,
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
    """The applicant themselves, or the proxy who applied for them (帮办代办)."""
    return user.is_authenticated and (
        case.applicant.user_id == user.pk
        or (case.filed_by_id == user.pk and case.channel != Channel.COUNTER)
        or (case.agent_id is not None and case.agent.user_id == user.pk)
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
    on_the_spot = _decides_on_the_spot(case)
    candidates = WorkflowTransition.objects.filter(definition_id=case.stage.definition_id).filter(
        Q(source=case.stage)
        | Q(source__isnull=True)
        | (Q(source__kind=StageKind.DECISION, name__in=ON_THE_SPOT) if on_the_spot else Q(pk=None))
    )
    return [t for t in candidates.select_related("target", "source") if _state_allows(case, t)]


# 即办件: decided on the spot at intake, by whoever accepts it, with the decision's own transitions.
ON_THE_SPOT = ("approve", "reject")


def _decides_on_the_spot(case: Case) -> bool:
    return (
        case.service_version.is_immediate
        and case.stage is not None
        and case.stage.kind == StageKind.INTAKE
        and case.state == OuterState.SUBMITTED
    )


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


def acting_roles(case: Case, transition: WorkflowTransition, roles: set[str]) -> set[str]:
    """Which of `roles` may take `transition` now. A transition available at every stage (suspend,
    resume ...) belongs to the actors of the current stage and the department head, not to every
    staff role it names: only actors of the current stage act."""
    allowed = roles & set(transition.allowed_roles)
    if transition.name in ON_THE_SPOT and _decides_on_the_spot(case):
        # The intake actor decides a 即办件 at once, within the roles allowed to accept it.
        accept_roles = set(
            WorkflowTransition.objects.filter(definition_id=case.stage.definition_id, name="accept")
            .values_list("allowed_roles", flat=True)
            .first()
            or []
        )
        return roles & (set(transition.allowed_roles) | accept_roles)
    if transition.source_id is None and case.stage is not None:
        allowed = {
            role for role in allowed if role in (APPLICANT, case.stage.role, Role.DEPARTMENT_HEAD)
        }
    return allowed


def transitions_for(case: Case, user: User) -> list[WorkflowTransition]:
    """What this user may do to this case now: what a page offers and the API lists as actions."""
    roles = roles_for(case, user)
    return [t for t in available_transitions(case) if acting_roles(case, t, roles)]


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
    actor: User | None,
    opinion: str = "",
    expected_version: int | None = None,
    channel: str = Channel.ONLINE,
    details: dict | None = None,
    before_save: Callable[[Case], Iterable[str]] | None = None,
    system: bool = False,
    record_as: str | None = None,
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
        roles = {"system"} if system else acting_roles(case, transition, roles_for(case, actor))
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
            case.accepted_at = details.get("accepted_at") if details else None
            case.accepted_at = case.accepted_at or now
        if case.accepted_at is None and case.state in (OuterState.APPROVED, OuterState.REJECTED):
            case.accepted_at = now  # a 即办件 decided on the spot is accepted at the same moment
            case.due_date, case.due_date_provisional = timezone.localdate(now), False
        if case.state in (OuterState.APPROVED, OuterState.REJECTED, OuterState.NOT_ACCEPTED):
            case.decided_at = now
            case.decision_reason = opinion
        if case.state in CLOSED_STATES:
            case.closed_at = now
            case.paused_since = None
        details = details or {}
        if from_state != OuterState.ACCEPTED and case.state == OuterState.ACCEPTED:
            case.paused_working_days = 0  # from now on only pauses of the decision clock count
        clock_fields = _clock_effects(case, transition, details, timezone.localdate(now))
        if case.decided_at == now:
            clock_fields += _record_outcome(case, timezone.localdate(now))
        fields = [*clock_fields, "paused_since", "due_date", "due_date_provisional", "state", "state_before_pause", "stage", "accepted_at", "decided_at", "closed_at",
                  "paused_working_days", "decision_reason", "row_version", "updated_at"]  # fmt: skip
        if before_save is not None:
            fields += list(before_save(case))
        case.row_version += 1
        case.save(update_fields=sorted(set(fields)))
        event = _append_event(
            case,
            action=record_as or transition.name,
            actor=actor,
            actor_role=sorted(roles)[0],
            channel=channel,
            from_state=from_state,
            from_stage=from_stage,
            opinion=opinion,
            details={k: v for k, v in details.items() if k != "accepted_at"},
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
    supervisor_reason: str = "",
) -> Case:
    """Staff ask for everything missing in one notice (一次性告知); the applicant answers by the
    deadline or the application is deemed withdrawn."""
    days = settings.SUPPLEMENT_ANSWER_WORKING_DAYS
    note = (note or "").strip()
    if not materials:
        raise ValidationError({"materials": [_("List everything that is missing, in one notice.")]})

    def open_request(locked: Case) -> list[str]:
        if locked.intake_due_date and _today() > locked.intake_due_date:
            raise CaseConflict(
                _("More than five working days have passed since receipt: the application counts "
                  "as accepted (行政许可法 §32). Accept it instead."),
                code="intake_period_over",
            )  # fmt: skip
        if locked.supplement_requests.exists():
            reason = (supervisor_reason or "").strip()
            if not reason or Role.DEPARTMENT_HEAD not in roles_for(locked, actor):
                raise ValidationError(
                    {"supervisor_reason": [_("A second request for documents needs the department "
                                             "head's reason: everything missing belongs in one notice.")]}
                )  # fmt: skip
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
        details={"materials": [m.pk for m in materials], "supervisor_reason": supervisor_reason},
        before_save=open_request,
    )


# --- Rules the law sets without anyone acting ------------------------------------------------------


def intake_overdue_cases(today: dt.date | None = None):
    """Submitted cases whose five working days for intake have passed (行政许可法 §32)."""
    return Case.objects.filter(
        state=OuterState.SUBMITTED, intake_due_date__lt=today or _today(), accepted_at__isnull=True
    ).exclude(supplement_requests__state=SupplementRequest.State.OPEN)


def deem_accepted(*, case: Case) -> Case | None:
    """§32: intake let five working days pass without accepting or asking for documents, so the
    application counts as accepted on the day it was received. Returns None when no longer due."""
    with transaction.atomic():
        locked = _locked(case)
        if not intake_overdue_cases().filter(pk=locked.pk).exists():
            return None
        with translation.override(settings.LANGUAGE_CODE):
            # The record is kept in the official language, whoever's request triggered the sweep.
            opinion = _(
                "Deemed accepted: no decision within five working days of receipt (行政许可法 §32)."
            )
        return apply_transition(
            case=locked,
            name="accept",
            actor=None,
            system=True,
            opinion=opinion,
            details={"accepted_at": locked.received_at, "deemed": True},
            channel="system",
        )


def deem_withdrawn(*, case: Case) -> Case | None:
    """The documents asked for did not arrive by the deadline: the application is deemed withdrawn
    (视为撤回) and the applicant is told. Returns None when no longer due."""
    with transaction.atomic():
        locked = _locked(case)
        request = locked.supplement_requests.filter(
            state=SupplementRequest.State.OPEN, deadline__lt=_today()
        ).first()
        if locked.state != OuterState.SUPPLEMENT_REQUESTED or request is None:
            return None
        request.state = SupplementRequest.State.EXPIRED
        request.save(update_fields=["state"])
        with translation.override(settings.LANGUAGE_CODE):
            opinion = _("Deemed withdrawn: the documents requested were not sent by %(date)s.") % {
                "date": request.deadline.isoformat()
            }
        return apply_transition(
            case=locked,
            name="withdraw",
            actor=None,
            system=True,
            opinion=opinion,
            channel="system",
            details={"deemed": True},
            record_as="deemed_withdrawn",
        )


# --- Claiming ------------------------------------------------------------------------------------


def claim_case(*, case: Case, user: User, release: bool = False) -> Case:
    """A caseworker takes a case from the queue (or gives it back); one holder at a time."""
    with transaction.atomic():
        case = _locked(case)
        if case.is_draft or case.state in CLOSED_STATES:
            raise CaseConflict(_("Only open applications can be claimed."))
        staff_roles = roles_for(case, user) - {APPLICANT}
        # Only those who may act on the current stage (or the department head) take a case.
        may_act = any(acting_roles(case, t, staff_roles) for t in available_transitions(case))
        if not staff_roles or not (may_act or Role.DEPARTMENT_HEAD in staff_roles):
            raise PermissionDenied(_("You may not do this for this application."))
        if release:
            if case.assignee_id != user.pk:
                raise CaseConflict(_("You do not hold this application."), code="not_holder")
            case.assignee, case.claimed_at, action = None, None, "release"
        else:
            if case.assignee_id and case.assignee_id != user.pk:
                raise CaseConflict(
                    _("Someone else already handles this application."), code="claimed"
                )
            case.assignee, case.claimed_at, action = user, timezone.now(), "claim"
        case.row_version += 1
        case.save(update_fields=["assignee", "claimed_at", "row_version", "updated_at"])
        _append_event(
            case,
            action=action,
            actor=user,
            actor_role=sorted(staff_roles)[0],
            from_state=case.state,
            from_stage=case.stage.code if case.stage_id else "",
        )
    return case


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
