"""A service item as one JSON document, to share a catalog between cities (DESIGN "API", `manage/`).

`export_service` writes the guide fields, the materials, the form schema and the workflow (stages and
transitions, by key) of a service's published version (or its draft, before the first publication),
and the item's articles of law (`legal_articles`) and retention period (`retention_years`, 保管期限),
which belong to no version, and its data sharing grants (`sharing_grants`: registry, fields,
purpose), for the reader to know what registries the service relies on: they are not imported,
since a grant is the registry's department's to give (admin, SharingGrantAdmin).
`import_service` reads such a document into a new draft under a new code in the importer's
department: everything is checked first and every problem is named by its path in the document
(`guide.legal_basis`, `materials[2].licence_type`, `workflow.transitions[4].to` ...); nothing is
written unless all of it holds. `publish_service` publishes the draft's workflow and the draft;
`retire_service` withdraws a service with a reason and, optionally, what replaces it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import Department

from . import articles as legal_articles
from . import auto_rules, catalog, proactive, workflows
from .models import (
    LegalArticle,
    LicenceType,
    LifeEvent,
    RetentionPeriod,
    ServiceItem,
    ServiceMaterial,
    ServiceVersion,
    WorkflowDefinition,
    WorkflowStage,
    WorkflowTransition,
)

FORMAT = "yiwang-service/1"
# What a version holds besides its guide fields: written under their own keys.
NOT_GUIDE = {
    "id", "service", "number", "state", "created_at", "published_at", "published_by", "workflow",
    "licence_type", "life_events", "form_schema",
}  # fmt: skip
MATERIAL_FIELDS = [
    "name", "name_en", "required", "tolerable", "covered_by_commitment", "form", "copies",
    "paper_format", "source", "note", "note_en",
]  # fmt: skip
# The articles of law deciders apply (the item's, not the version's); `active` is is_active.
ARTICLE_FIELDS = ["law", "law_en", "article", "article_en", "text", "text_en"]
STAGE_FIELDS = ["name", "name_en", "kind", "role", "department_rule", "time_share"]
TRANSITION_FIELDS = ["label", "label_en", "outcome", "opinion_required", "effects", "message",
                     "message_en"]  # fmt: skip


def guide_fields() -> list[str]:
    """Every editable guide field of a version (办事指南), in model order."""
    return [
        f.name
        for f in ServiceVersion._meta.concrete_fields
        if f.name not in NOT_GUIDE and not f.is_relation
    ]


def version_to_export(item: ServiceItem) -> ServiceVersion | None:
    return item.current_version or item.versions.order_by("-number").first()


def export_service(item: ServiceItem, version: ServiceVersion | None = None) -> dict:
    """The document for `item` (its published version unless another is named): what the public
    reads and what a case depends on."""
    version = version or version_to_export(item)
    workflow = version.workflow
    stages = list(workflow.stages.select_related("fixed_department").order_by("order", "pk"))
    keys = {stage.pk: stage.code for stage in stages}
    return {
        "format": FORMAT,
        "code": item.code,
        "department": item.department.code,
        # 保管期限 of the case files (RetentionPeriod: 10, 30, or 0 for permanent): the item's.
        "retention_years": item.retention_years,
        # 秒批 (services.auto_rules): the item's, like the retention period; null when none.
        "auto_approval": auto_rules.policy_document(item),
        # 免申即享 (services.proactive): the item's too; null when none.
        "proactive": proactive.proactive_document(item),
        "version": version.number,
        "state": version.state,
        "guide": {name: getattr(version, name) for name in guide_fields()},
        "licence_type": version.licence_type.code if version.licence_type_id else None,
        "life_events": sorted(version.life_events.values_list("code", flat=True)),
        "materials": [
            {
                **{name: getattr(material, name) for name in MATERIAL_FIELDS},
                "licence_type": material.licence_type.code if material.licence_type_id else None,
                "shared_by": material.shared_by.code if material.shared_by_id else None,
            }
            for material in version.materials.select_related("licence_type", "shared_by")
        ],
        "form_schema": version.form_schema,
        "legal_articles": [
            {
                **{name: getattr(article, name) for name in ARTICLE_FIELDS},
                "active": article.is_active,
            }
            for article in legal_articles.articles_of(item)
        ],
        "sharing_grants": [
            {"registry": grant.registry, "fields": grant.fields, "purpose": grant.purpose}
            for grant in item.sharing_grants.all()
        ],
        "workflow": {
            "code": workflow.code,
            "name": workflow.name,
            "name_en": workflow.name_en,
            "stages": [
                {
                    "key": stage.code,
                    **{name: getattr(stage, name) for name in STAGE_FIELDS},
                    "fixed_department": stage.fixed_department.code
                    if stage.fixed_department_id
                    else None,
                }
                for stage in stages
            ],
            "transitions": [
                {
                    "name": transition.name,
                    **{name: getattr(transition, name) for name in TRANSITION_FIELDS},
                    "from": keys.get(transition.source_id),
                    "to": keys.get(transition.target_id),
                    "roles": list(transition.allowed_roles),
                }
                for transition in workflow.transitions.order_by("order", "pk")
            ],
        },
    }


# --- Import ----------------------------------------------------------------------------------------


class Problems:
    """Every problem of a document, by its path, raised together."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message) -> None:
        self.errors.setdefault(path, []).append(str(message))

    def add_validation(self, prefix: str, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field, messages in exc.message_dict.items():
                path = prefix if field == "__all__" else f"{prefix}.{field}" if prefix else field
                for message in messages:
                    self.add(path, message)
        else:
            for message in exc.messages:
                self.add(prefix or "non_field_errors", message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def _mapping(problems: Problems, value, path: str) -> dict:
    if not isinstance(value, dict):
        problems.add(path, _("Expected an object."))
        return {}
    return value


def _list(problems: Problems, value, path: str) -> list:
    if not isinstance(value, list):
        problems.add(path, _("Expected a list."))
        return []
    return value


def _unknown_keys(problems: Problems, given: dict, known, path: str) -> None:
    for key in sorted(set(given) - set(known)):
        problems.add(f"{path}.{key}" if path else key, _("Unknown field."))


def _by_code(model, code, problems: Problems, path: str, label: str):
    if code in (None, ""):
        return None
    found = model.objects.filter(code=code).first()
    if found is None:
        problems.add(
            path, _("No %(what)s has the code “%(code)s”.") % {"what": label, "code": code}
        )
    return found


def _workflow_code(code: str) -> str:
    return (slugify(code) or "service")[:55] + "-flow"


@transaction.atomic
def import_service(*, document, code: str, department: Department, actor=None) -> ServiceVersion:
    """A new draft service `code` in `department` from an exported document. Raises one
    ValidationError naming every problem by its path; writes nothing then."""
    problems = Problems()
    document = _mapping(problems, document, "document")
    problems.raise_if_any()
    if document.get("format") != FORMAT:
        problems.add("format", _("Expected “%(format)s”.") % {"format": FORMAT})
    if not code:
        problems.add("code", _("Give the new service a code."))
    elif ServiceItem.objects.filter(code=code).exists():
        problems.add("code", _("A service with this code exists already; choose a new code."))

    retention_years = document.get("retention_years", RetentionPeriod.THIRTY_YEARS)
    if isinstance(retention_years, bool) or retention_years not in RetentionPeriod.values:
        problems.add(
            "retention_years",
            _("Expected one of %(choices)s (0: permanent).")
            % {"choices": ", ".join(str(v) for v in RetentionPeriod.values)},
        )

    guide = _mapping(problems, document.get("guide"), "guide")
    _unknown_keys(problems, guide, guide_fields(), "guide")
    licence_type = _by_code(
        LicenceType, document.get("licence_type"), problems, "licence_type", _("e-licence type")
    )
    life_events = []
    for index, event_code in enumerate(
        _list(problems, document.get("life_events", []), "life_events")
    ):
        life_events.append(
            _by_code(LifeEvent, event_code, problems, f"life_events[{index}]", _("life event"))
        )
    schema = document.get("form_schema", {})
    _check_guide(problems, guide, licence_type, schema)

    materials = []
    for index, row in enumerate(_list(problems, document.get("materials"), "materials")):
        path = f"materials[{index}]"
        row = _mapping(problems, row, path)
        _unknown_keys(problems, row, [*MATERIAL_FIELDS, "licence_type", "shared_by"], path)
        material = ServiceMaterial(
            order=index,
            **{name: row[name] for name in MATERIAL_FIELDS if name in row},
            licence_type=_by_code(LicenceType, row.get("licence_type"), problems,
                                  f"{path}.licence_type", _("e-licence type")),
            shared_by=_by_code(Department, row.get("shared_by"), problems, f"{path}.shared_by",
                               _("department")),
        )  # fmt: skip
        try:
            material.full_clean(exclude=["version"])
        except ValidationError as exc:
            problems.add_validation(path, exc)
        materials.append(material)

    articles = _article_rows(problems, document.get("legal_articles", []))
    flow = _mapping(problems, document.get("workflow"), "workflow")
    stages, transitions = _workflow_rows(problems, flow)
    problems.raise_if_any()

    definition = WorkflowDefinition.objects.create(
        code=_workflow_code(code),
        version=(
            WorkflowDefinition.objects.filter(code=_workflow_code(code)).aggregate(
                m=Max("version")
            )["m"]
            or 0
        )
        + 1,
        name=str(flow.get("name") or guide.get("name") or code)[:100],
        name_en=str(flow.get("name_en") or "")[:150],
        department=department,
    )
    saved_stages = {}
    for key, stage in stages.items():
        stage.definition = definition
        stage.save()
        saved_stages[key] = stage
    for transition, source, target in transitions:
        transition.definition = definition
        transition.source = saved_stages.get(source)
        transition.target = saved_stages.get(target)
        transition.save()
    try:
        version = catalog.create_service(
            code=code,
            department=department,
            materials=[
                {name: getattr(m, name) for name in MATERIAL_FIELDS}
                | {"licence_type": m.licence_type, "shared_by": m.shared_by}
                for m in materials
            ],
            life_events=[event for event in life_events if event is not None],
            **{name: guide[name] for name in guide_fields() if name in guide},
            licence_type=licence_type,
            form_schema=schema,
            workflow=definition,
        )
    except ValidationError as exc:
        problems.add_validation("guide", exc)
        problems.raise_if_any()
    catalog.set_retention_period(service=version.service, years=retention_years)
    saved_articles = legal_articles.add_articles(
        service=version.service,
        rows=[
            {name: getattr(a, name) for name in [*ARTICLE_FIELDS, "is_active"]} for a in articles
        ],
    )
    _import_auto_approval(problems, document.get("auto_approval"), version, saved_articles)
    _import_proactive(problems, document.get("proactive"), version)
    return version


def _import_proactive(problems: Problems, policy, version) -> None:
    """The 免申即享 policy of the document, checked against the imported form; problems under
    `proactive.<field>`. Its rules need the service's sharing grants, which the registry's
    department gives (not imported): a policy is imported switched off until they exist."""
    if policy is None:
        return
    policy = _mapping(problems, policy, "proactive")
    problems.raise_if_any()
    _unknown_keys(problems, policy, ["enabled", "mode", "rules", "answers"], "proactive")
    problems.raise_if_any()
    grants = version.service.sharing_grants.exists()
    try:
        proactive.save_proactive_policy(
            service=version.service,
            enabled=bool(policy.get("enabled", False)) and grants,
            mode=policy.get("mode", "offer"),
            rules=policy.get("rules", []),
            answers=policy.get("answers", {}),
        )
    except ValidationError as exc:
        problems.add_validation("proactive", exc)
        problems.raise_if_any()


def _import_auto_approval(problems: Problems, policy, version, articles) -> None:
    """The 秒批 policy of the document, checked against the imported form; problems under
    `auto_approval.<field>` (the caller's transaction then writes nothing)."""
    if policy is None:
        return
    policy = _mapping(problems, policy, "auto_approval")
    problems.raise_if_any()
    _unknown_keys(
        problems, policy, ["enabled", "rules", "sample_percent", "article"], "auto_approval"
    )
    article = None
    wanted = policy.get("article")
    if wanted is not None:
        wanted = _mapping(problems, wanted, "auto_approval.article")
        article = next(
            (
                a
                for a in articles
                if (a.law, a.article) == (wanted.get("law"), wanted.get("article"))
            ),
            None,
        )
        if article is None:
            problems.add("auto_approval.article", _("Name one of the document's legal_articles."))
    problems.raise_if_any()
    try:
        auto_rules.save_policy(
            service=version.service,
            enabled=policy.get("enabled", False),
            rules=policy.get("rules", []),
            article=article,
            sample_percent=policy.get("sample_percent"),
        )
    except ValidationError as exc:
        problems.add_validation("auto_approval", exc)
        problems.raise_if_any()


def _article_rows(problems: Problems, rows) -> list[LegalArticle]:
    """Unsaved articles of law from `legal_articles` (optional), each checked as the designer
    checks them: a missing text or a law and article given twice is named by its path."""
    articles, paths = [], []
    for index, row in enumerate(_list(problems, rows, "legal_articles")):
        path = f"legal_articles[{index}]"
        if not isinstance(row, dict):
            problems.add(path, _("Expected an object."))
            continue
        _unknown_keys(problems, row, [*ARTICLE_FIELDS, "active"], path)
        if not isinstance(row.get("active", True), bool):
            problems.add(f"{path}.active", _("Expected true or false."))
        texts = {}
        for name in ARTICLE_FIELDS:
            value = row.get(name)
            if value is not None and not isinstance(value, str):
                problems.add(f"{path}.{name}", _("Expected a text."))
            else:
                texts[name] = (value or "").strip()
        article = LegalArticle(
            **texts, order=10 * (index + 1), is_active=row.get("active", True) is not False
        )
        articles.append(article)
        paths.append((path, set(texts)))
    for position, fields in legal_articles.article_problems(articles).items():
        path, given = paths[position]
        for field, messages in fields.items():
            if field in ARTICLE_FIELDS and field not in given:
                continue  # said already: not a text
            for message in messages:
                problems.add(f"{path}.{'active' if field == 'is_active' else field}", message)
    return articles


def _check_guide(problems: Problems, guide: dict, licence_type, schema) -> None:
    """The guide fields as the version's own validation sees them (the form schema included)."""
    probe = ServiceVersion(
        **{name: guide[name] for name in guide_fields() if name in guide},
        licence_type=licence_type,
        form_schema=schema,
    )
    found = Problems()
    try:
        probe.full_clean(exclude=["service", "workflow", "number"])
    except ValidationError as exc:
        found.add_validation("guide", exc)
    for path, messages in found.errors.items():
        # The schema and the licence type sit at the top of the document, not in the guide.
        top = path.removeprefix("guide.")
        path = top if top in ("form_schema", "licence_type") else path
        for message in messages:
            problems.add(path, message)


def _workflow_rows(problems: Problems, flow: dict):
    """Unsaved stages by key and (transition, from key, to key), each checked as admin checks them."""
    stages: dict[str, WorkflowStage] = {}
    for index, row in enumerate(_list(problems, flow.get("stages"), "workflow.stages")):
        path = f"workflow.stages[{index}]"
        row = _mapping(problems, row, path)
        _unknown_keys(problems, row, ["key", *STAGE_FIELDS, "fixed_department"], path)
        key = row.get("key")
        if not key or key in stages:
            problems.add(f"{path}.key", _("Give every stage a key of its own."))
            continue
        stage = WorkflowStage(
            code=key,
            order=index,
            **{name: row[name] for name in STAGE_FIELDS if name in row and row[name] is not None},
            fixed_department=_by_code(Department, row.get("fixed_department"), problems,
                                      f"{path}.fixed_department", _("department")),
        )  # fmt: skip
        try:
            stage.full_clean(exclude=["definition"])
        except ValidationError as exc:
            problems.add_validation(path, exc)
        stages[key] = stage
    transitions = []
    for index, row in enumerate(_list(problems, flow.get("transitions"), "workflow.transitions")):
        path = f"workflow.transitions[{index}]"
        row = _mapping(problems, row, path)
        _unknown_keys(problems, row, ["name", "from", "to", "roles", *TRANSITION_FIELDS], path)
        for end in ("from", "to"):
            if row.get(end) is not None and row.get(end) not in stages:
                problems.add(f"{path}.{end}", _("No stage has this key."))
        transition = WorkflowTransition(
            name=row.get("name") or "",
            order=index,
            allowed_roles=row.get("roles") or [],
            **{name: row[name] for name in TRANSITION_FIELDS if name in row and row[name] is not None},
        )  # fmt: skip
        try:
            transition.full_clean(exclude=["definition", "source", "target"])
        except ValidationError as exc:
            problems.add_validation(path, exc)
        transitions.append((transition, row.get("from"), row.get("to")))
    return stages, transitions


# --- Lifecycle -------------------------------------------------------------------------------------


@transaction.atomic
def publish_service(*, item: ServiceItem, actor=None) -> tuple[ServiceVersion, list[str]]:
    """Publish the service's draft: its workflow first if that is a draft too (the engine's
    publishing checks), then the version. Returns the version and the warnings (a stage whose acting
    department has nobody in the acting role)."""
    draft = (
        item.versions.filter(state=ServiceVersion.State.DRAFT).select_related("workflow").first()
    )
    if draft is None:
        raise ValidationError(_("There is no draft to publish; start a new draft first."))
    if not draft.workflow.is_published:
        workflows.publish_workflow(definition=draft.workflow)
        draft.refresh_from_db()
    version = catalog.publish_version(version=draft, actor=actor)
    return version, workflows.workflow_warnings(version.workflow, department=item.department)


@transaction.atomic
def retire_service(
    *, item: ServiceItem, reason: str, replaced_by: ServiceItem | None = None, actor=None
) -> ServiceItem:
    """Withdraw a service from the catalog, saying why and what replaces it; its versions and cases
    stay, and drafts of it can no longer be submitted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the service is retired.")]})
    if replaced_by is not None and (
        replaced_by.pk == item.pk or replaced_by.status != ServiceItem.Status.PUBLISHED
    ):
        raise ValidationError({"replaced_by": [_("Name a published service that replaces it.")]})
    from cases.notifications.services import tell_drafts_of_retirement

    item = catalog.retire_service(service=item)
    item.retired_at, item.retirement_reason, item.replaced_by = timezone.now(), reason, replaced_by
    item.save(update_fields=["retired_at", "retirement_reason", "replaced_by"])
    tell_drafts_of_retirement(item, replacement=replaced_by)
    return item
