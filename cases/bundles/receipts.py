"""The bundle's receipt (一件事受理回执) as a PDF: the bundle number, the date, the applicant
(ID number masked) and every member case (number, service, department, state and the promised
time limit in working days), each with the tracking QR code its own receipt carries.

Made when asked for, from the bundle as it stands, with the official documents' machinery
(cases.documents: the print style, WeasyPrint, segno), in the applicant's language. It is not an
official document of one department: each member case has its own sealed receipt (收件凭证) and
acceptance notice from its department; this sheet lists them together, so it is not numbered,
sealed or stored."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from services.models import localized

from .. import documents
from ..models import BundleApplication
from . import services


def recipient_language(application: BundleApplication) -> str:
    user = application.filed_by
    return getattr(user, "preferred_language", "") or settings.LANGUAGE_CODE


def receipt_html(application: BundleApplication) -> str:
    import segno

    status_url = settings.PORTAL_BASE_URL + reverse(
        "cases:bundles:status", args=[application.number]
    )
    rows = services.member_rows(application)
    cases = {link.case.number: link.case for link in application.member_cases.all() if link.case}
    for row in rows:
        case = cases.get(row["number"])
        version = case.service_version if case else None
        row["promised_days"] = version.promised_limit_days if version else None
        row["due_date"] = case.due_date if case else None
        row["due_date_provisional"] = case.due_date_provisional if case else False
        row["qr_svg"] = (
            segno.make(documents.tracking_url(case), error="m").svg_inline(scale=2) if case else ""
        )
    language = recipient_language(application)
    with translation.override(language):
        for row in rows:
            case = cases.get(row["number"])
            if case is not None:
                row["service_name"] = localized(case.service_version, "name")
        return render_to_string(
            "bundles/receipt_pdf.html",
            {
                "application": application,
                "bundle": application.bundle,
                "applicant": application.applicant,
                "rows": rows,
                "issued_on": timezone.localdate(),
                "qr_svg": segno.make(status_url, error="m").svg_inline(scale=3),
                "lang": language,
            },
        )


def receipt_pdf(application: BundleApplication) -> bytes:
    return documents.html_to_pdf(receipt_html(application))
