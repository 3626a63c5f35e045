"""The service designer's pages (/manage/): the admin's items, a new item, its overview with what
stops publication, the guide, the materials, publishing with the changes in words, retiring.

Server-rendered and complete without JavaScript; every write goes through services.catalog or
services.interchange."""

from __future__ import annotations

import json

from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.forms import attach_errors

from .. import articles as legal_articles
from .. import auto_rules, catalog, diagram, interchange, workflows
from ..changes import changes_to_publish
from ..models import (
    AutoApprovalPolicy,
    RetentionPeriod,
    ServiceItem,
    ServiceMaterial,
    ServiceVersion,
    WorkflowDefinition,
)
from . import access, formbuilder
from .forms import (
    ArticleFormSet,
    FieldForm,
    GuideForm,
    MaterialFormSet,
    NewFieldForm,
    NewServiceForm,
    StageForm,
    TransitionForm,
)


def _designer(request: HttpRequest) -> None:
    if not access.designs_services(request.user):
        raise Http404


def _item(request: HttpRequest, code: str) -> ServiceItem:
    item = (
        access.items_designed_by(request.user)
        .filter(code=code)
        .select_related("department", "current_version")
        .first()
    )
    if item is None:
        raise Http404
    return item


def _draft_of(item: ServiceItem) -> ServiceVersion | None:
    return item.versions.filter(state=ServiceVersion.State.DRAFT).select_related("workflow").first()


def _errors_to_messages(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
def item_list(request: HttpRequest) -> HttpResponse:
    _designer(request)
    items = (
        access.items_designed_by(request.user)
        .select_related("department", "current_version")
        .prefetch_related("versions")
        .order_by("department__code", "code")
    )
    rows = []
    for item in items:
        versions = list(item.versions.all())  # prefetched: no query per item
        newest = max(versions, key=lambda v: v.number, default=None)
        shown = item.current_version or newest
        rows.append(
            {
                "item": item,
                "name": shown.name if shown else item.code,
                "draft": next((v for v in versions if v.state == "draft"), None),
            }
        )
    return render(
        request,
        "designer/list.html",
        {"rows": rows, "may_create": access.may_create_in(request.user).exists()},
    )


@login_required
def create(request: HttpRequest) -> HttpResponse:
    _designer(request)
    departments = access.may_create_in(request.user)
    if not departments.exists():
        raise Http404
    form = NewServiceForm(request.POST or None, departments=departments)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        code, department = data.pop("code"), data.pop("department")
        try:
            with transaction.atomic():
                definition = workflows.copy_workflow(
                    definition=workflows.ensure_standard_template(),
                    department=department,
                    code=interchange._workflow_code(code),
                )
                version = catalog.create_service(
                    code=code, department=department, workflow=definition,
                    form_schema={"type": "object", "properties": {}, "required": []}, **data,
                )  # fmt: skip
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("Draft created. Fill in the guide, materials and form."))
            return redirect("designer:item", code=version.service.code)
    return render(
        request, "designer/create.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def item_page(request: HttpRequest, code: str) -> HttpResponse:
    _designer(request)
    item = _item(request, code)
    draft = _draft_of(item)
    problems = []
    if draft is not None:
        problems = catalog.publication_problems(draft, with_its_workflow=True)
        if not draft.workflow.is_published:
            problems += workflows.workflow_problems(draft.workflow)
    return render(
        request,
        "designer/item.html",
        {
            "item": item,
            "draft": draft,
            "version": draft or item.current_version,
            "problems": problems,
            "changes": changes_to_publish(item) if draft else [],
            "articles": list(legal_articles.articles_of(item)),
            "retention_periods": RetentionPeriod.choices,
            **_auto_approval_context(item, draft or item.current_version),
            "warnings": workflows.workflow_warnings(
                (draft or item.current_version).workflow, department=item.department
            ),
            "others": ServiceItem.objects.filter(status=ServiceItem.Status.PUBLISHED)
            .exclude(pk=item.pk)
            .select_related("current_version")
            .order_by("code")[:500],
        },
    )


@login_required
@require_POST
def new_draft(request: HttpRequest, code: str) -> HttpResponse:
    _designer(request)
    catalog.start_new_draft(service=_item(request, code))
    messages.success(request, _("A new draft copied from the published version is ready."))
    return redirect("designer:item", code=code)


def _editable_draft(request: HttpRequest, code: str) -> tuple[ServiceItem, ServiceVersion]:
    item = _item(request, code)
    draft = _draft_of(item)
    if draft is None:
        raise Http404
    return item, draft


@login_required
def guide(request: HttpRequest, code: str) -> HttpResponse:
    _designer(request)
    item, draft = _editable_draft(request, code)
    form = GuideForm(request.POST or None, instance=draft)
    if request.method == "POST" and form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items() if name != "life_events"}
        try:
            catalog.update_draft(
                version=draft, fields=fields, life_events=form.cleaned_data["life_events"]
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("Guide saved."))
            return redirect("designer:item", code=code)
    return render(
        request,
        "designer/guide.html",
        {"item": item, "draft": draft, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def materials(request: HttpRequest, code: str) -> HttpResponse:
    _designer(request)
    item, draft = _editable_draft(request, code)
    queryset = ServiceMaterial.objects.filter(version=draft).order_by("order", "pk")
    formset = MaterialFormSet(
        request.POST or None, request.FILES or None, queryset=queryset, prefix="m"
    )
    if request.method == "POST" and formset.is_valid():
        rows, removed, samples = [], [], {}
        for form in formset.forms:
            if not form.has_changed() and not form.instance.pk:
                continue  # the empty row offered for a new material
            if form.cleaned_data.get("DELETE"):
                removed.append(form.instance)
                continue
            fields = {
                k: v for k, v in form.cleaned_data.items() if k not in ("DELETE", "id", "sample")
            }
            if form.cleaned_data.get("sample"):
                samples[len(rows)] = form.cleaned_data["sample"]
            rows.append((form.instance if form.instance.pk else None, fields))
        try:
            catalog.save_materials(version=draft, rows=rows, removed=removed, samples=samples)
        except ValidationError as exc:
            _errors_to_messages(request, exc)
        else:
            messages.success(request, _("Materials saved."))
            if "add" in request.POST:
                return redirect("designer:materials", code=code)
            return redirect("designer:item", code=code)
    return render(
        request,
        "designer/materials.html",
        {"item": item, "draft": draft, "formset": formset},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def articles(request: HttpRequest, code: str) -> HttpResponse:
    """The articles of law deciders apply (法律依据): the item's own, edited with or without a draft;
    a change applies to the next decisions, no new version is published."""
    _designer(request)
    item = _item(request, code)
    queryset = legal_articles.articles_of(item)
    next_order = max(queryset.values_list("order", flat=True), default=0) + 10
    formset = ArticleFormSet(
        request.POST or None, queryset=queryset, prefix="a", initial=[{"order": next_order}]
    )
    if request.method == "POST" and formset.is_valid():
        rows, shown = [], []
        for form in formset.forms:
            if not form.has_changed() and not form.instance.pk:
                continue  # the empty row offered for a new article
            fields = {
                k: v for k, v in form.cleaned_data.items() if k in legal_articles.ARTICLE_FIELDS
            }
            rows.append((form.instance if form.instance.pk else None, fields))
            shown.append(form)
        try:
            legal_articles.save_articles(service=item, rows=rows)
        except legal_articles.ArticleProblems as exc:
            for index, fields in exc.rows.items():
                form = shown[index]
                for field, problems in fields.items():
                    form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, _("Articles of law saved."))
            if "add" in request.POST:
                return redirect("designer:articles", code=code)
            return redirect("designer:item", code=code)
    return render(
        request,
        "designer/articles.html",
        {"item": item, "draft": _draft_of(item), "formset": formset},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def publish(request: HttpRequest, code: str) -> HttpResponse:
    _designer(request)
    item = _item(request, code)
    if request.POST.get("confirm") != "1":
        messages.error(request, _("Confirm that you have read the changes before publishing."))
        return redirect("designer:item", code=code)
    try:
        version, warnings = interchange.publish_service(item=item, actor=request.user)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(
            request, _("Version %(number)d is published.") % {"number": version.number}
        )
        for warning in warnings:
            messages.warning(request, warning)
    return redirect("designer:item", code=code)


@login_required
@require_POST
def retention(request: HttpRequest, code: str) -> HttpResponse:
    """The retention period (保管期限) of the item's case files: the item's own, no new version."""
    _designer(request)
    item = _item(request, code)
    try:
        catalog.set_retention_period(service=item, years=request.POST.get("retention_years"))
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(
            request,
            _("Retention period saved: %(period)s.")
            % {"period": item.get_retention_years_display()},
        )
    return redirect("designer:item", code=code)


def _auto_approval_context(item: ServiceItem, version) -> dict:
    policy = AutoApprovalPolicy.objects.filter(service=item).first()
    return {
        "auto_approval": policy,
        "auto_rules_text": json.dumps(policy.rules if policy else [], ensure_ascii=False, indent=1),
        "auto_facts": auto_rules.known_facts(version),
    }


@login_required
@require_POST
def auto_approval(request: HttpRequest, code: str) -> HttpResponse:
    """秒批: the item's rules, checked when saved (an unknown fact or operator is named)."""
    _designer(request)
    item = _item(request, code)
    try:
        try:
            rules = json.loads(request.POST.get("rules") or "[]")
        except ValueError:
            raise ValidationError({"rules": [_("The rules are not valid JSON.")]}) from None
        sample = (request.POST.get("sample_percent") or "").strip()
        if sample and not sample.isdigit():
            raise ValidationError({"sample_percent": [_("A share between 0 and 100.")]})
        article = None
        if request.POST.get("article"):
            article = legal_articles.articles_of(item).filter(pk=request.POST["article"]).first()
            if article is None:
                raise ValidationError(
                    {"article": [_("Choose one of this service's articles of law.")]}
                )
        auto_rules.save_policy(
            service=item,
            enabled=request.POST.get("enabled") == "1",
            rules=rules,
            article=article,
            sample_percent=int(sample) if sample else None,
        )
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, _("Automatic approval saved."))
    return redirect("designer:item", code=code)


@login_required
@require_POST
def retire(request: HttpRequest, code: str) -> HttpResponse:
    _designer(request)
    item = _item(request, code)
    replacement = None
    if request.POST.get("replaced_by"):
        replacement = ServiceItem.objects.filter(code=request.POST["replaced_by"]).first()
    if request.POST.get("confirm") != "1":
        messages.error(request, _("Confirm that the service is to be retired."))
        return redirect("designer:item", code=code)
    try:
        interchange.retire_service(
            item=item, reason=request.POST.get("reason", ""), replaced_by=replacement,
            actor=request.user,
        )  # fmt: skip
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, _("The service is retired; its guide now says so."))
    return redirect("designer:item", code=code)


# --- Workflow editor -----------------------------------------------------------------------------


def _workflow_context(item, draft, *, stage_forms=None, transition_forms=None, new_stage=None,
                      new_transition=None) -> dict:  # fmt: skip
    definition = draft.workflow
    stages = list(definition.stages.select_related("fixed_department").order_by("order", "pk"))
    transitions = list(
        definition.transitions.select_related("source", "target").order_by("order", "pk")
    )
    stage_forms = stage_forms or {}
    transition_forms = transition_forms or {}
    editable = not definition.is_published
    return {
        "item": item,
        "draft": draft,
        "definition": definition,
        "editable": editable,
        "svg": diagram.workflow_svg(definition),
        "described": diagram.describe(definition),
        "problems": workflows.workflow_problems(definition) if editable else [],
        "warnings": workflows.workflow_warnings(definition, department=item.department),
        "stage_forms": [
            stage_forms.get(s.pk) or StageForm(instance=s, prefix=f"s{s.pk}") for s in stages
        ]
        if editable
        else [],
        "transition_forms": [
            transition_forms.get(t.pk)
            or TransitionForm(instance=t, prefix=f"t{t.pk}", definition=definition)
            for t in transitions
        ]
        if editable
        else [],
        "new_stage": new_stage or StageForm(prefix="new-stage"),
        "new_transition": new_transition
        or TransitionForm(prefix="new-transition", definition=definition),
        "sources": WorkflowDefinition.objects.filter(status=WorkflowDefinition.Status.PUBLISHED)
        .filter(Q(is_template=True) | Q(department=item.department))
        .order_by("-is_template", "code", "-version"),
    }


@login_required
def workflow(request: HttpRequest, code: str) -> HttpResponse:
    _designer(request)
    item, draft = _editable_draft(request, code)
    return render(request, "designer/workflow.html", _workflow_context(item, draft))


@login_required
@require_POST
def workflow_copy(request: HttpRequest, code: str) -> HttpResponse:
    _designer(request)
    item, draft = _editable_draft(request, code)
    source = None
    if request.POST.get("source"):
        source = (
            WorkflowDefinition.objects.filter(status=WorkflowDefinition.Status.PUBLISHED)
            .filter(Q(is_template=True) | Q(department=item.department))
            .filter(pk=request.POST["source"])
            .first()
        )
        if source is None:
            raise Http404
    catalog.give_draft_workflow(version=draft, source=source)
    messages.success(request, _("This draft has a workflow of its own now; edit it below."))
    return redirect("designer:workflow", code=code)


def _save_or_show(request, item, draft, form, save, *, key: str, obj_id=None) -> HttpResponse:
    """Save a stage or transition form through `save`, or show the page with its errors."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("designer:workflow", code=item.code)
    context = {key: form} if obj_id is None else {f"{key}_forms": {obj_id: form}}
    return render(
        request, "designer/workflow.html", _workflow_context(item, draft, **context), status=400
    )


@login_required
@require_POST
def stage_save(request: HttpRequest, code: str, stage_id: int | None = None) -> HttpResponse:
    _designer(request)
    item, draft = _editable_draft(request, code)
    stage = None
    if stage_id is not None:
        stage = draft.workflow.stages.filter(pk=stage_id).first()
        if stage is None:
            raise Http404
    prefix = f"s{stage.pk}" if stage else "new-stage"
    form = StageForm(request.POST, instance=stage, prefix=prefix)

    def save(fields):
        workflows.save_stage(definition=draft.workflow, stage=stage, fields=fields)

    if stage is None:
        return _save_or_show(request, item, draft, form, save, key="new_stage")
    return _save_or_show(request, item, draft, form, save, key="stage", obj_id=stage.pk)


@login_required
@require_POST
def transition_save(
    request: HttpRequest, code: str, transition_id: int | None = None
) -> HttpResponse:
    _designer(request)
    item, draft = _editable_draft(request, code)
    transition = None
    if transition_id is not None:
        transition = draft.workflow.transitions.filter(pk=transition_id).first()
        if transition is None:
            raise Http404
    prefix = f"t{transition.pk}" if transition else "new-transition"
    form = TransitionForm(
        request.POST, instance=transition, prefix=prefix, definition=draft.workflow
    )

    def save(fields):
        workflows.save_transition(definition=draft.workflow, transition=transition, fields=fields)

    if transition is None:
        return _save_or_show(request, item, draft, form, save, key="new_transition")
    return _save_or_show(request, item, draft, form, save, key="transition", obj_id=transition.pk)


@login_required
@require_POST
def workflow_remove(request: HttpRequest, code: str, kind: str, obj_id: int) -> HttpResponse:
    _designer(request)
    item, draft = _editable_draft(request, code)
    definition = draft.workflow
    try:
        if kind == "stage":
            stage = definition.stages.filter(pk=obj_id).first()
            if stage is None:
                raise Http404
            workflows.remove_stage(definition=definition, stage=stage)
        else:
            transition = definition.transitions.filter(pk=obj_id).first()
            if transition is None:
                raise Http404
            workflows.remove_transition(definition=definition, transition=transition)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, _("Removed."))
    return redirect("designer:workflow", code=code)


# --- Maintainers, licence types and life events --------------------------------------------------


@login_required
def maintainers(request: HttpRequest, code: str) -> HttpResponse:
    """Name the staff who may edit this one item (a django-guardian grant); admins only."""
    from accounts.models import User
    from accounts.permissions import departments_administered_by

    _designer(request)
    item = _item(request, code)
    if not departments_administered_by(request.user).filter(pk=item.department_id).exists():
        raise Http404
    staff = (
        User.objects.filter(memberships__department=item.department).distinct().order_by("username")
    )
    if request.method == "POST":
        user = staff.filter(pk=request.POST.get("user") or 0).first()
        if user is None:
            messages.error(request, _("Choose a member of staff of the department."))
        elif request.POST.get("remove"):
            catalog.set_maintainer(item=item, user=user, grant=False)
            messages.success(request, _("%(name)s no longer maintains it.") % {"name": user})
        else:
            catalog.set_maintainer(item=item, user=user, grant=True)
            messages.success(request, _("%(name)s may now edit this item.") % {"name": user})
        return redirect("designer:maintainers", code=code)
    from guardian.shortcuts import get_users_with_perms

    current = get_users_with_perms(
        item, only_with_perms_in=["maintain_serviceitem"], with_superusers=False,
        with_group_users=False,
    ).order_by("username")  # fmt: skip
    return render(
        request,
        "designer/maintainers.html",
        {"item": item, "draft": _draft_of(item), "staff": staff, "current": current},
    )


@login_required
def licence_types(request: HttpRequest) -> HttpResponse:
    """The e-licence types of the admin's departments, and a new one."""
    from .forms import LicenceTypeForm, LifeEventForm

    _designer(request)
    departments = access.may_create_in(request.user)
    if not departments.exists():
        raise Http404
    licence_form = LicenceTypeForm(
        request.POST if "licence" in request.POST else None, departments=departments
    )
    event_form = LifeEventForm(request.POST if "event" in request.POST else None)
    if request.method == "POST":
        form = licence_form if "licence" in request.POST else event_form
        if form.is_valid():
            if form is licence_form:
                catalog.add_licence_type(**form.cleaned_data)
            else:
                catalog.add_life_event(**form.cleaned_data)
            messages.success(request, _("Added."))
            return redirect("designer:licence-types")
    from ..models import LicenceType, LifeEvent

    return render(
        request,
        "designer/licence_types.html",
        {
            "licence_types": LicenceType.objects.filter(issuer__in=departments).select_related(
                "issuer"
            ),
            "life_events": LifeEvent.objects.all(),
            "licence_form": licence_form,
            "event_form": event_form,
        },
        status=400 if request.method == "POST" else 200,
    )


# --- Form builder --------------------------------------------------------------------------------


def _save_schema(draft: ServiceVersion, schema: dict) -> None:
    catalog.update_draft(version=draft, fields={"form_schema": schema})


def _group(request: HttpRequest, schema: dict) -> str | None:
    group = request.GET.get("group") or request.POST.get("group") or None
    if group and (schema.get("properties", {}).get(group) or {}).get("type") != "array":
        raise Http404
    return group


@login_required
def form_page(request: HttpRequest, code: str) -> HttpResponse:
    """The fields in order, with what each does, and the palette to add one."""
    _designer(request)
    item, draft = _editable_draft(request, code)
    schema = draft.form_schema or formbuilder.empty_schema()
    group = _group(request, schema)
    form = NewFieldForm(request.POST or None, in_group=bool(group))
    if request.method == "POST" and form.is_valid():
        spec = {**form.cleaned_data}
        try:
            new, name = formbuilder.add_field(schema, spec, group=group)
            _save_schema(draft, new)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            url = reverse("designer:field", args=[code, name])
            return redirect(f"{url}?group={group}" if group else url)
    return render(
        request,
        "designer/form.html",
        {"item": item, "draft": draft, "fields": formbuilder.fields_of(schema), "form": form,
         "group": group, "problems": catalog.publication_problems(draft, with_its_workflow=True)},
        status=400 if form.errors else 200,
    )  # fmt: skip


@login_required
def field_page(request: HttpRequest, code: str, name: str) -> HttpResponse:
    """Everything about one field: its words in both languages, its rules, when it is asked."""
    _designer(request)
    item, draft = _editable_draft(request, code)
    schema = draft.form_schema
    group = _group(request, schema)
    obj = formbuilder._object(schema, group)
    if name not in obj.get("properties", {}):
        raise Http404
    spec = formbuilder.spec_of(schema, name, group)
    others = [
        (row["name"], row["prop"].get("title", row["name"]))
        for row in formbuilder.fields_of(schema, group)
        if row["name"] != name and row["kind"] in ("text", "choice", "yesno", "integer", "agree")
        and not row["condition"]
    ]  # fmt: skip
    initial = {**spec, "options": "\n".join(
        f"{o['label']} | {o['label_en']}" if o["label_en"] else o["label"] for o in spec["options"]
    ), "condition_values": ", ".join(spec["condition_values"])}  # fmt: skip
    form = FieldForm(request.POST or None, initial=initial, kind=spec["kind"], other_fields=others)
    if request.method == "POST" and form.is_valid():
        new_spec = form.spec(spec["options"])
        try:
            new = formbuilder.update_field(schema, name, new_spec, group=group)
            if new_spec.get("name") and new_spec["name"] != name:
                raise ValidationError({"name": [_("A field keeps its name once created.")]})
            if "condition_field" in new_spec:
                new = formbuilder.set_condition(
                    new, name, field=new_spec["condition_field"] or None,
                    values=new_spec["condition_values"], group=group,
                )  # fmt: skip
            _save_schema(draft, new)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("Field saved."))
            url = reverse("designer:form", args=[code])
            return redirect(f"{url}?group={group}#field-{name}" if group else f"{url}#field-{name}")
    return render(
        request,
        "designer/field_edit.html",
        {"item": item, "draft": draft, "form": form, "name": name, "spec": spec, "group": group},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def field_action(request: HttpRequest, code: str, name: str, action: str) -> HttpResponse:
    """Move a field up or down, duplicate or remove it."""
    _designer(request)
    item, draft = _editable_draft(request, code)
    schema = draft.form_schema
    group = _group(request, schema)
    try:
        if action == "up":
            new = formbuilder.move_field(schema, name, -1, group=group)
        elif action == "down":
            new = formbuilder.move_field(schema, name, 1, group=group)
        elif action == "duplicate":
            new, _copy = formbuilder.duplicate_field(schema, name, group=group)
        elif action == "remove":
            new = formbuilder.remove_field(schema, name, group=group)
        else:
            raise Http404
        _save_schema(draft, new)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    url = reverse("designer:form", args=[code])
    return redirect(f"{url}?group={group}" if group else url)


@login_required
def form_preview(request: HttpRequest, code: str) -> HttpResponse:
    """The form exactly as the citizen sees it, in Chinese and English, at desktop and phone width."""
    _designer(request)
    item, draft = _editable_draft(request, code)
    return render(request, "designer/preview.html", {"item": item, "draft": draft})


@login_required
@csp_replace({"frame-ancestors": ["'self'"]})
def form_preview_frame(request: HttpRequest, code: str) -> HttpResponse:
    """The preview inside the designer's own page (framed by it alone)."""
    from django.utils import translation

    from ..schema import SchemaForm, prefill_fields

    _designer(request)
    item, draft = _editable_draft(request, code)
    language = "en" if request.GET.get("lang") == "en" else "zh-hans"
    with translation.override(language):
        # Fields from the verified profile are shown, not asked, as the applicant will see them.
        fixed = {
            name: _("(filled in from the applicant's profile when they apply)")
            for name in prefill_fields(draft.form_schema)
        }
        form = SchemaForm(draft.form_schema, data=request.POST or None, fixed=fixed)
        if request.method == "POST":
            form.is_valid()  # show what the applicant would be told
        response = render(
            request,
            "designer/preview_frame.html",
            {"item": item, "draft": draft, "version": draft, "form": form, "language": language},
        )
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@login_required
def form_schema(request: HttpRequest, code: str) -> HttpResponse:
    """The JSON Schema the builder made, read-only: as stored and as published to clients."""
    import json

    from ..schema import published_schema

    _designer(request)
    item, draft = _editable_draft(request, code)
    return render(
        request,
        "designer/schema.html",
        {
            "item": item,
            "draft": draft,
            "stored": json.dumps(draft.form_schema, ensure_ascii=False, indent=2),
            "published": json.dumps(
                published_schema(draft.form_schema), ensure_ascii=False, indent=2
            ),
        },
    )
