"""Counter mode (线下渠道): a clerk files a walk-in citizen's application through the same engine.

The clerk finds the citizen by ID number or registers them on the spot, fills the same form, ticks
the paper materials received, and files with channel `counter`. A clerk who also holds the intake
role accepts it there and then (即收即受); otherwise it goes to the department queue like any online
application. Nothing here needs Redis: messages wait in the outbox.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext as _

from accounts import proxies
from accounts.models import Role, StaffMembership, User
from accounts.services import find_citizen_by_id_number, register_walk_in
from accounts.validators import normalize_id_number
from services import bundles as definitions
from services.models import Bundle, MaterialSource, Outcome, ServiceItem, ServiceMaterial

from .. import uploads, workflow
from ..models import BundleApplication, Case, Channel


def is_counter_clerk(user: User) -> bool:
    """Asked once per user object (the request's): the view and the service it calls both ask."""
    if not user.is_authenticated:
        return False
    known = getattr(user, "_is_counter_clerk", None)
    if known is None:
        known = StaffMembership.objects.filter(user=user, role=Role.COUNTER_CLERK).exists()
        user._is_counter_clerk = known
    return known


def _walk_in(clerk: User, citizen: dict, agent: dict | None, stored: list[str]):
    """The walk-in citizen found or registered, and their proxy's authorisation if one applies
    for them (a newly scanned letter's stored name goes to `stored`, removed if filing fails)."""
    profile, _created = register_walk_in(
        real_name=citizen.get("real_name", ""),
        id_number=citizen.get("id_number", ""),
        phone=citizen.get("phone", ""),
    )
    authorisation, new = _authorisation(clerk, profile, agent) if agent else (None, False)
    if new and authorisation.letter_stored_name:
        stored.append(authorisation.letter_stored_name)
    return profile, authorisation


def file_counter_application(
    *,
    clerk: User,
    citizen: dict,
    service: ServiceItem,
    data: dict,
    materials_received: list[int],
    accept: bool = False,
    commitment_signed: bool = False,
    queue_ticket: str = "",
    agent: dict | None = None,
    scans: dict[int, list] | None = None,
) -> Case:
    """Register or find the citizen, file and submit their application, accept it if asked and
    allowed. All or nothing: a refused filing leaves no case, no half-registered person and no
    stored scan.

    `agent`: someone applying for the citizen (帮办代办): their id_number, real_name, phone,
    relationship, and letter_checked / letter (the scanned authorisation letter) unless they hold a
    current authorisation. `scans`: material id → uploaded scans of the paper handed over.
    """
    if not is_counter_clerk(clerk):
        raise PermissionDenied(_("Only counter clerks file applications at a counter."))
    scans = {int(k): v for k, v in (scans or {}).items() if v}
    _check_scans(scans)
    stored: list[str] = []
    # The version's materials once, for the engine's checks below and this one.
    prefetch_related_objects(
        [service],
        Prefetch(
            "current_version__materials",
            queryset=ServiceMaterial.objects.select_related("shared_by"),
        ),
    )
    # Before the transaction: no registry call holds it open (the draft's prefill, the materials).
    answers = _ask_registries(service, data or {}, lambda: _walk_in_person(citizen))
    try:
        with transaction.atomic():
            profile, authorisation = _walk_in(clerk, citizen, agent, stored)
            case, _new = workflow.create_draft(
                service=service, user=clerk, data=data, channel=Channel.COUNTER,
                applicant=profile, authorisation=authorisation,
                materials_received=materials_received, queue_ticket=queue_ticket,
                registry_answers=answers,
            )  # fmt: skip
            valid_ids = {m.pk for m in case.service_version.materials.all()}
            if any(m not in valid_ids for m in scans):
                raise ValidationError(
                    {"materials_received": [_("This service has no such material.")]}
                )
            # The scans stored, then attached at once: a fixed number of statements however
            # many materials were scanned (the case's quotas are checked for all of them).
            materials = {m.pk: m for m in case.service_version.materials.all()}
            documents = []
            for material_id, files in scans.items():
                for upload in files:
                    try:
                        written = uploads.store_upload(upload)
                    except ValidationError as exc:
                        raise ValidationError({"file": exc.error_list}) from exc
                    stored.append(written.stored_name)
                    documents.append((materials[material_id], clerk, written))
            workflow.attach_stored_files(case=case, documents=documents)
            if commitment_signed:  # 告知承诺 read and signed at the desk
                case = workflow.sign_commitment(case=case, user=clerk)
            case = workflow.submit_application(
                case=case, user=clerk, channel=Channel.COUNTER, registry_answers=answers
            )
            acceptance = workflow.transition_with_outcome(case, clerk, Outcome.ACCEPTED)
            if accept and acceptance is not None:
                case = workflow.apply_transition(
                    case=case, name=acceptance.name, actor=clerk, channel=Channel.COUNTER,
                    opinion=_("Accepted at the counter on receipt (即收即受)."),
                )  # fmt: skip
            if queue_ticket:  # the hall ticket the clerk called the citizen with records the case
                from ..hall.queue import record_case

                record_case(case=case, clerk=clerk, number=queue_ticket)
    except BaseException:
        for name in stored:  # the transaction rolled back: the files it wrote go too
            uploads.discard_stored(name)
        raise
    return case


def _walk_in_person(citizen: dict):
    """Whom the registries are asked about for a walk-in citizen, as `_walk_in` will file them:
    a known citizen as on file (their name is theirs), a new one as the clerk entered them."""
    from ..sharing import services as sharing

    known = find_citizen_by_id_number(citizen.get("id_number", ""))
    if known is not None:
        return sharing.Person.of(known)
    return sharing.Person(
        id_number=normalize_id_number(citizen.get("id_number", "")),
        real_name=(citizen.get("real_name") or "").strip(),
    )


def _asks_registries(version) -> bool:
    """Whether filing under `version` asks a registry: a registry-sourced field or a shared
    material (its materials as read by the caller)."""
    from ..sharing import services as sharing

    return version is not None and (
        bool(sharing.registry_prefilled_fields(version.form_schema))
        or any(m.source == MaterialSource.SHARED for m in version.materials.all())
    )


def _ask_registries(
    service: ServiceItem, data: dict, person, answers=None
):  # -> sharing.RegistryAnswers
    """The registries' answers for the draft's registry-sourced fields and the service's shared
    materials about the walk-in citizen, asked before the filing's transaction."""
    from ..sharing import services as sharing

    answers = sharing.RegistryAnswers() if answers is None else answers
    version = service.current_version
    if not _asks_registries(version):
        return answers
    person = person() if callable(person) else person
    sharing.ask_for_prefill(
        service=service, schema=version.form_schema, data=data, person=person, answers=answers
    )
    return sharing.ask_for_materials(
        service=service, materials=list(version.materials.all()), person=person, answers=answers
    )


def file_counter_bundle(
    *,
    clerk: User,
    citizen: dict,
    bundle: Bundle,
    data: dict,
    materials_received: list[int],
    accept: bool = False,
    queue_ticket: str = "",
    agent: dict | None = None,
    scans: dict[int, list] | None = None,
) -> BundleApplication:
    """A bundle (一件事) filed at a counter, as `file_counter_application` files one service: the
    citizen found or registered, the proxy's authorisation checked, the combined answers, the paper
    materials ticked once per material of the bundle (any member's material id) and the scans
    stored once; then one submission files a case per member in its own department, each with
    channel `counter` and the queue ticket (cases.bundles.services). The registries (each member's
    registry-sourced fields and shared materials) are asked before the filing's transaction opens,
    and logged inside it as each member is filed, as online. With `accept`, the clerk accepts on
    the spot (即收即受) the member cases of departments where they may; the others go to their
    department's queue. All or nothing: a refused filing leaves no bundle, no case, no
    half-registered person and no stored scan."""
    from ..bundles import services as bundles

    if not is_counter_clerk(clerk):
        raise PermissionDenied(_("Only counter clerks file applications at a counter."))
    scans = {int(k): v for k, v in (scans or {}).items() if v}
    _check_scans(scans)
    stored: list[str] = []
    answers = _ask_bundle_registries(bundle, citizen, data)  # before the transaction
    try:
        with transaction.atomic():
            profile, authorisation = _walk_in(clerk, citizen, agent, stored)
            application = bundles.create_bundle_application(
                bundle=bundle, user=clerk, data=data, channel=Channel.COUNTER,
                applicant=profile, authorisation=authorisation,
                materials_received=materials_received, queue_ticket=queue_ticket,
            )  # fmt: skip
            for material_id, files in scans.items():
                for upload in files:
                    try:
                        attachment, _serves = bundles.add_bundle_attachment(
                            application=application, material_id=material_id, upload=upload,
                            user=clerk,
                        )  # fmt: skip
                    except ValidationError as exc:
                        raise ValidationError(
                            {"scans": [f"{upload.name}: {m}" for m in exc.messages]}
                        ) from exc
                    stored.append(attachment.stored_name)
            application = bundles.submit_bundle_application(
                application=application, user=clerk, registry_answers=answers
            )
            if accept:
                for link in application.member_cases.select_related("case"):
                    if link.case is None:
                        continue  # waits for another member's result: its department files it
                    acceptance = workflow.transition_with_outcome(
                        link.case, clerk, Outcome.ACCEPTED
                    )
                    if acceptance is not None:
                        workflow.apply_transition(
                            case=link.case, name=acceptance.name, actor=clerk,
                            channel=Channel.COUNTER,
                            opinion=_("Accepted at the counter on receipt (即收即受)."),
                        )  # fmt: skip
    except BaseException:
        for name in stored:  # the transaction rolled back: the files it wrote go too
            uploads.discard_stored(name)
        raise
    return application


def _ask_bundle_registries(bundle: Bundle, citizen: dict, data: dict):
    """The registries' answers for every member filed at submission (a member that waits for
    another's result is filed later, and its registries asked then), before the transaction."""
    from ..sharing import services as sharing

    answers = sharing.RegistryAnswers()
    if not isinstance(data, dict):
        return answers  # refused by the filing itself
    members = [m for m in definitions.members_of(bundle) if not m.waits.all()]
    asking = [m for m in members if _asks_registries(m.service.current_version)]
    if asking:
        person = _walk_in_person(citizen)
        for member in asking:
            _ask_registries(member.service, definitions.member_data(member, data), person, answers)
    return answers


def scan_shared_instead(
    *, clerk: User, application: BundleApplication, material_name: str, upload
) -> list[Case]:
    """A shared material that its registry could not give (down, nothing on record, no grant)
    taken on paper at the counter after filing: the scan, stored once, is attached to every
    member case of the bundle that still lacks it (cases.sharing.services.upload_instead). The
    cases it went to; refused when none lacks it."""
    from ..sharing import services as sharing

    if not is_counter_clerk(clerk):
        raise PermissionDenied(_("Only counter clerks file applications at a counter."))
    uploads.check_upload(upload)
    wanted = " ".join((material_name or "").split())
    written: uploads.StoredFile | None = None
    attached: list[Case] = []
    try:
        with transaction.atomic():
            for link in application.member_cases.select_related("case"):
                if link.case is None:
                    continue
                for shared in sharing.shared_materials(link.case):
                    if " ".join(shared.material.name.split()) != wanted or not shared.may_upload:
                        continue
                    attachment = workflow.add_attachment(
                        case=link.case, material_id=shared.material.pk, upload=upload,
                        user=clerk, stored=written,
                    )  # fmt: skip
                    if written is None:
                        written = uploads.StoredFile(
                            stored_name=attachment.stored_name,
                            original_name=attachment.original_name,
                            size=attachment.size,
                            sha256=attachment.sha256,
                            content_type=attachment.content_type,
                        )
                    attached.append(link.case)
            if not attached:
                raise ValidationError(
                    {"material": [_("No application of this bundle still lacks this material.")]}
                )
    except BaseException:
        if written is not None:
            uploads.discard_stored(written.stored_name)
        raise
    return attached


def _check_scans(scans: dict[int, list]) -> None:
    """Every scan is checked before anything is written, so one bad file refuses the filing with a
    message naming it, and nothing else is lost."""
    problems = []
    for files in scans.values():
        for upload in files:
            try:
                uploads.check_upload(upload)
            except ValidationError as exc:
                problems += [f"{upload.name}: {message}" for message in exc.messages]
    if problems:
        raise ValidationError({"scans": problems})


def _authorisation(clerk: User, principal, agent: dict):
    """The proxy's current authorisation, or one recorded now from the letter they brought."""
    try:
        agent_profile, _created = register_walk_in(
            real_name=agent.get("real_name", ""),
            id_number=agent.get("id_number", ""),
            phone=agent.get("phone", ""),
        )
        return proxies.record_at_counter(
            clerk=clerk,
            principal=principal,
            agent=agent_profile,
            relationship=agent.get("relationship", ""),
            letter_checked=bool(agent.get("letter_checked")),
            letter=agent.get("letter"),
            valid_until=agent.get("valid_until"),
        )
    except ValidationError as exc:
        raise ValidationError(
            {f"agent.{field}": messages for field, messages in exc.message_dict.items()}
        ) from exc


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

    conclusion = workflow.transition_with_outcome(case, clerk, Outcome.CONCLUDED)
    if conclusion is None:
        raise workflow.CaseConflict(_("This result cannot be handed over now."), code="not_allowed")
    # Concluding at a counter counts the citizen's trip to collect it (the engine's rule).
    return workflow.apply_transition(
        case=case,
        name=conclusion.name,
        actor=clerk,
        channel=Channel.COUNTER,
        opinion=_("Result handed over at the counter to %(name)s.") % {"name": collected_by},
        details={"collected_by": collected_by, "identity_checked": True},
    )
