"""Writes and reads on the service catalog: drafts, publishing, new versions, retiring, and the public
selectors. Admin actions, the demo loader and the API call these; nothing else changes a version."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import Department

from .models import (
    LegalArticle,
    LifeEvent,
    ResultType,
    RetentionPeriod,
    ServiceItem,
    ServiceMaterial,
    ServiceVersion,
    WorkflowDefinition,
)
from .schema import check_schema, normalize_schema


@transaction.atomic
def create_service(
    *,
    code: str,
    department: Department,
    materials: list[dict] | None = None,
    life_events: list[LifeEvent] | None = None,
    **version_fields,
) -> ServiceVersion:
    """A new service with its first draft version (not yet visible to the public)."""
    item = ServiceItem.objects.create(code=code, department=department)
    version = ServiceVersion(service=item, number=1, **version_fields)
    version.form_schema = normalize_schema(version.form_schema)
    version.full_clean(exclude=["service"])
    version.save()
    for order, material in enumerate(materials or []):
        ServiceMaterial.objects.create(version=version, order=order, **material)
    if life_events:
        version.life_events.set(life_events)
    return version


def publication_problems(version: ServiceVersion, *, with_its_workflow: bool = False) -> list[str]:
    """What stops `version` from being published. `with_its_workflow`: its draft workflow is
    published together with it (the designer does that), so only the workflow's own checks count."""
    problems: list[str] = []
    try:
        version.full_clean(exclude=["service"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            label = (
                str(ServiceVersion._meta.get_field(field).verbose_name)
                if field != "__all__"
                else ""
            )
            problems += [f"{label}: {m}" if label else m for m in messages]
    if version.result_type == ResultType.LICENCE and not version.licence_type_id:
        problems.append(_("Name the e-licence type this service issues."))
    elif version.replaces_licence and version.result_type != ResultType.LICENCE:
        problems.append(_("A change application replaces a licence: it must issue an e-licence."))
    if not version.form_schema.get("properties"):
        problems.append(_("The form needs at least one field."))
    if not version.workflow.is_published and not with_its_workflow:
        problems.append(
            _("Publish the workflow first; a service can only use a published workflow.")
        )
    if not version.materials.exists():
        problems.append(_("List at least one material, even if it is only the application form."))
    if version.allows_commitment and not version.commitment_text.strip():
        problems.append(
            _("Write the commitment the applicant signs (告知承诺书), or do not offer 告知承诺.")
        )
    return problems


@transaction.atomic
def publish_version(*, version: ServiceVersion, actor=None) -> ServiceVersion:
    """Freeze a draft; it becomes what the public sees and what new cases are filed under. The
    previously published version is kept unchanged for the cases that point to it."""
    item = ServiceItem.objects.select_for_update().get(pk=version.service_id)
    version = ServiceVersion.objects.select_related("workflow").get(pk=version.pk)
    if version.state != ServiceVersion.State.DRAFT:
        raise ValidationError(_("Only a draft can be published."), code="not_draft")
    problems = publication_problems(version)
    if problems:
        raise ValidationError(problems, code="cannot_publish")
    previous = item.current_version
    version.state = ServiceVersion.State.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = actor
    version.save(update_fields=["state", "published_at", "published_by"])
    if previous is not None:
        previous.state = ServiceVersion.State.SUPERSEDED
        previous.save(update_fields=["state"])
    item.current_version = version
    item.status = ServiceItem.Status.PUBLISHED
    item.save(update_fields=["current_version", "status"])
    return version


def _draft(version: ServiceVersion) -> ServiceVersion:
    version = ServiceVersion.objects.select_for_update().get(pk=version.pk)
    if version.state != ServiceVersion.State.DRAFT:
        raise ValidationError(
            _("A published version cannot be changed; start a new draft from it."), code="frozen"
        )
    return version


@transaction.atomic
def update_draft(*, version: ServiceVersion, fields: dict, life_events=None) -> ServiceVersion:
    """Change the guide fields of a draft; validated like publishing validates them."""
    version = _draft(version)
    for name, value in fields.items():
        setattr(version, name, value)
    version.form_schema = normalize_schema(version.form_schema)
    version.full_clean(exclude=["service"])
    version.save()
    if life_events is not None:
        version.life_events.set(life_events)
    return version


@transaction.atomic
def save_materials(
    *,
    version: ServiceVersion,
    rows: list[tuple[ServiceMaterial | None, dict]],
    removed: list,
    samples: dict[int, object] | None = None,
) -> list[ServiceMaterial]:
    """Replace a draft's materials: `rows` (existing material or None, its fields) in order, and
    the materials `removed`; `samples`: row index → an uploaded blank form or sample (PDF, JPEG or
    PNG, checked like any upload) that applicants download from the guide."""
    from cases import uploads

    version = _draft(version)
    stored = {}
    for index, upload in (samples or {}).items():
        try:
            stored[index] = uploads.store_upload(upload)
        except ValidationError as exc:
            raise ValidationError(
                {"sample": [f"{upload.name}: {message}" for message in exc.messages]}
            ) from exc
    removed_ids = [m.pk for m in removed if m.pk]
    ServiceMaterial.objects.filter(version=version, pk__in=removed_ids).delete()
    saved = []
    for order, (material, fields) in enumerate(rows):
        material = material if material is not None and material.pk else ServiceMaterial()
        for name, value in fields.items():
            setattr(material, name, value)
        material.version, material.order = version, order
        if order in stored:
            material.sample_stored_name = stored[order].stored_name
            material.sample_file_name = stored[order].original_name
        material.full_clean()
        material.save()
        saved.append(material)
    return saved


@transaction.atomic
def give_draft_workflow(
    *, version: ServiceVersion, source: WorkflowDefinition | None = None
) -> ServiceVersion:
    """Give a draft a workflow of its own to edit: a copy of `source` (the standard template,
    another workflow) or of the one it uses now. Published workflows are never edited in place."""
    from .workflows import copy_workflow

    version = _draft(version)
    source = source or version.workflow
    code = f"{slugify(version.service.code)[:55]}-flow"
    copy = copy_workflow(
        definition=source,
        department=version.service.department,
        code=code,
        name=source.name,
    )
    version.workflow = copy
    version.save(update_fields=["workflow"])
    return version


@transaction.atomic
def start_new_draft(*, service: ServiceItem) -> ServiceVersion:
    """Editing a published service: a new draft copied from the newest version (or the existing
    draft, when there already is one)."""
    item = ServiceItem.objects.select_for_update().get(pk=service.pk)
    draft = item.versions.filter(state=ServiceVersion.State.DRAFT).first()
    if draft is not None:
        return draft
    source = item.versions.order_by("-number").first()
    life_events = list(source.life_events.all())
    materials = list(source.materials.all())
    number = (item.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    source.pk = None
    source._state.adding = True
    source.number = number
    source.state = ServiceVersion.State.DRAFT
    source.published_at = None
    source.published_by = None
    source.created_at = timezone.now()
    source.save()
    source.life_events.set(life_events)
    for material in materials:
        material.pk = None
        material.version = source
        material.save()
    return source


@transaction.atomic
def retire_service(*, service: ServiceItem) -> ServiceItem:
    """Withdraw a service from the catalog; its versions and cases stay."""
    item = ServiceItem.objects.select_for_update().get(pk=service.pk)
    item.status = ServiceItem.Status.RETIRED
    item.save(update_fields=["status"])
    return item


def set_retention_period(*, service: ServiceItem, years) -> ServiceItem:
    """The retention period (保管期限) of the service's case files: one of RetentionPeriod. It is the
    item's, not a version's, so it changes without a new version and applies to every case of the
    service (cases.retention archives closed cases once it has passed)."""
    try:
        years = int(years)
    except (TypeError, ValueError):
        years = None
    if years not in RetentionPeriod.values:
        raise ValidationError(
            {
                "retention_years": [
                    _("Choose a retention period: %(choices)s.")
                    % {"choices": ", ".join(str(label) for label in RetentionPeriod.labels)}
                ]
            }
        )
    if service.retention_years != years:
        service.retention_years = years
        service.save(update_fields=["retention_years"])
    return service


def validate_form_schema(schema) -> dict:
    check_schema(schema)
    return normalize_schema(schema)


# --- Selectors -------------------------------------------------------------------------------------


def published_services() -> QuerySet[ServiceItem]:
    """Published services with what a list shows, in a constant number of queries."""
    return (
        ServiceItem.objects.filter(status=ServiceItem.Status.PUBLISHED)
        .select_related("department", "current_version")
        .prefetch_related(
            Prefetch(
                "current_version__life_events",
                queryset=LifeEvent.objects.order_by("order", "code"),
            )
        )
        .order_by("department__code", "code")
    )


def service_to_apply_for(code: str) -> ServiceItem:
    """The service named in an application, with the version new cases are filed under; a clear
    field error when there is none."""
    service = ServiceItem.objects.select_related("current_version").filter(code=code).first()
    if service is None:
        raise ValidationError({"service": [_("No such service.")]})
    return service


class SearchResults(Sequence):
    """The services a search found, in rank order, as a sequence that a paginator slices: only the
    page shown is read with everything a list shows. `corrected`: the query searched instead of
    the one typed (a typo); `suggestions`: "您是不是要找" when few or none were found."""

    def __init__(self, ranked_ids: list[int], corrected: str = "", suggestions=()):
        self.ids = ranked_ids
        self.corrected = corrected
        self.suggestions = list(suggestions)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1 or None][0]
        wanted = self.ids[index]
        found = {item.pk: item for item in published_services().filter(pk__in=wanted)}
        return [found[pk] for pk in wanted if pk in found]


def search_services(
    *,
    q: str = "",
    department: str = "",
    life_event: str = "",
    audience: str = "",
    channel: str = "",
) -> QuerySet[ServiceItem] | SearchResults:
    """The public catalog, filtered; with `q`, the services it means in rank order (services.search:
    everyday words, keywords and aliases, pinyin, typos). Without `q`, by department and code."""
    services = published_services()
    if department:
        services = services.filter(
            Q(department__code=department) | Q(department__parent__code=department)
        )
    if life_event:
        services = services.filter(current_version__life_events__code=life_event)
    if audience in ("person", "organisation"):
        services = services.filter(current_version__audience__in=[audience, "both"])
    if channel in ("online", "counter", "mail"):
        services = services.filter(**{f"current_version__channel_{channel}": True})
    if not q.strip():
        return services.distinct()
    from .search import search

    outcome = search(services.distinct(), q)
    return SearchResults(outcome.ids, outcome.corrected, outcome.suggestions)


def retired_service(code: str) -> ServiceItem | None:
    """A retired service with its last published version and what replaces it."""
    return (
        ServiceItem.objects.filter(code=code, status=ServiceItem.Status.RETIRED)
        .exclude(current_version__isnull=True)
        .select_related("department", "current_version", "replaced_by__current_version")
        .first()
    )


def service_for_guide(code: str) -> ServiceItem | None:
    """A published service with everything its guide page shows, in a constant number of queries;
    `active_articles`: the articles of law it is decided under, in order."""
    return (
        ServiceItem.objects.filter(code=code, status=ServiceItem.Status.PUBLISHED)
        .select_related(
            "department",
            "current_version__licence_type",
            "current_version__workflow",
        )
        .prefetch_related(
            "current_version__life_events",
            Prefetch(
                "current_version__materials",
                queryset=ServiceMaterial.objects.select_related("licence_type", "shared_by"),
            ),
            Prefetch(
                "articles",
                queryset=LegalArticle.objects.filter(is_active=True).order_by("order", "pk"),
                to_attr="active_articles",
            ),
        )
        .first()
    )


# --- What department admins add besides items ---------------------------------------------------


def set_maintainer(*, item: ServiceItem, user, grant: bool) -> None:
    """A member of staff who may edit this one item in the designer (django-guardian)."""
    from guardian.shortcuts import assign_perm, remove_perm

    (assign_perm if grant else remove_perm)("services.maintain_serviceitem", user, item)


@transaction.atomic
def add_licence_type(**fields):
    from .models import LicenceType

    licence_type = LicenceType(**fields)
    licence_type.full_clean()
    licence_type.save()
    return licence_type


@transaction.atomic
def add_life_event(**fields) -> LifeEvent:
    event = LifeEvent(**fields)
    event.full_clean()
    event.save()
    return event
