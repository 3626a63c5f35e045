"""Forms of the designer: the guide in groups with each English twin beside its Chinese field, the
materials as rows, and the few fields a new item starts with."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import LicenceType, LifeEvent, ServiceMaterial, ServiceVersion

# The guide (办事指南) in the order a reader meets it; (Chinese field, English twin or None).
GUIDE_GROUPS = [
    (_("What it is"), [("name", "name_en"), ("kind", None), ("audience", None),
                       ("summary", "summary_en"), ("keywords", None)]),
    (_("Law and conditions"), [("legal_basis", "legal_basis_en"), ("conditions", "conditions_en")]),
    (_("Time and cost"), [("statutory_limit_days", None), ("promised_limit_days", None),
                          ("fee_free", None), ("fee_standard", "fee_standard_en"),
                          ("fee_basis", "fee_basis_en"), ("visits_required", None)]),
    (_("Channels and result"), [("channel_online", None), ("channel_counter", None),
                                ("channel_mail", None), ("online_depth", None),
                                ("result_type", None), ("result_name", "result_name_en"),
                                ("licence_type", None), ("delivery_pickup", None),
                                ("delivery_mail", None), ("delivery_electronic", None),
                                ("allows_tolerance", None), ("allows_commitment", None)]),
    (_("Where and whom to ask"), [("handling_location", "handling_location_en"),
                                  ("office_hours", "office_hours_en"), ("enquiry_phone", None),
                                  ("complaint_phone", None)]),
    (_("Life events"), [("life_events", None)]),
]  # fmt: skip
GUIDE_FIELDS = [name for _title, rows in GUIDE_GROUPS for pair in rows for name in pair if name]
TEXTAREAS = {"summary", "summary_en", "legal_basis", "legal_basis_en", "conditions",
             "conditions_en", "fee_standard", "fee_standard_en", "fee_basis", "fee_basis_en"}  # fmt: skip


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
    class Meta:
        model = ServiceMaterial
        fields = ["name", "name_en", "required", "tolerable", "form", "copies", "paper_format",
                  "source", "licence_type", "shared_by", "note", "note_en"]  # fmt: skip
        widgets = {"note": forms.Textarea(attrs={"rows": 2}),
                   "note_en": forms.Textarea(attrs={"rows": 2})}  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["licence_type"].queryset = LicenceType.objects.select_related("issuer")
        self.fields["licence_type"].label_from_instance = lambda t: f"{t.name}（{t.issuer.name}）"


MaterialFormSet = forms.modelformset_factory(
    ServiceMaterial, form=MaterialForm, extra=1, can_delete=True
)
