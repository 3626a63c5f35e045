"""E-licences (电子证照): issued when a licensing service is approved; verified in public by code.

`issue_licence` is the only creator of Licence rows. It runs as the handler of the workflow effect
`issue_licence` (after the approving transaction has committed) and is idempotent: a case gets at
most one licence of its service's licence type, however often the effect runs. The licence belongs
to its holder (持证主体): the organisation a company applied for, else the person; it carries what it
certifies (`content`, per licence type) and ends in one of two ways: `end_licence` (revoked 吊销 or
annulled 撤销, with a reason) or superseded by the licence of a change application (变更).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

import segno
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OrganisationAgent, Role, StaffMembership, User
from services.models import Effect, LicenceType, Outcome, ResultType, localized
from services.schema import answers, ordered_properties

from ..models import Case, CaseNumberCounter, Event, Licence
from ..vocabulary import EventAction
from ..workflow import CaseConflict, Phase, Step, display_data, effect_handler, lock_case
from ..workflow.trail import append_event

logger = logging.getLogger(__name__)


class LicenceStatus(models.TextChoices):
    VALID = "valid", gettext_lazy("valid")
    NOT_YET_VALID = "not_yet_valid", gettext_lazy("not yet valid")
    EXPIRED = "expired", gettext_lazy("expired")
    REVOKED = "revoked", gettext_lazy("revoked")
    ANNULLED = "annulled", gettext_lazy("annulled")
    SUPERSEDED = "superseded", gettext_lazy("replaced by a later licence")


def status_of(licence: Licence, today: dt.date | None = None) -> LicenceStatus:
    """What a verifier is told; the same rules as cases.workflow.held_licences. An ending comes
    first (revoked or annulled, then superseded), then the period of validity."""
    today = today or timezone.localdate()
    if licence.revoked_at is not None:
        if licence.revocation_kind == Licence.Ending.ANNULLED:
            return LicenceStatus.ANNULLED
        return LicenceStatus.REVOKED
    if licence.superseded_at is not None:
        return LicenceStatus.SUPERSEDED
    if licence.valid_until is not None and licence.valid_until < today:
        return LicenceStatus.EXPIRED
    if licence.valid_from > today:
        return LicenceStatus.NOT_YET_VALID
    return LicenceStatus.VALID


ENDED = frozenset({LicenceStatus.REVOKED, LicenceStatus.ANNULLED, LicenceStatus.SUPERSEDED})


def holder_kind(licence: Licence) -> str:
    return "organisation" if licence.organisation_id else "person"


def public_holder_name(licence: Licence) -> str:
    """The holder as the public sees it: an organisation's name in full (it is on the public
    register), a person's masked. The 经办人 is never shown in public."""
    if licence.organisation_id:
        return licence.organisation.name
    return mask_name(licence.holder.real_name if licence.holder_id else "")


def content_shown(licence: Licence) -> list[dict]:
    """What the licence certifies, `[{label, value}]` in the active language."""
    english = (translation.get_language() or "").startswith("en")
    return [
        {
            "label": (english and row.get("label_en")) or row.get("label", ""),
            "value": (english and row.get("value_en")) or row.get("value", ""),
        }
        for row in licence.content or []
    ]


def type_label(licence: Licence) -> str:
    """The licence type's name in the active language."""
    return localized(licence.licence_type, "name")


def mask_name(name: str) -> str:
    """Show a name only partly: 张三明 → 张*明, 张三 → 张*, 欧阳小明 → 欧**明."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# --- Issuing ---------------------------------------------------------------------------------------


def next_licence_number(*, licence_type: LicenceType, year: int) -> str:
    """Type code + year + a sequence for that type and year, unique under concurrency."""
    prefix = f"{licence_type.code.upper()}-{year}"
    return f"{prefix}-{CaseNumberCounter.next_value(f'licence:{prefix}'):06d}"


def valid_until_for(licence_type: LicenceType, valid_from: dt.date) -> dt.date | None:
    if not licence_type.validity_years:
        return None
    year = valid_from.year + licence_type.validity_years
    try:
        return valid_from.replace(year=year)
    except ValueError:  # issued on 29 February: runs until 28 February
        return valid_from.replace(year=year, day=28)


def _shown_value(prop: dict, name: str, value, language: str) -> str:
    """One answer as the applicant saw it (choice labels, yes/no, lists as rows) in `language`."""
    with translation.override(language):
        [shown] = answers({"type": "object", "properties": {name: prop}}, {name: value})
        if shown["rows"] is None:
            return str(shown["value"])
        return "；".join(
            "，".join(f"{cell['label']}：{cell['value']}" for cell in row) for row in shown["rows"]
        )


def licence_content(*, licence_type: LicenceType, case: Case) -> list[dict]:
    """The answers named in `licence_type.content_fields`, in that order, as the citizen saw them
    (ID numbers masked as on every page): `[{field, label, label_en, value[, value_en]}]`;
    `value_en` only where English words differ (a choice, yes/no). Unanswered fields are left out."""
    properties = dict(ordered_properties(case.service_version.form_schema))
    data = display_data(case)
    rows = []
    for entry in licence_type.content_fields or []:
        name = entry.get("field", "")
        prop, value = properties.get(name), data.get(name)
        if prop is None or value in (None, "", []):
            continue
        row = {
            "field": name,
            "label": entry.get("label") or name,
            "label_en": entry.get("label_en", ""),
            "value": _shown_value(prop, name, value, "zh-hans"),
        }
        english = _shown_value(prop, name, value, "en")
        if english != row["value"]:
            row["value_en"] = english
        rows.append(row)
    return rows


def issue_licence(*, case: Case) -> Licence:
    """Issue the e-licence of the case's service to its holder: the organisation a company applied
    for (the applicant is its 经办人), else the applicant; with what it certifies from the form.
    Returns the existing one if the case already has it. A change application's licence
    supersedes the holder's earlier ones of the type. Raises ValidationError when the service
    issues no e-licence."""
    with transaction.atomic():
        # The case row lock serialises two attempts for the same case (locked alone, then read).
        case = lock_case(case)
        licence_type = case.service_version.licence_type
        if licence_type is None:
            raise ValidationError(_("This service issues no e-licence."), code="no_licence_type")
        # One valid licence per approval: a licence revoked because the approval was taken back
        # does not count once the case is approved again.
        existing = Licence.objects.filter(
            case=case, licence_type=licence_type, revoked_at__isnull=True
        ).first()
        if existing is not None:
            return existing
        valid_from = timezone.localdate()
        licence = Licence.objects.create(
            number=next_licence_number(licence_type=licence_type, year=valid_from.year),
            licence_type=licence_type,
            holder_id=None if case.organisation_id else case.applicant_id,
            organisation_id=case.organisation_id,
            agent_id=case.applicant_id if case.organisation_id else None,
            case=case,
            content=licence_content(licence_type=licence_type, case=case),
            verification_code=secrets.token_urlsafe(18),  # 24 characters, 144 random bits
            issued_at=timezone.now(),
            valid_from=valid_from,
            valid_until=valid_until_for(licence_type, valid_from),
        )
        if case.service_version.replaces_licence:
            supersede_earlier(licence)
    logger.info("Issued e-licence %s for case %s", licence.number, case.number)
    return licence


def supersede_earlier(licence: Licence) -> list[Licence]:
    """The holder's licences of the same type not ended nor expired are superseded by `licence`
    (a change application, 变更); each old licence's case records it. Runs in the issuing
    transaction with the new licence's case locked; the old cases are locked before the old
    licences, in the order `revoke_licence` takes them."""
    today = timezone.localdate()
    earlier = (
        Licence.objects.filter(
            licence_type_id=licence.licence_type_id,
            revoked_at__isnull=True,
            superseded_at__isnull=True,
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .exclude(pk=licence.pk)
    )
    if licence.organisation_id:
        earlier = earlier.filter(organisation_id=licence.organisation_id)
    else:
        earlier = earlier.filter(holder_id=licence.holder_id, organisation__isnull=True)
    cases = {}
    for case_id in sorted({c for c in earlier.values_list("case_id", flat=True) if c}):
        cases[case_id] = lock_case(Case(pk=case_id))
    now = timezone.now()
    superseded = []
    for old in earlier.select_for_update().order_by("pk"):
        old.superseded_at, old.superseded_by = now, licence
        old.save(update_fields=["superseded_at", "superseded_by"])
        case = cases.get(old.case_id)
        if case is not None:
            append_event(
                case,
                action=EventAction.LICENCE_SUPERSEDED,
                actor=None,
                actor_role="system",
                from_state=case.state,
                from_stage=case.stage.code if case.stage_id else "",
                opinion=licence.number,
                details={
                    "licence": old.number,
                    "superseded_by": licence.number,
                    "case": licence.case.number if licence.case_id else "",
                },
            )
        superseded.append(old)
    return superseded


def gives_licence(version) -> bool:
    return version.result_type == ResultType.LICENCE and version.licence_type_id is not None


@effect_handler(Effect.ISSUE_LICENCE, phase=Phase.COMMITTED)
def issue_on_approval(step: Step) -> None:
    """After commit of a transition with the effect: issue the licence if the service gives one. A
    failure here is repaired by `issue_missing`, which beat runs."""
    case = Case.objects.select_related("service_version__licence_type").get(pk=step.case.pk)
    if gives_licence(case.service_version) and case.state in LICENSED_STATES:
        issue_licence(case=case)


LICENSED_STATES = ("approved", "concluded")


def cases_missing_their_licence() -> QuerySet[Case]:
    """Approved cases of licensing services with no licence issued since their last approval: what
    an after-commit failure (a crash, a bug) left behind. A licence revoked later on purpose was
    issued after the approval, so it is not issued again."""
    issued_since = Licence.objects.filter(
        case=OuterRef("pk"),
        licence_type=OuterRef("service_version__licence_type"),
        issued_at__gte=OuterRef("approved_at"),
    )
    return (
        Case.objects.filter(
            state__in=LICENSED_STATES,
            decided_at__isnull=False,
            service_version__result_type=ResultType.LICENCE,
            service_version__licence_type__isnull=False,
        )
        .annotate(
            approved_at=Subquery(
                Event.objects.filter(case=OuterRef("pk"), outcome=Outcome.APPROVED)
                .order_by("-sequence")
                .values("at")[:1]
            )
        )
        .filter(approved_at__isnull=False)
        .filter(~Exists(issued_since))
    )


def issue_missing(limit: int = 500) -> int:
    """Issue the licences approvals are owed (idempotent: issue_licence returns an existing one)."""
    issued = 0
    for case in cases_missing_their_licence().order_by("decided_at")[:limit]:
        try:
            issue_licence(case=case)
            issued += 1
        except Exception:  # one bad case must not stop the others
            logger.exception("Could not issue the e-licence of case %s", case.pk)
    return issued


# --- Ending: revoked (吊销) or annulled (撤销) ---------------------------------------------------


def end_licence(
    *, licence: Licence, kind: str, reason: str, actor: User | None, actor_role: str, channel=""
) -> Licence:
    """The one code path that ends a licence with a reason: the row, an event on its case's trail
    and a message to the holder, in the caller's transaction with the case row locked. It checks
    nothing: `revoke_licence` (the department head), `revoke_for_case` (an approval reversed) and
    `commitments.revoke_after_false_commitment` check first."""
    licence.revoked_at = timezone.now()
    licence.revocation_kind, licence.revocation_reason = kind, reason
    licence.revoked_by = actor
    licence.save(update_fields=["revoked_at", "revocation_kind", "revocation_reason", "revoked_by"])
    if licence.case_id:
        case = licence.case
        event = append_event(
            case,
            action=EventAction.LICENCE_ANNULLED
            if kind == Licence.Ending.ANNULLED
            else EventAction.LICENCE_REVOKED,
            actor=actor,
            actor_role=actor_role,
            channel=channel,
            from_state=case.state,
            from_stage=case.stage.code if case.stage_id else "",
            opinion=reason,
            details={"licence": licence.number, "kind": kind},
        )
        _tell_holder(licence, event)
    return licence


def _tell_holder(licence: Licence, event: Event) -> None:
    """The holder learns at once (the applicant of its case: the person, or the company's 经办人,
    and a proxy who applied), on every channel in their language."""
    from ..models import NotificationEvent
    from ..notifications import services as notifications

    context = {
        "number": licence.case.number,
        "licence": licence.number,
        "licence_type": licence.licence_type.name,
        "kind": licence.revocation_kind,
        "reason": licence.revocation_reason,
        "date": timezone.localdate(licence.revoked_at).isoformat(),
    }
    from .. import decisions

    rights = decisions.rights_for(licence.licence_type.issuer)  # the issuer's act is challenged
    rows = notifications.to_applicants(
        licence.case,
        NotificationEvent.LICENCE_REVOKED,
        context,
        words=lambda: {
            "licence_type": localized(licence.licence_type, "name"),
            "rights": decisions.rights_text(rights),
            **decisions.rights_words(rights),
        },
    )
    notifications.save_and_enqueue(rows)


NOT_HEAD = gettext_lazy("Only the head of the issuing department revokes or annuls a licence.")


def may_end(user: User, licence: Licence) -> bool:
    """Only the head of the issuing department revokes or annuls a licence."""
    return user.is_authenticated and (
        StaffMembership.objects.filter(
            user=user, department_id=licence.licence_type.issuer_id, role=Role.DEPARTMENT_HEAD
        ).exists()
    )


def revoke_licence(*, licence: Licence, user: User, kind: str, reason: str, channel="") -> Licence:
    """The head of the issuing department revokes (吊销) or annuls (撤销) a licence, with a reason
    the holder and anyone verifying it read. PermissionDenied for anyone else, ValidationError
    naming the field, CaseConflict when the licence has ended already."""
    if not may_end(user, licence):
        raise PermissionDenied(NOT_HEAD)
    reason = (reason or "").strip()
    errors = {}
    if kind not in Licence.Ending.values:
        errors["kind"] = [_("Choose whether the licence is revoked (吊销) or annulled (撤销).")]
    if not reason:
        errors["reason"] = [_("Give the reason; the holder and anyone verifying it read it.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = lock_case(licence.case) if licence.case_id else None
        list(Licence.objects.select_for_update().filter(pk=licence.pk).values_list("pk"))
        licence = Licence.objects.select_related("licence_type").get(pk=licence.pk)
        licence.case = case
        if licence.revoked_at is not None or licence.superseded_at is not None:
            raise CaseConflict(_("This licence has ended already."), code="licence_ended")
        return end_licence(
            licence=licence,
            kind=kind,
            reason=reason,
            actor=user,
            actor_role=Role.DEPARTMENT_HEAD,
            channel=channel,
        )


def revoke_for_case(*, case: Case, reason: str, event, kind: str = Licence.Ending.ANNULLED) -> int:
    """An approval taken back (or found to rest on a false commitment): the licences it gave that
    have not ended are revoked with the reason (`kind`), and /verify/ says so. Runs inside the
    caller's transaction, with the case row locked; `event` gives actor, role and channel."""
    licences = list(
        Licence.objects.filter(case=case, revoked_at__isnull=True, superseded_at__isnull=True)
        .select_related("licence_type")
        .order_by("pk")
    )
    for licence in licences:
        licence.case = case
        end_licence(
            licence=licence,
            kind=kind,
            reason=reason,
            actor=event.actor,
            actor_role=event.actor_role,
            channel=event.channel,
        )
    return len(licences)


# --- Reading ---------------------------------------------------------------------------------------


def identity_of(user: User) -> str:
    """The resident ID e-licence a verified citizen holds from real-name verification (电子身份证照),
    as the wallet names it ("居民身份证 330***********1239"); "" for others."""
    from services.models import RESIDENT_ID_CARD, LicenceType

    from ..workflow import licence_shown

    profile = getattr(user, "citizen_profile", None) if user.is_authenticated else None
    identity = LicenceType.objects.filter(code=RESIDENT_ID_CARD).first()
    if profile is None or identity is None:
        return ""
    return licence_shown(Licence(number=profile.id_number, licence_type=identity, holder=profile))


def licences_of(user: User) -> QuerySet[Licence]:
    """The user's wallet, newest first: licences they hold, and those of the organisations they
    are an authorised agent of today (法人经办人); a former agent no longer sees them."""
    if not user.is_authenticated:
        return Licence.objects.none()
    today = timezone.localdate()
    agencies = (
        OrganisationAgent.objects.filter(user=user, valid_from__lte=today)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .values("organisation_id")
    )
    return (
        Licence.objects.filter(Q(holder__user=user) | Q(organisation__in=agencies))
        .select_related(
            "licence_type__issuer", "organisation", "case", "holder", "agent", "superseded_by"
        )
        .order_by("-issued_at", "-pk")
    )


def licences_of_case(case: Case) -> list[Licence]:
    """The licences a case gave, newest first, each with `status` and `type_label`."""
    rows = list(
        Licence.objects.filter(case=case)
        .select_related("licence_type__issuer", "superseded_by")
        .order_by("-issued_at", "-pk")
    )
    for licence in rows:
        licence.status = status_of(licence)
        licence.type_label = type_label(licence)
    return rows


def licence_for_verification(code: str) -> Licence | None:
    """The licence a public verification code names, or None (the caller answers 404)."""
    if not code or len(code) > Licence._meta.get_field("verification_code").max_length:
        return None
    return (
        Licence.objects.filter(verification_code=code)
        .select_related("licence_type__issuer", "organisation", "holder", "superseded_by")
        .first()
    )


def verify_url(request, licence: Licence) -> str:
    """The public address that verifies it, under the portal's own address (never the host a
    request happened to use: a certificate is made once and printed)."""
    return settings.PORTAL_BASE_URL + reverse("verify-licence", args=[licence.verification_code])


def qr_url(request, licence: Licence) -> str:
    """The QR code's address: the signed payload (number, code, type, masked holder, end of
    validity) checked by the "verify-payload" page; the plain verification page until it exists."""
    from .. import signing

    payload = {
        "n": licence.number,
        "c": licence.verification_code,
        "t": licence.licence_type.code,
        "h": public_holder_name(licence),
        "u": licence.valid_until.isoformat() if licence.valid_until else None,
    }
    try:
        path = reverse("verify-payload")
    except NoReverseMatch:
        return verify_url(request, licence)
    token = signing.sign_payload(payload, department=licence.licence_type.issuer)
    return f"{settings.PORTAL_BASE_URL}{path}?t={token}"


def licence_pdf(*, licence: Licence, request) -> bytes:
    """The licence as an A4 certificate; fonts: Noto Sans CJK, as for the receipt."""
    from weasyprint import HTML  # heavy import: only when a certificate is asked for

    from .. import documents

    url = verify_url(request, licence)
    html = render_to_string(
        "licences/licence.html",
        {
            "licence": licence,
            "licence_type": licence.licence_type,
            "holder": licence.holder,
            "agent": licence.agent,
            "status": status_of(licence),
            "qr_svg": segno.make(qr_url(request, licence), error="m").svg_inline(
                scale=3, dark="#000"
            ),
            "verify_url": url,
            "seal": documents.seal_img(licence.licence_type.issuer.name),
            "printed_at": timezone.localtime(),
        },
        request=request,
    )
    return HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
