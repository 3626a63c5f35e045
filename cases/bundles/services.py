"""Filing a bundle (一件事一次办): one combined form, one upload per material, one submission.

A bundle application is a draft of combined answers and uploads until it is submitted. Submitting
files one case per member through the normal engine (`create_draft`, `add_attachment`,
`submit_application`), each in its own department with its own workflow and clock, all in one
transaction: if any member refuses, nothing is filed and the errors name the combined fields.
A member that waits for another member's result is filed by the engine's hook (`case_moved`, called
by cases.workflow.transitions.take) in the transaction that gives that result, prefilled from it.
The state of the bundle application follows the members' (`refresh_state`).
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, Sum, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CitizenProfile, ProxyAuthorisation, User
from services import bundles as definitions
from services.models import Bundle, BundleMember, MaterialSource, OuterState, ServiceItem
from services.schema import prefill_fields, validate_data

from .. import uploads, workflow
from ..models import (
    Attachment,
    BundleApplication,
    BundleAttachment,
    BundleMemberCase,
    Case,
    Channel,
)
from ..sharing import services as sharing

# The results a waiting member is filed after, and the ends after which it never will be.
RESULT_STATES = (OuterState.APPROVED, OuterState.CONCLUDED)
NO_RESULT_STATES = (OuterState.NOT_ACCEPTED, OuterState.REJECTED, OuterState.WITHDRAWN)
NOT_FILED = (BundleMemberCase.State.CANCELLED, BundleMemberCase.State.FAILED)


# --- Selectors -------------------------------------------------------------------------------------


def bundle_applications_of(user: User):
    """The bundle applications `user` made for themselves, and those a counter clerk filed for
    them (as their counter cases, DESIGN "Counter mode"); nobody else's: those answer 404. Not
    drafts purged by retention (cases.retention: hidden, as a purged case draft is)."""
    if not getattr(user, "is_authenticated", False):
        return BundleApplication.objects.none()
    return BundleApplication.objects.filter(
        Q(filed_by=user) | Q(channel=Channel.COUNTER), applicant__user=user
    ).exclude(state=BundleApplication.State.DRAFT, purged_at__isnull=False)


def bundle_application_for(user: User, number: str) -> BundleApplication | None:
    return (
        bundle_applications_of(user)
        .select_related("bundle", "applicant")
        .prefetch_related(
            "attachments",
            "member_cases__service__department",
            "member_cases__service__current_version",
            "member_cases__case__service_version",
            "member_cases__member__waits__waits_for__service",
        )
        .filter(number=number)
        .first()
    )


def _unsaved_case(application: BundleApplication) -> Case:
    """A case-shaped view of the applicant, for the engine's licence look-up."""
    return Case(
        applicant=application.applicant,
        organisation=None,
        authorisation=application.authorisation,
    )


def _key(name: str) -> str:
    return " ".join(name.split())


def missing_materials(
    application: BundleApplication, members: list[BundleMember] | None = None
) -> list[dict]:
    """What stops the submission: required materials of any member (that may not follow later)
    neither uploaded to the bundle nor held as an e-licence. Data shared by another department
    and the application forms are never the applicant's to provide; paper handed over at a counter
    counts as given."""
    members = definitions.members_of(application.bundle) if members is None else members
    uploaded = {_key(a.material_name) for a in application.attachments.all()}
    uploaded |= {_key(name) for name in application.materials_received or []}
    needed = [
        m
        for m in definitions.combined_materials(application.bundle, members)
        if m["required"]
        and not m["tolerable"]
        and m["source"] in (MaterialSource.UPLOAD, MaterialSource.LICENCE)
    ]
    held: dict | None = None
    missing = []
    for material in needed:
        if material["source"] == MaterialSource.UPLOAD and material["name"] in uploaded:
            continue
        if material["source"] == MaterialSource.LICENCE:
            if held is None:
                held = workflow.held_licences(_unsaved_case(application))
            if material["licence_type_id"] in held:
                continue
        missing.append(material)
    return missing


# --- Drafts ----------------------------------------------------------------------------------------


def _member_errors(member: BundleMember, exc: ValidationError) -> dict[str, list[str]]:
    """A member's field errors under the combined form's paths."""
    errors: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        if key.startswith("data."):
            path = definitions.combined_path(member, key[5:])
        elif key in ("materials", "file"):
            path = key
        elif key == "data":
            path = "data"
        else:
            path = f"members.{member.key}"
        errors.setdefault(path, []).extend(messages)
    return errors


def _not_asked(member: BundleMember) -> set[str]:
    """A member's fields the server fills: from the verified profile, or from the result of a
    member it waits for."""
    schema = member.service.current_version.form_schema
    return prefill_fields(schema) | {f for d in member.waits.all() for f in d.prefill or {}}


def _check_answers(members: list[BundleMember], data, *, partial: bool) -> None:
    """Every member's form checks its share of the combined answers. In full (`partial` False)
    but for the fields the server fills, so a member filed later does not fail on what the
    citizen could have answered now."""
    if not isinstance(data, dict):
        raise ValidationError({"data": [_("The form data must be a JSON object.")]})
    errors = definitions.unknown_fields(members, data)
    for member in members:
        if errors:
            break
        try:
            validate_data(
                member.service.current_version.form_schema,
                definitions.member_data(member, data),
                partial=partial,
            )
        except ValidationError as exc:
            skip = set() if partial else _not_asked(member)
            for path, messages in exc.message_dict.items():
                if re.split(r"[.\[]", path, maxsplit=1)[0] in skip:
                    continue
                target = errors.setdefault(definitions.combined_path(member, path), [])
                target.extend(m for m in messages if m not in target)
    if errors:
        raise ValidationError(errors)


def _open_for_filing(bundle: Bundle, members: list[BundleMember], channel: str) -> None:
    problems = definitions.bundle_problems(bundle, members)
    if not bundle.is_published:
        problems.insert(0, _("This bundle is not open for applications."))
    for member in members:
        version = member.service.current_version
        if version is None or member.service.status != ServiceItem.Status.PUBLISHED:
            continue  # bundle_problems names it
        if channel in (Channel.ONLINE, Channel.API) and not version.channel_online:
            problems.append(
                _("%(service)s cannot be applied for online; please visit a counter.")
                % {"service": version.name}
            )
        if channel == Channel.COUNTER and not version.channel_counter:
            problems.append(_("%(service)s is not filed at a counter.") % {"service": version.name})
        if version.audience == "organisation":
            problems.append(
                _("%(service)s is for organisations and cannot be part of this bundle.")
                % {"service": version.name}
            )
    if problems:
        raise ValidationError({"bundle": problems})


def received_names(bundle: Bundle, material_ids, members=None) -> list[str]:
    """The names of the bundle's materials handed over on paper, from any member's material ids
    (as `attachments/` takes them); an id of no material of the bundle is refused."""
    materials = definitions.combined_materials(bundle, members)
    names = []
    for material_id in material_ids or []:
        material = next((m for m in materials if material_id in m["material_ids"].values()), None)
        if material is None or material["source"] == MaterialSource.FORM:
            raise ValidationError({"materials_received": [_("This bundle has no such material.")]})
        if material["name"] not in names:
            names.append(material["name"])
    return names


def create_bundle_application(
    *,
    bundle: Bundle,
    user: User,
    data: dict,
    channel: str = Channel.ONLINE,
    applicant: CitizenProfile | None = None,
    authorisation: ProxyAuthorisation | None = None,
    materials_received: list[int] | None = None,
    queue_ticket: str = "",
) -> BundleApplication:
    """Start a bundle application (draft) with the combined answers given so far; what is there is
    checked by every member's form, what is missing is asked at submission.

    At a counter, `applicant` is the walk-in citizen (or the principal of `authorisation`, the
    proxy's), `materials_received` the ids of the materials handed over on paper and
    `queue_ticket` the ticket they were called with; each member case is filed with them."""
    if authorisation is not None:
        profile = authorisation.principal
    else:
        profile = applicant or workflow.applicant_profile(user)
    members = definitions.members_of(bundle)
    _open_for_filing(bundle, members, channel)
    _check_answers(members, data, partial=True)
    received = received_names(bundle, materials_received, members)
    with transaction.atomic():
        application = BundleApplication.objects.create(
            number=workflow.next_case_number(service=bundle, day=timezone.localdate()),
            bundle=bundle,
            applicant=profile,
            filed_by=user,
            channel=channel,
            data=data,
            authorisation=authorisation,
            materials_received=received,
            queue_ticket=(queue_ticket or "")[:20],
        )
        BundleMemberCase.objects.bulk_create(
            BundleMemberCase(application=application, member=m, service=m.service, order=index)
            for index, m in enumerate(members)
        )
    return application


def _locked(application: BundleApplication, *, for_filing: bool = False) -> BundleApplication:
    """The application row locked; `for_filing`: with the applicant, filer and authorisation
    every member case is filed with, read in the same statement."""
    related = ("bundle", "applicant", "filed_by", "authorisation") if for_filing else ("bundle",)
    return (
        BundleApplication.objects.select_for_update(of=("self",))
        .select_related(*related)
        .get(pk=application.pk)
    )


def _check_quotas(application: BundleApplication, user: User, size: int) -> None:
    """The case's limits for the bundle's documents, and the person's daily limit; counter scans
    are the clerk's work, not the clerk's own uploads, and count towards no daily limit."""
    held = application.attachments.aggregate(total=Sum("size"))["total"] or 0
    if application.attachments.count() >= settings.UPLOAD_MAX_FILES_PER_CASE:
        raise ValidationError(
            {"file": [_("An application may hold at most %(limit)d documents.")
                      % {"limit": settings.UPLOAD_MAX_FILES_PER_CASE}]}
        )  # fmt: skip
    if held + size > settings.UPLOAD_MAX_BYTES_PER_CASE:
        raise ValidationError(
            {"file": [_("The documents of one application may come to at most %(mb)d MB.")
                      % {"mb": settings.UPLOAD_MAX_BYTES_PER_CASE // (1024 * 1024)}]}
        )  # fmt: skip
    if application.channel == Channel.COUNTER:
        return
    start = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    today = sum(
        model.objects.filter(uploaded_by=user, created_at__gte=start, **extra).aggregate(
            total=Sum("size")
        )["total"]
        or 0
        for model, extra in ((Attachment, {"reused_from__isnull": True}), (BundleAttachment, {}))
    )
    if today + size > settings.UPLOAD_MAX_BYTES_PER_PERSON_PER_DAY:
        raise ValidationError(
            {"file": [_("One person may upload at most %(mb)d MB a day.")
                      % {"mb": settings.UPLOAD_MAX_BYTES_PER_PERSON_PER_DAY // (1024 * 1024)}]}
        )  # fmt: skip


def _scanned_sources(application: BundleApplication) -> tuple[str, ...]:
    """What documents are given for: uploads; at a counter also data shared by another department,
    which the clerk may take on paper and scan in case its registry cannot give it."""
    if application.channel == Channel.COUNTER:
        return (MaterialSource.UPLOAD, MaterialSource.SHARED)
    return (MaterialSource.UPLOAD,)


def add_bundle_attachment(
    *, application: BundleApplication, material_id, upload, user: User
) -> tuple[BundleAttachment, list[str]]:
    """Store one upload for a material of the bundle, once; returns it and the codes of the member
    services it serves. `material_id` is the id of any member's material in the group."""
    with transaction.atomic():
        application = _locked(application)
        if application.state != BundleApplication.State.DRAFT:
            raise workflow.CaseConflict(
                _("This bundle has been submitted: documents asked for later go to the member "
                  "application that asks for them."),
                code="already_submitted",
            )  # fmt: skip
        try:
            material_id = int(material_id)
        except (TypeError, ValueError):
            material_id = None
        material = next(
            (
                m
                for m in definitions.combined_materials(application.bundle)
                if material_id in m["material_ids"].values()
            ),
            None,
        )
        if material is None:
            raise ValidationError({"material": [_("This bundle has no such material.")]})
        if material["source"] not in _scanned_sources(application):
            raise ValidationError(
                {"material": [_("This material is not uploaded: the portal gets it itself.")]}
            )
        _check_quotas(application, user, upload.size or 0)
        try:
            stored = uploads.store_upload(upload)
        except ValidationError as exc:
            raise ValidationError({"file": exc.error_list}) from exc
        try:
            attachment = BundleAttachment.objects.create(
                application=application,
                material_name=material["name"],
                stored_name=stored.stored_name,
                original_name=stored.original_name,
                size=stored.size,
                sha256=stored.sha256,
                content_type=stored.content_type,
                uploaded_by=user,
            )
            application.row_version += 1
            application.save(update_fields=["row_version", "updated_at"])
        except Exception:
            uploads.discard_stored(stored.stored_name)
            raise
    return attachment, material["members"]


# --- Filing the members ----------------------------------------------------------------------------


def _file_member(
    link: BundleMemberCase,
    application: BundleApplication,
    prefill: dict,
    registry_answers: sharing.RegistryAnswers | None = None,
) -> Case:
    """File and submit one member's case through the engine, with the bundle's documents that
    its service asks for (the same stored files, attached at once). Reads nothing the caller
    loaded: the member with its service, version and materials (`members_of`), the application
    with its applicant, filer and documents (`_for_filing`)."""
    member = link.member
    data = {**definitions.member_data(member, application.data), **prefill}
    received = {_key(name) for name in application.materials_received or []}
    version = member.service.current_version
    case, _created = workflow.create_draft(
        service=member.service,
        user=application.filed_by,
        data=data,
        channel=application.channel,
        applicant=application.applicant,
        authorisation=application.authorisation,
        materials_received=[
            m.pk
            for m in version.materials.all()
            if m.source != MaterialSource.FORM and _key(m.name) in received
        ]
        if version is not None
        else None,
        queue_ticket=application.queue_ticket,
        registry_answers=registry_answers,
    )
    link.case, link.state, link.problem = case, BundleMemberCase.State.FILED, ""
    link.save(update_fields=["case", "state", "problem"])
    documents = {}
    for attachment in application.attachments.all():
        documents.setdefault(_key(attachment.material_name), []).append(attachment)
    workflow.attach_stored_files(
        case=case,
        documents=[
            (
                material,
                attachment.uploaded_by,
                uploads.StoredFile(
                    stored_name=attachment.stored_name,
                    original_name=attachment.original_name,
                    size=attachment.size,
                    sha256=attachment.sha256,
                    content_type=attachment.content_type,
                ),
            )
            for material in case.service_version.materials.all()
            if definitions.material_key(material)[1] in _scanned_sources(application)
            for attachment in documents.get(definitions.material_key(material)[0], [])
        ],
    )
    return workflow.submit_application(
        case=case, user=application.filed_by, registry_answers=registry_answers
    )


def _for_filing(application: BundleApplication) -> BundleApplication:
    """The application's documents, with who uploaded them, read once for every member filed."""
    prefetch_related_objects(
        [application],
        Prefetch(
            "attachments",
            queryset=BundleAttachment.objects.select_related("uploaded_by").order_by("pk"),
        ),
    )
    return application


def ask_registries(
    application: BundleApplication, members: list[BundleMember], person: sharing.Person | None
) -> sharing.RegistryAnswers:
    """Before the submission's transaction: the registries' answers for every member filed now
    (the draft's registry-sourced fields and the shared materials); a member that waits for
    another's result is filed later, and asked then."""
    answers = sharing.RegistryAnswers()
    for member in members:
        version = member.service.current_version
        if member.waits.all() or version is None:
            continue
        sharing.ask_for_prefill(
            service=member.service, schema=version.form_schema, answers=answers, person=person,
            data=definitions.member_data(member, application.data or {}),
        )  # fmt: skip
        if person is not None:
            sharing.ask_for_materials(
                service=member.service, materials=list(version.materials.all()), person=person,
                answers=answers,
            )  # fmt: skip
    return answers


def submit_bundle_application(
    *,
    application: BundleApplication,
    user: User,
    registry_answers: sharing.RegistryAnswers | None = None,
) -> BundleApplication:
    """Submit once: every member that waits for nobody is filed and submitted now, in its own
    department; the others wait. All or nothing: errors name the combined fields.

    The registries are asked before the transaction opens (or by a caller that opened one, in
    `registry_answers`); an application changed since it was read (its row_version) is then
    refused with a conflict asking to submit again: nothing is lost."""
    seen_version = None
    if registry_answers is None and not transaction.get_connection().in_atomic_block:
        # As the caller read it (bundle_application_for: with its bundle and applicant).
        seen_version = application.row_version
        registry_answers = ask_registries(
            application,
            definitions.members_of(application.bundle),
            sharing.Person.of(application.applicant) if application.applicant_id else None,
        )
    with transaction.atomic():
        application = _locked(application, for_filing=True)
        if application.state != BundleApplication.State.DRAFT:
            raise workflow.CaseConflict(
                _("This bundle application has already been submitted."),
                code="already_submitted",
            )
        if seen_version is not None and application.row_version != seen_version:
            raise workflow.changed_meanwhile()
        members = definitions.members_of(application.bundle)
        _open_for_filing(application.bundle, members, application.channel)
        _for_filing(application)
        errors: dict[str, list[str]] = {}
        try:
            _check_answers(members, application.data, partial=False)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        missing = missing_materials(application, members)
        if missing:
            errors["materials"] = [
                _("Missing: %(material)s") % {"material": m["label"]} for m in missing
            ]
        if errors:
            raise ValidationError(errors)
        application.state = BundleApplication.State.IN_PROGRESS
        application.submitted_at = timezone.now()
        application.row_version += 1
        application.save(update_fields=["state", "submitted_at", "row_version", "updated_at"])
        waiting = [m.pk for m in members if m.waits.all()]
        application.member_cases.filter(member_id__in=waiting).update(
            state=BundleMemberCase.State.WAITING
        )
        by_pk = {m.pk: m for m in members}
        for link in application.member_cases.select_related("member", "service").exclude(
            member_id__in=waiting
        ):
            # the member as read above, with its service, version and materials
            link.member = by_pk.get(link.member_id, link.member)
            try:
                # No savepoint of its own: a refused member rolls the whole submission back
                # below, and the engine's services roll back their own part of a refusal.
                _file_member(link, application, {}, registry_answers)
            except ValidationError as exc:
                for path, messages in _member_errors(link.member, exc).items():
                    errors.setdefault(path, []).extend(
                        m for m in messages if m not in errors.get(path, [])
                    )
        if errors:
            raise ValidationError(errors)  # nothing is filed: the whole transaction rolls back
        _advance(application)
    return application


def _source_value(case: Case, source: str):
    if source == "case.number":
        return case.number
    if source == "case.decided_on":
        return timezone.localdate(case.decided_at).isoformat() if case.decided_at else None
    if source == "licence.number":
        from ..licences import services as licences

        if case.service_version.licence_type_id is None:
            return None
        # Idempotent: the effect that issues it after commit then finds this one.
        return licences.issue_licence(case=case).number
    if source.startswith("data."):
        return case.data.get(source[5:])
    return None


def _prefill(link: BundleMemberCase, by_member: dict[int, BundleMemberCase]) -> dict:
    values = {}
    for dependency in link.member.waits.all():
        source_case = by_member[dependency.waits_for_id].case
        for field, source in (dependency.prefill or {}).items():
            value = _source_value(source_case, source)
            if value not in (None, ""):
                values[field] = value
    return values


def _links(application: BundleApplication) -> list[BundleMemberCase]:
    return list(
        application.member_cases.select_related(
            "case", "member", "service__current_version"
        ).prefetch_related("member__waits__waits_for__service__current_version")
    )


def _advance(application: BundleApplication) -> None:
    """File each waiting member whose dependencies all have their result; cancel those whose
    dependency ended without one. Repeats until nothing changes (a chain of waits)."""
    while True:
        links = _links(application)
        by_member = {link.member_id: link for link in links}
        changed = False
        for link in links:
            if link.state != BundleMemberCase.State.WAITING:
                continue
            needed = [by_member[d.waits_for_id] for d in link.member.waits.all()]
            failed = [
                other
                for other in needed
                if other.state in NOT_FILED
                or (other.case_id and other.case.state in NO_RESULT_STATES)
            ]
            if failed:
                link.state = BundleMemberCase.State.CANCELLED
                link.problem = _("Not filed: %(services)s ended without a result.") % {
                    "services": "、".join(o.service.current_version.name for o in failed)
                }
                link.save(update_fields=["state", "problem"])
                changed = True
                break
            if all(other.case_id and other.case.state in RESULT_STATES for other in needed):
                try:
                    with transaction.atomic():
                        _file_member(link, application, _prefill(link, by_member))
                except (ValidationError, workflow.CaseConflict) as exc:
                    link.refresh_from_db()
                    link.case, link.state = None, BundleMemberCase.State.FAILED
                    link.problem = " ".join(getattr(exc, "messages", [str(exc)]))
                    link.save(update_fields=["case", "state", "problem"])
                changed = True
                break
        if not changed:
            refresh_state(application, links)
            return


def refresh_state(application: BundleApplication, links: list[BundleMemberCase]) -> None:
    """The bundle's state from its members': in progress while any member waits or is open;
    completed when every member concluded; ended otherwise."""
    if application.state == BundleApplication.State.DRAFT:
        return
    open_ = any(
        link.state in (BundleMemberCase.State.WAITING, BundleMemberCase.State.PENDING)
        or (link.case_id and link.case.state not in (*NO_RESULT_STATES, OuterState.CONCLUDED))
        for link in links
    )
    if open_:
        state, finished = BundleApplication.State.IN_PROGRESS, None
    else:
        done = all(link.case_id and link.case.state == OuterState.CONCLUDED for link in links)
        state = BundleApplication.State.COMPLETED if done else BundleApplication.State.ENDED
        finished = (
            max(
                (link.case.closed_at for link in links if link.case_id and link.case.closed_at),
                default=None,
            )
            or timezone.now()
        )
    if (state, finished) != (application.state, application.finished_at):
        application.state, application.finished_at = state, finished
        BundleApplication.objects.filter(pk=application.pk).update(
            state=state, finished_at=finished, updated_at=timezone.now()
        )


def case_moved(case: Case) -> None:
    """The engine's hook (cases.workflow.transitions.take), after every transition: when a member
    case of a bundle reached its result or its end, file what waited for it and refresh the
    bundle's state. One query for a case of a bundle that got a result; none otherwise."""
    if case.state not in (*RESULT_STATES, *NO_RESULT_STATES):
        return
    application_id = (
        BundleMemberCase.objects.filter(case_id=case.pk)
        .values_list("application_id", flat=True)
        .first()
    )
    if application_id is None:
        return
    with transaction.atomic():
        application = _locked(BundleApplication(pk=application_id))
        _advance(application)


# --- What the citizen sees -------------------------------------------------------------------------


def member_rows(application: BundleApplication) -> list[dict]:
    """One row per member: its service, department, case number and state (the case's own state
    once filed; pending, waiting, cancelled or failed before)."""
    rows = []
    for link in application.member_cases.all():
        case = link.case
        version = link.service.current_version
        rows.append(
            {
                "service": link.service.code,
                "service_name": case.service_version.name if case else version.name,
                "department": link.service.department.code,
                "department_name": link.service.department.name,
                "number": case.number if case else None,
                "state": case.state if case else link.state,
                "state_label": case.get_state_display() if case else link.get_state_display(),
                "waits_for": [d.waits_for.service.code for d in link.member.waits.all()],
                "problem": link.problem,
            }
        )
    return rows


def update_bundle_application(
    *, application: BundleApplication, user: User, data: dict
) -> BundleApplication:
    """Replace the combined answers of a draft (checked as at creation: what is there must hold,
    what is missing is asked at submission)."""
    members = definitions.members_of(application.bundle)
    _check_answers(members, data, partial=True)
    with transaction.atomic():
        application = _locked(application)
        if application.state != BundleApplication.State.DRAFT:
            raise workflow.CaseConflict(
                _("This bundle application has already been submitted."),
                code="already_submitted",
            )
        application.data = data
        application.row_version += 1
        application.save(update_fields=["data", "row_version", "updated_at"])
    return application


# --- One rating --------------------------------------------------------------------------------


def rating_state(application: BundleApplication) -> dict:
    """{"cases": the member cases a bundle rating covers (those finished), "rated": whether the
    bundle is rated (each of them is), "may_rate": whether it may be rated now}."""
    from ..models import Rating
    from ..ratings.services import RATEABLE_STATES

    finished = application.state in (
        BundleApplication.State.COMPLETED,
        BundleApplication.State.ENDED,
    )
    cases = [
        link.case
        for link in application.member_cases.all()
        if link.case_id and link.case.state in RATEABLE_STATES
    ]
    rated = set(Rating.objects.filter(case__in=cases).values_list("case_id", flat=True))
    unrated = [case for case in cases if case.pk not in rated]
    return {
        "cases": cases,
        "unrated": unrated,
        "rated": bool(cases) and not unrated,
        "may_rate": finished and bool(unrated),
    }


def rate_bundle(
    *, application: BundleApplication, user: User, score, tags=None, comment: str = ""
) -> list:
    """One rating per bundle (DESIGN "Evaluation"): given once on the bundle's page when every
    member has finished, and recorded as the rating of each member case not rated yet, so that
    each department is rated for its own case and a rating of 1–2 opens its rectification
    (cases.ratings.services.rate). Refused before the bundle finished and once it is rated."""
    from ..ratings import services as ratings

    with transaction.atomic():
        application = _locked(application)
        state = rating_state(application)
        if state["rated"]:
            raise ratings.AlreadyRated(
                _("This bundle has already been rated."), code="already_rated"
            )
        if not state["may_rate"]:
            raise workflow.CaseConflict(
                _("A bundle is rated once every application of it is finished."),
                code="not_finished",
            )
        return [
            ratings.rate(case=case, user=user, score=score, tags=tags, comment=comment)
            for case in state["unrated"]
        ]


# --- Requests for documents (补正) from any member ---------------------------------------------


def supplement_requests(application: BundleApplication) -> list[dict]:
    """Every request for documents (补正告知) of the member cases, open ones first (soonest
    deadline first), then the closed ones, newest first. One query for the requests, their
    materials and the files uploaded for them, whatever the number of members. Each row:
    {"request", "case", "link", "open", "rows": [{"material", "attachments"}], "missing",
    "uploaded", "deemed_withdrawn_on", "working_days_left"}: the same facts the case page shows
    (cases.next_steps.supplement_status)."""
    from django.db.models import Prefetch

    from ..models import SupplementRequest
    from ..workflow.clock import paused_working_days

    links = {link.case_id: link for link in application.member_cases.all() if link.case_id}
    if not links:
        return []
    requests = SupplementRequest.objects.filter(case_id__in=links).prefetch_related(
        "materials",
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk")),
    )
    today = timezone.localdate()
    rows = []
    for request in requests:
        link = links[request.case_id]
        is_open = request.state == SupplementRequest.State.OPEN
        files = list(request.attachments.all())
        for attachment in files:
            attachment.case = link.case  # the page links each file through its case
        materials = [
            {"material": m, "attachments": [a for a in files if a.material_id == m.pk]}
            for m in request.materials.all()
        ]
        rows.append(
            {
                "request": request,
                "case": link.case,
                "link": link,
                "open": is_open,
                "rows": materials,
                "missing": [row["material"] for row in materials if not row["attachments"]],
                "uploaded": files,
                # The day the sweep closes the member case if nothing is sent (视为撤回).
                "deemed_withdrawn_on": request.deadline + dt.timedelta(days=1),
                "working_days_left": (
                    paused_working_days(today, request.deadline)
                    if is_open and request.deadline >= today
                    else 0
                ),
            }
        )
    open_ = sorted((r for r in rows if r["open"]), key=lambda r: r["request"].deadline)
    closed = sorted((r for r in rows if not r["open"]), key=lambda r: r["request"].created_at)
    return open_ + closed[::-1]


def supplement_materials(requests: list[dict]) -> list[dict]:
    """The materials the open requests ask for, each once however many members ask for it (by
    name, as the bundle's own materials are matched: services.bundles.material_key): {"id" (the
    material the upload form posts), "key", "label", "asked_by": [request rows],
    "attachments"}. One upload of it answers every member that asks."""
    grouped: dict[tuple[str, str], dict] = {}
    for row in requests:
        if not row["open"]:
            continue
        for item in row["rows"]:
            material = item["material"]
            entry = grouped.setdefault(
                definitions.material_key(material),
                {"id": material.pk, "key": definitions.material_key(material),
                 "label": material.label, "asked_by": [], "attachments": []},
            )  # fmt: skip
            entry["asked_by"].append(row)
            entry["attachments"].extend(item["attachments"])
    return list(grouped.values())


def _open_request_targets(application: BundleApplication, material_id) -> list[tuple[Case, int]]:
    """(case, material id) for every open request of a member that asks for the material
    `material_id` names, matched by name: one upload answers them all."""
    try:
        material_id = int(material_id)
    except (TypeError, ValueError):
        material_id = None
    materials = supplement_materials(supplement_requests(application))
    entry = next((m for m in materials if m["id"] == material_id), None)
    if entry is None:
        raise ValidationError(
            {
                "material": [
                    _("No open request for documents of this bundle asks for this material.")
                ]
            }
        )
    targets = []
    for row in entry["asked_by"]:
        material = next(
            i["material"] for i in row["rows"]
            if definitions.material_key(i["material"]) == entry["key"]
        )  # fmt: skip
        targets.append((row["case"], material.pk))
    return targets


def upload_for_supplements(
    *, application: BundleApplication, material_id, upload, user: User
) -> list[Attachment]:
    """Hand in one document for every open request of the bundle's members that asks for this
    material: stored once (and counted once against the daily quota), then attached to each
    member case through the engine (cases.workflow.add_attachment) exactly as on the case's own
    page; nothing is sent until the citizen answers (`answer_supplements`). All or nothing."""
    if upload is None:
        raise ValidationError({"file": [_("Choose a file to upload.")]})
    targets = _open_request_targets(application, material_id)
    attachments: list[Attachment] = []
    with transaction.atomic():
        for case, member_material_id in targets:
            stored = None
            if attachments:
                first = attachments[0]
                stored = uploads.StoredFile(
                    stored_name=first.stored_name, original_name=first.original_name,
                    size=first.size, sha256=first.sha256, content_type=first.content_type,
                )  # fmt: skip
            attachments.append(
                workflow.add_attachment(
                    case=case,
                    material_id=member_material_id,
                    upload=None if stored else upload,
                    user=user,
                    stored=stored,
                )  # fmt: skip
            )
    return attachments


def answer_supplements(
    *, application: BundleApplication, user: User, numbers: list[str], note: str = "",
    channel: str = Channel.ONLINE,
) -> list[Case]:  # fmt: skip
    """Send the documents asked for by the member cases numbered `numbers` (each must have an open
    request): each is answered through the engine (cases.workflow.answer_supplement), so the
    member case returns to its department and its clock runs, exactly as if answered on its own
    page. All or nothing: a member with something still missing refuses them all, under
    `materials`, naming the service."""
    open_cases = {
        row["case"].number: row for row in supplement_requests(application) if row["open"]
    }
    wanted = [n for n in dict.fromkeys(numbers) if n]
    if not wanted:
        raise ValidationError({"case": [_("Choose the request to answer.")]})
    unknown = [n for n in wanted if n not in open_cases]
    if unknown:
        raise ValidationError(
            {"case": [_("No open request for documents of this bundle has this number.")]}
        )
    answered = []
    with transaction.atomic():
        for number in wanted:
            row = open_cases[number]
            try:
                answered.append(
                    workflow.answer_supplement(
                        case=row["case"], user=user, note=note, channel=channel
                    )
                )
            except ValidationError as exc:
                raise ValidationError(
                    {"materials": [
                        _("%(service)s: %(problem)s")
                        % {"service": row["case"].service_version.name, "problem": message}
                        for message in exc.messages
                    ]}
                ) from exc  # fmt: skip
    return answered
