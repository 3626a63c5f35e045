"""The receipt (收件凭证): issued at submission as an official document (cases/documents.py), in the
applicant's language, listing what was handed in; it says that it is not an acceptance."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from .models import Case


def tracking_url(request, case: Case) -> str:
    """Where the QR code leads: the public tracking page with the number filled in, so whoever
    holds the receipt needs only the applicant's name (no account, works for walk-in citizens)."""
    return request.build_absolute_uri(f"{reverse('track')}?{urlencode({'number': case.number})}")


def receipt_pdf(*, case: Case) -> bytes:
    """The sealed receipt of a submitted case: made once, the same file online and at the counter."""
    from . import documents

    return documents.make(documents.receipt_of(case))
