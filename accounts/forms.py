"""Forms for the citizen's account pages. Validation of meaning lives in accounts.services."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from .models import Language

# How to choose a password the validators accept (settings.AUTH_PASSWORD_VALIDATORS).
PASSWORD_ADVICE = _(
    "Choose a password of at least 10 characters, not only digits and not a common one, "
    "e.g. three words and a number you will remember."
)


class LanguageSelect(forms.Select):
    """Each language named in itself (简体中文, English) and marked so, for a screen reader."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["attrs"]["lang"] = "zh-Hans" if value == "zh-hans" else value
        return option


def sms_code_field(*, help_text, label=None, required: bool = True) -> forms.CharField:
    """The box for the 6-digit code of a text message (accounts.sms_codes)."""
    return forms.CharField(
        label=label or _("Code from the text message"),
        max_length=12,
        required=required,
        help_text=help_text,
        error_messages={
            "required": _("Enter the 6-digit code we sent to your mobile phone."),
            "max_length": _("The code has 6 digits."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class RegistrationForm(forms.Form):
    """Registration: every problem is shown at once (the view also asks accounts.services what it
    would refuse, for the fields that passed here). Passwords are not sent back to the page."""

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("Letters, digits and @ . + - _ only; you sign in with it."),
        error_messages={
            "required": _("Choose a username to sign in with, e.g. zhangsan2026."),
            "max_length": _("The username is too long: use at most 150 characters."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    real_name = forms.CharField(
        label=_("Real name"),
        max_length=64,
        help_text=_("As printed on your resident identity card."),
        error_messages={
            "required": _("Enter your real name as printed on your identity card, e.g. 张三."),
            "max_length": _("The real name is too long: use at most 64 characters."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=20,
        help_text=_("18 characters; the last may be X."),
        error_messages={
            "required": _(
                "Enter the 18 characters of your ID number; the last may be X, "
                "e.g. 11010519491231002X."
            ),
            "max_length": _(
                "The ID number has 18 characters: remove spaces and extra signs, "
                "e.g. 11010519491231002X."
            ),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"}
        ),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        help_text=_("11 digits, e.g. 13800138000; we send case updates to it."),
        error_messages={
            "required": _("Enter your mobile phone number of 11 digits, e.g. 13800138000."),
            "max_length": _("Enter your mobile phone number of 11 digits, e.g. 13800138000."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    sms_code = sms_code_field(
        help_text=_(
            "Press “Send code” and type the 6 digits we send to this mobile number; "
            "the code is valid for 5 minutes."
        )
    )
    email = forms.EmailField(
        label=_("E-mail (optional)"),
        required=False,
        error_messages={
            "invalid": _("Enter the e-mail address like zhang.san@example.com, or leave it empty.")
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_("At least 10 characters, not only digits, not a common password."),
        error_messages={"required": PASSWORD_ADVICE},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        error_messages={"required": _("Enter the same password again under “Password again”.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("password1")
            and cleaned.get("password2")
            and cleaned["password1"] != cleaned["password2"]
        ):
            self.add_error(
                "password2",
                _("The two passwords differ: type the password of “Password” again here."),
            )
        return cleaned


class ProfileForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        error_messages={
            "required": _("Enter your mobile phone number of 11 digits, e.g. 13800138000."),
            "max_length": _("Enter your mobile phone number of 11 digits, e.g. 13800138000."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    sms_code = sms_code_field(
        label=_("Code from the text message (only for a new number)"),
        required=False,
        help_text=_(
            "To change your number, type the new one, press “Send code” and type the 6 digits "
            "we send to it."
        ),
    )
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        error_messages={
            "invalid": _("Enter the e-mail address like zhang.san@example.com, or leave it empty.")
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    preferred_language = forms.ChoiceField(
        label=_("Language"), choices=Language.choices, widget=LanguageSelect
    )
    elder_mode = forms.BooleanField(
        label=_("Elder mode (长辈模式): larger type and a simpler layout"), required=False
    )


class AuthorisationForm(forms.Form):
    """Authorise someone to apply for me (委托代办)."""

    agent_real_name = forms.CharField(
        label=_("Their real name"),
        max_length=64,
        error_messages={
            "required": _("Enter their real name as on their identity card, e.g. 张三."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    agent_id_number = forms.CharField(
        label=_("Their ID number"),
        max_length=20,
        help_text=_("They must have registered on the portal with this ID number."),
        error_messages={
            "required": _(
                "Enter the 18 characters of their ID number; the last may be X, "
                "e.g. 11010519491231002X."
            ),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    relationship = forms.ChoiceField(
        label=_("They are my"),
        choices=(),
        error_messages={"required": _("Choose how they are related to you, e.g. son or daughter.")},
    )
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        help_text=_("Leave empty for one year; at most three years."),
        error_messages={
            "invalid": _(
                "Enter the last day as year-month-day, e.g. 2027-06-30, or leave it empty."
            )
        },
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    shares_documents = forms.BooleanField(
        label=_("They may reuse my documents and e-licences on file"),
        required=False,
        help_text=_(
            "Unticked, they see only the applications they file for you, and upload what each "
            "needs. They never see your full ID number or phone."
        ),
    )

    def __init__(self, *args, **kwargs):
        from .models import ProxyAuthorisation

        super().__init__(*args, **kwargs)
        self.fields["relationship"].choices = [
            ("", _("Choose")),
            *ProxyAuthorisation.Relationship.choices,
        ]


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, finding the account through the keyed hash of the address: e-mail
    addresses are encrypted at rest (accounts.crypto) and cannot be compared in the database."""

    def get_users(self, email):
        from .crypto import lookup_hash
        from .models import User

        candidates = User._default_manager.filter(email_hash=lookup_hash(email), is_active=True)
        return (
            user
            for user in candidates
            if user.has_usable_password() and user.email.strip().lower() == email.strip().lower()
        )


class OrganisationAgentForm(forms.Form):
    """法人授权: the legal representative names an agent by account, for a period."""

    agent_username = forms.CharField(
        label=_("The agent's username"),
        max_length=150,
        required=False,
        help_text=_("Or leave it empty and give their ID number and real name below."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    agent_id_number = forms.CharField(
        label=_("The agent's ID number"),
        max_length=20,
        required=False,
        help_text=_("They must have registered on the portal with this ID number."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    agent_real_name = forms.CharField(
        label=_("The agent's real name"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    valid_from = forms.DateField(
        label=_("Valid from"),
        required=False,
        help_text=_("Leave empty for today."),
        error_messages={
            "invalid": _(
                "Enter the first day as year-month-day, e.g. 2027-01-31, or leave it empty."
            )
        },
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    valid_until = forms.DateField(
        label=_("Valid until"),
        help_text=_("The last day the agent may act for the organisation; at most three years."),
        error_messages={
            "required": _("Enter the last day as year-month-day, e.g. 2027-06-30."),
            "invalid": _("Enter the last day as year-month-day, e.g. 2027-06-30."),
        },
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class VerifyIdentityForm(forms.Form):
    """Real-name verification of an account registered before verification existed: the code
    sent to the phone on file."""

    sms_code = sms_code_field(
        help_text=_(
            "Press “Send code” and type the 6 digits we send; the code is valid for 5 minutes."
        )
    )
