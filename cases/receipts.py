"""The receipt (收件凭证) as a PDF: case number, service, applicant, materials, dates, a QR code."""

from __future__ import annotations

from urllib.parse import urlencode

import segno
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Case


def tracking_url(request, case: Case) -> str:
    """Where the QR code leads: the public tracking page with the number filled in, so whoever
    holds the receipt needs only the applicant's name (no account, works for walk-in citizens)."""
    return request.build_absolute_uri(f"{reverse('track')}?{urlencode({'number': case.number})}")


def receipt_pdf(*, case: Case, request) -> bytes:
    """Render the receipt; fonts: Noto Sans CJK (Debian fonts-noto-cjk), so Chinese prints."""
    from weasyprint import HTML  # heavy import: only when a receipt is asked for

    qr = segno.make(tracking_url(request, case), error="m")
    html = render_to_string(
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
    return HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
