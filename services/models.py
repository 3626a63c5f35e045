"""The service catalog (事项): items, their immutable published versions, materials, workflows, calendar.

A ServiceItem is the stable identity (code, owning department, status). Everything a citizen reads in
the guide and everything a case depends on lives in a ServiceVersion: a draft is edited in admin;
publishing freezes it (services.catalog.publish_version) and cases keep the version they were filed
under. Editing a published item means starting a new draft version from it.

Workflow definitions follow the same rule: a published definition never changes, so a case in flight
always finds the stages and transitions it started with.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Role


def localized(obj, field: str) -> str:
    """The English variant of `field` when the active language is English and it is filled in."""
    if (get_language() or "").startswith("en"):
        value = getattr(obj, f"{field}_en", "")
        if value:
            return value
    return getattr(obj, field)


def join_names(names) -> str:
    """Names listed in the active language: 甲、乙 in Chinese, “A, B” in English."""
    return (", " if (get_language() or "").startswith("en") else "、").join(names)


class ImmutableWhenPublished(ValidationError):
    pass


def _refuse_if_published(definition_id: int | None) -> None:
    if (
        definition_id
        and WorkflowDefinition.objects.filter(
            pk=definition_id, status=WorkflowDefinition.Status.PUBLISHED
        ).exists()
    ):
        raise ImmutableWhenPublished(_("A published workflow cannot be changed; copy it instead."))


class LifeEvent(models.Model):
    """A life event (出生, 上学, 就业 ...) under which citizens look for services."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("life event")
        verbose_name_plural = _("life events")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return localized(self, "name")


class LicenceType(models.Model):
    """A kind of e-licence (电子证照) a service issues and later applications may reuse."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    issuer = models.ForeignKey(
        Department, verbose_name=_("issuing department"), on_delete=models.PROTECT, related_name="+"
    )
    validity_years = models.PositiveSmallIntegerField(
        _("validity in years"), null=True, blank=True, help_text=_("Empty: valid indefinitely.")
    )
    content_fields = models.JSONField(
        _("what the licence certifies"),
        default=list,
        blank=True,
        help_text=_(
            "The form fields printed on the licence, in order: a list of "
            '{"field": "business_name", "label": "名称", "label_en": "Name"}.'
        ),
    )

    class Meta:
        verbose_name = _("e-licence type")
        verbose_name_plural = _("e-licence types")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        problems = content_fields_problems(self.content_fields)
        if problems:
            raise ValidationError({"content_fields": problems})


FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # a form field's name, as services.schema.NAME


def content_fields_problems(value) -> list[str]:
    """What is wrong with a licence type's `content_fields`: a list of objects, each with `field`
    (a form field's name: lower-case letters, digits and _) and `label`, `label_en` optional; no field
    twice. One message per problem, naming the entry."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        return [
            _('Write a list: [{"field": "business_name", "label": "名称", "label_en": "Name"}].')
        ]
    problems, seen = [], set()
    for number, entry in enumerate(value, start=1):
        if not isinstance(entry, dict):
            problems.append(
                _("Entry %(number)s: write an object with “field” and “label”.")
                % {"number": number}
            )
            continue
        unknown = sorted(set(entry) - {"field", "label", "label_en"})
        if unknown:
            problems.append(
                _("Entry %(number)s: unknown keys %(keys)s; use field, label and label_en.")
                % {"number": number, "keys": ", ".join(unknown)}
            )
        field = entry.get("field")
        if not isinstance(field, str) or not FIELD_NAME.match(field):
            problems.append(
                _(
                    "Entry %(number)s: “field” is the form field's name: lower-case letters, "
                    "digits and _ (e.g. business_name)."
                )
                % {"number": number}
            )
        elif field in seen:
            problems.append(
                _("Entry %(number)s: the field %(field)s is listed twice.")
                % {"number": number, "field": field}
            )
        else:
            seen.add(field)
        for key in ("label", "label_en"):
            text = entry.get(key, "")
            if not isinstance(text, str) or (key == "label" and not text.strip()):
                problems.append(
                    _("Entry %(number)s: give “label”, the words printed on the licence.")
                    % {"number": number}
                    if key == "label"
                    else _("Entry %(number)s: “label_en” is text.") % {"number": number}
                )
    return problems


# --- Workflow definitions --------------------------------------------------------------------------


class OuterState(models.TextChoices):
    """The case lifecycle the law gives (DESIGN "The case lifecycle"); workflows move cases through it."""

    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    ACCEPTED = "accepted", _("accepted (受理)")
    NOT_ACCEPTED = "not_accepted", _("not accepted (不予受理)")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("documents requested (补正)")
    SUSPENDED = "suspended", _("suspended (特别程序)")
    APPROVED = "approved", _("approved (准予)")
    REJECTED = "rejected", _("rejected (不予批准)")
    CONCLUDED = "concluded", _("concluded (办结)")
    WITHDRAWN = "withdrawn", _("withdrawn (撤回)")


class WorkflowDefinition(models.Model):
    """A workflow: stages and the transitions between them. Templates have no department."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    code = models.SlugField(_("code"), max_length=64)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="workflows",
        help_text=_("Empty for a template every department may copy."),
    )
    is_template = models.BooleanField(_("template"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="workflow_unique_version"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="workflow_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class StageKind(models.TextChoices):
    INTAKE = "intake", _("intake (受理)")
    REVIEW = "review", _("review (审查)")
    DECISION = "decision", _("decision (决定)")
    DELIVERY = "delivery", _("delivery (送达)")
    END = "end", _("end (办结)")


class DepartmentRule(models.TextChoices):
    SERVICE_DEPARTMENT = "service", _("the department that owns the service")
    PARENT_DEPARTMENT = "parent", _("the parent of the owning department")
    FIXED = "fixed", _("a fixed department")


class WorkflowStage(models.Model):
    definition = models.ForeignKey(
        WorkflowDefinition, on_delete=models.CASCADE, related_name="stages"
    )
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=StageKind.choices)
    role = models.CharField(_("acting role"), max_length=20, choices=Role.choices, blank=True)
    department_rule = models.CharField(
        _("acting department"),
        max_length=16,
        choices=DepartmentRule.choices,
        default=DepartmentRule.SERVICE_DEPARTMENT,
    )
    fixed_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    time_share = models.PositiveSmallIntegerField(_("share of the time limit (%)"), default=0)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "code"], name="stage_unique_code"),
            models.CheckConstraint(condition=Q(time_share__lte=100), name="stage_share_le_100"),
            models.CheckConstraint(
                condition=~Q(department_rule="fixed") | Q(fixed_department__isnull=False),
                name="stage_fixed_needs_department",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args, **kwargs):
        _refuse_if_published(self.definition_id)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_if_published(self.definition_id)
        return super().delete(*args, **kwargs)

    @property
    def label(self) -> str:
        return localized(self, "name")


class Outcome(models.TextChoices):
    """What a transition means to the engine (DESIGN "The case lifecycle"). The engine's rules (the
    clock, 行政许可法 §32/§42/§45, what ends a case, what may be withdrawn) follow these and the
    stages' kinds, never a transition's name: admins name transitions as they like."""

    ACCEPTED = "accepted", _("accepted (受理)")
    NOT_ACCEPTED = "not_accepted", _("not accepted (不予受理)")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("documents requested (补正告知)")
    SUPPLEMENT_ANSWERED = "supplement_answered", _("documents handed in (提交补正材料)")
    SUSPENDED = "suspended", _("suspended for a special procedure (特别程序)")
    RESUMED = "resumed", _("resumed (恢复办理)")
    EXTENDED = "extended", _("time limit extended (延期)")
    PASSED = "passed", _("passed to the next stage (通过)")
    RETURNED = "returned", _("returned to an earlier stage (退回)")
    APPROVED = "approved", _("approved (准予)")
    REJECTED = "rejected", _("rejected (不予批准)")
    CONCLUDED = "concluded", _("concluded (办结)")
    WITHDRAWN = "withdrawn", _("withdrawn (撤回)")


# The outer state each outcome leaves a case in; None: the state does not change (passed,
# returned, extended) or returns to what it was before the pause (resumed, documents handed in).
OUTCOME_STATE: dict[str, str | None] = {
    Outcome.ACCEPTED: OuterState.ACCEPTED,
    Outcome.NOT_ACCEPTED: OuterState.NOT_ACCEPTED,
    Outcome.SUPPLEMENT_REQUESTED: OuterState.SUPPLEMENT_REQUESTED,
    Outcome.SUPPLEMENT_ANSWERED: None,
    Outcome.SUSPENDED: OuterState.SUSPENDED,
    Outcome.RESUMED: None,
    Outcome.EXTENDED: None,
    Outcome.PASSED: None,
    Outcome.RETURNED: None,
    Outcome.APPROVED: OuterState.APPROVED,
    Outcome.REJECTED: OuterState.REJECTED,
    Outcome.CONCLUDED: OuterState.CONCLUDED,
    Outcome.WITHDRAWN: OuterState.WITHDRAWN,
}
PAUSING_OUTCOMES = (Outcome.SUSPENDED, Outcome.SUPPLEMENT_REQUESTED)
RESUMING_OUTCOMES = (Outcome.RESUMED, Outcome.SUPPLEMENT_ANSWERED)
DECISION_OUTCOMES = (Outcome.APPROVED, Outcome.REJECTED, Outcome.NOT_ACCEPTED)
# Outcomes that close the case: their transitions lead into an end stage.
CLOSING_OUTCOMES = (
    Outcome.NOT_ACCEPTED,
    Outcome.REJECTED,
    Outcome.CONCLUDED,
    Outcome.WITHDRAWN,
)


class Effect(models.TextChoices):
    NOTIFY_APPLICANT = "notify_applicant", _("notify the applicant")
    ACCEPTANCE_NOTICE = "acceptance_notice", _("issue the acceptance notice (受理通知书)")
    REQUEST_DOCUMENTS = "request_documents", _("open a request for documents (补正告知)")
    PAUSE_CLOCK = "pause_clock", _("pause the clock")
    RESUME_CLOCK = "resume_clock", _("resume the clock")
    EXTEND_DEADLINE = "extend_deadline", _("extend the deadline (延期)")
    ISSUE_LICENCE = "issue_licence", _("issue the e-licence")


APPLICANT = "applicant"
ACTOR_CHOICES = [(APPLICANT, _("applicant")), *Role.choices]


def role_list() -> str:
    """The valid actors with their labels, for messages that tell an admin what to write."""
    return "; ".join(f"{value} ({label})" for value, label in ACTOR_CHOICES)


def effect_list() -> str:
    return "; ".join(f"{value} ({label})" for value, label in Effect.choices)


class WorkflowTransition(models.Model):
    """A move a case may make. No source: available at every open stage (withdraw, suspend ...).
    No target: the case stays in its stage (request documents, suspend, resume ...)."""

    definition = models.ForeignKey(
        WorkflowDefinition, on_delete=models.CASCADE, related_name="transitions"
    )
    name = models.SlugField(_("name"), max_length=32)
    label = models.CharField(_("label"), max_length=64)
    label_en = models.CharField(_("English label"), max_length=100, blank=True)
    source = models.ForeignKey(
        WorkflowStage,
        verbose_name=_("from stage"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outgoing",
        help_text=_("Empty: from any stage that is not an end stage."),
    )
    target = models.ForeignKey(
        WorkflowStage,
        verbose_name=_("to stage"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="incoming",
        help_text=_("Empty: the case stays in its stage."),
    )
    allowed_roles = models.JSONField(
        _("who may take it"),
        default=list,
        help_text=_("Roles, and 'applicant' for the citizen or company."),
    )
    opinion_required = models.BooleanField(_("opinion required"), default=False)
    outcome = models.CharField(
        _("outcome"),
        max_length=24,
        choices=Outcome.choices,
        help_text=_("What the transition means; the engine acts on this, not on the name."),
    )
    effects = models.JSONField(_("effects"), default=list, blank=True)
    message = models.TextField(
        _("message to the applicant"),
        blank=True,
        help_text=_(
            "Overrides the standard text of this outcome when “notify the applicant” is ticked; "
            "Django template syntax, e.g. {{ number }}, {{ opinion }}, {{ due_date }}."
        ),
    )
    message_en = models.TextField(_("English message to the applicant"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["definition", "source", "name"],
                name="transition_unique_name_per_source",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        _refuse_if_published(self.definition_id)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_if_published(self.definition_id)
        return super().delete(*args, **kwargs)

    @property
    def localized_label(self) -> str:
        return localized(self, "label")

    def clean(self) -> None:
        errors = {}
        valid_actors = {value for value, _label in ACTOR_CHOICES}
        if not isinstance(self.allowed_roles, list) or not self.allowed_roles:
            errors["allowed_roles"] = _("Name at least one role (a list).")
        elif unknown := set(self.allowed_roles) - valid_actors:
            errors["allowed_roles"] = _("Unknown roles: %(roles)s. Valid roles: %(valid)s.") % {
                "roles": ", ".join(sorted(map(str, unknown))),
                "valid": role_list(),
            }
        if not isinstance(self.effects, list) or (set(self.effects) - set(Effect.values)):
            errors["effects"] = _("Effects must be a list of: %(effects)s.") % {
                "effects": effect_list()
            }
        for field in ("source", "target"):
            stage = getattr(self, field)
            if stage is not None and stage.definition_id != self.definition_id:
                errors[field] = _("The stage belongs to another workflow.")
        if errors:
            raise ValidationError(errors)


# --- Service items and versions --------------------------------------------------------------------


class ServiceKind(models.TextChoices):
    LICENSING = "licensing", _("administrative licensing (行政许可)")
    CONFIRMATION = "confirmation", _("administrative confirmation (行政确认)")
    BENEFIT = "benefit", _("administrative benefit (行政给付)")
    REGISTRATION = "registration", _("administrative registration (行政登记)")
    PUBLIC_SERVICE = "public_service", _("public service (公共服务)")
    OTHER = "other", _("other administrative power (其他行政权力)")


class Audience(models.TextChoices):
    PERSON = "person", _("natural persons (自然人)")
    ORGANISATION = "organisation", _("legal persons (法人)")
    BOTH = "both", _("natural and legal persons")


class OnlineDepth(models.IntegerChoices):
    INFORMATION = 1, _("guide online only")
    DOWNLOAD = 2, _("forms to download")
    PRE_REVIEW = 3, _("online application, originals checked at the counter")
    FULL = 4, _("entirely online (全程网办)")


class ResultType(models.TextChoices):
    LICENCE = "licence", _("certificate or licence (证照)")
    APPROVAL = "approval", _("approval document (批文)")
    OTHER = "other", _("other result")


class RetentionPeriod(models.IntegerChoices):
    """保管期限 of a service's case files, as the archive rules give them (机关文件材料归档范围和文书档案
    保管期限规定: 永久, 定期30年, 定期10年). When it has passed since a case closed, the case is archived:
    its personal data removed, its figures kept (cases/retention.py). 永久 files are never archived."""

    TEN_YEARS = 10, _("10 years (定期10年)")
    THIRTY_YEARS = 30, _("30 years (定期30年)")
    PERMANENT = 0, _("permanent (永久)")


class ServiceItem(models.Model):
    """A service (事项) the portal offers, identified by its code; its content lives in versions."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        RETIRED = "retired", _("retired")

    code = models.CharField(_("service code (事项编码)"), max_length=64, unique=True)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="services"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    current_version = models.OneToOneField(
        "ServiceVersion",
        verbose_name=_("published version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True, editable=False)
    retirement_reason = models.TextField(_("why it was retired"), blank=True, editable=False)
    replaced_by = models.ForeignKey(
        "self",
        verbose_name=_("replaced by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaces",
        editable=False,
    )
    # The item's, not a version's: an archive rule applies to every case file of the service.
    retention_years = models.PositiveSmallIntegerField(
        _("retention period (保管期限)"),
        choices=RetentionPeriod.choices,
        default=RetentionPeriod.THIRTY_YEARS,
        help_text=_(
            "How long the case files are kept after a case is closed; then the applicant's "
            "personal data is removed and only the figures stay. Permanent files are never removed."
        ),
    )
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["code"]
        permissions = [
            # A django-guardian object permission: a member of staff who maintains this one item.
            ("maintain_serviceitem", _("maintain this service item in the designer")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(current_version__isnull=False),
                name="service_published_has_version",
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9A-Za-z][0-9A-Za-z._-]*$"), name="service_code_format"
            ),
        ]
        indexes = [models.Index(fields=["status", "department"])]

    def __str__(self) -> str:
        version = self.current_version
        return f"{self.code} {version.name}" if version else self.code


class ServiceVersion(models.Model):
    """Everything the guide (办事指南) shows and a case depends on; frozen once published."""

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        SUPERSEDED = "superseded", _("superseded")

    service = models.ForeignKey(
        ServiceItem, verbose_name=_("service"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT)

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ServiceKind.choices)
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices)
    summary = models.TextField(_("summary"), blank=True)
    summary_en = models.TextField(_("English summary"), blank=True)
    legal_basis = models.TextField(_("legal basis (设定依据)"))
    legal_basis_en = models.TextField(_("English legal basis"), blank=True)
    conditions = models.TextField(_("conditions (受理条件)"))
    conditions_en = models.TextField(_("English conditions"), blank=True)
    keywords = models.CharField(
        _("keywords and aliases"),
        max_length=300,
        blank=True,
        help_text=_("Everyday words people search with, separated by spaces (e.g. 狗证 养狗)."),
    )
    statutory_limit_days = models.PositiveSmallIntegerField(
        _("statutory time limit (法定办结时限), working days")
    )
    promised_limit_days = models.PositiveSmallIntegerField(
        _("promised time limit (承诺办结时限), working days"),
        help_text=_("0 for an item decided on the spot (即办件)."),
    )
    fee_free = models.BooleanField(_("free of charge"), default=True)
    fee_standard = models.TextField(_("fee (收费标准)"), blank=True)
    fee_standard_en = models.TextField(_("English fee"), blank=True)
    fee_basis = models.TextField(_("legal basis of the fee"), blank=True)
    fee_basis_en = models.TextField(_("English legal basis of the fee"), blank=True)
    fee_rule = models.JSONField(
        _("fee collected through the portal"),
        default=dict,
        blank=True,
        help_text=_(
            'Empty: not collected here. Else e.g. {"amount_fen": 2000, "due": "before_result", '
            '"refund_on": ["rejected", "withdrawn"]}, or {"per_unit_fen": 1000, "unit_field": '
            '"copies", "cap_fen": 5000, "due": "before_acceptance"}. Amounts in fen (分); due '
            "before_acceptance or before_result."
        ),
    )
    visits_required = models.PositiveSmallIntegerField(_("visits required (到现场次数)"), default=0)
    channel_online = models.BooleanField(_("apply online"), default=True)
    channel_counter = models.BooleanField(_("apply at a counter"), default=True)
    channel_mail = models.BooleanField(_("apply by mail"), default=False)
    online_depth = models.PositiveSmallIntegerField(
        _("online depth"), choices=OnlineDepth.choices, default=OnlineDepth.FULL
    )
    result_type = models.CharField(_("result"), max_length=16, choices=ResultType.choices)
    result_name = models.CharField(_("name of the result"), max_length=100)
    result_name_en = models.CharField(_("English name of the result"), max_length=200, blank=True)
    licence_type = models.ForeignKey(
        LicenceType,
        verbose_name=_("e-licence issued"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    replaces_licence = models.BooleanField(
        _("replaces the earlier licence (变更)"),
        default=False,
        help_text=_(
            "A change application: the licence it issues supersedes the holder's valid licence of "
            "the same type, which then shows as superseded."
        ),
    )
    delivery_pickup = models.BooleanField(_("result picked up at the counter"), default=True)
    delivery_mail = models.BooleanField(_("result sent by post"), default=True)
    delivery_electronic = models.BooleanField(_("electronic result"), default=False)
    allows_tolerance = models.BooleanField(
        _("accept with a minor material to follow (容缺受理)"), default=False
    )
    allows_commitment = models.BooleanField(
        _("proceed on a signed commitment (告知承诺)"), default=False
    )
    commitment_text = models.TextField(
        _("commitment the applicant signs (告知承诺书)"),
        blank=True,
        help_text=_(
            "What the applicant promises (conditions met, materials true); the materials it "
            "covers are not asked. Needed when the service proceeds on a signed commitment."
        ),
    )
    commitment_text_en = models.TextField(_("English commitment"), blank=True)
    handling_location = models.CharField(_("where to apply in person"), max_length=200, blank=True)
    handling_location_en = models.CharField(
        _("English: where to apply in person"), max_length=300, blank=True
    )
    office_hours = models.CharField(_("office hours"), max_length=100, blank=True)
    office_hours_en = models.CharField(_("English office hours"), max_length=150, blank=True)
    enquiry_phone = models.CharField(_("enquiry phone"), max_length=32, blank=True)
    complaint_phone = models.CharField(_("complaint phone"), max_length=32, default="12345")
    life_events = models.ManyToManyField(
        LifeEvent, verbose_name=_("life events"), blank=True, related_name="versions"
    )
    form_schema = models.JSONField(
        _("application form (JSON Schema)"),
        default=dict,
        help_text=_("A JSON Schema object; see the guide for the supported subset."),
    )
    workflow = models.ForeignKey(
        WorkflowDefinition, verbose_name=_("workflow"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), db_default=Now())
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("service version")
        verbose_name_plural = _("service versions")
        ordering = ["service", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "number"], name="serviceversion_unique_number"
            ),
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(state="draft"),
                name="serviceversion_one_draft",
            ),
            models.CheckConstraint(
                condition=Q(promised_limit_days__lte=models.F("statutory_limit_days")),
                name="serviceversion_promise_within_statute",
            ),
            models.CheckConstraint(
                condition=Q(visits_required__lte=2), name="serviceversion_visits_0_to_2"
            ),
            models.CheckConstraint(
                condition=Q(state="draft") | Q(published_at__isnull=False),
                name="serviceversion_published_has_date",
            ),
            models.CheckConstraint(
                condition=Q(channel_online=True) | Q(channel_counter=True) | Q(channel_mail=True),
                name="serviceversion_has_a_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    def save(self, *args, **kwargs):
        if (
            self.pk
            and type(self).objects.filter(pk=self.pk).exclude(state=self.State.DRAFT).exists()
        ):
            # Only the publish/supersede services may change the state column of a frozen version.
            allowed = {"state"}
            if set(kwargs.get("update_fields") or ()) - allowed or not kwargs.get("update_fields"):
                raise ImmutableWhenPublished(_("A published version cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.state != self.State.DRAFT:
            raise ImmutableWhenPublished(_("A published version cannot be deleted."))
        return super().delete(*args, **kwargs)

    @property
    def is_immediate(self) -> bool:
        """即办件: decided on the spot at intake."""
        return self.promised_limit_days == 0

    @property
    def label(self) -> str:
        return localized(self, "name")

    def clean(self) -> None:
        from .schema import check_schema

        errors = {}
        if (
            isinstance(self.promised_limit_days, int)
            and isinstance(self.statutory_limit_days, int)
            and self.promised_limit_days > self.statutory_limit_days
        ):
            errors["promised_limit_days"] = _(
                "The promised limit cannot be longer than the statutory limit."
            )
        if not (self.channel_online or self.channel_counter or self.channel_mail):
            errors["channel_online"] = _("Offer at least one channel.")
        if not self.fee_free and not self.fee_standard:
            errors["fee_standard"] = _("State the fee, or mark the service free of charge.")
        if self.fee_rule:
            from .fees import check_fee_rule

            if self.fee_free:
                errors["fee_rule"] = _("A service free of charge collects no fee.")
            else:
                try:
                    check_fee_rule(
                        self.fee_rule,
                        self.form_schema if isinstance(self.form_schema, dict) else None,
                    )
                except ValidationError as exc:
                    errors["fee_rule"] = exc.messages
        if self.form_schema.get("properties") if isinstance(self.form_schema, dict) else True:
            # A draft may have no field yet; publishing refuses it (catalog.publication_problems).
            try:
                check_schema(self.form_schema)
            except ValidationError as exc:
                errors["form_schema"] = exc.messages
        if errors:
            raise ValidationError(errors)


# The e-licence type every citizen holds from real-name verification itself (电子身份证照): a
# material reusing it is satisfied for every applicant, who never uploads their identity card.
RESIDENT_ID_CARD = "resident-id-card"


class MaterialSource(models.TextChoices):
    UPLOAD = "upload", _("uploaded by the applicant")
    LICENCE = "licence", _("an e-licence already issued")
    SHARED = "shared", _("data shared by another department")
    FORM = "form", _("the application form itself, made from the answers (申请表)")


class MaterialForm(models.TextChoices):
    ORIGINAL = "original", _("original (原件)")
    COPY = "copy", _("copy (复印件)")
    BOTH = "both", _("original and copy")
    ELECTRONIC = "electronic", _("electronic only")


class ServiceMaterial(models.Model):
    """A material (申请材料) an application needs, and where it comes from."""

    version = models.ForeignKey(ServiceVersion, on_delete=models.CASCADE, related_name="materials")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=300, blank=True)
    required = models.BooleanField(_("required"), default=True)
    tolerable = models.BooleanField(
        _("may follow later (容缺)"),
        default=False,
        help_text=_(
            "Accepted without it when the service allows 容缺受理; it must arrive before the decision."
        ),
    )
    covered_by_commitment = models.BooleanField(
        _("replaced by the signed commitment (告知承诺)"),
        default=False,
        help_text=_("Not asked of an applicant who signs the service's commitment."),
    )
    form = models.CharField(
        _("form"), max_length=16, choices=MaterialForm.choices, default=MaterialForm.ELECTRONIC
    )
    copies = models.PositiveSmallIntegerField(_("copies"), default=1)
    paper_format = models.CharField(_("paper format"), max_length=32, blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=MaterialSource.choices, default=MaterialSource.UPLOAD
    )
    licence_type = models.ForeignKey(
        LicenceType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shared_by = models.ForeignKey(
        Department,
        verbose_name=_("shared by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    note_en = models.TextField(_("English note"), blank=True)
    sample_stored_name = models.CharField(max_length=200, blank=True, editable=False)
    sample_file_name = models.CharField(
        _("blank form or sample (样表/空表)"), max_length=255, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source="licence") | Q(licence_type__isnull=False),
                name="material_licence_source_has_type",
            ),
            models.CheckConstraint(
                condition=~Q(source="shared") | Q(shared_by__isnull=False),
                name="material_shared_source_has_department",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if (
            ServiceVersion.objects.filter(pk=self.version_id)
            .exclude(state=ServiceVersion.State.DRAFT)
            .exists()
        ):
            raise ImmutableWhenPublished(_("A published version's materials cannot be changed."))
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        return localized(self, "name")

    def clean(self) -> None:
        if self.source == MaterialSource.LICENCE and not self.licence_type_id:
            raise ValidationError({"licence_type": _("Name the e-licence type to reuse.")})
        if self.source == MaterialSource.SHARED and not self.shared_by_id:
            raise ValidationError({"shared_by": _("Name the department that shares the data.")})


# --- Working-day calendar --------------------------------------------------------------------------


class LegalArticle(models.Model):
    """An article of law a decider of this service may apply (法律依据): the decision records the one
    chosen, and the citizen reads it on the decision and its document."""

    service = models.ForeignKey(
        ServiceItem, verbose_name=_("service"), on_delete=models.CASCADE, related_name="articles"
    )
    law = models.CharField(
        _("law or regulation"), max_length=200, help_text=_("e.g. 《中华人民共和国行政许可法》")
    )
    law_en = models.CharField(_("English name of the law"), max_length=300, blank=True)
    article = models.CharField(_("article"), max_length=64, help_text=_("e.g. 第三十八条第一款"))
    article_en = models.CharField(_("English article"), max_length=100, blank=True)
    text = models.TextField(_("text of the article"))
    text_en = models.TextField(_("English text"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(
        _("offered to deciders"),
        default=True,
        help_text=_("Untick instead of deleting: decisions that applied it keep their record."),
    )

    class Meta:
        verbose_name = _("legal article")
        verbose_name_plural = _("legal articles")
        ordering = ["service", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "law", "article"], name="legalarticle_unique_per_service"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.law}{self.article}"

    def citation(self, language: str | None = None) -> str:
        """“《中华人民共和国行政许可法》第三十八条第一款：……” in the active (or given) language."""
        from django.utils import translation

        with translation.override(language or get_language()):
            law, article, text = (localized(self, f) for f in ("law", "article", "text"))
            if (get_language() or "").startswith("en"):
                return f"{law}, {article}: {text}"
            return f"{law}{article}：{text}"


class AutoApprovalPolicy(models.Model):
    """秒批: a service approved by the system at submission when every rule holds (rules are data,
    see services.auto_rules); a case where any rule fails goes to the normal queue. The item's own,
    not a version's: an admin turns it off at once, without publishing. The applicant may ask for a
    human review of an automated decision (PIPL art. 24), and a share of the automated approvals
    is sampled for a post-check (事后核查)."""

    service = models.OneToOneField(
        ServiceItem,
        verbose_name=_("service"),
        on_delete=models.CASCADE,
        related_name="auto_approval",
    )
    enabled = models.BooleanField(
        _("approve automatically when every rule holds (秒批)"), default=False
    )
    rules = models.JSONField(
        _("rules"),
        default=list,
        blank=True,
        help_text=_(
            'A list of rules that must all hold, e.g. [{"fact": "applicant.age", "op": "gte", '
            '"value": 18}, {"fact": "form.shop_area", "op": "lte", "value": 200}, {"fact": '
            '"licences.held", "op": "contains", "value": "business-licence"}, {"fact": '
            '"materials.none_uploaded", "op": "eq", "value": true}]. Operators: eq, ne, lt, lte, '
            'gt, gte, in, startswith, contains. An optional "label" is what staff and the '
            "applicant read."
        ),
    )
    article = models.ForeignKey(
        LegalArticle,
        verbose_name=_("article the automated approval applies"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Needed when the service has articles of law: the decision cites it."),
    )
    sample_percent = models.PositiveSmallIntegerField(
        _("share of automated approvals post-checked (事后核查), %"),
        null=True,
        blank=True,
        help_text=_("Empty: the portal's setting AUTO_DECISION_SAMPLE_PERCENT."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("automatic approval (秒批)")
        verbose_name_plural = _("automatic approvals (秒批)")
        constraints = [
            models.CheckConstraint(
                condition=Q(sample_percent__isnull=True) | Q(sample_percent__lte=100),
                name="autoapproval_sample_percent_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.code} 秒批"

    def clean(self) -> None:
        from .auto_rules import rule_problems

        errors = {}
        service = self.service if self.service_id else None
        version = None
        if service is not None:
            version = service.current_version or service.versions.order_by("-number").first()
        problems = rule_problems(self.rules, version)
        if problems:
            errors["rules"] = problems
        elif self.enabled and not self.rules:
            errors["rules"] = [_("Give at least one rule, or turn automatic approval off.")]
        if self.sample_percent is not None and self.sample_percent > 100:
            errors["sample_percent"] = [_("A share between 0 and 100.")]
        if service is not None:
            if self.article_id and self.article.service_id != service.pk:
                errors["article"] = [_("Choose one of this service's articles of law.")]
            elif (
                self.enabled
                and not self.article_id
                and service.articles.filter(is_active=True).exists()
            ):
                errors["article"] = [_("Choose the article of law the automated approval applies.")]
        if errors:
            raise ValidationError(errors)


class ProactivePolicy(models.Model):
    """免申即享 (benefits without applying): the people the registries show eligible for the
    service are found by a daily sweep (cases.proactive) and either offered it, to confirm with one
    click, or granted it: the case is filed and runs through the engine, and they are told, with an
    opt-out. The eligibility rules are rules over registry facts (`registry.<code>.<fact>`, see
    services.auto_rules and cases.sharing.facts) that the registry can answer for everyone at once;
    `answers` fill the form of the case filed. The item's own, like 秒批: on or off at once."""

    class Mode(models.TextChoices):
        OFFER = "offer", _("offer: the person confirms with one click")
        GRANT = "grant", _("grant: filed automatically; the person is told and may opt out")

    service = models.OneToOneField(
        ServiceItem,
        verbose_name=_("service"),
        on_delete=models.CASCADE,
        related_name="proactive",
    )
    enabled = models.BooleanField(_("find eligible people every day (免申即享)"), default=False)
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, default=Mode.OFFER)
    rules = models.JSONField(
        _("eligibility rules"),
        default=list,
        blank=True,
        help_text=_(
            'Rules over registry data that must all hold, e.g. [{"fact": '
            '"registry.household.resident", "op": "eq", "value": true}, {"fact": '
            '"registry.household.age", "op": "gte", "value": 80}].'
        ),
    )
    answers = models.JSONField(
        _("answers of the form filed"),
        default=dict,
        blank=True,
        help_text=_(
            'Form field → its answer in the case filed, e.g. {"relation": "self", "elder_id": '
            '{"identity": "id_number"}}; identity: real_name, id_number or phone of the person.'
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("benefit without applying (免申即享)")
        verbose_name_plural = _("benefits without applying (免申即享)")

    def __str__(self) -> str:
        return f"{self.service.code} 免申即享"

    def clean(self) -> None:
        from .proactive import policy_problems

        service = self.service if self.service_id else None
        if errors := policy_problems(
            service=service, enabled=self.enabled, rules=self.rules, answers=self.answers
        ):
            raise ValidationError(errors)


class CalendarYear(models.Model):
    """A year whose holidays and make-up workdays are known; without it dates cannot be computed."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=32, default="chinesecalendar")
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """An exception to Monday-to-Friday: a public holiday, or a weekend made a workday (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("public holiday")
        WORKDAY = "workday", _("make-up workday (调休)")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


# --- Bundles (一件事) -------------------------------------------------------------------------------


class Bundle(models.Model):
    """一件事: published services of several departments filed together from one combined form.

    The combined form is computed from the members (services.bundles.combined_schema): a combined
    field mapped onto several members is asked once; each member's remaining fields are grouped
    under its `key`. Materials of the same name (and source) are one material of the bundle: one
    upload serves every member that asks for it (services.bundles.combined_materials)."""

    code = models.CharField(_("bundle code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    guide = models.TextField(_("guide (办事指南)"), blank=True)
    guide_en = models.TextField(_("English guide"), blank=True)
    lead_department = models.ForeignKey(
        Department,
        verbose_name=_("lead department"),
        on_delete=models.PROTECT,
        related_name="led_bundles",
    )
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    life_events = models.ManyToManyField(
        LifeEvent, verbose_name=_("life events"), blank=True, related_name="bundles"
    )
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("bundle (一件事)")
        verbose_name_plural = _("bundles (一件事)")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9A-Za-z][0-9A-Za-z._-]*$"), name="bundle_code_format"
            ),
            models.CheckConstraint(
                condition=Q(is_published=False) | Q(published_at__isnull=False),
                name="bundle_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def label(self) -> str:
        return localized(self, "name")


class BundleMember(models.Model):
    """A service of a bundle. `field_map` maps combined-form fields onto the fields of the member's
    published form: {"child_name": "child_name", "parent_phone": "applicant_phone"}; a combined
    field that several members map is asked once."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="members")
    key = models.SlugField(
        _("key"),
        max_length=32,
        help_text=_("Short name of the member in the combined form, e.g. birth, insurance."),
    )
    service = models.ForeignKey(
        ServiceItem, verbose_name=_("service"), on_delete=models.PROTECT, related_name="+"
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    field_map = models.JSONField(
        _("combined fields → this service's fields"),
        default=dict,
        blank=True,
        help_text=_('An object: {"combined field": "field of this service\'s form", ...}.'),
    )

    class Meta:
        verbose_name = _("bundle member")
        verbose_name_plural = _("bundle members")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "key"], name="bundlemember_unique_key"),
            models.UniqueConstraint(
                fields=["bundle", "service"], name="bundlemember_unique_service"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bundle.code}/{self.key}"


class BundleDependency(models.Model):
    """`member` waits for the result of `waits_for` and is then filed, prefilled from it.

    `prefill`: {"field of member's form": "source"}, a source being `data.<field>` (an answer of the
    case waited for), `case.number`, `case.decided_on` (its decision date), `licence.number` or
    `licence.<field>` (the e-licence it issued)."""

    member = models.ForeignKey(BundleMember, on_delete=models.CASCADE, related_name="waits")
    waits_for = models.ForeignKey(BundleMember, on_delete=models.CASCADE, related_name="awaited_by")
    prefill = models.JSONField(_("prefilled from the result"), default=dict, blank=True)

    class Meta:
        verbose_name = _("bundle dependency")
        verbose_name_plural = _("bundle dependencies")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "waits_for"], name="bundledependency_unique_pair"
            ),
            models.CheckConstraint(
                condition=~Q(member=models.F("waits_for")), name="bundledependency_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} ← {self.waits_for}"


class SharingGrant(models.Model):
    """数据共享授权: a service may ask one registry for these fields, for this purpose
    (《政务数据共享条例》: data is shared for a stated purpose and no more of it than the purpose
    needs). A request of the service outside its grants is refused before it reaches the registry
    (cases.sharing.services.request_shared_data)."""

    service = models.ForeignKey(
        ServiceItem,
        verbose_name=_("service"),
        on_delete=models.CASCADE,
        related_name="sharing_grants",
    )
    registry = models.CharField(
        _("registry"),
        max_length=32,
        help_text=_("The code of a registry in DATA_REGISTRIES, e.g. household."),
    )
    fields = models.JSONField(
        _("fields it may ask for"),
        default=list,
        help_text=_('A list of the registry\'s field names, e.g. ["name", "address"].'),
    )
    purpose = models.TextField(
        _("purpose (用途)"), help_text=_("What the service needs the data for, as approved.")
    )
    created_at = models.DateTimeField(_("granted"), db_default=Now())

    class Meta:
        verbose_name = _("data sharing grant (共享授权)")
        verbose_name_plural = _("data sharing grants (共享授权)")
        ordering = ["service", "registry"]
        constraints = [
            models.UniqueConstraint(fields=["service", "registry"], name="sharinggrant_once"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} → {self.registry}"

    def clean(self) -> None:
        from cases.sharing.registry import get_registry

        registry = get_registry(self.registry)
        if registry is None:
            from cases.sharing.registry import registries

            raise ValidationError(
                {
                    "registry": _("No such registry; configured: %(codes)s.")
                    % {"codes": ", ".join(registries()) or "—"}
                }
            )
        if not isinstance(self.fields, list) or not self.fields:
            raise ValidationError({"fields": _("List at least one field the service needs.")})
        unknown = [f for f in self.fields if f not in registry.fields]
        if unknown:
            raise ValidationError(
                {
                    "fields": _("The registry has no field %(fields)s; it has %(known)s.")
                    % {"fields": ", ".join(map(str, unknown)), "known": ", ".join(registry.fields)}
                }
            )
