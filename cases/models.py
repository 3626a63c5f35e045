"""Applications (办件) and everything that happens to them.

Only the engine (the cases/workflow/ package) creates or changes these rows; views, the API and tasks call
them. The event trail is append-only: the model refuses updates and deletes, and database triggers
refuse them too (migration 0002).
"""

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Now
from django.utils.translation import gettext_lazy as _

from accounts.crypto import EncryptedJSONField, EncryptedTextField
from accounts.models import CitizenProfile, Department, Organisation, ProxyAuthorisation
from cases.uploads import private_storage
from services.models import (
    LicenceType,
    OuterState,
    ServiceItem,
    ServiceMaterial,
    ServiceVersion,
    WorkflowStage,
)

OPEN_STATES = [
    OuterState.SUBMITTED,
    OuterState.ACCEPTED,
    OuterState.SUPPLEMENT_REQUESTED,
    OuterState.SUSPENDED,
    OuterState.APPROVED,
]
CLOSED_STATES = [
    OuterState.NOT_ACCEPTED,
    OuterState.REJECTED,
    OuterState.CONCLUDED,
    OuterState.WITHDRAWN,
]


class Channel(models.TextChoices):
    ONLINE = "online", _("online")
    COUNTER = "counter", _("at a counter")
    API = "api", _("through the API")
    PROACTIVE = "proactive", _("without applying (免申即享)")


class Case(models.Model):
    """An application (办件): filed under one frozen service version, by or for one applicant."""

    number = models.CharField(_("application number"), max_length=100, unique=True)
    service = models.ForeignKey(
        ServiceItem, verbose_name=_("service"), on_delete=models.PROTECT, related_name="cases"
    )
    service_version = models.ForeignKey(
        ServiceVersion,
        verbose_name=_("service version"),
        on_delete=models.PROTECT,
        related_name="cases",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="cases"
    )
    acting_department = models.ForeignKey(
        Department,
        verbose_name=_("acting department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="acting_cases",
        help_text=_("The department whose staff work the current stage (own, parent or fixed)."),
    )
    applicant = models.ForeignKey(
        CitizenProfile,
        verbose_name=_("applicant"),
        on_delete=models.PROTECT,
        related_name="cases",
        help_text=_("The person applying, or the agent of the organisation applying."),
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("applying organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        related_name="filed_cases",
        help_text=_("The account that filed it: the applicant, a proxy or a counter clerk."),
    )
    agent = models.ForeignKey(
        CitizenProfile,
        verbose_name=_("proxy (帮办代办)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases_as_agent",
        help_text=_("The person who applied on the applicant's behalf, under an authorisation."),
    )
    authorisation = models.ForeignKey(
        ProxyAuthorisation,
        verbose_name=_("authorisation (委托)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    # Encrypted at rest as a whole: prefilled ID numbers and phones, and whatever else the form asks.
    data = EncryptedJSONField(_("form data"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=24, choices=OuterState.choices, default=OuterState.DRAFT
    )
    state_before_pause = models.CharField(
        max_length=24, choices=OuterState.choices, blank=True, editable=False
    )
    stage = models.ForeignKey(
        WorkflowStage,
        verbose_name=_("stage"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    intake_due_date = models.DateField(
        _("accept or request documents by"),
        null=True,
        blank=True,
        help_text=_("Five working days after receipt (行政许可法 §32)."),
    )
    due_date = models.DateField(_("decision due"), null=True, blank=True)
    due_date_provisional = models.BooleanField(default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    paused_since = models.DateField(
        _("clock paused since"),
        null=True,
        blank=True,
        help_text=_("Requests for documents and special procedures do not count (行政许可法 §45)."),
    )
    extended_days = models.PositiveSmallIntegerField(_("extension in working days"), default=0)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)
    decision_legal_basis = models.TextField(_("legal basis of the decision"), blank=True)
    # NULL, not "": cases filed without a key must not collide in the unique constraint below.
    materials_received = models.JSONField(
        _("paper materials received (收件清单)"),
        default=list,
        blank=True,
        help_text=_("Ids of the materials handed over on paper at a counter."),
    )
    queue_ticket = models.CharField(_("queue ticket"), max_length=20, blank=True)
    materials_owed_by = models.DateField(
        _("materials accepted to follow due (容缺补齐期限)"),
        null=True,
        blank=True,
        help_text=_("Set at submission when materials may follow (容缺受理)."),
    )
    commitment_signed_at = models.DateTimeField(
        _("commitment signed (告知承诺)"), null=True, blank=True
    )
    # Outcome figures, written once when the decision is made (public statistics, issue 9).
    paused_working_days = models.PositiveSmallIntegerField(default=0, editable=False)
    working_days_used = models.PositiveSmallIntegerField(
        _("working days used"), null=True, blank=True, editable=False
    )
    decided_on_time = models.BooleanField(_("decided on time"), null=True, editable=False)
    visits = models.PositiveSmallIntegerField(
        _("visits to a counter"),
        default=0,
        editable=False,
        help_text=_("Trips the applicant made: filing or collecting at a counter (最多跑一次)."),
    )
    # Retention (cases/retention.py). The row itself stays: its trail cannot be cut.
    draft_warned_at = models.DateTimeField(
        _("told the draft will be removed"), null=True, blank=True, editable=False
    )
    purged_at = models.DateTimeField(
        _("personal data removed"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "A draft left untouched (then hidden everywhere), or a closed case past its service's "
            "retention period (archived): form data, documents and copies of the applicant's data "
            "are gone; the figures and the trail stay."
        ),
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, editable=False)  # noqa: DJ001
    row_version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(_("created"), db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at"]
        permissions = [
            # A django-guardian object permission: an expert of another department consulted on
            # this one case (征求意见 / 会签); see cases.access.
            ("consult_case", _("give an opinion on this application when consulted")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["filed_by", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="case_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(state="draft") | Q(received_at__isnull=False),
                name="case_submitted_has_receipt_time",
            ),
        ]
        indexes = [
            models.Index(fields=["applicant", "-created_at"], name="case_applicant_recent"),
            # The statistics refresh reads recent months by these two.
            models.Index(fields=["received_at"], name="case_received_at"),
            models.Index(fields=["decided_at"], name="case_decided_at"),
            # The retention sweeps: drafts by when they were last touched, closed cases by when.
            models.Index(
                fields=["updated_at"],
                condition=Q(state="draft", purged_at__isnull=True),
                name="case_draft_retention",
            ),
            models.Index(
                fields=["closed_at"],
                condition=Q(closed_at__isnull=False, purged_at__isnull=True),
                name="case_closed_retention",
            ),
            models.Index(
                fields=["agent", "-created_at"],
                condition=Q(agent__isnull=False),
                name="case_agent_recent",
            ),
            models.Index(
                fields=["department", "due_date"],
                condition=Q(
                    state__in=[
                        "submitted",
                        "accepted",
                        "supplement_requested",
                        "suspended",
                        "approved",
                    ]
                ),
                name="case_open_by_due_date",
            ),
            models.Index(
                fields=["acting_department", "due_date"],
                condition=Q(
                    state__in=[
                        "submitted",
                        "accepted",
                        "supplement_requested",
                        "suspended",
                        "approved",
                    ]
                ),
                name="case_open_by_acting_dept",
            ),
            # The deadline sweep (cases/deadline_sql.py): running cases by due date (due soon and
            # overdue), silent intake by its date (deemed accepted, §32), materials owed (容缺).
            # The first holds the case's id beside the date and the running predicate as its
            # condition: the sweep's candidates come from index-only scans, no case row read.
            models.Index(
                fields=["due_date"],
                include=["id"],
                condition=Q(state__in=["accepted", "approved"], paused_since__isnull=True),
                name="case_sweep_running_due",
            ),
            models.Index(
                fields=["intake_due_date"],
                condition=Q(state="submitted", accepted_at__isnull=True),
                name="case_sweep_intake_due",
            ),
            models.Index(
                fields=["materials_owed_by"],
                condition=Q(materials_owed_by__isnull=False),
                name="case_sweep_materials_owed",
            ),
            # "My applications": the third arm of cases.access.cases_visible_to_applicant (what an
            # account filed, not at a counter), beside case_applicant_recent and case_agent_recent.
            models.Index(
                fields=["filed_by", "-created_at"],
                condition=~Q(channel="counter"),
                name="case_filed_online_recent",
            ),
            # The caseworker queue's order (cases.selectors.QUEUE_KEY, cases.keyset): a page is a
            # walk along this index from its cursor, filtered by department.
            models.Index(
                Coalesce("due_date", "intake_due_date", models.Value(dt.date(9999, 12, 31))),
                "id",
                condition=Q(state__in=OPEN_STATES),
                name="case_queue_by_deadline",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def is_draft(self) -> bool:
        return self.state == OuterState.DRAFT

    @property
    def is_archived(self) -> bool:
        """A closed case whose personal data was removed after its retention period."""
        return self.purged_at is not None and not self.is_draft


class CaseNumberCounter(models.Model):
    """The last sequence number given per key (service and day, licence type and year, document
    kind and year); incremented under a row lock."""

    key = models.CharField(max_length=120, unique=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.value}"

    @classmethod
    def next_value(cls, key: str) -> int:
        """The next number for `key`, unique under concurrency: one statement (INSERT ... ON
        CONFLICT DO UPDATE ... RETURNING) creates the counter on the first number of its key or
        increments it, and reads it; the counter row stays locked until the surrounding
        transaction commits, so a concurrent filing waits and takes the next number (PostgreSQL;
        SQLite from 3.35 has the same statement). Keys other than case numbers carry a prefix with
        a colon (service codes cannot contain one), so the sequences never meet."""
        from django.db import connection

        table = connection.ops.quote_name(cls._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (key, value) VALUES (%s, 1) "  # noqa: S608
                f"ON CONFLICT (key) DO UPDATE SET value = {table}.value + 1 RETURNING value",
                [key],
            )
            return cursor.fetchone()[0]

    @classmethod
    def reserve(cls, wanted: dict[str, int]) -> dict[str, int]:
        """Blocks of `wanted[key]` consecutive numbers per key, in one statement whatever the number
        of keys (INSERT ... ON CONFLICT DO UPDATE ... RETURNING: the counters are created when
        missing and stay locked until the transaction commits); returns each block's first."""
        from django.db import connection, transaction

        if not wanted:
            return {}
        table = connection.ops.quote_name(cls._meta.db_table)
        keys = sorted(wanted)  # always in the same order: two sweeps never deadlock on counters
        rows = ", ".join(["(%s, %s)"] * len(keys))
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (key, value) VALUES {rows} "  # noqa: S608
                f"ON CONFLICT (key) DO UPDATE SET value = {table}.value + excluded.value "
                "RETURNING key, value",
                [part for key in keys for part in (key, wanted[key])],
            )
            last = dict(cursor.fetchall())
        return {key: last[key] - wanted[key] + 1 for key in keys}


class StoredDocument(models.Model):
    """What every stored upload records (cases/uploads.py): the random name it is stored under
    (sealed), the name it came with, size, hash, the type sniffed from its bytes, and who gave it."""

    stored_name = models.CharField(max_length=200, editable=False)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["application/pdf", "image/jpeg", "image/png"]),
                name="%(class)s_allowed_type",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name


class Attachment(StoredDocument):
    """A document for one material of a case: uploaded, reused from an earlier case, or an e-licence."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    material = models.ForeignKey(ServiceMaterial, on_delete=models.PROTECT, related_name="+")
    reused_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    for_supplement = models.ForeignKey(
        "SupplementRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
    )

    class Meta(StoredDocument.Meta):
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["material__order", "created_at"]


class SupplementRequest(models.Model):
    """A request for missing documents (补正告知): everything missing in one notice, with a deadline."""

    class State(models.TextChoices):
        OPEN = "open", _("waiting for the applicant")
        ANSWERED = "answered", _("answered")
        EXPIRED = "expired", _("deadline passed")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supplement_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    materials = models.ManyToManyField(ServiceMaterial, related_name="+", blank=True)
    note = models.TextField(_("what is missing"))
    deadline = models.DateField(_("answer by"))
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(db_default=Now())
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("request for documents")
        verbose_name_plural = _("requests for documents")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(state="open"), name="supplement_one_open_per_case"
            ),
        ]
        indexes = [
            models.Index(
                fields=["deadline"], condition=Q(state="open"), name="supplement_open_deadline"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.deadline}"


class Licence(models.Model):
    """An e-licence (电子证照) issued to a holder; reusable as a material in later applications.

    The holder (持证主体) is a person, or an organisation when a company applied; then `agent` is
    the person who applied for it (经办人). `content` is what the licence certifies (label and
    value pairs taken from the form, per licence type). It ends by revocation or annulment with a
    reason (the department head), or by a later licence that supersedes it (a change application).
    """

    class Ending(models.TextChoices):
        REVOKED = "revoked", _("revoked (吊销)")
        ANNULLED = "annulled", _("annulled (撤销)")

    number = models.CharField(_("licence number"), max_length=64, unique=True)
    licence_type = models.ForeignKey(LicenceType, on_delete=models.PROTECT, related_name="licences")
    holder = models.ForeignKey(
        CitizenProfile, on_delete=models.PROTECT, null=True, blank=True, related_name="licences"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="licences"
    )
    agent = models.ForeignKey(
        CitizenProfile,
        verbose_name=_("applied for by (经办人)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="licences_applied_for",
    )
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="licences"
    )
    content = models.JSONField(
        _("what it certifies"),
        default=list,
        blank=True,
        help_text=_('[{"field": ..., "label": ..., "label_en": ..., "value": ...}], in order.'),
    )
    verification_code = models.CharField(max_length=32, unique=True)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_kind = models.CharField(  # empty while in force
        _("how it ended"), max_length=10, choices=Ending.choices, blank=True
    )
    revocation_reason = models.TextField(_("why it was revoked"), blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self",
        verbose_name=_("superseded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supersedes",
    )
    file = models.FileField(
        _("signed certificate"), upload_to="licences/%Y/", storage=private_storage, blank=True
    )
    sha256 = models.CharField(_("SHA-256 of the signed certificate"), max_length=64, blank=True)
    issued_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("e-licence")
        verbose_name_plural = _("e-licences")
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(holder__isnull=False) | Q(organisation__isnull=False),
                name="licence_has_holder",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def holder_name(self) -> str:
        """The 持证主体's name: the organisation's, else the person's."""
        if self.organisation_id:
            return self.organisation.name
        return self.holder.real_name if self.holder_id else ""


class Event(models.Model):
    """One entry of a case's append-only trail: who did what, when, from which state to which, why.

    Each event carries the hash of the one before, so a changed or removed row shows.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    sequence = models.PositiveIntegerField()
    action = models.CharField(max_length=32)
    outcome = models.CharField(
        max_length=24, blank=True, help_text=_("The transition's outcome, when it was one.")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_role = models.CharField(max_length=20, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    from_stage = models.CharField(max_length=32, blank=True)
    to_stage = models.CharField(max_length=32, blank=True)
    opinion = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["case", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["case", "sequence"], name="event_unique_sequence"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.sequence} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Events are append-only; they are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Events are append-only; they are never deleted.")

    def compute_hash(self) -> str:
        extra = {"outcome": self.outcome} if self.outcome else {}  # events before it had none
        body = json.dumps(
            {
                **extra,
                "case": self.case_id,
                "sequence": self.sequence,
                "action": self.action,
                "actor": self.actor_id,
                "actor_role": self.actor_role,
                "channel": self.channel,
                "from_state": self.from_state,
                "to_state": self.to_state,
                "from_stage": self.from_stage,
                "to_stage": self.to_stage,
                "opinion": self.opinion,
                "details": self.details,
                "at": self.at.isoformat(),
                "previous": self.previous_hash,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(body.encode()).hexdigest()


class CaseChainHead(models.Model):
    """Where a case's trail ends: the sequence and hash of its last event, written by
    `append_event` in the same transaction. Events removed from the end of a trail leave a head
    that points past them, so `verify_trail` sees the cut (a chain alone cannot show a lost tail).
    The database refuses TRUNCATE here and a head that moves backwards (migration 0015)."""

    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="chain_head"
    )
    sequence = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("chain head")
        verbose_name_plural = _("chain heads")

    def __str__(self) -> str:
        return f"{self.case_id}#{self.sequence}"


class TrailDigest(models.Model):
    """A day's signed digest of every case's chain head (cases/trail.py, `manage.py trail_digest`).

    `digest` is SHA-256 over the sorted (case id, sequence, hash) of each case's last event at or
    before `as_of`; `signature` is HMAC-SHA256 of the date, `as_of`, the count and the digest under
    TRAIL_DIGEST_KEY. Printed and kept elsewhere, it shows any history rewritten since."""

    date = models.DateField(_("date"), unique=True)
    as_of = models.DateTimeField(_("heads as of"))
    case_count = models.PositiveIntegerField(_("cases covered"))
    digest = models.CharField(_("digest"), max_length=64)
    signature = models.CharField(_("signature"), max_length=64)
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("trail digest")
        verbose_name_plural = _("trail digests")
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date} {self.digest[:12]}"


class OpinionPhrase(models.Model):
    """A reusable opinion text (常用意见) for a department, optionally for one service or transition."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="opinion_phrases"
    )
    service = models.ForeignKey(
        ServiceItem, on_delete=models.CASCADE, null=True, blank=True, related_name="opinion_phrases"
    )
    transition = models.SlugField(
        _("for transition"),
        max_length=32,
        blank=True,
        help_text=_("Empty: offered for every action."),
    )
    text = models.CharField(_("text"), max_length=500)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("opinion phrase")
        verbose_name_plural = _("opinion phrases")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.text[:40]


class OfficialDocument(models.Model):
    """An official document a legal step produced (受理通知书 ...), numbered by kind and year; the
    engine's effects write these in the transaction of the step, so none is ever missing.

    `content` is everything the document says, frozen when it is issued (the recipient, the
    materials, the deadline, the reason, the article, the rights): the PDF is made from it, signed
    with the department's seal certificate and stored once, and its SHA-256 is what
    `verify_document` and /verify/ compare a file with.
    """

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("receipt (收件凭证)")
        ACCEPTANCE_NOTICE = "acceptance_notice", _("acceptance notice (受理通知书)")
        SUPPLEMENT_NOTICE = "supplement_notice", _("request for documents (补正告知书)")
        NOT_ACCEPTED_NOTICE = "not_accepted_notice", _("notice of non-acceptance (不予受理通知书)")
        EXTENSION_NOTICE = "extension_notice", _("extension notice (延期通知书)")
        SUSPENSION_NOTICE = "suspension_notice", _("special procedure notice (特别程序告知书)")
        DECISION = "decision", _("decision (决定书)")
        LICENCE = "licence", _("e-licence")
        COMMITMENT = "commitment", _("signed commitment (告知承诺书)")
        PAYMENT_RECEIPT = "payment_receipt", _("payment receipt (缴费凭证)")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    number = models.CharField(_("document number"), max_length=64, unique=True)
    event = models.ForeignKey("Event", on_delete=models.PROTECT, null=True, related_name="+")
    department = models.ForeignKey(
        Department,
        verbose_name=_("issuing department"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    title = models.CharField(_("title"), max_length=100, blank=True)
    content = models.JSONField(_("what it says"), default=dict, blank=True)
    file = models.FileField(
        _("signed PDF"), upload_to="documents/%Y/", storage=private_storage, blank=True
    )
    sha256 = models.CharField(_("SHA-256 of the signed PDF"), max_length=64, blank=True)
    rendered_at = models.DateTimeField(_("made"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued"), db_default=Now())

    class Meta:
        verbose_name = _("official document")
        verbose_name_plural = _("official documents")
        ordering = ["issued_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind", "event"], name="document_once_per_event"
            ),
        ]
        indexes = [
            models.Index(
                fields=["issued_at"], condition=Q(sha256=""), name="document_not_yet_made"
            ),
            models.Index(fields=["sha256"], name="document_sha256"),
        ]

    def __str__(self) -> str:
        return self.number


class Decision(models.Model):
    """A decision as a record (DESIGN "Official documents and decisions"): who decided, when, the
    outcome, the reason, the article applied (chosen from the service's articles, its text copied
    so later edits of the article do not change what was decided), the dates the result has, and
    the applicant's rights. Written in the transaction of the deciding transition; taken back
    (`withdrawn_at`) when the approval is returned for review."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="decisions")
    event = models.OneToOneField("Event", on_delete=models.PROTECT, related_name="decision")
    outcome = models.CharField(_("outcome"), max_length=24)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_by_role = models.CharField(_("in the role of"), max_length=20, blank=True)
    decided_at = models.DateTimeField(_("decided"))
    reason = models.TextField(_("reason"), blank=True)
    article = models.ForeignKey(
        "services.LegalArticle",
        verbose_name=_("article applied"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    legal_basis = models.TextField(_("legal basis"), blank=True)
    legal_basis_en = models.TextField(_("English legal basis"), blank=True)
    effective_from = models.DateField(_("in force from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    automated = models.BooleanField(_("made automatically"), default=False)
    rights = models.JSONField(
        _("the applicant's rights"),
        default=dict,
        blank=True,
        help_text=_("Review body and court with their time limits, when the decision refuses."),
    )
    withdrawn_at = models.DateTimeField(_("taken back"), null=True, blank=True)
    # An automated decision replaced by a caseworker's after a human review (PIPL art. 24).
    superseded_at = models.DateTimeField(_("replaced"), null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self",
        verbose_name=_("replaced by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["-decided_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.outcome}"


class Verification(models.Model):
    """核查: after a decision made on a signed commitment (告知承诺), the department checks that
    what was promised is true, by a deadline. A false commitment lets the department head revoke
    the decision's licence, with a reason."""

    class State(models.TextChoices):
        OPEN = "open", _("to check")
        CONFIRMED = "confirmed", _("commitment true")
        FALSE = "false", _("commitment false")

    class Kind(models.TextChoices):
        COMMITMENT = "commitment", _("commitment (告知承诺)")
        AUTOMATED = "automated", _("sampled automated approval (秒批事后核查)")

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="verification")
    kind = models.CharField(
        _("what is checked"), max_length=12, choices=Kind.choices, default=Kind.COMMITMENT
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    due_date = models.DateField(_("check by"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    finding = models.TextField(_("what the check found"), blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("verification of a commitment (核查)")
        verbose_name_plural = _("verifications of commitments (核查)")
        ordering = ["due_date", "pk"]

    def __str__(self) -> str:
        return f"{self.case.number} · {self.get_state_display()}"


class AutoDecisionCheck(models.Model):
    """秒批 at submission: each rule of the service's policy and whether it held for this case, as
    staff and the applicant read them (the values read are not kept: only the rule and the result).
    `approved`: every rule held and the system approved and concluded the case; otherwise the case
    went to the normal queue with the failed rules shown to staff."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="auto_check")
    approved = models.BooleanField(_("approved automatically"))
    # Encrypted: a rule's label or value may say something about the applicant (age, residence).
    results = EncryptedJSONField(_("rules and results"), default=list, blank=True)
    sampled = models.BooleanField(_("sampled for a post-check (事后核查)"), default=False)
    checked_at = models.DateTimeField(_("checked"), db_default=Now())

    class Meta:
        verbose_name = _("automatic approval check (秒批)")
        verbose_name_plural = _("automatic approval checks (秒批)")
        indexes = [models.Index(fields=["approved", "checked_at"], name="autocheck_by_result")]

    def __str__(self) -> str:
        return f"{self.case_id} {'approved' if self.approved else 'to the queue'}"


class HumanReview(models.Model):
    """The applicant's request that a person review an automated decision (PIPL art. 24), within
    AUTO_DECISION_REVIEW_DAYS; a caseworker of the department decides, and that decision replaces
    the automated one (which is marked superseded)."""

    class State(models.TextChoices):
        OPEN = "open", _("waiting for a caseworker")
        DECIDED = "decided", _("decided by a caseworker")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="human_reviews")
    automated_decision = models.OneToOneField(
        Decision, on_delete=models.PROTECT, related_name="human_review"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    reason = EncryptedTextField(_("why the applicant asks for a person"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("asked"), db_default=Now())
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    decision = models.OneToOneField(
        Decision, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("human review of an automated decision")
        verbose_name_plural = _("human reviews of automated decisions")
        ordering = ["requested_at", "pk"]
        indexes = [
            models.Index(
                fields=["department", "requested_at"],
                condition=Q(state="open"),
                name="humanreview_open_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.get_state_display()}"


class Consultation(models.Model):
    """A caseworker asks a member of another department for an opinion on one case (征求意见 /
    会签). The expert sees that case only (a django-guardian object permission) until they answer
    or the grant is withdrawn; their opinion lands in the trail."""

    class State(models.TextChoices):
        OPEN = "open", _("waiting for the opinion")
        ANSWERED = "answered", _("answered")
        WITHDRAWN = "withdrawn", _("withdrawn")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="consultations")
    expert = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    question = models.TextField(_("question"))
    opinion = models.TextField(_("opinion"), blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(db_default=Now())
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("consultation (征求意见)")
        verbose_name_plural = _("consultations (征求意见)")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "expert"], condition=Q(state="open"), name="consultation_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.expert_id}"


class NotificationEvent(models.TextChoices):
    """What people are told about (DESIGN "Notifications")."""

    SUBMITTED = "submitted", _("application received")
    ACCEPTED = "accepted", _("application accepted")
    NOT_ACCEPTED = "not_accepted", _("application not accepted")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("documents requested")
    SUPPLEMENT_REMINDER = "supplement_reminder", _("reminder: documents due soon")
    MATERIALS_OWED = "materials_owed", _("reminder: materials accepted to follow (容缺) due")
    SUSPENDED = "suspended", _("special procedure started")
    RESUMED = "resumed", _("processing resumed")
    EXTENDED = "extended", _("time limit extended")
    DECIDED = "decided", _("decision made")
    LICENCE_REVOKED = "licence_revoked", _("e-licence revoked or annulled")
    READY_FOR_PICKUP = "ready_for_pickup", _("result ready")
    DEEMED_WITHDRAWN = "deemed_withdrawn", _("deemed withdrawn")
    WITHDRAWN = "withdrawn", _("application withdrawn")
    RATING_RESPONSE = "rating_response", _("answer to your rating")
    PROGRESSED = "progressed", _("application moved on")
    NEW_CASE = "new_case", _("new application in the queue")
    CONSULTED = "consulted", _("your opinion is asked")
    SERVICE_RETIRED = "service_retired", _("the service of your draft was retired")
    DUE_SOON = "due_soon", _("application due soon")
    OVERDUE = "overdue", _("application overdue")
    # The deadline sweep's one message per recipient and run: the cases due soon and overdue.
    DEADLINE_DIGEST = "deadline_digest", _("applications due soon or overdue")
    BAD_RATING = "bad_rating", _("bad rating to rectify")
    DRAFT_EXPIRING = "draft_expiring", _("your draft will be removed")
    PROACTIVE_OFFERED = "proactive_offered", _("a benefit you may have without applying")
    PROACTIVE_GRANTED = "proactive_granted", _("a benefit granted without applying")
    HALL_CALLED = "hall_called", _("your queue ticket is called to a window")
    # The service hall (cases.hall.booking): bookings of a visit to a service centre.
    APPOINTMENT_BOOKED = "appointment_booked", _("visit booked")
    APPOINTMENT_CANCELLED = "appointment_cancelled", _("booked visit cancelled")
    APPOINTMENT_REMINDER = "appointment_reminder", _("reminder: your booked visit is tomorrow")
    APPOINTMENT_MISSED = "appointment_missed", _("booked visit missed")
    FEE_DUE = "fee_due", _("a fee to pay")
    FEE_PAID = "fee_paid", _("fee paid")
    FEE_REFUNDED = "fee_refunded", _("fee refunded")


class NotificationChannel(models.TextChoices):
    INBOX = "inbox", _("in-app inbox")
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("text message")


class NotificationTemplate(models.Model):
    """The words of one kind of message on one channel in one language; admins edit them."""

    event = models.CharField(_("event"), max_length=32, choices=NotificationEvent.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=NotificationChannel.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(
        _("text"),
        help_text=_("Django template syntax, e.g. {{ number }}, {{ service }}, {{ state }}."),
    )

    class Meta:
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")
        ordering = ["event", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel", "language"], name="notificationtemplate_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} · {self.channel} · {self.language}"


class Notification(models.Model):
    """One message to one person on one channel: the outbox row, written in the same transaction as
    the change that caused it and delivered by Celery afterwards (pending → sent | failed)."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    person = models.ForeignKey(
        CitizenProfile, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications",
        help_text=_("For people without an account (registered at a counter): text messages only."),
        db_index=False,  # the partial index notification_person: staff messages have no person
    )  # fmt: skip
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    event = models.CharField(max_length=32, choices=NotificationEvent.choices)
    channel = models.CharField(max_length=8, choices=NotificationChannel.choices)
    language = models.CharField(max_length=8, default="zh-hans")
    context = models.JSONField(default=dict, blank=True)
    address = EncryptedTextField(blank=True, help_text=_("E-mail address or phone."))
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(db_default=Now())
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(
        _("words and address removed"),
        null=True,
        blank=True,
        help_text=_("After NOTIFICATION_BODY_RETENTION_DAYS; the row stays for the figures."),
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(state="pending"), name="notification_pending"
            ),
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(channel="inbox"),
                name="notification_inbox",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(purged_at__isnull=True) & ~Q(state="pending"),
                name="notification_body_retention",
            ),
            # Only text messages name a person: the sweep's staff messages stay out of it.
            models.Index(
                fields=["person"], condition=Q(person__isnull=False), name="notification_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.channel}"


class DeadlineWarning(models.Model):
    """A deadline threshold a case crossed, recorded once per case, kind and date: the sweep inserts
    these with ON CONFLICT DO NOTHING and acts only on the rows it inserted, so running it twice, or
    on two beats at once, warns once."""

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", _("due soon")
        OVERDUE = "overdue", _("overdue")
        SUPPLEMENT_REMINDER = "supplement_reminder", _("documents due soon")
        MATERIALS_OWED = "materials_owed", _("materials accepted to follow due soon")

    # No index of its own: the unique constraint (case, kind, deadline) leads with it.
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="deadline_warnings", db_index=False
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    deadline = models.DateField()
    sweep = models.UUIDField(db_index=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("deadline warning")
        verbose_name_plural = _("deadline warnings")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind", "deadline"], name="deadlinewarning_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.deadline}"


class RatingTag(models.TextChoices):
    """What a rating may say in one tap (好差评 tags)."""

    FAST = "fast", _("fast")
    CLEAR_GUIDANCE = "clear_guidance", _("clear guidance")
    POLITE = "polite", _("polite staff")
    NO_VISIT = "no_visit", _("no need to come in")
    SLOW = "slow", _("slow")
    UNCLEAR_GUIDANCE = "unclear_guidance", _("unclear guidance")
    CAME_AGAIN = "came_again", _("had to come again")
    DOCUMENTS_TWICE = "documents_twice", _("asked for documents twice")
    IMPOLITE = "impolite", _("impolite staff")


RATING_DIMENSIONS = ("efficiency", "guidance", "convenience", "attitude", "skill")


class Rating(models.Model):
    """The applicant's rating (好差评) of a concluded or not-accepted case: one per case.

    Who rated is kept for the audit trail but never shown to the staff rated.
    """

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="rating")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="ratings")
    service = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="ratings")
    score = models.PositiveSmallIntegerField(_("overall"))
    dimensions = models.JSONField(
        _("by dimension"), default=dict, blank=True,
        help_text=_("Efficiency, guidance, convenience and, at a counter, attitude and skill: 1–5."),
    )  # fmt: skip
    tags = models.JSONField(_("tags"), default=list, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+",
        help_text=_("The applicant's account, or the clerk who recorded it at a counter."),
    )  # fmt: skip
    created_at = models.DateTimeField(_("rated"), db_default=Now())

    class Meta:
        verbose_name = _("rating (好差评)")
        verbose_name_plural = _("ratings (好差评)")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5), name="rating_score_1_to_5"
            ),
        ]
        indexes = [
            models.Index(fields=["department", "created_at"]),
            models.Index(fields=["created_at"], name="rating_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.score}"

    @property
    def is_bad(self) -> bool:
        return self.score <= 2


class Rectification(models.Model):
    """The department's answer to a bad rating (差评整改), due within working days."""

    class State(models.TextChoices):
        OPEN = "open", _("to answer")
        ANSWERED = "answered", _("answered")

    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="rectification")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="rectifications"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    due_date = models.DateField(_("answer due"))
    answer = models.TextField(_("what was done"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_on_time = models.BooleanField(null=True)
    fix_score = models.PositiveSmallIntegerField(
        _("the applicant's rating of the answer"), null=True, blank=True
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("rectification (整改)")
        verbose_name_plural = _("rectifications (整改)")
        ordering = ["due_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="open") | (Q(answered_at__isnull=False) & ~Q(answer="")),
                name="rectification_answered_has_answer",
            ),
            models.CheckConstraint(
                condition=Q(fix_score__isnull=True) | (Q(fix_score__gte=1) & Q(fix_score__lte=5)),
                name="rectification_fix_score_1_to_5",
            ),
        ]
        indexes = [
            models.Index(
                fields=["department", "due_date"],
                condition=Q(state="open"),
                name="rectification_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} due {self.due_date}"


class MonthlyFigures(models.Model):
    """Public figures of one service in one month, refreshed by Celery from aggregate queries so that
    /stats/ reads a few hundred rows whatever the number of cases.

    Cases count in the month they were received (received), decided (concluded, on time, days used,
    zero visits) or rated (ratings). `days_histogram` maps working days used to a number of cases, so
    medians and percentiles of any grouping are exact.
    """

    month = models.DateField()
    service = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    promised_limit_days = models.PositiveSmallIntegerField(default=0)
    received = models.PositiveIntegerField(default=0)
    concluded = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    zero_visits = models.PositiveIntegerField(default=0)
    days_histogram = models.JSONField(default=dict)
    ratings = models.PositiveIntegerField(default=0)
    score_sum = models.PositiveIntegerField(default=0)
    good_ratings = models.PositiveIntegerField(default=0)
    bad_ratings = models.PositiveIntegerField(default=0)
    bad_rectified_on_time = models.PositiveIntegerField(default=0)
    # 秒批: of the cases decided, those the system approved; human reviews asked of them.
    automated = models.PositiveIntegerField(default=0)
    human_reviews = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("monthly figures")
        verbose_name_plural = _("monthly figures")
        constraints = [
            models.UniqueConstraint(fields=["month", "service"], name="monthlyfigures_once"),
        ]
        indexes = [models.Index(fields=["department", "month"])]

    def __str__(self) -> str:
        return f"{self.service_id} {self.month:%Y-%m}"


# --- Bundles (一件事一次办) -------------------------------------------------------------------------


class BundleApplication(models.Model):
    """One filing of a bundle (一件事): one form, one upload per material, one submission that files
    one linked case per member in its own department (cases.bundles.services). Its state is
    derived from the members' (refreshed by the engine's hook, cases.bundles.services.case_moved)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed: every member concluded")
        ENDED = "ended", _("ended: not every member concluded")

    number = models.CharField(_("bundle application number"), max_length=100, unique=True)
    bundle = models.ForeignKey(
        "services.Bundle", verbose_name=_("bundle"), on_delete=models.PROTECT, related_name="+"
    )
    applicant = models.ForeignKey(
        CitizenProfile,
        verbose_name=_("applicant"),
        on_delete=models.PROTECT,
        related_name="bundle_applications",
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    # At a counter (cases.counter.services.file_counter_bundle): the proxy's authorisation (帮办代办),
    # the paper materials handed over (收件清单, by material name: one tick serves every member
    # that lists the material) and the queue ticket, given to each member case when it is filed.
    authorisation = models.ForeignKey(
        ProxyAuthorisation,
        verbose_name=_("authorisation (委托)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bundle_applications",
    )
    materials_received = models.JSONField(
        _("paper materials received (收件清单)"),
        default=list,
        blank=True,
        help_text=_("Names of the bundle's materials handed over on paper at a counter."),
    )
    queue_ticket = models.CharField(_("queue ticket"), max_length=20, blank=True)
    # The combined answers: shared fields at the top, member-only ones under the member's key.
    data = EncryptedJSONField(_("form data"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Retention (cases/retention.py), as for a case: a draft left untouched is warned, then
    # purged (and hidden); a finished bundle loses its answers and uploads once every member
    # case is archived. The row stays: its member cases point to it.
    draft_warned_at = models.DateTimeField(
        _("told the draft will be removed"), null=True, blank=True, editable=False
    )
    purged_at = models.DateTimeField(
        _("personal data removed"), null=True, blank=True, editable=False
    )
    row_version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(_("created"), db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("bundle application")
        verbose_name_plural = _("bundle applications")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="draft") | Q(submitted_at__isnull=False),
                name="bundleapplication_submitted_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["applicant", "-created_at"], name="bundleapp_applicant_recent"),
            models.Index(fields=["submitted_at"], name="bundleapp_submitted_at"),
            models.Index(
                fields=["updated_at"],
                condition=Q(state="draft", purged_at__isnull=True),
                name="bundleapp_draft_retention",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class BundleMemberCase(models.Model):
    """A member of a bundle application: the case filed for it, or why there is none (yet)."""

    class State(models.TextChoices):
        PENDING = "pending", _("not filed yet (draft)")
        WAITING = "waiting", _("waiting for another member's result")
        FILED = "filed", _("filed")
        CANCELLED = "cancelled", _("not filed: a member it waits for had no result")
        FAILED = "failed", _("not filed: the filing was refused")

    application = models.ForeignKey(
        BundleApplication, on_delete=models.CASCADE, related_name="member_cases"
    )
    member = models.ForeignKey("services.BundleMember", on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="+")
    case = models.OneToOneField(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="bundle_link"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    problem = models.TextField(_("why it was not filed"), blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("bundle member case")
        verbose_name_plural = _("bundle member cases")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["application", "member"], name="bundlemembercase_once"),
            models.CheckConstraint(
                condition=~Q(state="filed") | Q(case__isnull=False),
                name="bundlemembercase_filed_has_case",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}/{self.member_id}"


class BundleAttachment(StoredDocument):
    """A document uploaded once for a material of the bundle (by its name): when the members are
    filed, every member case that asks for the material gets an Attachment pointing to the same
    stored file (cases.uploads.stored_names_in_use counts these rows too)."""

    application = models.ForeignKey(
        BundleApplication, on_delete=models.CASCADE, related_name="attachments"
    )
    material_name = models.CharField(_("material"), max_length=200)

    class Meta(StoredDocument.Meta):
        verbose_name = _("bundle attachment")
        verbose_name_plural = _("bundle attachments")
        ordering = ["created_at", "pk"]


# --- Data shared between departments (数据共享) ------------------------------------------------------


class DemoRegistryRecord(models.Model):
    """One person's record in a demo registry (cases.sharing.demo): the stand-in for another
    department's system in `make run` and the tests. The person is found by the keyed hash of
    their ID number; the record itself is encrypted. A production instance names real adapters in
    DATA_REGISTRIES and leaves this table empty."""

    registry = models.CharField(_("registry"), max_length=32)
    person_hash = models.CharField(max_length=64, editable=False)
    data = EncryptedJSONField(_("record"), default=dict)
    as_of = models.DateTimeField(_("as of"), db_default=Now())
    # Non-identifying columns for set-based questions (免申即享 sweeps: who turns 80, who lives in a
    # district), filled from the record by the registry (cases.sharing.demo DemoRegistry.columns).
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    district = models.CharField(_("district"), max_length=32, blank=True)
    resident = models.BooleanField(_("registration in force"), default=False)

    class Meta:
        verbose_name = _("demo registry record")
        verbose_name_plural = _("demo registry records")
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "person_hash"], name="demoregistryrecord_once"
            ),
        ]
        indexes = [
            models.Index(fields=["registry", "birth_date"], name="demoregistryrecord_birth"),
        ]

    def __str__(self) -> str:
        return f"{self.registry} {self.person_hash[:8]}"


class SharingRequest(models.Model):
    """One request to another department's registry (共享调用记录), as the owning department lists
    it: which service asked, for which case and fields, why, and what came back. What came back is
    kept with it, encrypted (`data`): the case's snapshot of the shared material, shown to staff as
    "已核验：来自 X，时间 Y". Refused requests (outside the service's grant) are logged too; they never
    reached the registry."""

    class Purpose(models.TextChoices):
        MATERIAL = "material", _("a material of the application")
        PREFILL = "prefill", _("filling in the form")
        RULE = "rule", _("checking the rules of automatic approval (秒批)")
        ELIGIBILITY = "eligibility", _("finding who is eligible (免申即享)")

    class Outcome(models.TextChoices):
        FOUND = "found", _("found")
        NOT_FOUND = "not_found", _("nothing on record")
        UNAVAILABLE = "unavailable", _("registry unavailable")
        REFUSED = "refused", _("refused: outside the service's grant")

    registry = models.CharField(_("registry"), max_length=32)
    department = models.ForeignKey(
        Department,
        verbose_name=_("owning department"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    service = models.ForeignKey(
        ServiceItem, verbose_name=_("service"), on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "Case",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sharing_requests",
    )
    material = models.ForeignKey(
        ServiceMaterial,
        verbose_name=_("material"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    fields = models.JSONField(_("fields asked for"), default=list)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    requested_at = models.DateTimeField(_("requested"), db_default=Now())
    data = EncryptedJSONField(_("data received"), default=dict, blank=True)
    as_of = models.DateTimeField(_("registry data as of"), null=True, blank=True)

    class Meta:
        verbose_name = _("sharing request (共享调用)")
        verbose_name_plural = _("sharing requests (共享调用)")
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["department", "-requested_at"], name="sharingrequest_by_owner"),
            models.Index(fields=["case", "material"], name="sharingrequest_of_case"),
        ]

    def __str__(self) -> str:
        return f"{self.registry} {self.get_outcome_display()}"


class ProactiveOffer(models.Model):
    """免申即享: one person found eligible for one service by the daily sweep (cases.proactive),
    once: offered (they confirm with one click, or decline) or granted (the case was filed for them;
    they may opt out). A declined or opted-out offer stays, so the person is never offered the
    service again; the unique constraint makes the sweep idempotent."""

    class State(models.TextChoices):
        OFFERED = "offered", _("offered")
        CONFIRMED = "confirmed", _("confirmed")
        DECLINED = "declined", _("declined")
        GRANTED = "granted", _("granted")
        OPTED_OUT = "opted_out", _("opted out")

    service = models.ForeignKey(
        ServiceItem, verbose_name=_("service"), on_delete=models.CASCADE, related_name="+"
    )
    person = models.ForeignKey(
        CitizenProfile,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="proactive_offers",
    )
    mode = models.CharField(_("mode"), max_length=8)
    state = models.CharField(_("state"), max_length=12, choices=State.choices)
    case = models.ForeignKey(
        Case,
        verbose_name=_("application"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    found_at = models.DateTimeField(_("found eligible"), db_default=Now())
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("benefit offer (免申即享)")
        verbose_name_plural = _("benefit offers (免申即享)")
        ordering = ["-found_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["person", "service"], name="proactiveoffer_once"),
        ]
        indexes = [
            models.Index(
                fields=["person", "-found_at"],
                condition=Q(state__in=["offered", "granted"]),
                name="proactiveoffer_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} → {self.person_id} ({self.state})"
