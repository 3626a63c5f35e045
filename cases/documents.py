"""Official documents produced by the engine's effects (DESIGN "Official documents and decisions").

The acceptance notice (受理通知书) is written in the transaction that accepts the case, numbered by
department, kind and year, so an accepted case always has one.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation

from services.models import Effect

from .models import Case, CaseNumberCounter, OfficialDocument
from .workflow import Phase, Step, effect_handler

PREFIXES = {OfficialDocument.Kind.ACCEPTANCE_NOTICE: "SL", OfficialDocument.Kind.COMMITMENT: "CN"}


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


TEMPLATES = {
    OfficialDocument.Kind.ACCEPTANCE_NOTICE: "cases/acceptance_notice.html",
    OfficialDocument.Kind.COMMITMENT: "cases/commitment.html",
}


def _pdf(template: str, *, case: Case, request, **context) -> bytes:
    """A case's document as an A4 PDF (fonts: Noto Sans CJK), with the tracking QR code."""
    from weasyprint import HTML  # heavy import: only when a document is asked for

    # An official document is Chinese throughout, whatever the reader's page language: no
    # “through the API” or English choice label inside a Chinese 受理通知书.
    with translation.override(settings.LANGUAGE_CODE):
        html = _render(template, case=case, request=request, **context)
    return HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()


def _render(template: str, *, case: Case, request, **context) -> str:
    import segno
    from django.template.loader import render_to_string

    from .receipts import tracking_url

    return render_to_string(
        template,
        {
            "case": case,
            "version": case.service_version,
            "qr_svg": segno.make(tracking_url(request, case), error="m").svg_inline(scale=3),
            **context,
        },
        request=request,
    )


def _pdf_response(body: bytes, filename: str):
    from django.http import HttpResponse

    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def document_pdf(*, document: OfficialDocument, request) -> bytes:
    case = document.case
    submitted = case.events.filter(action="submit").values_list("details", flat=True).first()
    return _pdf(
        TEMPLATES[document.kind],
        case=case,
        request=request,
        document=document,
        covered=[m.name for m in case.service_version.materials.all() if m.covered_by_commitment],
        owed=(submitted or {}).get("owed", []),  # materials accepted to follow (容缺)
    )


def pdf_response(*, document: OfficialDocument, request):
    return _pdf_response(document_pdf(document=document, request=request), f"{document.number}.pdf")


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
