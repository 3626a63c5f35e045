"""Forms of the designer: the guide in groups with each English twin beside its Chinese field, the
materials as rows, and the few fields a new item starts with."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Role

from ..models import (
    ACTOR_CHOICES,
    Effect,
    LegalArticle,
    LicenceType,
    LifeEvent,
    Outcome,
    ServiceMaterial,
    ServiceVersion,
    WorkflowStage,
    WorkflowTransition,
)

# The guide (办事指南) in the order a reader meets it; (Chinese field, English twin or None).
GUIDE_GROUPS = [
    (_("What it is"), [("name", "name_en"), ("kind", None), ("audience", None),
                       ("summary", "summary_en"), ("keywords", None)]),
    (_("Law and conditions"), [("legal_basis", "legal_basis_en"), ("conditions", "conditions_en")]),
    (_("Time and cost"), [("statutory_limit_days", None), ("promised_limit_days", None),
                          ("fee_free", None), ("fee_standard", "fee_standard_en"),
                          ("fee_basis", "fee_basis_en"), ("fee_rule", None),
                          ("visits_required", None)]),
    (_("Channels and result"), [("channel_online", None), ("channel_counter", None),
                                ("channel_mail", None), ("online_depth", None),
                                ("result_type", None), ("result_name", "result_name_en"),
                                ("licence_type", None), ("delivery_pickup", None),
                                ("delivery_mail", None), ("delivery_electronic", None),
                                ("allows_tolerance", None), ("allows_commitment", None),
                                ("commitment_text", "commitment_text_en")]),
    (_("Where and whom to ask"), [("handling_location", "handling_location_en"),
                                  ("office_hours", "office_hours_en"), ("enquiry_phone", None),
                                  ("complaint_phone", None)]),
    (_("Life events"), [("life_events", None)]),
]  # fmt: skip
GUIDE_FIELDS = [name for _title, rows in GUIDE_GROUPS for pair in rows for name in pair if name]
TEXTAREAS = {"summary", "summary_en", "legal_basis", "legal_basis_en", "conditions",
             "conditions_en", "fee_standard", "fee_standard_en", "fee_basis", "fee_basis_en",
             "commitment_text", "commitment_text_en"}  # fmt: skip


class GuideForm(forms.Form):
    """The guide's fields as the model defines them. A plain form, not a ModelForm: the checks that
    span fields run in the catalog service, and their messages land on the fields here."""

    def __init__(self, *args, instance: ServiceVersion, **kwargs):
        super().__init__(
            *args, initial=forms.models.model_to_dict(instance, GUIDE_FIELDS), **kwargs
        )
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in TEXTAREAS}
        widgets["life_events"] = forms.CheckboxSelectMultiple
        self.fields.update(
            forms.models.fields_for_model(ServiceVersion, fields=GUIDE_FIELDS, widgets=widgets)
        )
        self.fields["licence_type"].queryset = LicenceType.objects.select_related("issuer")
        self.fields["licence_type"].label_from_instance = lambda t: f"{t.name}（{t.issuer.name}）"
        self.fields["life_events"].queryset = LifeEvent.objects.all()
        self.fields["life_events"].required = False
        self.fields["fee_rule"].widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})
        self.fields["fee_rule"].required = False

    def clean_fee_rule(self):
        return self.cleaned_data.get("fee_rule") or {}

    def groups(self):
        """(title, [(field, twin or None)]) for the template."""
        return [
            (title, [(self[name], self[twin] if twin else None) for name, twin in rows])
            for title, rows in GUIDE_GROUPS
        ]


NEW_FIELDS = ["name", "kind", "audience", "legal_basis", "conditions", "statutory_limit_days",
              "promised_limit_days", "result_type", "result_name"]  # fmt: skip


class NewServiceForm(forms.Form):
    """What a new item cannot do without; the rest of the guide is filled in afterwards."""

    code = forms.RegexField(
        label=_("service code (事项编码)"),
        regex=r"^[0-9A-Za-z][0-9A-Za-z._-]*$",
        max_length=64,
        help_text=_("Letters, digits, dots, dashes, e.g. 330100-GA-XK-012."),
        error_messages={
            "invalid": _("Use letters, digits, dots and dashes only, e.g. 330100-GA-XK-012.")
        },
    )
    department = forms.ModelChoiceField(label=_("department"), queryset=None, empty_label=None)

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        widgets = {"legal_basis": forms.Textarea(attrs={"rows": 2}),
                   "conditions": forms.Textarea(attrs={"rows": 2})}  # fmt: skip
        self.fields.update(
            forms.models.fields_for_model(ServiceVersion, fields=NEW_FIELDS, widgets=widgets)
        )


class MaterialForm(forms.ModelForm):
    sample = forms.FileField(
        label=_("blank form or sample to download (样表/空表)"),
        required=False,
        help_text=_("PDF, JPEG or PNG; applicants download it from the guide."),
    )

    class Meta:
        model = ServiceMaterial
        fields = ["name", "name_en", "required", "tolerable", "covered_by_commitment", "form",
                  "copies", "paper_format", "source", "licence_type", "shared_by", "note",
                  "note_en"]  # fmt: skip
        widgets = {"note": forms.Textarea(attrs={"rows": 2}),
                   "note_en": forms.Textarea(attrs={"rows": 2})}  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["licence_type"].queryset = LicenceType.objects.select_related("issuer")
        self.fields["licence_type"].label_from_instance = lambda t: f"{t.name}（{t.issuer.name}）"


MaterialFormSet = forms.modelformset_factory(
    ServiceMaterial, form=MaterialForm, extra=1, can_delete=True
)


class ArticleForm(forms.ModelForm):
    """One article of law (法律依据). Its duplicates are found by services.articles, which knows
    the service; the message lands on the article field."""

    class Meta:
        model = LegalArticle
        fields = ["law", "law_en", "article", "article_en", "text", "text_en", "order",
                  "is_active"]  # fmt: skip
        widgets = {"text": forms.Textarea(attrs={"rows": 3}),
                   "text_en": forms.Textarea(attrs={"rows": 3})}  # fmt: skip
        help_texts = {
            "text": _("As the law words it: the decision and its document quote it."),
            "order": _("Deciders and the guide list smaller numbers first."),
            "is_active": _(
                "Untick to stop offering it to deciders; decisions that applied it keep their "
                "record."
            ),
        }


ArticleFormSet = forms.modelformset_factory(LegalArticle, form=ArticleForm, extra=1)


# --- Workflow editor -----------------------------------------------------------------------------

OUTCOME_HELP = {
    "accepted": _("Accepted (受理): the promised time limit starts the next working day."),
    "not_accepted": _("Not accepted (不予受理): closes the case; a reason and the applicant's rights are required."),
    "supplement_requested": _("Documents requested (补正): everything missing in one notice; the clock stops."),
    "supplement_answered": _("Documents handed in: the applicant's step; the clock runs again."),
    "suspended": _("Special procedure (特别程序: hearing, inspection, testing): the clock stops."),
    "resumed": _("Resumed: the way out of a special procedure; the due date moves by the days paused."),
    "extended": _("Extended (延期, §42): up to 10 more working days with the department head's approval."),
    "passed": _("Passed: on to the next stage."),
    "returned": _("Returned: back to an earlier stage (after an approval: the approval is taken back)."),
    "approved": _("Approved (准予): the decision; into an end stage it also concludes the case."),
    "rejected": _("Rejected (不予许可): closes the case with a reason and legal basis."),
    "concluded": _("Concluded (办结): the result is delivered; the case closes."),
    "withdrawn": _("Withdrawn (撤回): the applicant's step, before a decision."),
}  # fmt: skip
EFFECT_HELP = {
    "notify_applicant": _("tell the applicant and their proxy, on every channel"),
    "acceptance_notice": _("issue the acceptance notice (受理通知书)"),
    "request_documents": _("open a request for documents listing what is missing"),
    "pause_clock": _("stop the clock"),
    "resume_clock": _("start the clock again"),
    "extend_deadline": _("move the due date"),
    "issue_licence": _("issue the service's e-licence to the holder"),
}


class StageForm(forms.ModelForm):
    class Meta:
        model = WorkflowStage
        fields = ["name", "name_en", "code", "kind", "role", "department_rule", "fixed_department",
                  "time_share"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("nobody (end stage)")), *Role.choices]
        self.fields["fixed_department"].queryset = Department.objects.order_by("code")


class TransitionForm(forms.ModelForm):
    allowed_roles = forms.MultipleChoiceField(
        label=_("who may take it"), choices=ACTOR_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    effects = forms.MultipleChoiceField(
        label=_("what else happens"),
        required=False,
        choices=[
            (value, f"{label}：{EFFECT_HELP.get(value, '')}") for value, label in Effect.choices
        ],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WorkflowTransition
        fields = ["label", "label_en", "name", "source", "target", "outcome", "allowed_roles",
                  "opinion_required", "effects", "message", "message_en"]  # fmt: skip
        widgets = {"outcome": forms.RadioSelect,
                   "message": forms.Textarea(attrs={"rows": 2}),
                   "message_en": forms.Textarea(attrs={"rows": 2})}  # fmt: skip

    def __init__(self, *args, definition, **kwargs):
        super().__init__(*args, **kwargs)
        stages = WorkflowStage.objects.filter(definition=definition).order_by("order", "pk")
        self.fields["source"].queryset = stages
        self.fields["source"].empty_label = _("any open stage")
        self.fields["target"].queryset = stages
        self.fields["target"].empty_label = _("stays in its stage")
        self.fields["outcome"].choices = [
            (v, OUTCOME_HELP.get(v, label)) for v, label in Outcome.choices
        ]
        self.fields["name"].required = False
        self.fields["name"].help_text = _("Empty: one is made up (step_1 …).")
        self.fields["allowed_roles"].required = False
        self.fields["allowed_roles"].help_text = _(
            "None ticked: whoever acts on the stage it leaves."
        )
        self.instance.definition = definition
        self.definition = definition

    def clean(self):
        """What a person leaves empty gets the obvious value: a made-up name, and as the one who
        takes it, the role that acts on the stage it leaves."""
        data = super().clean()
        if not data.get("name"):
            taken = set(self.definition.transitions.values_list("name", flat=True))
            number = len(taken) + 1
            while f"step_{number}" in taken:
                number += 1
            data["name"] = self.instance.name = f"step_{number}"
        if not data.get("allowed_roles"):
            source = data.get("source")
            if source is not None and source.role:
                data["allowed_roles"] = self.instance.allowed_roles = [source.role]
            else:
                self.add_error("allowed_roles", _("Tick who may take it."))
        return data


class LicenceTypeForm(forms.ModelForm):
    class Meta:
        model = LicenceType
        fields = ["code", "name", "name_en", "issuer", "validity_years"]

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["issuer"].queryset = departments


class LifeEventForm(forms.ModelForm):
    class Meta:
        model = LifeEvent
        fields = ["code", "name", "name_en", "order"]


# --- Form builder ------------------------------------------------------------------------------


class NewFieldForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind of field"), widget=forms.RadioSelect)
    label = forms.CharField(label=_("label (as the applicant reads it)"), max_length=100)
    required = forms.BooleanField(label=_("required"), required=False, initial=True)

    def __init__(self, *args, in_group: bool = False, **kwargs):
        from .formbuilder import KINDS

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (k, v) for k, v in KINDS.items() if not (in_group and k in ("group", "prefill"))
        ]


class FieldForm(forms.Form):
    """Everything the builder knows about one field; the page shows what its kind uses."""

    label = forms.CharField(label=_("label (Chinese)"), max_length=100)
    label_en = forms.CharField(label=_("label (English)"), max_length=150, required=False)
    help = forms.CharField(
        label=_("help text (Chinese)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    help_en = forms.CharField(
        label=_("help text (English)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    section = forms.CharField(
        label=_("section heading before it (Chinese)"), required=False, max_length=100,
        help_text=_("Starts a new part of the form, e.g. 犬只信息."),
    )  # fmt: skip
    section_en = forms.CharField(
        label=_("section heading before it (English)"), required=False, max_length=150
    )
    name = forms.CharField(
        label=_("name in the data"), max_length=40, required=False,
        help_text=_("Lower-case letters, digits and _, e.g. dog_name; used by programs reading the data."),
    )  # fmt: skip
    required = forms.BooleanField(label=_("required"), required=False)
    preset = forms.ChoiceField(label=_("what is asked"), required=False)
    pattern = forms.CharField(label=_("pattern (regular expression)"), required=False)
    pattern_message = forms.CharField(
        label=_("what to say when it does not match (Chinese)"), required=False, max_length=200,
        help_text=_("Say how to fix it, e.g. 请输入 11 位手机号，如 13800138000."),
    )  # fmt: skip
    pattern_message_en = forms.CharField(
        label=_("what to say when it does not match (English)"), required=False, max_length=200
    )
    max_length = forms.IntegerField(label=_("at most (characters)"), required=False, min_value=1)
    minimum = forms.DecimalField(label=_("smallest allowed"), required=False)
    maximum = forms.DecimalField(label=_("largest allowed"), required=False)
    unit = forms.CharField(label=_("unit (shown after the label)"), required=False, max_length=20)
    earliest = forms.ChoiceField(
        label=_("earliest date allowed"),
        choices=[("", _("no limit")), ("today", _("today: not in the past")),
                 ("date", _("the date below"))],
        required=False,
    )  # fmt: skip
    earliest_date = forms.DateField(
        label=_("earliest date"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    latest = forms.ChoiceField(
        label=_("latest date allowed"),
        choices=[("", _("no limit")), ("today", _("today: not in the future")),
                 ("date", _("the date below"))],
        required=False,
        help_text=_("For a date of birth or a day already past choose today: no date in the future."),
    )  # fmt: skip
    latest_date = forms.DateField(
        label=_("latest date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    widget = forms.ChoiceField(
        label=_("shown as"),
        choices=[("radio", _("buttons, all visible")), ("select", _("a drop-down list"))],
        required=False,
    )
    options = forms.CharField(
        label=_("choices, one per line: Chinese | English"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    min_rows = forms.IntegerField(label=_("at least (rows)"), required=False, min_value=0)
    max_rows = forms.IntegerField(label=_("at most (rows)"), required=False, min_value=1)
    source = forms.ChoiceField(label=_("filled with"), required=False)
    condition_field = forms.ChoiceField(label=_("ask it only when"), required=False)
    condition_values = forms.CharField(
        label=_("has the answer (several: separated by commas)"), required=False
    )

    KIND_FIELDS = {
        "text": ["preset", "pattern", "pattern_message", "pattern_message_en", "max_length"],
        "textarea": ["max_length"],
        "integer": ["minimum", "maximum", "unit"],
        "number": ["minimum", "maximum", "unit"],
        "date": ["earliest", "earliest_date", "latest", "latest_date"],
        "choice": ["options", "widget"],
        "yesno": [],
        "agree": [],
        "group": ["min_rows", "max_rows"],
        "prefill": ["source"],
    }
    COMMON = ["label", "label_en", "help", "help_en", "section", "section_en", "name", "required",
              "condition_field", "condition_values"]  # fmt: skip

    def __init__(self, *args, kind: str, other_fields: list[tuple[str, str]], **kwargs):
        from .formbuilder import PREFILL_SOURCES, PRESETS

        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["preset"].choices = [(k, v[0]) for k, v in PRESETS.items()]
        self.fields["source"].choices = list(PREFILL_SOURCES.items())
        self.fields["condition_field"].choices = [("", _("always asked")), *other_fields]
        keep = set(self.COMMON) | set(self.KIND_FIELDS[kind])
        if kind == "prefill":
            keep -= {"required", "condition_field", "condition_values"}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]

    def spec(self, existing_options: list[dict] | None = None) -> dict:
        data = dict(self.cleaned_data)
        data["kind"] = self.kind
        if "options" in data:
            known = {o["label"]: o["value"] for o in existing_options or []}
            options = []
            for line in (data["options"] or "").splitlines():
                if not line.strip():
                    continue
                zh, _sep, en = line.partition("|")
                options.append(
                    {
                        "label": zh.strip(),
                        "label_en": en.strip(),
                        "value": known.get(zh.strip(), ""),
                    }
                )
            taken = {o["value"] for o in options if o["value"]}
            number = 1
            for option in options:
                while not option["value"] and f"option_{number}" in taken:
                    number += 1
                if not option["value"]:
                    option["value"] = f"option_{number}"
                    taken.add(option["value"])
            data["options"] = options
        if "condition_values" in data:
            data["condition_values"] = [
                v.strip()
                for v in (data["condition_values"] or "").replace("，", ",").split(",")
                if v.strip()
            ]
        return data
