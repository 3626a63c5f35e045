"""The counter's forms. A clerk corrects what was mistyped where it stands, and nothing typed or
ticked is lost when something is refused: the desk keeps the number, name, phone and service; the
application form keeps its fields, the proxy, the queue ticket and the same-day acceptance tick."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import CitizenProfile, ProxyAuthorisation
from accounts.services import find_citizen_by_id_number
from accounts.validators import normalize_id_number, normalize_phone, validate_phone
from services.models import Bundle, ServiceItem
from services.schema import IdNumberField, SchemaForm

from . import picker

ENTER_ID_NUMBER = _("Enter the 18 characters of the ID number, e.g. 11010519491231002X.")


def id_number_field(**kwargs) -> IdNumberField:
    """An ID number as a card reader or a clerk types it: checked as registration checks it."""
    field = IdNumberField(max_length=24, error_messages={"required": ENTER_ID_NUMBER}, **kwargs)
    field.widget.attrs.update(autocomplete="off", inputmode="text")
    return field


class PhoneField(forms.CharField):
    """A mainland mobile number; spaces, dashes and a +86 prefix typed are removed."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value:
            validate_phone(value)
            value = normalize_phone(value)
        return value


class DeskForm(forms.Form):
    """Step 1 at the desk: the citizen by ID number, and the service.

    Looking up checks the number first, so a mistyped one is refused beside the field before
    anything else is asked. The number stays editable: changed after its result was shown, it is
    looked up again, with the name, phone and service typed so far kept. A citizen not on file is
    registered with the name and phone, checked when the clerk continues.
    """

    id_number = id_number_field(
        label=_("ID number"),
        help_text=_("Read the card or type the 18 characters, then press Enter."),
    )
    real_name = forms.CharField(
        label=_("Real name"),
        max_length=64,
        required=False,
        help_text=_("As printed on the ID card."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = PhoneField(
        label=_("Mobile phone"),
        required=False,
        help_text=_(
            "11 digits, e.g. 13800138000: the citizen is told about the case by text message."
        ),
    )
    service = forms.CharField(
        label=_("Service"),
        max_length=200,
        required=False,
        help_text=_(
            "Type its name, code or another word for it, then choose it from the list with the "
            "arrow keys and Enter."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    service_code = forms.CharField(required=False, widget=forms.HiddenInput)
    service_choice = forms.ChoiceField(
        label=_("Which service?"), required=False, widget=forms.RadioSelect
    )

    def __init__(
        self,
        *args,
        services: list[ServiceItem],
        bundles: list[Bundle] = (),
        continuing: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.services = services
        self.bundles = list(bundles)
        self.continuing = continuing
        self.number: str | None = None  # the valid number typed
        self.found: CitizenProfile | None = None
        self.relooked = False
        self.service_item: ServiceItem | Bundle | None = None  # a bundle (一件事) too
        self.candidates: list[ServiceItem | Bundle] = []
        # The number whose result the page showed, and whether it asked for name and phone.
        shown = normalize_id_number(self.data.get("looked_up", "")) if self.is_bound else ""
        self.shown_for = shown
        self._asked_new = self.is_bound and "real_name" in self.data

    def clean(self):
        cleaned = super().clean()
        self.number = cleaned.get("id_number") or None
        if self.number is None:
            return cleaned
        self.found = find_citizen_by_id_number(self.number)
        self.relooked = bool(self.shown_for) and self.shown_for != self.number
        if not self.continuing or self.relooked:
            return cleaned  # a lookup: its result is shown before anything else is asked
        if self.found is None:
            if not cleaned.get("real_name", "").strip():
                self.add_error(
                    "real_name",
                    ValidationError(
                        _("Enter the citizen's name as printed on the ID card."), code="required"
                    ),
                )
            if not cleaned.get("phone") and "phone" not in self.errors:
                self.add_error(
                    "phone",
                    ValidationError(
                        _("Enter the citizen's mobile number, 11 digits, e.g. 13800138000."),
                        code="required",
                    ),
                )
        self._pick_service(cleaned)
        return cleaned

    def _pick_service(self, cleaned: dict) -> None:
        text = cleaned.get("service", "").strip()
        pick = picker.pick_service(
            text, self.services, code=cleaned.get("service_code", ""), bundles=self.bundles
        )
        choice = cleaned.get("service_choice")
        if pick.service is None and choice:
            pick.service = next((s for s in pick.candidates if s.code == choice), None)
        self.service_item, self.candidates = pick.service, pick.candidates
        if pick.service is not None:
            return
        example = self.services[0].code if self.services else "C-1"
        if not text:
            message = _(
                "Type the service's name, code or another word for it, and choose it from the "
                "list, e.g. %(example)s."
            ) % {"example": example}
        elif pick.candidates:
            message = ngettext(
                "“%(text)s” fits %(count)d service: choose it below, or type its full name or "
                "its code.",
                "“%(text)s” fits %(count)d services: choose one below, or type the full name or "
                "the code.",
                len(pick.candidates),
            ) % {"text": text, "count": len(pick.candidates)}
        else:
            message = _(
                "No service at this counter is called “%(text)s”: type its name, its code or "
                "another word for it, e.g. %(example)s."
            ) % {"text": text, "example": example}
        self.add_error("service", ValidationError(message, code="no_service"))
        self.fields["service_choice"].choices = [
            (s.code, picker.label_of(s)) for s in pick.candidates
        ]

    def full_clean(self):
        # Candidates are known only once the text is read: the choice is checked against them.
        self.fields["service_choice"].choices = [
            (s.code, s.code) for s in [*self.services, *self.bundles]
        ]
        super().full_clean()

    # What the page shows, once the form is checked.

    @property
    def shows_result(self) -> bool:
        """A number has been looked up: the result, and the service, are shown."""
        return self.number is not None or bool(self.shown_for)

    @property
    def asks_new_citizen(self) -> bool:
        """Name and phone are asked: the number is on no one's file (or, while it is being
        corrected, they were asked already and keep what was typed)."""
        if self.number is not None:
            return self.found is None
        return self._asked_new

    @property
    def ready(self) -> bool:
        return (
            self.continuing
            and not self.errors
            and not self.relooked
            and self.service_item is not None
        )

    def citizen(self) -> dict:
        """The citizen as the application step files them."""
        if self.found is not None:
            return {
                "id_number": self.number,
                "real_name": self.found.real_name,
                "phone": self.found.phone,
            }
        return {
            "id_number": self.number,
            "real_name": self.cleaned_data["real_name"].strip(),
            "phone": self.cleaned_data["phone"],
        }


class PickupForm(forms.Form):
    """Result handover: the person by ID number, checked before it is looked up."""

    id_number = id_number_field(label=_("ID number"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["id_number"].widget.attrs["autofocus"] = True


# The application step: names with a hyphen never meet a schema field's (services.schema.NAME).
CITIZEN_FIELDS = {"id_number": "citizen-id_number", "real_name": "citizen-real_name",
                  "phone": "citizen-phone"}  # fmt: skip
AGENT_FIELDS = {"id_number": "agent-id_number", "real_name": "agent-real_name",
                "phone": "agent-phone", "relationship": "agent-relationship",
                "letter_checked": "agent-letter_checked", "letter": "agent-letter"}  # fmt: skip
TICKET, ACCEPT, COMMITMENT = "counter-queue_ticket", "counter-accept", "counter-commitment"


class CounterApplicationForm(SchemaForm):
    """Step 2: the service's own form, with what the counter adds around it, as one form so that
    every problem is listed at once in one error summary and shown beside its field.

    Before the service's fields, a citizen registered here and now (not on file) can have their ID
    number, name and phone corrected without starting over; after them, the proxy (帮办代办), the
    queue ticket and the same-day acceptance tick (当场受理). `citizen` is what the desk found or
    typed; `correctable` whether it may be changed here.
    """

    def __init__(
        self, schema, *args, citizen: dict, correctable: bool, commitment: str = "", **kwargs
    ):
        super().__init__(schema, *args, **kwargs)
        self.correctable = correctable
        if self.is_bound and correctable:
            # Not sent (a client that only files): the citizen as the desk gave them.
            self.data = self.data.copy()
            for short, name in CITIZEN_FIELDS.items():
                self.data.setdefault(name, citizen[short])
        own = dict(self.fields)
        self.fields = {}
        if correctable:
            self.fields[CITIZEN_FIELDS["id_number"]] = id_number_field(
                label=_("ID number"), initial=citizen["id_number"]
            )
            self.fields[CITIZEN_FIELDS["real_name"]] = forms.CharField(
                label=_("Real name"),
                max_length=64,
                initial=citizen["real_name"],
                error_messages={
                    "required": _("Enter the citizen's name as printed on the ID card.")
                },
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
            )
            self.fields[CITIZEN_FIELDS["phone"]] = PhoneField(
                label=_("Mobile phone"),
                initial=citizen["phone"],
                error_messages={
                    "required": _("Enter the citizen's mobile number, 11 digits, e.g. 13800138000.")
                },
            )
        self.fields.update(own)
        self.fields[AGENT_FIELDS["id_number"]] = id_number_field(
            label=_("Proxy's ID number"), required=False
        )
        self.fields[AGENT_FIELDS["real_name"]] = forms.CharField(
            label=_("Proxy's real name"),
            max_length=64,
            required=False,
            widget=forms.TextInput(attrs={"autocomplete": "off"}),
        )
        self.fields[AGENT_FIELDS["phone"]] = PhoneField(
            label=_("Proxy's mobile phone"), required=False
        )
        self.fields[AGENT_FIELDS["relationship"]] = forms.ChoiceField(
            label=_("The proxy is the citizen's"),
            required=False,
            choices=[("", _("Choose")), *ProxyAuthorisation.Relationship.choices],
        )
        self.fields[AGENT_FIELDS["letter_checked"]] = forms.BooleanField(
            label=_(
                "I checked the signed authorisation letter (授权委托书) and the citizen's ID card"
            ),
            required=False,
        )
        self.fields[AGENT_FIELDS["letter"]] = forms.FileField(
            label=_("Scan of the authorisation letter"),
            required=False,
            widget=forms.ClearableFileInput(
                attrs={"accept": "application/pdf,image/jpeg,image/png"}
            ),
        )
        self.fields[TICKET] = forms.CharField(
            label=_("Queue ticket"), max_length=20, required=False
        )
        self.fields[ACCEPT] = forms.BooleanField(
            label=_("Accept now (即收即受), if you may"), required=False
        )
        self.commitment_text = commitment
        if commitment:
            self.fields[COMMITMENT] = forms.BooleanField(
                label=_(
                    "The citizen read the commitment (告知承诺书) and signs it: the materials it "
                    "replaces are not collected"
                ),
                required=False,
            )

    def clean(self):
        cleaned = super().clean()
        agent = self.agent()
        if agent is not None and not agent["relationship"]:
            self.add_error(
                AGENT_FIELDS["relationship"],
                ValidationError(
                    _("Choose how the proxy is related to the citizen."), code="required"
                ),
            )
        typed = any(cleaned.get(AGENT_FIELDS[k]) for k in ("real_name", "phone", "relationship"))
        if (
            typed
            and not cleaned.get(AGENT_FIELDS["id_number"])
            and AGENT_FIELDS["id_number"] not in self.errors
        ):
            self.add_error(
                AGENT_FIELDS["id_number"],
                ValidationError(
                    _("Enter the proxy's ID number from their own ID card."), code="required"
                ),
            )
        return cleaned

    def _bound(self, group: dict[str, str]) -> dict:
        return {short: self[name] for short, name in group.items() if name in self.fields}

    @property
    def citizen_fields(self) -> dict:
        """The citizen's bound fields by short name (id_number, real_name, phone), when they may
        be corrected here."""
        return self._bound(CITIZEN_FIELDS)

    @property
    def agent_fields(self) -> dict:
        return self._bound(AGENT_FIELDS)

    @property
    def ticket_field(self):
        return self[TICKET]

    @property
    def accept_field(self):
        return self[ACCEPT]

    def citizen(self, fallback: dict) -> dict:
        """The citizen as corrected here, when every correction holds; otherwise `fallback`."""
        data = getattr(self, "cleaned_data", {})
        if not self.correctable or not all(name in data for name in CITIZEN_FIELDS.values()):
            return fallback
        return {short: data[name].strip() for short, name in CITIZEN_FIELDS.items()}

    def quiet(self) -> None:
        """Show what was typed without judging it yet: the clerk asked for one more entry."""
        self._errors = ErrorDict()

    def agent(self) -> dict | None:
        """The proxy as typed, or None when no one applies for the citizen."""
        data = getattr(self, "cleaned_data", {})
        number = data.get(AGENT_FIELDS["id_number"])
        if not number:
            return None
        return {
            "id_number": number,
            "real_name": (data.get(AGENT_FIELDS["real_name"]) or "").strip(),
            "phone": data.get(AGENT_FIELDS["phone"]) or "",
            "relationship": data.get(AGENT_FIELDS["relationship"]) or "",
            "letter_checked": bool(data.get(AGENT_FIELDS["letter_checked"])),
            "letter": data.get(AGENT_FIELDS["letter"]),
        }

    @property
    def queue_ticket(self) -> str:
        return (self.cleaned_data.get(TICKET) or "").strip()

    @property
    def accept(self) -> bool:
        return bool(self.cleaned_data.get(ACCEPT))

    @property
    def commitment_field(self):
        return self[COMMITMENT] if COMMITMENT in self.fields else None

    @property
    def commitment(self) -> bool:
        return bool(self.cleaned_data.get(COMMITMENT))

    def add_filing_errors(self, exc: ValidationError) -> None:
        """What filing refused, beside the field it concerns (the citizen's and the proxy's
        details, `agent.<field>`, the queue ticket, the service's own fields); the rest, such as
        a paper material missing, above the form."""
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        for key, messages in errors.items():
            group, _dot, short = key.rpartition(".")
            if group == "agent":
                target = AGENT_FIELDS.get(short)
            elif key == "queue_ticket":
                target = TICKET
            else:
                target = CITIZEN_FIELDS.get(key, key)
            if target in self.fields:
                self.add_error(target, messages)
            else:
                prefix = gettext("Proxy") + ": " if group == "agent" else ""
                for message in messages:
                    self.add_error(None, prefix + message)

    @property
    def citizen_errors(self) -> bool:
        return any(field.errors for field in self.citizen_fields.values())

    @property
    def agent_open(self) -> bool:
        """The proxy section is open when something was typed into it or refused there."""
        typed = self.is_bound and any(
            self.data.get(AGENT_FIELDS[k])
            for k in ("id_number", "real_name", "phone", "relationship")
        )
        return typed or any(field.errors for field in self.agent_fields.values())

    def get_context(self):
        context = super().get_context()
        context["summary_above"] = True  # the page lists every problem, the counter's own too
        return context
