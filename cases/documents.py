"""Official documents produced by the engine's effects (DESIGN "Official documents and decisions").

The acceptance notice (受理通知书) is written in the transaction that accepts the case, numbered by
department, kind and year, so an accepted case always has one.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from services.models import Effect

from .models import Case, CaseNumberCounter, OfficialDocument
from .workflow import Phase, Step, effect_handler

PREFIXES = {OfficialDocument.Kind.ACCEPTANCE_NOTICE: "SL"}


def next_document_number(*, case: Case, kind: str) -> str:
    """Department code, kind, year and a sequence, unique under concurrency."""
    year = timezone.localdate().year
    prefix = f"{case.department.code.upper()}-{PREFIXES.get(kind, kind.upper())}-{year}"
    return f"{prefix}-{CaseNumberCounter.next_value(f'document:{prefix}'):06d}"


def issue_document(*, case: Case, kind: str, event=None) -> OfficialDocument:
    existing = OfficialDocument.objects.filter(case=case, kind=kind, event=event).first()
    if existing is not None:
        return existing
    return OfficialDocument.objects.create(
        case=case, kind=kind, event=event, number=next_document_number(case=case, kind=kind),
        issued_at=event.at if event is not None else timezone.now(),
    )  # fmt: skip


@effect_handler(Effect.ACCEPTANCE_NOTICE, phase=Phase.RECORDED)
def issue_acceptance_notice(step: Step) -> None:
    issue_document(case=step.case, kind=OfficialDocument.Kind.ACCEPTANCE_NOTICE, event=step.event)


def documents_of(case: Case) -> QuerySet[OfficialDocument]:
    return OfficialDocument.objects.filter(case=case).order_by("issued_at", "pk")


TEMPLATES = {OfficialDocument.Kind.ACCEPTANCE_NOTICE: "cases/acceptance_notice.html"}


def document_pdf(*, document: OfficialDocument, request) -> bytes:
    """The document as an A4 PDF (fonts: Noto Sans CJK), with the tracking QR code."""
    import segno
    from django.template.loader import render_to_string
    from weasyprint import HTML  # heavy import: only when a document is asked for

    from .receipts import tracking_url

    case = document.case
    html = render_to_string(
        TEMPLATES[document.kind],
        {
            "document": document,
            "case": case,
            "version": case.service_version,
            "qr_svg": segno.make(tracking_url(request, case), error="m").svg_inline(scale=3),
        },
        request=request,
    )
    return HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()


def pdf_response(*, document: OfficialDocument, request):
    from django.http import HttpResponse

    response = HttpResponse(
        document_pdf(document=document, request=request), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{document.number}.pdf"'
    return response
