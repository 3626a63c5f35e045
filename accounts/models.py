"""People, organisations, departments and who may act for whom.

A person (自然人) is a CitizenProfile; an account (User) is optional for them, because a counter clerk
registers walk-in citizens who never sign in. The profile is what cases point to, so counter cases
appear in a citizen's account as soon as they sign up with the same verified ID number.
"""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken

from .crypto import EncryptedEmailField, EncryptedTextField, lookup_hash
from .validators import mask_id_number, mask_phone, validate_phone, validate_uscc


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


STAMPS = ("access_stamp", "inbox_stamp")


class User(AbstractUser):
    """An account that signs in: citizen, company agent or staff.

    The language and elder-mode preferences sit on the account rather than the citizen profile because
    staff have them too (notifications are rendered in the recipient's language).
    """

    # Encrypted at rest like every personal identifier; `email_hash` finds an account by it
    # (the password reset), computed on save.
    email = EncryptedEmailField(_("email address"), blank=True)
    email_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS
    )
    elder_mode = models.BooleanField(
        _("elder mode (长辈模式)"),
        default=False,
        help_text=_("Larger type and a simpler layout on every page."),
    )
    closed_at = models.DateTimeField(
        _("account closed (注销)"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Closed by its holder: it cannot sign in and keeps no personal data."),
    )

    # Stamps of what is cached about the account (accounts/facts.py): a new value at every change
    # of its roles and object permissions, and of its inbox. Never written by save().
    access_stamp = models.BigIntegerField(default=0, editable=False)
    inbox_stamp = models.BigIntegerField(default=0, editable=False)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        swappable = "AUTH_USER_MODEL"

    def save(self, *args, **kwargs) -> None:
        """A new password ends every API token of the account, whichever path set it (the
        password change and reset pages, Django admin, `changepassword`): a leaked token must not
        outlive the password it was issued for. Django's set_password() keeps the new raw password
        in `_password` until the next save, which is how a change is told from any other save."""
        password_changed = self._password is not None and not self._state.adding
        # An account saved from a copy read before its roles changed must not put back the stamp
        # its cached facts were kept under (accounts/facts.py).
        if (
            not self._state.adding
            and not args
            and not kwargs.get("force_insert")
            and kwargs.get("update_fields") is None
        ):
            deferred = self.get_deferred_fields()  # as a plain save, loaded fields only
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key
                and field.name not in STAMPS
                and field.attname not in deferred
            ]
        self.email_hash = lookup_hash(self.email)
        kwargs["update_fields"] = with_hash(kwargs.get("update_fields"), "email")
        super().save(*args, **kwargs)
        if password_changed:
            # In the same transaction: a change rolled back keeps its tokens.
            ApiToken.objects.filter(user_id=self.pk).delete()


def with_hash(update_fields, field: str):
    """`save(update_fields=[...])` naming an encrypted field saves its lookup hash too."""
    if update_fields is None or field not in update_fields:
        return update_fields
    return [*update_fields, f"{field}_hash"]


class CitizenProfile(models.Model):
    """A natural person (自然人) with verified real-name data.

    The ID number is stored encrypted; `id_number_hash` (a keyed hash of the normalised number) is the
    only way to find a person by it, and is unique: one person, one profile, whether they registered
    online or were registered at a counter.
    """

    user = models.OneToOneField(
        User,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="citizen_profile",
    )
    real_name = models.CharField(_("real name"), max_length=64)
    id_number = EncryptedTextField(_("ID number"))
    id_number_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Encrypted at rest; `phone_hash` is the keyed hash of the normalised number, computed on save.
    phone = EncryptedTextField(_("mobile phone"), validators=[validate_phone])
    phone_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    registered_at_counter = models.BooleanField(_("registered at a counter"), default=False)
    # Real-name verification (实名认证, accounts.identity): when the identity provider confirmed the
    # name, the number and the phone, and which provider did. Empty for people registered before
    # verification existed and for walk-ins until they sign up: such a profile held by an account
    # is reclaimed by its verified owner (accounts.services.register_citizen).
    verified_at = models.DateTimeField(_("identity verified"), null=True, blank=True)
    verified_by = models.CharField(_("verified by (identity provider)"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("citizen profile")
        verbose_name_plural = _("citizen profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(id_number_hash__regex=r"^[0-9a-f]{64}$"),
                name="citizenprofile_id_hash_is_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.real_name} ({self.masked_id_number})"

    def save(self, *args, **kwargs) -> None:
        # The database cannot check an encrypted column's format any more; every save does.
        if self.phone:  # empty once a closed account's data is cleared (cases.retention)
            validate_phone(self.phone)
        self.phone_hash = lookup_hash(self.phone)
        kwargs["update_fields"] = with_hash(kwargs.get("update_fields"), "phone")
        super().save(*args, **kwargs)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class Department(models.Model):
    """A government body in the tree city → district → street, or a bureau under one of them."""

    class Kind(models.TextChoices):
        CITY = "city", _("city government")
        BUREAU = "bureau", _("bureau or agency")
        DISTRICT = "district", _("district government")
        STREET = "street", _("street office or township")
        CENTRE = "centre", _("government service centre")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("enquiry phone"), max_length=32, blank=True)
    # Named in every decision and notice that can be challenged (行政复议法, 行政诉讼法).
    review_body = models.CharField(
        _("administrative review body (复议机关)"),
        max_length=200,
        blank=True,
        help_text=_("Where applicants apply for administrative review, e.g. 杭州市人民政府."),
    )
    review_body_en = models.CharField(_("English review body"), max_length=300, blank=True)
    court = models.CharField(
        _("court for administrative litigation"),
        max_length=200,
        blank=True,
        help_text=_("The people's court with jurisdiction, e.g. 杭州市西湖区人民法院."),
    )
    court_en = models.CharField(_("English court"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")), name="department_not_own_parent"
            ),
            models.CheckConstraint(
                condition=Q(kind="city") | Q(parent__isnull=False),
                name="department_only_city_is_root",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The name in the page's language: the English name in English pages, when filled in."""
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name


class Role(models.TextChoices):
    """Staff roles in a department; the workflow's stages name the role that acts."""

    CASEWORKER = "caseworker", _("caseworker (承办人)")
    REVIEWER = "reviewer", _("reviewer (审核人)")
    APPROVER = "approver", _("approver (审批人)")
    COUNTER_CLERK = "counter_clerk", _("counter clerk (窗口人员)")
    DEPARTMENT_HEAD = "department_head", _("department head (负责人)")
    DEPARTMENT_ADMIN = "department_admin", _("department admin")


class StaffMembership(models.Model):
    """A staff user holds a role in a department; one user may hold several."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "department", "role"], name="staffmembership_unique_role"
            ),
        ]
        indexes = [models.Index(fields=["department", "role"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.department} · {self.get_role_display()}"


class Organisation(models.Model):
    """A legal person (法人) identified by its unified social credit code (统一社会信用代码)."""

    uscc = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField(_("name"), max_length=200)
    legal_representative = models.CharField(_("legal representative"), max_length=64)
    address = models.CharField(_("registered address"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.CheckConstraint(
                condition=Q(uscc__regex=r"^[0-9A-HJ-NP-RTUWXY]{18}$"),
                name="organisation_uscc_format",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OrganisationAgent(models.Model):
    """A person authorised to act for an organisation (法人经办人), for a period."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="agents",
    )
    user = models.ForeignKey(
        User, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="agencies"
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    is_legal_representative = models.BooleanField(_("is the legal representative"), default=False)
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("organisation agent")
        verbose_name_plural = _("organisation agents")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user"], name="organisationagent_unique_agent"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="organisationagent_valid_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.organisation}"


class PersonalDataAccess(models.Model):
    """One row each time a member of staff sees a person's data, and why (查询留痕): a case opened
    on the work page or through the API, a document downloaded or previewed, a look-up at a
    counter, a full number revealed. The person reads them on “谁查看了我的信息” (staff named by
    department and role, never by name)."""

    class Action(models.TextChoices):
        VIEWED = "viewed", _("viewed the application")
        DOCUMENT = "document", _("opened a document of the application")
        LOOKED_UP = "looked_up", _("looked you up at a counter")
        REVEALED = "revealed", _("revealed a full number")

    viewer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(CitizenProfile, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(
        _("what was done"), max_length=16, choices=Action.choices, default=Action.REVEALED
    )
    role = models.CharField(_("in the role of"), max_length=20, blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    case_number = models.CharField(_("application"), max_length=64, blank=True)
    field = models.CharField(max_length=32, blank=True)
    purpose = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")
        indexes = [models.Index(fields=["profile", "-at"], name="personaldataaccess_profile_at")]

    def __str__(self) -> str:
        return f"{self.viewer_id} {self.action} {self.field} of {self.profile_id}"


class ProxyAuthorisation(models.Model):
    """A person's authorisation (委托) for someone else to apply on their behalf (帮办代办).

    The principal grants it online from their own account, or a counter clerk records it after
    checking the signed authorisation letter (授权委托书) and both ID cards; the letter's scan is kept.
    Cases filed under it name both people, and both can follow them.
    """

    class Relationship(models.TextChoices):
        SPOUSE = "spouse", _("spouse")
        CHILD = "child", _("son or daughter")
        PARENT = "parent", _("parent")
        RELATIVE = "relative", _("other relative")
        GUARDIAN = "guardian", _("guardian")
        AGENT = "agent", _("agent (not a relative)")

    class Channel(models.TextChoices):
        ONLINE = "online", _("granted online by the principal")
        COUNTER = "counter", _("letter checked at a counter")

    principal = models.ForeignKey(
        CitizenProfile,
        verbose_name=_("principal (the person applying)"),
        on_delete=models.PROTECT,
        related_name="authorisations_given",
    )
    agent = models.ForeignKey(
        CitizenProfile,
        verbose_name=_("agent (who acts for them)"),
        on_delete=models.PROTECT,
        related_name="authorisations_held",
    )
    relationship = models.CharField(_("relationship"), max_length=16, choices=Relationship.choices)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    channel = models.CharField(_("recorded"), max_length=8, choices=Channel.choices)
    shares_documents = models.BooleanField(
        _("the proxy may reuse my documents and e-licences on file"),
        default=False,
        help_text=_(
            "Off: the proxy sees only the applications they file for you and their documents, "
            "and uploads what an application needs."
        ),
    )
    recorded_by = models.ForeignKey(
        User, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    # The letter's scan, stored like any upload (cases/uploads.py): outside the web root.
    letter_stored_name = models.CharField(max_length=200, blank=True, editable=False)
    letter_original_name = models.CharField(
        _("scan of the authorisation letter"), max_length=255, blank=True
    )
    letter_content_type = models.CharField(max_length=64, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("proxy authorisation (委托)")
        verbose_name_plural = _("proxy authorisations (委托)")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="proxyauthorisation_valid_period",
            ),
            models.CheckConstraint(
                condition=~Q(principal=models.F("agent")), name="proxyauthorisation_not_self"
            ),
        ]
        indexes = [models.Index(fields=["agent", "valid_until"])]

    def __str__(self) -> str:
        return f"{self.agent.real_name} → {self.principal.real_name}"

    @property
    def original_name(self) -> str:
        return self.letter_original_name

    @property
    def stored_name(self) -> str:
        return self.letter_stored_name

    @property
    def content_type(self) -> str:
        return self.letter_content_type


class ApiToken(AbstractAuthToken):
    """An API token (django-rest-knox, KNOX_TOKEN_MODEL): only its hash is stored, it expires, and
    it records whether it was issued with a second factor. A token issued without one is refused
    whenever its holder must use 2FA (accounts.tokens.TokenAuthentication), so tokens from before
    STAFF_2FA was switched on, or from before the account became staff, stop working."""

    second_factor = models.BooleanField(_("issued with an authenticator code"), default=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")


class EnrolmentCode(models.Model):
    """The second proof a staff member needs to set up an authenticator app (绑定验证器), besides
    their password: issued by an admin, shown once, stored only as a keyed hash, single use and
    short-lived. A few wrong codes void the account's outstanding codes."""

    user = models.ForeignKey(
        User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="enrolment_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    issued_by = models.ForeignKey(
        User,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("issued"), db_default=Now())
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("authenticator enrolment code")
        verbose_name_plural = _("authenticator enrolment codes")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["user", "expires_at"],
                condition=Q(used_at__isnull=True),
                name="enrolmentcode_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.created_at:%Y-%m-%d %H:%M})"


class PopulationRecord(models.Model):
    """A person in the demo population register (人口库) that the demo identity provider checks
    (accounts.identity.DemoIdentityProvider): the name on their ID card and the mobile number
    registered to them (实名手机号). Numbers and phones are kept only as keyed hashes, as nothing
    here needs them back. Seeded by the demo data; a production instance names another provider
    and leaves this table empty."""

    id_number_hash = models.CharField(max_length=64, unique=True, editable=False)
    real_name = models.CharField(_("real name"), max_length=64)
    phone_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("demo population register entry")
        verbose_name_plural = _("demo population register")

    def __str__(self) -> str:
        return self.real_name


class SmsCode(models.Model):
    """A 6-digit code sent by text message to prove that a phone is in the sender's hand
    (短信验证码), for one purpose. Only a keyed hash of the code (bound to the phone and the
    purpose) is kept, it expires after a few minutes, it is used once, and a few wrong tries void
    it (accounts.sms_codes). A new code for the same phone and purpose replaces the earlier one."""

    class Purpose(models.TextChoices):
        REGISTER = "register", _("registration")
        CHANGE_PHONE = "change_phone", _("change of mobile phone")
        VERIFY = "verify", _("real-name verification of an account")

    phone_hash = models.CharField(max_length=64, editable=False)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("sent"), db_default=Now())
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("text message code")
        verbose_name_plural = _("text message codes")
        indexes = [
            models.Index(
                fields=["phone_hash", "purpose"],
                condition=Q(used_at__isnull=True),
                name="smscode_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} ({self.created_at:%Y-%m-%d %H:%M})"
