"""Official documents produced by the engine (DESIGN "Official documents and decisions").

Each legal step has its document (行政许可法 §32, §38, §42, §45), issued in the transaction of the
step by `issue_for_step` (transitions.take runs it for every transition whose outcome has one, so
no workflow can leave the applicant without it): a numbered row whose `content` is everything the
document says, frozen then, in the recipient's language. The PDF is made from that content once
(`make`: WeasyPrint, tagged PDF/UA, CJK fonts embedded), sealed with the issuing department's
certificate (cases.signing, PAdES) and stored; its SHA-256 is what `verify_document` and /verify/
compare a file with. Made when first downloaded or by the beat task `make_pending_documents`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy, pgettext_lazy

from services.models import Effect, Outcome, localized

from .models import Case, CaseNumberCounter, Decision, OfficialDocument, SupplementRequest
from .workflow import Phase, Step, effect_handler

logger = logging.getLogger(__name__)
Kind = OfficialDocument.Kind

# The document the law gives each outcome.
OUTCOME_DOCUMENTS = {
    Outcome.ACCEPTED: Kind.ACCEPTANCE_NOTICE,
    Outcome.SUPPLEMENT_REQUESTED: Kind.SUPPLEMENT_NOTICE,
    Outcome.NOT_ACCEPTED: Kind.NOT_ACCEPTED_NOTICE,
    Outcome.EXTENDED: Kind.EXTENSION_NOTICE,
    Outcome.SUSPENDED: Kind.SUSPENSION_NOTICE,
    Outcome.APPROVED: Kind.DECISION,
    Outcome.REJECTED: Kind.DECISION,
}
PREFIXES = {
    Kind.RECEIPT: "SJ",
    Kind.ACCEPTANCE_NOTICE: "SL",
    Kind.SUPPLEMENT_NOTICE: "BZ",
    Kind.NOT_ACCEPTED_NOTICE: "BSL",
    Kind.EXTENSION_NOTICE: "YQ",
    Kind.SUSPENSION_NOTICE: "TB",
    Kind.DECISION: "JD",
    Kind.COMMITMENT: "CN",
    Kind.PAYMENT_RECEIPT: "JF",
}
TITLES = {
    Kind.RECEIPT: gettext_lazy("Receipt of application"),
    Kind.ACCEPTANCE_NOTICE: gettext_lazy("Notice of acceptance"),
    Kind.SUPPLEMENT_NOTICE: gettext_lazy("Notice to complete the application"),
    Kind.NOT_ACCEPTED_NOTICE: gettext_lazy("Notice of non-acceptance"),
    Kind.EXTENSION_NOTICE: gettext_lazy("Notice of extension of the time limit"),
    Kind.SUSPENSION_NOTICE: gettext_lazy("Notice of a special procedure"),
    Kind.COMMITMENT: gettext_lazy("Signed commitment"),
    Kind.PAYMENT_RECEIPT: gettext_lazy("Payment receipt"),
}
DECISION_TITLES = {
    Outcome.APPROVED: pgettext_lazy("document", "Decision to grant"),
    Outcome.REJECTED: pgettext_lazy("document", "Decision to refuse"),
}
TEMPLATES = {
    Kind.RECEIPT: "cases/documents/receipt.html",
    Kind.ACCEPTANCE_NOTICE: "cases/documents/acceptance_notice.html",
    Kind.SUPPLEMENT_NOTICE: "cases/documents/supplement_notice.html",
    Kind.NOT_ACCEPTED_NOTICE: "cases/documents/not_accepted_notice.html",
    Kind.EXTENSION_NOTICE: "cases/documents/extension_notice.html",
    Kind.SUSPENSION_NOTICE: "cases/documents/suspension_notice.html",
    Kind.DECISION: "cases/documents/decision.html",
    Kind.COMMITMENT: "cases/commitment.html",
    Kind.PAYMENT_RECEIPT: "payments/payment_receipt.html",
}
DATE_KEYS = (
    "received_on", "issued_on", "accepted_on", "due_date", "deadline", "owed_by", "paused_since",
    "effective_from", "valid_until", "decided_on", "previous_due_date", "signed_on", "intake_due_date",
    "human_review_until",
)  # fmt: skip


def document_number_prefix(*, case: Case, kind: str) -> str:
    """Department code, kind and year: what a document number's sequence counts under."""
    year = timezone.localdate().year
    return f"{case.department.code.upper()}-{PREFIXES.get(kind, kind.upper())}-{year}"


def next_document_number(*, case: Case, kind: str) -> str:
    """Department code, kind, year and a sequence, unique under concurrency."""
    prefix = document_number_prefix(case=case, kind=kind)
    return f"{prefix}-{CaseNumberCounter.next_value(f'document:{prefix}'):06d}"


def reserve_document_numbers(prefixes: list[str]) -> list[str]:
    """One number for each of `prefixes` (repeats get consecutive ones), in order: the counters'
    blocks are reserved by one statement (`CaseNumberCounter.reserve`)."""
    wanted: dict[str, int] = {}
    for prefix in prefixes:
        wanted[f"document:{prefix}"] = wanted.get(f"document:{prefix}", 0) + 1
    following = CaseNumberCounter.reserve(wanted)
    numbers = []
    for prefix in prefixes:
        key = f"document:{prefix}"
        numbers.append(f"{prefix}-{following[key]:06d}")
        following[key] += 1
    return numbers


def recipient_language(case: Case) -> str:
    """The applicant's language (their account's), else the official one (a walk-in citizen)."""
    user = case.applicant.user if case.applicant.user_id else None
    return (user.preferred_language if user else "") or settings.LANGUAGE_CODE


def title_of(document: OfficialDocument) -> str:
    return document.title or str(document.get_kind_display())


def issue_document(
    *, case: Case, kind: str, event=None, step: Step | None = None, new_event: bool = False
) -> OfficialDocument:
    """The case's document of `kind` for `event`, issued now if it has not been (idempotent).
    `new_event`: the caller wrote `event` in its transaction just now, so no document is of it
    yet and none is looked for."""
    if not new_event:
        existing = OfficialDocument.objects.filter(case=case, kind=kind, event=event).first()
        if existing is not None:
            return existing
    document = unsaved_document(case=case, kind=kind, event=event, step=step)
    document.number = next_document_number(case=case, kind=kind)
    document.save(force_insert=True)
    return document


def unsaved_document(
    *, case: Case, kind: str, event=None, step: Step | None = None, owed=None
) -> OfficialDocument:
    """The document of `kind` as `issue_document` writes it, without its number and not saved
    (the set-based deemed acceptance numbers and inserts a batch of them at once)."""
    language = recipient_language(case)
    with translation.override(language):
        content = _content(case, kind, step, event, owed=owed)
        title = str(content["title"])
    return OfficialDocument(
        case=case, kind=kind, event=event, number="",
        issued_at=event.at if event is not None else timezone.now(), department=case.department,
        language=language, title=title, content=content,
    )  # fmt: skip


def issue_for_step(step: Step) -> OfficialDocument | None:
    """The document of the step's outcome (transitions.take runs this after the event and the
    decision record are written, before the messages that link to it)."""
    kind = OUTCOME_DOCUMENTS.get(step.transition.outcome)
    if kind is None:
        return None
    return issue_document(case=step.case, kind=kind, event=step.event, step=step)


@effect_handler(Effect.ACCEPTANCE_NOTICE, phase=Phase.RECORDED)
def issue_acceptance_notice(step: Step) -> None:
    """An admin may tick it on any transition (e.g. a custom one that accepts by passing)."""
    issue_document(case=step.case, kind=Kind.ACCEPTANCE_NOTICE, event=step.event, step=step)


def issue_receipt(case: Case, event, *, new_event: bool = False) -> OfficialDocument:
    """收件凭证, at submission: what was handed in, and that it is not yet an acceptance."""
    return issue_document(case=case, kind=Kind.RECEIPT, event=event, new_event=new_event)


def documents_of(case: Case) -> QuerySet[OfficialDocument]:
    return OfficialDocument.objects.filter(case=case).order_by("issued_at", "pk")


def receipt_of(case: Case) -> OfficialDocument | None:
    """The receipt of a submitted case (issued now for cases submitted before receipts were rows)."""
    if case.is_draft or case.received_at is None:
        return None
    found = documents_of(case).filter(kind=Kind.RECEIPT).first()
    if found is not None:
        return found
    event = case.events.filter(action="submit").order_by("sequence").first()
    with transaction.atomic():
        return issue_receipt(case, event)


def listing(
    case: Case, request, *, api: bool, staff: bool = False, licences: list | None = None
) -> list[dict]:
    """The case's documents as the citizen (or `staff`) see them, oldest first: the official
    documents, then the e-licences it gave. `url`: the API download (`api`) or the page's.
    `licences`: the case's licences with their types, when the caller has read them already."""
    rows = []
    issued = list(documents_of(case))
    no_receipt = not any(d.kind == Kind.RECEIPT for d in issued)
    # cases submitted before receipts were rows get theirs now
    if not case.is_draft and no_receipt and receipt_of(case) is not None:
        issued = list(documents_of(case))
    for document in issued:
        rows.append(
            {"id": document.pk, "kind": document.kind, "title": title_of(document),
             "number": document.number, "issued_at": document.issued_at,
             "url": _document_url(case, document.pk, api=api, staff=staff)}
        )  # fmt: skip
    if licences is None:
        licences = case.licences.select_related("licence_type").order_by("issued_at", "pk")
    else:
        licences = sorted(licences, key=lambda licence: (licence.issued_at, licence.pk))
    for licence in licences:
        if api:
            url = f"/api/v1/licences/{licence.number}/pdf/"
        else:
            url = reverse("licences:pdf", args=[licence.number])
        rows.append(
            {"id": licence.pk, "kind": Kind.LICENCE, "title": localized(licence.licence_type, "name"),
             "number": licence.number, "issued_at": licence.issued_at, "url": url,
             "licence": licence}
        )  # fmt: skip
    if api:
        for row in rows:
            row["url"] = request.build_absolute_uri(row["url"])
    return rows


def _document_url(case: Case, pk: int, *, api: bool, staff: bool) -> str:
    if api and staff:
        return f"/api/v1/work/cases/{case.number}/documents/{pk}.pdf"
    if api:
        return f"/api/v1/applications/{case.number}/documents/{pk}.pdf"
    if staff:
        return reverse("work:official-document", args=[case.number, pk])
    return reverse("cases:official-document", args=[case.number, pk])


# --- What each document says -----------------------------------------------------------------------


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = timezone.localdate(value)
    return value.isoformat()


def _material_names(materials) -> list[str]:
    return [str(m.label) for m in materials]


def _content(case: Case, kind: str, step: Step | None, event, *, owed=None) -> dict:
    """Everything the document says, in the active language (the recipient's). `owed`: the
    materials accepted to follow when the caller knows them (the set-based deemed acceptance)."""
    version, department = case.service_version, case.department
    now = event.at if event is not None else timezone.now()
    content = {
        "title": str(TITLES.get(kind, "")),
        "department": department.label,
        "department_address": department.address,
        "department_phone": department.phone,
        "applicant": case.applicant.real_name,
        "applicant_id": case.applicant.masked_id_number,
        "organisation": case.organisation.name if case.organisation_id else "",
        "uscc": case.organisation.uscc if case.organisation_id else "",
        "agent": case.agent.real_name if case.agent_id else "",
        "case_number": case.number,
        "service": localized(version, "name"),
        "service_code": case.service.code,
        "channel": str(case.get_channel_display()),
        "received_on": _iso(case.received_at),
        "issued_on": _iso(now),
        "complaint_phone": version.complaint_phone,
        "enquiry_phone": version.enquiry_phone or department.phone,
    }
    opinion = step.opinion if step is not None else ""
    details = step.details if step is not None else {}
    if kind == Kind.RECEIPT:
        content.update(_receipt_content(case))
    elif kind == Kind.ACCEPTANCE_NOTICE:
        content.update(_acceptance_content(case, details, owed))
    elif kind == Kind.SUPPLEMENT_NOTICE:
        request = case.supplement_requests.filter(state=SupplementRequest.State.OPEN).first()
        content.update(
            materials=_material_names(request.materials.all()) if request else [],
            note=request.note if request else opinion,
            deadline=_iso(request.deadline) if request else details.get("deadline"),
            limit_days=settings.SUPPLEMENT_ANSWER_WORKING_DAYS,
        )
    elif kind == Kind.EXTENSION_NOTICE:
        content.update(
            reason=opinion,
            days=details.get("days") or case.extended_days,
            due_date=_iso(case.due_date),
            due_date_provisional=case.due_date_provisional,
            statutory_days=version.statutory_limit_days,
        )
    elif kind == Kind.SUSPENSION_NOTICE:
        content.update(reason=opinion, paused_since=_iso(case.paused_since))
    elif kind in (Kind.DECISION, Kind.NOT_ACCEPTED_NOTICE):
        content.update(_decision_content(case, event))
    elif kind == Kind.PAYMENT_RECEIPT:
        from .payments.services import receipt_content

        content.update(receipt_content(event))
    return content


def _receipt_content(case: Case) -> dict:
    from .workflow.drafts import owed_materials

    version = case.service_version
    handed = [
        {"material": str(a.material.label) if a.material_id else "", "file": a.original_name}
        for a in case.attachments.select_related("material").order_by("pk")
    ]
    received = set(case.materials_received or [])
    # the version's materials are prefetched at submission
    paper = [m for m in version.materials.all() if m.pk in received] if received else []
    return {
        "handed_in": handed,
        "paper": _material_names(paper),
        "owed": _material_names(owed_materials(case)),
        "owed_by": _iso(case.materials_owed_by),
        "intake_due_date": _iso(case.intake_due_date),
        "promised_days": version.promised_limit_days,
    }


def _acceptance_content(case: Case, details: dict, owed=None) -> dict:
    from .workflow.drafts import owed_materials

    version = case.service_version
    owed = owed_materials(case) if owed is None else owed
    return {
        "accepted_on": _iso(case.accepted_at),
        "deemed": bool(details.get("deemed")),
        "due_date": _iso(case.due_date),
        "due_date_provisional": case.due_date_provisional,
        "promised_days": version.promised_limit_days,
        "statutory_days": version.statutory_limit_days,
        "owed": _material_names(owed),
        "owed_by": _iso(case.materials_owed_by),
        "commitment": case.commitment_signed_at is not None,
    }


def _decision_content(case: Case, event) -> dict:
    from . import decisions
    from .automation import services as automation

    decision = Decision.objects.filter(event=event).first() if event is not None else None
    if decision is None:  # a document issued for a case decided before decisions were records
        decision = decisions.decision_of(case)
    version = case.service_version
    if decision is None:
        return {"outcome": case.state, "reason": case.decision_reason, "rights": ""}
    outcome = decision.outcome
    if outcome in DECISION_TITLES:
        title = DECISION_TITLES[outcome]
    else:
        title = TITLES[Kind.NOT_ACCEPTED_NOTICE]
    return {
        "title": str(title),
        "outcome": outcome,
        "reason": decision.reason,
        "legal_basis": localized(decision, "legal_basis"),
        "decided_on": _iso(decision.decided_at),
        "effective_from": _iso(decision.effective_from),
        "valid_until": _iso(decision.valid_until),
        "result_name": localized(version, "result_name"),
        "licence": bool(version.licence_type_id),
        "automated": decision.automated,
        **automation.document_words(decision),  # 秒批: how to ask for a person (PIPL art. 24)
        # Where to challenge it, on the refusals (行政许可法 §38); the record keeps them for all.
        "rights": decisions.rights_text(decision.rights)
        if outcome in decisions.REFUSING_OUTCOMES
        else "",
    }


# --- Making the PDF --------------------------------------------------------------------------------


def tracking_url(case: Case) -> str:
    """The public tracking page with the number filled in (the QR code of every document)."""
    return f"{settings.PORTAL_BASE_URL}{reverse('track')}?{urlencode({'number': case.number})}"


def _context(document: OfficialDocument) -> dict:
    import segno

    content = dict(document.content or {})
    if not content:  # issued before documents carried their content
        with translation.override(document.language):
            content = _content(document.case, document.kind, None, document.event)
    for key in DATE_KEYS:
        if content.get(key):
            content[key] = dt.date.fromisoformat(content[key])
    return {
        "document": document,
        "c": content,
        "title": content.get("title") or title_of(document),
        # The seal bears the department's registered (Chinese) name, as on paper.
        "seal": seal_img(document.case.department.name),
        "qr_svg": segno.make(tracking_url(document.case), error="m").svg_inline(scale=3),
        "lang": document.language,
        "verify_url": f"{settings.PORTAL_BASE_URL}/verify/",
    }


def render_html(document: OfficialDocument) -> str:
    from django.template.loader import render_to_string

    with translation.override(document.language):
        if document.kind == Kind.COMMITMENT:
            return _commitment_html(document)
        return render_to_string(TEMPLATES[document.kind], _context(document))


def _commitment_html(document: OfficialDocument) -> str:
    from django.template.loader import render_to_string

    case = document.case
    return render_to_string(
        TEMPLATES[Kind.COMMITMENT],
        {
            **_context(document),
            "case": case,
            "version": case.service_version,
            "covered": [
                m.name for m in case.service_version.materials.all() if m.covered_by_commitment
            ],
        },
    )


def html_to_pdf(html: str) -> bytes:
    """A4, tagged (PDF/UA-1: headings, tables and the reading order survive for screen readers),
    fonts subset and embedded."""
    from weasyprint import HTML  # heavy import: only when a document is made

    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(pdf_variant="pdf/ua-1")


def make(document: OfficialDocument) -> bytes:
    """The signed PDF of `document`: made, sealed and stored the first time, read back after."""
    from . import signing

    if document.sha256 and document.file:
        with document.file.open("rb") as handle:
            return handle.read()
    with transaction.atomic():
        document = OfficialDocument.objects.select_for_update().get(pk=document.pk)
        if document.sha256 and document.file:  # made by someone else meanwhile
            with document.file.open("rb") as handle:
                return handle.read()
        pdf = html_to_pdf(render_html(document))
        department = document.department or document.case.department
        pdf = signing.sign_pdf(pdf, department=department, reason=title_of(document))
        document.file.save(f"{document.number}.pdf", ContentFile(pdf), save=False)
        document.sha256 = hashlib.sha256(pdf).hexdigest()
        document.rendered_at = timezone.now()
        document.save(update_fields=["file", "sha256", "rendered_at"])
    return pdf


def make_pending(limit: int = 50) -> int:
    """Documents issued but not yet made, oldest first (beat runs this every minute)."""
    made = 0
    for document in OfficialDocument.objects.filter(sha256="").order_by("issued_at")[:limit]:
        try:
            make(document)
            made += 1
        except Exception:  # one bad document must not stop the others
            logger.exception("Could not make official document %s", document.number)
    return made


def pdf_response(*, document: OfficialDocument, request=None):
    return _pdf_response(make(document), f"{document.number}.pdf")


def _pdf_response(body: bytes, filename: str):
    from django.http import HttpResponse

    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def make_licence(licence, request) -> bytes:
    """The e-licence certificate: made, sealed by its issuer and stored once, read back after."""
    from . import signing
    from .licences import services as licences
    from .models import Licence

    if licence.sha256 and licence.file:
        with licence.file.open("rb") as handle:
            return handle.read()
    with transaction.atomic():
        licence = Licence.objects.select_for_update().get(pk=licence.pk)
        if licence.sha256 and licence.file:
            with licence.file.open("rb") as handle:
                return handle.read()
        pdf = licences.licence_pdf(licence=licence, request=request)
        issuer = licence.licence_type.issuer
        pdf = signing.sign_pdf(
            pdf, department=issuer, reason=localized(licence.licence_type, "name")
        )
        licence.file.save(f"{licence.number}.pdf", ContentFile(pdf), save=False)
        licence.sha256 = hashlib.sha256(pdf).hexdigest()
        licence.save(update_fields=["file", "sha256"])
    return pdf


def licence_response(*, licence, request):
    return _pdf_response(make_licence(licence, request), f"licence-{licence.number}.pdf")


SEAL_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"  # Debian fonts-noto-cjk


@functools.lru_cache(maxsize=64)
def seal_png(department_name: str) -> bytes:
    """The department's electronic seal as stamped on paper: a red ring, the name round its top
    (each character set on the arc and turned, as a seal cutter does) and a star in the middle.
    A picture, so the text of the document reads on without it; the legal seal is the PAdES
    signature."""
    import io
    import math

    from PIL import Image, ImageDraw, ImageFont

    size, red = 480, (200, 16, 46, 255)
    seal = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(seal)
    centre = size / 2
    draw.ellipse((8, 8, size - 8, size - 8), outline=red, width=12)
    points = []
    for corner in range(10):  # a five-pointed star
        radius = 62 if corner % 2 == 0 else 25
        angle = math.radians(-90 + corner * 36)
        points.append((centre + radius * math.cos(angle), centre + 10 + radius * math.sin(angle)))
    draw.polygon(points, fill=red)
    name = department_name.strip()
    font = ImageFont.truetype(SEAL_FONT, 50)
    spread = min(250.0, 24.0 * max(len(name) - 1, 1))
    for index, char in enumerate(name):
        angle = -spread / 2 + (spread * index / (len(name) - 1) if len(name) > 1 else 0)
        glyph = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((32, 32), char, font=font, fill=red, anchor="mm")
        glyph = glyph.rotate(-angle, resample=Image.Resampling.BICUBIC)
        x = centre + 168 * math.sin(math.radians(angle)) - 32
        y = centre - 168 * math.cos(math.radians(angle)) - 32
        seal.alpha_composite(glyph, (round(x), round(y)))
    out = io.BytesIO()
    seal.save(out, format="PNG", optimize=True)
    return out.getvalue()


def seal_img(department_name: str) -> str:
    """The seal as an <img> for the document's HTML, named for screen readers."""
    import base64

    from django.utils.html import escape

    data = base64.b64encode(seal_png(department_name)).decode()
    return (
        f'<img src="data:image/png;base64,{data}" width="151" height="151" '
        f'alt="{escape(department_name)}（电子印章）">'
    )


# --- Made on request, not stored -------------------------------------------------------------------


def _pdf(template: str, *, case: Case, request, **context) -> bytes:
    """A case's paper made when asked for (the application form): Chinese throughout, with the
    tracking QR code. Not an official document: not numbered, sealed or stored."""
    import segno
    from django.template.loader import render_to_string

    with translation.override(settings.LANGUAGE_CODE):
        html = render_to_string(
            template,
            {
                "case": case,
                "version": case.service_version,
                "qr_svg": segno.make(tracking_url(case), error="m").svg_inline(scale=3),
                **context,
            },
            request=request,
        )
    return html_to_pdf(html)


def application_form_pdf(*, case: Case, request) -> bytes:
    """The application form (申请表) made from the answers given: never uploaded, for the applicant
    and staff alike. Made when asked for, from the data as stored."""
    from services.schema import answers

    from .workflow import display_data

    with translation.override(settings.LANGUAGE_CODE):  # the labels of the form, in Chinese
        given = answers(case.service_version.form_schema, display_data(case))
    return _pdf("cases/application_form.html", case=case, request=request, answers=given)


def application_form_response(*, case: Case, request):
    return _pdf_response(
        application_form_pdf(case=case, request=request), f"application-{case.number}.pdf"
    )
