"""E-licences (电子证照): issued when a licensing service is approved; verified in public by code.

`issue_licence` is the only writer of Licence rows. It runs as the handler of the workflow effect
`issue_licence` (after the approving transaction has committed) and is idempotent: a case gets at
most one licence of its service's licence type, however often the effect runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

import segno
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from services.models import Effect, LicenceType, Outcome, ResultType, localized

from ..models import Case, CaseNumberCounter, Event, Licence
from ..vocabulary import EventAction
from ..workflow import Phase, Step, effect_handler, lock_case
from ..workflow.trail import append_event

logger = logging.getLogger(__name__)


class LicenceStatus(models.TextChoices):
    VALID = "valid", gettext_lazy("valid")
    NOT_YET_VALID = "not_yet_valid", gettext_lazy("not yet valid")
    EXPIRED = "expired", gettext_lazy("expired")
    REVOKED = "revoked", gettext_lazy("revoked")


def status_of(licence: Licence, today: dt.date | None = None) -> LicenceStatus:
    """What a verifier is told; the same rules as cases.workflow.held_licences."""
    today = today or timezone.localdate()
    if licence.revoked_at is not None:
        return LicenceStatus.REVOKED
    if licence.valid_until is not None and licence.valid_until < today:
        return LicenceStatus.EXPIRED
    if licence.valid_from > today:
        return LicenceStatus.NOT_YET_VALID
    return LicenceStatus.VALID


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


def issue_licence(*, case: Case) -> Licence:
    """Issue the e-licence of the case's service to its applicant; return the existing one if the
    case already has it. Raises ValidationError when the service issues no e-licence."""
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
            holder_id=case.applicant_id,
            organisation_id=case.organisation_id,
            case=case,
            verification_code=secrets.token_urlsafe(18),  # 24 characters, 144 random bits
            issued_at=timezone.now(),
            valid_from=valid_from,
            valid_until=valid_until_for(licence_type, valid_from),
        )
    logger.info("Issued e-licence %s for case %s", licence.number, case.number)
    return licence


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


def revoke_for_case(*, case: Case, reason: str, event) -> int:
    """A later transition reversed the approval: the licences it gave are revoked with the reason,
    and /verify/ says so. Runs inside the reversing transaction, with the case row locked."""
    now = timezone.now()
    licences = list(Licence.objects.filter(case=case, revoked_at__isnull=True))
    for licence in licences:
        licence.revoked_at, licence.revocation_reason = now, reason
        licence.save(update_fields=["revoked_at", "revocation_reason"])
        append_event(
            case,
            action=EventAction.LICENCE_REVOKED,
            actor=event.actor,
            actor_role=event.actor_role,
            channel=event.channel,
            from_state=case.state,
            from_stage=case.stage.code if case.stage_id else "",
            opinion=reason,
            details={"licence": licence.number},
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
    """The user's wallet: licences held by their citizen profile, newest first."""
    if not user.is_authenticated:
        return Licence.objects.none()
    return (
        Licence.objects.filter(holder__user=user)
        .select_related("licence_type__issuer", "organisation", "case")
        .order_by("-issued_at", "-pk")
    )


def licence_for_verification(code: str) -> Licence | None:
    """The licence a public verification code names, or None (the caller answers 404)."""
    if not code or len(code) > Licence._meta.get_field("verification_code").max_length:
        return None
    return (
        Licence.objects.filter(verification_code=code)
        .select_related("licence_type__issuer", "organisation", "holder")
        .first()
    )


def verify_url(request, licence: Licence) -> str:
    return request.build_absolute_uri(reverse("verify-licence", args=[licence.verification_code]))


def licence_pdf(*, licence: Licence, request) -> bytes:
    """The licence as an A4 certificate; fonts: Noto Sans CJK, as for the receipt."""
    from weasyprint import HTML  # heavy import: only when a certificate is asked for

    url = verify_url(request, licence)
    html = render_to_string(
        "licences/licence.html",
        {
            "licence": licence,
            "licence_type": licence.licence_type,
            "holder": licence.holder,
            "status": status_of(licence),
            "qr_svg": segno.make(url, error="m").svg_inline(scale=3, dark="#000"),
            "verify_url": url,
            "printed_at": timezone.localtime(),
        },
        request=request,
    )
    return HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
