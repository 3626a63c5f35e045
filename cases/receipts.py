"""The receipt (收件凭证) as a PDF: case number, service, applicant, materials, dates, a QR code."""

from __future__ import annotations

from urllib.parse import urlencode

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .models import Case


def tracking_url(request, case: Case) -> str:
    """Where the QR code leads: the public tracking page with the number filled in, so whoever
    holds the receipt needs only the applicant's name (no account, works for walk-in citizens)."""
    return request.build_absolute_uri(f"{reverse('track')}?{urlencode({'number': case.number})}")


def receipt_pdf(*, case: Case, request, language: str | None = None) -> bytes:
    """Render the receipt in the reader's language: `language`, or the page's. Unlike the official
    documents (documents.py, Chinese throughout) a receipt is the applicant's own note of what was
    handed in, so an English reader gets it in English, Chinese names marked lang="zh-Hans".
    Fonts: Noto Sans CJK (Debian fonts-noto-cjk), so Chinese prints."""
    from weasyprint import HTML  # heavy import: only when a receipt is asked for

    qr = segno.make(tracking_url(request, case), error="m")
    with translation.override(language or translation.get_language()):
        html = _receipt_html(case=case, request=request, qr=qr)
    return HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()


def receipt_language(case: Case) -> str:
    """The language a receipt printed for the applicant is in: theirs if they have an account."""
    user = case.applicant.user if case.applicant.user_id else None
    return user.preferred_language if user else settings.LANGUAGE_CODE


def _receipt_html(*, case: Case, request, qr) -> str:
    return render_to_string(
        "cases/receipt.html",
        {
            "case": case,
            "version": case.service_version,
            "attachments": case.attachments.all(),
            "paper": case.service_version.materials.filter(pk__in=case.materials_received or []),
            "qr_svg": qr.svg_inline(scale=3, dark="#000"),
            "printed_at": timezone.localtime(),
            "tracking_url": tracking_url(request, case),
        },
        request=request,
    )
