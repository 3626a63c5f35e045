"""Django admin for the catalog, scoped: a department admin sees and edits only their department's
services and workflows (others' answer 404); a system admin sees everything. Published versions and
workflows are read-only; "start a new draft" and "copy" are how they change."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.permissions import departments_administered_by
from portal.admin_mixins import CreationTimesNotAskedMixin, HiddenAnswersNotFoundMixin

from . import (
    admin_bundles,  # noqa: F401 - registers the bundles' admin
    admin_calendar,  # noqa: F401 - registers the calendar's admin
    catalog,
    workflows,
)
from .models import (
    ACTOR_CHOICES,
    AutoApprovalPolicy,
    Effect,
    LegalArticle,
    LicenceType,
    LifeEvent,
    ProactivePolicy,
    ServiceItem,
    ServiceMaterial,
    ServiceVersion,
    SharingGrant,
    WorkflowDefinition,
    WorkflowStage,
    WorkflowTransition,
    effect_list,
    role_list,
)


def _problems_message(request, obj, exc: ValidationError) -> None:
    messages.error(request, f"{obj}: " + " ".join(exc.messages))


@admin.register(LifeEvent)
class LifeEventAdmin(admin.ModelAdmin):
    """One list of life events for the whole portal. A department admin may add one that a service
    of theirs needs; changing or removing one changes every department's services, so that stays
    with system admins (a life event records no owning department to scope it by)."""

    list_display = ("code", "name", "name_en", "order")
    search_fields = ("code", "name", "name_en")

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(LicenceType)
class LicenceTypeAdmin(HiddenAnswersNotFoundMixin, admin.ModelAdmin):
    """Every e-licence type is listed (a material may reuse another department's); a department
    admin adds and changes the types their own departments issue."""

    list_display = ("code", "name", "issuer", "validity_years")
    list_select_related = ("issuer",)
    search_fields = ("code", "name", "name_en")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "content_fields" and field is not None:
            field.help_text = _(
                "What the licence certifies, printed on it in this order: a JSON list with one "
                "object per line of the licence, e.g. "
                '[{"field": "business_name", "label": "名称", "label_en": "Name"}, '
                '{"field": "business_scope", "label": "经营范围", "label_en": "Business '
                "activities\"}]. “field” is the name of a field of the service's form (lower-case "
                "letters, digits and _), “label” the words printed beside the answer, "
                "“label_en” the English words (optional). The answer is copied when the licence "
                "is issued, as the applicant saw it (a choice's words, not its code)."
            )
            field.widget.attrs.update(rows=8, cols=80)
        return field

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and (
            obj is None
            or request.user.is_superuser
            or departments_administered_by(request.user).filter(pk=obj.issuer_id).exists()
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "issuer":
            kwargs["queryset"] = departments_administered_by(request.user)
            kwargs["error_messages"] = {
                "invalid_choice": _("Choose one of the departments you administer.")
            }
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- Services --------------------------------------------------------------------------------------


class VersionInline(admin.TabularInline):
    model = ServiceVersion
    fields = ("number", "name", "state", "published_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LegalArticleForm(forms.ModelForm):
    class Meta:
        help_texts = {
            "law": _(
                "e.g. 《中华人民共和国行政许可法》. Articles belong to the service, not to a "
                "version: a change applies to the next decisions, no new version is needed."
            ),
            "text": _("As the law words it: the decision and its document quote it."),
            "order": _("Deciders and the guide list smaller numbers first."),
        }


class LegalArticleInline(admin.StackedInline):
    """The articles of law deciders of this service choose from (法律依据). Rows belong to the
    item, so they are scoped with it; they are deactivated, not deleted, since decisions name
    them."""

    model = LegalArticle
    form = LegalArticleForm
    extra = 0
    ordering = ("order", "pk")
    fields = (
        ("order", "is_active"),
        ("law", "law_en"),
        ("article", "article_en"),
        ("text", "text_en"),
    )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AutoApprovalInline(admin.StackedInline):
    """秒批: the rules checked at submission (services.auto_rules), validated when saved."""

    model = AutoApprovalPolicy
    extra = 0
    max_num = 1
    can_delete = True
    fields = ("enabled", "rules", "article", "sample_percent")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "article":
            item_id = (
                request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            )
            kwargs["queryset"] = LegalArticle.objects.filter(
                service_id=item_id or None, is_active=True
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ProactiveInline(admin.StackedInline):
    """免申即享: who the registries show eligible (rules over registry facts, services.proactive),
    offered or granted by the daily sweep; validated when saved."""

    model = ProactivePolicy
    extra = 0
    max_num = 1
    can_delete = True
    fields = ("enabled", "mode", "rules", "answers")


@admin.register(ServiceItem)
class ServiceItemAdmin(HiddenAnswersNotFoundMixin, CreationTimesNotAskedMixin, admin.ModelAdmin):
    list_display = ("code", "name", "department", "status", "retention_years")
    list_filter = ("status", "department", "retention_years")
    list_select_related = ("department", "current_version")
    search_fields = ("code", "current_version__name")
    inlines = [LegalArticleInline, AutoApprovalInline, ProactiveInline, VersionInline]
    actions = ["start_new_draft", "retire"]

    @admin.display(description=_("name"))
    def name(self, obj: ServiceItem) -> str:
        return obj.current_version.name if obj.current_version else "—"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(department__in=departments_administered_by(request.user))
        )

    def get_readonly_fields(self, request, obj=None):
        # Status and the published version change only through publishing and retiring.
        fixed = (*super().get_readonly_fields(request, obj), "status", "current_version")
        return (*fixed, "code", "department") if obj else fixed

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department":
            kwargs["queryset"] = departments_administered_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.action(description=_("Start a new draft version of the selected services"))
    def start_new_draft(self, request, queryset):
        for item in queryset:
            draft = catalog.start_new_draft(service=item)
            messages.success(
                request,
                _("Draft v%(n)d of %(code)s is ready to edit.")
                % {"n": draft.number, "code": item.code},
            )

    @admin.action(description=_("Retire the selected services"))
    def retire(self, request, queryset):
        for item in queryset:
            catalog.retire_service(service=item)
        messages.success(
            request,
            ngettext("%d service retired.", "%d services retired.", len(queryset)) % len(queryset),
        )


class MaterialForm(forms.ModelForm):
    class Meta:
        labels = {"licence_type": _("e-licence type")}


class MaterialInline(admin.StackedInline):
    model = ServiceMaterial
    form = MaterialForm
    extra = 0
    fields = (
        ("order", "name", "name_en"),
        ("required", "tolerable", "covered_by_commitment", "form", "copies", "paper_format"),
        ("source", "licence_type", "shared_by"),
        ("note", "note_en"),
    )
    autocomplete_fields = ("licence_type",)

    def has_add_permission(self, request, obj=None) -> bool:
        return obj is None or obj.state == ServiceVersion.State.DRAFT

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None or obj.state == ServiceVersion.State.DRAFT

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or obj.state == ServiceVersion.State.DRAFT


@admin.register(ServiceVersion)
class ServiceVersionAdmin(HiddenAnswersNotFoundMixin, admin.ModelAdmin):
    list_display = ("service", "number", "name", "state", "published_at")
    list_filter = ("state", "service__department", "kind", "audience")
    list_select_related = ("service",)
    search_fields = ("service__code", "name", "name_en")
    inlines = [MaterialInline]
    filter_horizontal = ("life_events",)
    actions = ["publish"]
    readonly_fields = ("number", "state", "published_at", "publisher")
    fieldsets = (
        (None, {"fields": ("service", ("number", "state"), ("published_at", "publisher"))}),
        (_("What it is"), {"fields": (("name", "name_en"), ("kind", "audience"), "summary", "summary_en", "keywords", "life_events")}),
        (_("Law and conditions"), {"fields": (("legal_basis", "legal_basis_en"), ("conditions", "conditions_en"))}),
        (_("Time and cost"), {"fields": (("statutory_limit_days", "promised_limit_days"), "fee_free", ("fee_standard", "fee_standard_en"), ("fee_basis", "fee_basis_en"), "fee_rule", "visits_required")}),
        (_("Channels and result"), {"fields": (("channel_online", "channel_counter", "channel_mail"), "online_depth", ("result_type", "result_name", "result_name_en", "licence_type"), ("delivery_pickup", "delivery_mail", "delivery_electronic"), ("allows_tolerance", "allows_commitment"), ("commitment_text", "commitment_text_en"))}),
        (_("Where and whom to ask"), {"fields": (("handling_location", "handling_location_en"), ("office_hours", "office_hours_en"), ("enquiry_phone", "complaint_phone"))}),
        (_("Form and workflow"), {"fields": ("form_schema", "workflow")}),
    )  # fmt: skip

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(service__department__in=departments_administered_by(request.user))
        )

    @admin.display(description=_("published by"))
    def publisher(self, obj: ServiceVersion) -> str:
        return str(obj.published_by) if obj.published_by_id else "—"

    def get_readonly_fields(self, request, obj=None):
        # A version belongs to its service for good: the service is chosen when the draft is made.
        readonly = super().get_readonly_fields(request, obj)
        return (*readonly, "service") if obj else readonly

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.state != ServiceVersion.State.DRAFT:
            return False  # frozen: start a new draft from the service instead
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.state != ServiceVersion.State.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        departments = departments_administered_by(request.user)
        if db_field.name == "service":
            # Only on the add page (read-only afterwards): one draft per service at a time.
            kwargs["queryset"] = ServiceItem.objects.filter(department__in=departments).exclude(
                versions__state=ServiceVersion.State.DRAFT
            )
        if db_field.name == "workflow":
            kwargs["queryset"] = WorkflowDefinition.objects.filter(
                Q(department__in=departments) | Q(department__isnull=True),
                status=WorkflowDefinition.Status.PUBLISHED,
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.number = max(obj.service.versions.values_list("number", flat=True), default=0) + 1
        obj.form_schema = catalog.normalize_schema(obj.form_schema)
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Publish the selected drafts"))
    def publish(self, request, queryset):
        for version in queryset.filter(state=ServiceVersion.State.DRAFT):
            try:
                catalog.publish_version(version=version, actor=request.user)
            except ValidationError as exc:
                _problems_message(request, version, exc)
            else:
                messages.success(request, _("%(version)s is published.") % {"version": version})
                for warning in workflows.workflow_warnings(
                    version.workflow, department=version.service.department
                ):
                    messages.warning(request, warning)


# --- Workflows -------------------------------------------------------------------------------------


class FrozenWhenPublishedInline:
    def has_add_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_published

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_published

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_published


class StageForm(forms.ModelForm):
    class Meta:
        labels = {"fixed_department": _("fixed department")}


class StageInline(FrozenWhenPublishedInline, admin.TabularInline):
    model = WorkflowStage
    form = StageForm
    extra = 0
    fields = (
        "order",
        "code",
        "name",
        "name_en",
        "kind",
        "role",
        "department_rule",
        "fixed_department",
        "time_share",
    )


class ChoiceListField(forms.MultipleChoiceField):
    """Ticked boxes stored as the JSON list of codes the model keeps; a value that is none of the
    choices (a forged or outdated one) is refused with every valid value and its label."""

    def __init__(self, *, unknown_message, valid_list, **kwargs):
        # The admin's style for a horizontal list of choices.
        kwargs.setdefault(
            "widget", forms.CheckboxSelectMultiple(attrs={"class": "radiolist inline"})
        )
        super().__init__(**kwargs)
        self.unknown_message = unknown_message
        self.valid_list = valid_list

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        if unknown := [str(v) for v in value if not self.valid_value(v)]:
            raise ValidationError(
                self.unknown_message % {"unknown": ", ".join(unknown), "valid": self.valid_list()},
                code="invalid_choice",
            )


def _model_label(name: str):
    return WorkflowTransition._meta.get_field(name).verbose_name


class TransitionForm(forms.ModelForm):
    allowed_roles = ChoiceListField(
        label=_model_label("allowed_roles"),
        choices=ACTOR_CHOICES,
        error_messages={"required": _("Tick at least one role.")},
        unknown_message=_("Unknown roles: %(unknown)s. Valid roles: %(valid)s."),
        valid_list=role_list,
    )
    effects = ChoiceListField(
        label=_model_label("effects"),
        choices=Effect.choices,
        required=False,
        unknown_message=_("Unknown effects: %(unknown)s. Valid effects: %(valid)s."),
        valid_list=effect_list,
    )


def _labels(choices, values) -> str:
    labels = dict(choices)
    return gettext(", ").join(str(labels.get(value, value)) for value in values or ()) or "—"


class TransitionInline(FrozenWhenPublishedInline, admin.StackedInline):
    """Stacked, one transition a block: the roles and effects are rows of checkboxes."""

    model = WorkflowTransition
    form = TransitionForm
    extra = 0
    fields = (
        ("order", "name", "label", "label_en"),
        ("source", "target", "outcome", "opinion_required"),
        "allowed_roles",
        "effects",
        ("message", "message_en"),
    )

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and obj.is_published:
            # Read-only: the roles and effects by their names, not the stored codes.
            swap = {"allowed_roles": "roles_label", "effects": "effects_label"}
            return [swap.get(name, name) for name in fields]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "roles_label", "effects_label")

    @admin.display(description=_model_label("allowed_roles"))
    def roles_label(self, obj: WorkflowTransition) -> str:
        return _labels(ACTOR_CHOICES, obj.allowed_roles)

    @admin.display(description=_model_label("effects"))
    def effects_label(self, obj: WorkflowTransition) -> str:
        return _labels(Effect.choices, obj.effects)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("source", "target"):
            definition_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = WorkflowStage.objects.filter(definition_id=definition_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(WorkflowDefinition)
class WorkflowDefinitionAdmin(
    HiddenAnswersNotFoundMixin, CreationTimesNotAskedMixin, admin.ModelAdmin
):
    list_display = ("code", "version", "name", "department", "is_template", "status")
    list_filter = ("status", "is_template", "department")
    list_select_related = ("department",)
    search_fields = ("code", "name")
    inlines = [StageInline, TransitionInline]
    actions = ["validate_and_publish", "copy_for_my_department"]
    exclude = ("copied_from",)
    readonly_fields = ("status", "published_at", "copied_from_label", "version")

    @admin.display(description=_("copied from"))
    def copied_from_label(self, obj: WorkflowDefinition) -> str:
        return str(obj.copied_from) if obj.copied_from_id else "—"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(
                Q(department__in=departments_administered_by(request.user))
                | Q(department__isnull=True)
            )
        )

    def _may_edit(self, request, obj) -> bool:
        if obj is None:
            return True
        if obj.is_published:
            return False
        return request.user.is_superuser or (
            obj.department_id is not None
            and departments_administered_by(request.user).filter(pk=obj.department_id).exists()
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department":
            kwargs["queryset"] = departments_administered_by(request.user)
            kwargs["required"] = not request.user.is_superuser
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.action(description=_("Check and publish the selected workflows"))
    def validate_and_publish(self, request, queryset):
        for definition in queryset:
            if not self._may_edit(request, definition):
                continue
            try:
                workflows.publish_workflow(definition=definition)
            except ValidationError as exc:
                _problems_message(request, definition, exc)
            else:
                messages.success(
                    request, _("%(workflow)s is published.") % {"workflow": definition}
                )
                for warning in workflows.workflow_warnings(definition):
                    messages.warning(request, warning)

    @admin.action(description=_("Copy as a new draft for my department"))
    def copy_for_my_department(self, request, queryset):
        department = departments_administered_by(request.user).order_by("pk").first()
        if department is None:
            messages.error(request, _("You administer no department."))
            return
        for definition in queryset:
            target = definition.department or department
            code = (
                definition.code if definition.department_id else f"{target.code}-{definition.code}"
            )
            copy = workflows.copy_workflow(definition=definition, department=target, code=code)
            messages.success(request, _("Draft %(workflow)s created.") % {"workflow": copy})


def _owned_registry_codes(user) -> list[str]:
    from cases.sharing.registry import registries

    owned = set(departments_administered_by(user).values_list("code", flat=True))
    return [code for code, r in registries().items() if r.department_code in owned]


class SharingGrantForm(forms.ModelForm):
    class Meta:
        model = SharingGrant
        fields = ("service", "registry", "fields", "purpose")


@admin.register(SharingGrant)
class SharingGrantAdmin(admin.ModelAdmin):
    """Purpose limitation (数据共享授权): the registry's department grants a service fields of its
    registry; the service's department sees its grants."""

    form = SharingGrantForm
    list_display = ("service", "registry", "purpose", "created_at")
    list_filter = ("registry",)
    list_select_related = ("service",)
    search_fields = ("service__code", "purpose")

    def get_queryset(self, request):
        grants = super().get_queryset(request)
        if request.user.is_superuser:
            return grants
        return grants.filter(
            Q(service__department__in=departments_administered_by(request.user))
            | Q(registry__in=_owned_registry_codes(request.user))
        )

    def _owns(self, request, obj) -> bool:
        if request.user.is_superuser:
            return True
        if obj is None:
            return bool(_owned_registry_codes(request.user))
        return obj.registry in _owned_registry_codes(request.user)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._owns(request, None)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or self._owns(request, obj)
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or self._owns(request, obj)
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "registry":
            from cases.sharing.registry import registries

            codes = (
                list(registries()) if request.user.is_superuser
                else _owned_registry_codes(request.user)
            )  # fmt: skip
            return forms.ChoiceField(
                label=db_field.verbose_name,
                choices=[(c, f"{c}: {registries()[c].label}") for c in codes],
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)
