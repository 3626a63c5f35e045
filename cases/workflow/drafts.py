"""Drafts, documents and submission: what happens before a case enters its workflow.

A draft belongs to the applicant's side alone; submitting validates the form and the materials in
full and puts the case in the workflow's intake stage with the §32 intake deadline.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import (
    CitizenProfile,
    ProxyAuthorisation,
    Role,
    User,
)
from accounts.organisations import current_agencies
from accounts.validators import mask_id_number
from services.calendar import add_working_days_provisional
from services.models import (
    APPLICANT,
    RESIDENT_ID_CARD,
    Audience,
    LicenceType,
    MaterialSource,
    OuterState,
    ServiceItem,
    ServiceMaterial,
    localized,
)
from services.schema import ordered_properties, validate_data

from .. import uploads
from ..models import (
    CLOSED_STATES,
    Attachment,
    Case,
    CaseNumberCounter,
    Channel,
    Licence,
    OfficialDocument,
    SupplementRequest,
)
from ..notifications import services as notifications
from ..sharing import services as sharing
from ..vocabulary import EventAction
from .clock import INTAKE_LIMIT_WORKING_DAYS
from .errors import CaseConflict
from .trail import append_event, intake_stage, locked, move_to_stage

# 容缺受理: materials accepted to follow are due this many working days after submission.
OWED_WORKING_DAYS = 5


def _today() -> dt.date:
    return timezone.localdate()


def next_case_number(*, service: ServiceItem, day: dt.date) -> str:
    """Service code + date + a sequence for that service and day, unique under concurrency.

    The counter row stays locked until the surrounding transaction commits
    (`CaseNumberCounter.next_value`), so two filings can never get the same number.
    """
    key = f"{service.code}-{day:%Y%m%d}"
    return f"{key}-{CaseNumberCounter.next_value(key):04d}"


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
    """Field name → prefill source, for the fields of a schema filled from verified data (a
    registry's field, "household.address", is not one: cases.sharing fills it when the draft starts,
    and it stays the applicant's to correct)."""
    return {
        name: prop["x-prefill"]
        for name, prop in ordered_properties(schema)
        if prop.get("x-prefill") and prop["type"] == "string" and "." not in prop["x-prefill"]
    }


def display_data(case: Case) -> dict:
    """The form data as shown on a page: ID numbers and phones masked (DESIGN "Data protection");
    staff see the full number only by revealing it, with a reason (cases.access_log.reveal)."""
    from accounts.validators import mask_id_number, mask_phone

    data = dict(case.data)
    for name, source in prefilled_fields(case.service_version.form_schema).items():
        if source == "id_number" and data.get(name):
            data[name] = mask_id_number(data[name])
        elif source == "phone" and data.get(name):
            data[name] = mask_phone(str(data[name]))
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


def _organisation_acted_for(user: User, organisation_id: int | None, version):
    """The organisation a company agent (法人经办人) applies for, checked against their agency."""
    organisation = None
    if organisation_id is not None:
        agency = current_agencies(user).filter(organisation_id=organisation_id).first()
        if agency is None:
            raise ValidationError(
                {"agent_for": [_("You are not authorised to act for this organisation.")]}
            )
        organisation = agency.organisation
    if version.audience == Audience.ORGANISATION and organisation is None:
        raise ValidationError(
            {"agent_for": [_("This service is for organisations: say which one you act for.")]}
        )
    return organisation


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
    materials_received: list[int] | None = None,
    queue_ticket: str = "",
    registry_answers: sharing.RegistryAnswers | None = None,
) -> tuple[Case, bool]:
    """Start an application under the service's current published version.

    The registries of its registry-sourced fields are asked before the transaction opens (or by
    a caller that opened one, in `registry_answers`: cases.sharing.ask_for_prefill).

    At a counter, `materials_received` lists the materials handed over on paper (收件清单) and
    `queue_ticket` the ticket the citizen was called with; the filing counts as one visit.

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
    # 帮办代办: for the principal, by (or through a clerk, for) the agent.
    profile = authorisation.principal if authorisation else applicant or applicant_profile(user)
    organisation = _organisation_acted_for(user, organisation_id, version)
    cleaned = validate_data(version.form_schema, data or {}, partial=True)
    # The version's materials (read once, or from a caller's prefetch) only when paper was ticked.
    if materials_received and set(materials_received) - {m.pk for m in version.materials.all()}:
        raise ValidationError({"materials_received": [_("This service has no such material.")]})
    ask_first = registry_answers is None and not transaction.get_connection().in_atomic_block
    for attempt in (1, 2):
        if ask_first:  # no registry call holds the transaction open
            registry_answers = sharing.ask_for_prefill(
                service=service,
                schema=version.form_schema,
                data=cleaned,
                person=sharing.Person.of(profile) if profile is not None else None,
            )
        try:
            return _created_draft(
                service=service, version=version, user=user, profile=profile,
                organisation=organisation, authorisation=authorisation, channel=channel,
                idempotency_key=idempotency_key, cleaned=dict(cleaned),
                materials_received=materials_received, queue_ticket=queue_ticket,
                registry_answers=registry_answers,
            )  # fmt: skip
        except sharing.AnswersOutdated:
            if not ask_first or attempt == 2:  # the grants keep changing: let them say again
                raise ValidationError(
                    {"service": [_("This service's data sharing changed just now: try again.")]}
                ) from None
    raise AssertionError("unreachable")


def _created_draft(
    *, service, version, user, profile, organisation, authorisation, channel, idempotency_key,
    cleaned, materials_received, queue_ticket, registry_answers,
) -> tuple[Case, bool]:  # fmt: skip
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
                materials_received=sorted(set(materials_received or [])),
                queue_ticket=(queue_ticket or "")[:20],
                visits=1 if channel == Channel.COUNTER else 0,
            )
            case.data = _apply_prefill(case, cleaned)
            case.save()
            append_event(
                case,
                first=True,
                action=EventAction.CREATE,
                actor=user,
                actor_role=Role.COUNTER_CLERK if channel == Channel.COUNTER else APPLICANT,
                channel=channel,
            )
            sharing.prefill_from_registries(
                case=case, user=user, channel=channel, answers=registry_answers
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
        case = locked(case)
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


def _may_add_documents(case: Case, material: ServiceMaterial) -> SupplementRequest | None:
    """Documents are added to a draft, to answer an open request for documents, or to hand in a
    material accepted to follow (容缺) while the case is open."""
    if case.is_draft:
        return None
    open_request = case.supplement_requests.filter(state=SupplementRequest.State.OPEN).first()
    if case.state == OuterState.SUPPLEMENT_REQUESTED and open_request is not None:
        return open_request
    if case.state not in CLOSED_STATES and (
        material in owed_materials(case) or sharing.upload_instead(case, material)
    ):
        return None
    raise CaseConflict(
        _("Documents can only be added to a draft or to answer a request for documents.")
    )


def _delivered(case: Case, material: ServiceMaterial, user: User) -> None:
    """A material accepted to follow arrived: in the trail, and the stage's staff are told."""
    if case.is_draft or case.state == OuterState.SUPPLEMENT_REQUESTED:
        return
    event = append_event(
        case,
        action=EventAction.MATERIAL_DELIVERED,
        actor=user,
        actor_role=APPLICANT,
        channel=case.channel,
        details={"material": material.pk, "name": material.name,
                 "still_owed": [m.name for m in owed_materials(case)]},
    )  # fmt: skip
    notifications.tell_stage_staff(case, event)


def add_attachment(
    *, case: Case, material_id, upload=None, user: User, stored: uploads.StoredFile | None = None
) -> Attachment:
    """Store an uploaded document for one material. Oversized, disguised, active (PDF JavaScript
    ...) or over-quota files are refused under `file` and nothing is written. With `stored` (a
    file already stored once, e.g. a bundle's upload serving several cases), the record points to
    that file: nothing is written again and the daily upload quota is not counted twice."""
    with transaction.atomic():
        case = locked(case)
        material = _material(case, material_id)
        if material.source == MaterialSource.FORM:
            raise ValidationError(
                {
                    "material": [
                        _("The application form is made from your answers: nothing to upload.")
                    ]
                }
            )
        supplement = _may_add_documents(case, material)
        try:
            # Counter scans are the clerk's work, not the clerk's own uploads: no daily quota.
            uploads.check_quotas(
                case=case,
                user=user,
                size=stored.size if stored else upload.size or 0,
                stores_bytes=case.channel != Channel.COUNTER and stored is None,
            )
            written = stored is None
            stored = stored or uploads.store_upload(upload)
        except ValidationError as exc:
            raise ValidationError({"file": exc.error_list}) from exc
        try:
            attachment = _attachment_row(case, material, stored, user, supplement)
            attachment.save(force_insert=True)
            case.row_version += 1
            case.save(update_fields=["row_version", "updated_at"])
            _delivered(case, material, user)
        except Exception:
            if written:
                uploads.discard_stored(stored.stored_name)
            raise
    return attachment


def attach_stored_files(
    *, case: Case, documents: list[tuple[ServiceMaterial, User, uploads.StoredFile]]
) -> list[Attachment]:
    """Attach files already stored to a draft, all at once: (material of the case's version, who
    uploaded it, the stored file) each; for a bundle's uploads (counted against the daily quota
    when uploaded) and a counter's scans (the clerk's work, which counts towards none). The
    checks of `add_attachment` (a draft, no application form, the case's quotas for all of them
    together), in a fixed number of statements whatever the number of documents."""
    if not documents:
        return []
    with transaction.atomic():
        case = locked(case)
        if not case.is_draft:
            raise CaseConflict(
                _("Documents can only be added to a draft or to answer a request for documents.")
            )
        for material, _user, _stored in documents:
            if material.version_id != case.service_version_id:
                raise ValidationError(
                    {"material": [_("This application has no such material.")]},
                    code="unknown_material",
                )
            if material.source == MaterialSource.FORM:
                raise ValidationError(
                    {
                        "material": [
                            _("The application form is made from your answers: nothing to upload.")
                        ]
                    }
                )
        try:
            uploads.check_quotas(
                case=case,
                user=None,
                size=sum(stored.size for _m, _u, stored in documents),
                stores_bytes=False,
                count=len(documents),
            )
        except ValidationError as exc:
            raise ValidationError({"file": exc.error_list}) from exc
        attachments = Attachment.objects.bulk_create(
            _attachment_row(case, material, stored, user) for material, user, stored in documents
        )
        case.row_version += 1
        case.save(update_fields=["row_version", "updated_at"])
    return attachments


def _documents_offered(case: Case, user: User | None):
    """The earlier documents `user` may reuse in `case`: all of the applicant's own when they
    apply themselves; for a proxy (帮办代办), those of the submitted applications they filed for
    this person, or all the person's submitted ones if the authorisation shares them. Never
    another person's drafts."""
    earlier = Attachment.objects.filter(case__applicant=case.applicant, reused_from__isnull=True)
    if user is None and case.agent_id:
        user = case.agent.user
    if user is None or case.applicant.user_id == getattr(user, "pk", None):
        return earlier
    earlier = earlier.exclude(case__state=OuterState.DRAFT)
    if case.authorisation_id and case.authorisation.shares_documents:
        return earlier
    return earlier.filter(case__agent__user=user)


def documents_on_file(
    profile: CitizenProfile, *, besides: Case | None = None, user: User | None = None
) -> list[Attachment]:
    """Documents this person gave in earlier applications, newest first and one per content, for
    reuse (those of the application `besides` are already in it). With `user` (who is acting in
    `besides`): only what they may see, see `_documents_offered`."""
    seen: set[str] = set()
    result = []
    if besides is not None:
        earlier = _documents_offered(besides, user)
    else:
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
        case = locked(case)
        material = _material(case, material_id)
        supplement = _may_add_documents(case, material)
        source = _documents_offered(case, user).filter(pk=attachment_id).first()
        if source is None:
            raise ValidationError({"document": [_("No such document on file.")]})
        try:  # the same stored file: counts towards the case's quotas, not the daily one
            uploads.check_quotas(case=case, user=user, size=source.size, stores_bytes=False)
        except ValidationError as exc:
            raise ValidationError({"file": exc.error_list}) from exc
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
        _delivered(case, material, user)
    return attachment


def remove_attachment(*, case: Case, attachment_id, user: User) -> None:
    """Remove a document from a draft; once that commits, its stored file is deleted unless another
    record (a reuse of it in another application) still points to it."""
    with transaction.atomic():
        case = locked(case)
        if not case.is_draft:
            raise CaseConflict(_("Documents of a submitted application cannot be removed."))
        names = list(
            Attachment.objects.filter(case=case, pk=attachment_id).values_list(
                "stored_name", flat=True
            )
        )
        deleted, _rows = Attachment.objects.filter(case=case, pk=attachment_id).delete()
        if not deleted:
            raise ValidationError({"attachment": [_("No such document in this application.")]})
        transaction.on_commit(lambda: uploads.delete_stored(names), robust=True)


def held_licences(case: Case) -> dict[int, Licence]:
    """Valid e-licences of the case's holder, by licence type: materials they satisfy need no
    upload. A company's case uses the company's licences, a personal case the person's; revoked,
    annulled, superseded and expired ones do not count. Every applicant holds the resident ID
    e-licence (电子身份证照) from real-name verification itself; unless one was issued, it is the
    verified ID number (an unsaved Licence)."""
    today = _today()
    if case.organisation_id:
        owner = Q(organisation_id=case.organisation_id)
    else:
        owner = Q(holder=case.applicant, organisation__isnull=True)
    licences = Licence.objects.filter(
        owner, revoked_at__isnull=True, superseded_at__isnull=True, valid_from__lte=today
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
    if case.authorisation_id and not case.authorisation.shares_documents:
        licences = licences.none()  # a proxy does not open the principal's wallet unless shared
    held = {licence.licence_type_id: licence for licence in licences.select_related("licence_type")}
    identity = LicenceType.objects.filter(code=RESIDENT_ID_CARD).first()
    if identity is not None and identity.pk not in held:
        held[identity.pk] = Licence(
            number=case.applicant.id_number,
            licence_type=identity,
            holder=case.applicant,
            valid_from=timezone.localdate(case.applicant.created_at),
        )
    return held


def licence_shown(licence: Licence) -> str:
    """A held licence as the materials step names it: its type and number, an ID number masked."""
    number = licence.number
    if licence.licence_type.code == RESIDENT_ID_CARD:
        number = mask_id_number(number)
    return f"{localized(licence.licence_type, 'name')} {number}"


def _provided(case: Case) -> set[int]:
    attached = set(case.attachments.values_list("material_id", flat=True))
    return attached | set(case.materials_received or [])  # handed over on paper at a counter


def outstanding_materials(case: Case) -> list[ServiceMaterial]:
    """Required materials not yet provided: uploads without a document, licences not held. Data
    shared by another department is never the applicant's to provide, the application form is
    made from the answers, and a signed commitment (告知承诺) replaces the materials it covers."""
    signed = case.commitment_signed_at is not None
    needed = [
        m
        for m in case.service_version.materials.all()
        if m.required
        and m.source not in (MaterialSource.SHARED, MaterialSource.FORM)
        and not (signed and m.covered_by_commitment)
    ]
    if not needed:
        return []
    provided = _provided(case)
    needed = [m for m in needed if m.pk not in provided]
    if any(m.source == MaterialSource.LICENCE for m in needed):
        licences = held_licences(case)
        needed = [
            m
            for m in needed
            if not (m.source == MaterialSource.LICENCE and m.licence_type_id in licences)
        ]
    return needed


def _may_follow(case: Case, material: ServiceMaterial) -> bool:
    return case.service_version.allows_tolerance and material.tolerable


def missing_materials(case: Case) -> list[ServiceMaterial]:
    """What stops the submission: outstanding materials that may not follow later."""
    return [m for m in outstanding_materials(case) if not _may_follow(case, m)]


def owed_materials(case: Case) -> list[ServiceMaterial]:
    """Outstanding materials accepted to follow (容缺受理): the case goes on without them, the
    decision waits for them."""
    return [m for m in outstanding_materials(case) if _may_follow(case, m)]


def sign_commitment(*, case: Case, user: User, signed: bool = True) -> Case:
    """The applicant signs (or, before submitting, takes back) the service's commitment (告知承诺):
    their name and the time go in the trail; the materials it covers are no longer asked."""
    with transaction.atomic():
        case = locked(case)
        if not case.is_draft:
            raise CaseConflict(_("The commitment is signed before the application is handed in."))
        version = case.service_version
        if not (version.allows_commitment and version.commitment_text):
            raise ValidationError(
                {"commitment": [_("This service does not proceed on a signed commitment.")]}
            )
        if signed == (case.commitment_signed_at is not None):
            return case
        case.commitment_signed_at = timezone.now() if signed else None
        case.row_version += 1
        case.save(update_fields=["commitment_signed_at", "row_version", "updated_at"])
        append_event(
            case,
            action=EventAction.COMMITMENT_SIGNED if signed else EventAction.COMMITMENT_WITHDRAWN,
            actor=user,
            actor_role=Role.COUNTER_CLERK if case.channel == Channel.COUNTER else APPLICANT,
            channel=case.channel,
            details={"name": case.applicant.real_name, "text": version.commitment_text}
            if signed
            else {},
        )
    return case


# --- Submission ------------------------------------------------------------------------------------


def _service_closed(service: ServiceItem) -> str:
    if service.retired_at:
        message = _("This service was retired on %(date)s and takes no new applications.") % {
            "date": timezone.localdate(service.retired_at).isoformat()
        }
        return f"{message} {service.retirement_reason}".strip()
    return _("This service takes no new applications.")


def _materials_read(case: Case) -> None:
    """The version's materials with their sharing departments, read once for the checks and the
    registries (each asks `.materials.all()`)."""
    prefetch_related_objects(
        [case],
        Prefetch(
            "service_version__materials",
            queryset=ServiceMaterial.objects.select_related("shared_by"),
        ),
    )


def changed_meanwhile() -> CaseConflict:
    return CaseConflict(
        _(
            "This application changed while it was being handed in. Nothing was lost: check it "
            "and submit it again."
        ),
        code="changed",
    )


def ask_registries(case: Case) -> sharing.RegistryAnswers:
    """Before the submission's transaction: the registries' answers for the case's shared
    materials (outside the row lock: a registry may take seconds). Its materials stay read."""
    _materials_read(case)
    materials = list(case.service_version.materials.all())
    if not any(m.source == MaterialSource.SHARED for m in materials):
        return sharing.RegistryAnswers()
    return sharing.ask_for_materials(
        service=case.service, materials=materials, person=sharing.Person.of(case.applicant)
    )


def submit_application(
    *,
    case: Case,
    user: User,
    channel: str | None = None,
    registry_answers: sharing.RegistryAnswers | None = None,
) -> Case:
    """Hand the application in: full validation of the form and the materials, then `submitted`
    in the intake stage, with the intake deadline of 行政许可法 §32.

    The registries of shared materials are asked before the transaction opens (or by a caller
    that opened one, in `registry_answers`); the case is then locked and, if it changed since it
    was read (its row_version), refused with a conflict asking to submit again: nothing is lost."""
    seen = seen_version = None
    if registry_answers is None and not transaction.get_connection().in_atomic_block:
        # One read for what the registries need and the re-check (a caller's case may hold only
        # its number): not the form data, which the locked read below decrypts.
        seen = (
            Case.objects.select_related("service_version")
            .only("row_version", "service_id", "applicant_id", "service_version")
            .get(pk=case.pk)
        )
        seen_version = seen.row_version
        registry_answers = ask_registries(seen)
    with transaction.atomic():
        case = locked(case)
        if not case.is_draft:
            raise CaseConflict(
                _("This application has already been submitted."), code="already_submitted"
            )
        if seen is not None:
            if case.row_version != seen_version:
                raise changed_meanwhile()
            # A published version never changes: its materials as read before.
            case.service_version = seen.service_version
        errors: dict[str, list[str]] = {}
        if case.service.status != ServiceItem.Status.PUBLISHED:
            errors["service"] = [_service_closed(case.service)]
        try:
            case.data = _apply_prefill(
                case, validate_data(case.service_version.form_schema, case.data)
            )
        except ValidationError as exc:
            errors.update(
                {f"data.{k}" if k != "data" else k: v for k, v in exc.message_dict.items()}
            )
        _materials_read(case)  # nothing to read when read before the transaction
        outstanding = outstanding_materials(case)
        missing = [m for m in outstanding if not _may_follow(case, m)]
        if missing:
            errors["materials"] = [
                _("Missing: %(material)s") % {"material": material.label} for material in missing
            ]
        if errors:
            raise ValidationError(errors)
        try:
            sharing.fetch_shared_materials(
                case=case, user=user, channel=channel or case.channel, answers=registry_answers
            )
        except sharing.AnswersOutdated as exc:
            raise changed_meanwhile() from exc
        owed = [m for m in outstanding if _may_follow(case, m)]
        now = timezone.now()
        if owed:
            case.materials_owed_by, _provisional = add_working_days_provisional(
                timezone.localdate(now), OWED_WORKING_DAYS
            )
        from_state = case.state
        case.state = OuterState.SUBMITTED
        stage_fields = move_to_stage(case, intake_stage(case.service_version.workflow_id))
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
                *stage_fields,
                "received_at",
                "intake_due_date",
                "due_date_provisional",
                "materials_owed_by",
                "row_version",
                "updated_at",
            ]
        )
        event = append_event(
            case,
            action=EventAction.SUBMIT,
            actor=user,
            actor_role=Role.COUNTER_CLERK if case.channel == Channel.COUNTER else APPLICANT,
            channel=channel or case.channel,
            from_state=from_state,
            details={"owed": [m.name for m in owed]} if owed else None,
        )
        from ..automation.services import approve_if_rules_hold
        from ..documents import issue_document, issue_receipt

        issue_receipt(case, event, new_event=True)
        if case.commitment_signed_at is not None:
            issue_document(case=case, kind=OfficialDocument.Kind.COMMITMENT, event=event)
        notifications.tell_of_submission(case, event)
        from ..payments.services import case_submitted

        case_submitted(case)  # a fee due before acceptance: told with the receipt
        case = approve_if_rules_hold(case=case)  # 秒批: the system decides when every rule holds
    return case


def _attachment_row(case, material, stored, user, supplement=None) -> Attachment:
    """The row of one stored upload (add_attachment saves one, attach_stored_files a batch)."""
    return Attachment(
        case=case, material=material, stored_name=stored.stored_name,
        original_name=stored.original_name, size=stored.size, sha256=stored.sha256,
        content_type=stored.content_type, uploaded_by=user, for_supplement=supplement,
    )  # fmt: skip
