"""Public verification pages (no sign-in): is this document or e-licence genuine?

- `GET /verify/` ("verify-document"): a form to upload a PDF, and one to type a licence's
  verification code (it leads to `/verify/<code>/`, "verify-licence").
- `POST /verify/`: the uploaded PDF (at most `VERIFY_UPLOAD_MAX_BYTES`, 20 MiB) checked with
  `cases.signing.verify_pdf`: sealed by which department, unchanged since, and exactly which
  document or e-licence the portal issued; or what is wrong, in plain words. A file that is not a
  PDF gets a form error, never a server error.
- `GET /verify/payload/?t=<token>` ("verify-payload"): a signed QR payload (`cases.signing.
  sign_payload`) opened; if its seal holds, the licence it names as the records hold it now.

The licence QR payload has these keys (all strings unless said, kept short for the QR code):

    {"n": licence number, "c": verification code, "t": licence type code,
     "h": holder's name masked (张*明), "u": valid until, ISO date, or null for indefinitely,
     "d": the issuing department's code (added by sign_payload)}

`licence_payload(licence)` makes exactly this dict for the licences code to sign.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.templatetags.error_summary import form_error_items

from .licences import services as licences
from .models import Licence
from .signing import SignatureInvalid, open_payload, verify_pdf


def licence_payload(licence: Licence) -> dict:
    """The QR payload of a licence (keys in the module docstring); sign it with
    `sign_payload(licence_payload(licence), department=licence.licence_type.issuer)`."""
    return {
        "n": licence.number,
        "c": licence.verification_code,
        "t": licence.licence_type.code,
        "h": licences.mask_name(licence.holder_name),
        "u": licence.valid_until.isoformat() if licence.valid_until else None,
    }


class DocumentUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("The PDF file to check"),
        error_messages={
            "required": gettext_lazy("Choose the PDF file to check."),
            "empty": gettext_lazy("The file is empty: choose the PDF file you received."),
        },
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "The document or e-licence exactly as you received it (PDF, at most %(mb)d MB)."
        ) % {"mb": settings.VERIFY_UPLOAD_MAX_BYTES // (1024 * 1024)}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.VERIFY_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB: this cannot be a document from the portal.")
                % {"mb": limit // (1024 * 1024)},
                code="too_large",
            )
        upload.seek(0)
        head = upload.read(1024)
        upload.seek(0)
        if b"%PDF-" not in head:  # as verify_pdf: the header within the first 1 KiB
            raise forms.ValidationError(
                _("This file is not a PDF document. Choose the PDF file you received."),
                code="not_pdf",
            )
        return upload


class LicenceCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Verification code of an e-licence"),
        help_text=gettext_lazy("Printed under the QR code of the certificate."),
        max_length=Licence._meta.get_field("verification_code").max_length,
        error_messages={"required": gettext_lazy("Enter the verification code.")},
    )

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if licences.licence_for_verification(code) is None:
            raise forms.ValidationError(
                _("No e-licence has this verification code. Check it against the certificate."),
                code="unknown",
            )
        return code


@never_cache
@require_http_methods(["GET", "POST"])
def verify_document(request: HttpRequest) -> HttpResponse:
    upload_form, code_form, verdict = DocumentUploadForm(), LicenceCodeForm(), None
    if request.method == "POST":
        upload_form = DocumentUploadForm(request.POST, request.FILES)
        if upload_form.is_valid():
            verdict = verify_pdf(upload_form.cleaned_data["file"].read())
    elif "code" in request.GET:
        code_form = LicenceCodeForm(request.GET)
        if code_form.is_valid():
            return redirect("verify-licence", code=code_form.cleaned_data["code"])
    context = {"form": upload_form, "code_form": code_form, "verdict": verdict}
    if code_form.errors:
        context["error_items"] = form_error_items(code_form)
    if verdict is not None:
        context.update(_describe(verdict))
    return render(request, "cases/verify_document.html", context)


def _describe(verdict) -> dict:
    """What the page says about the record the file is, beside the verdict."""
    issued = verdict.issued
    if verdict.issued_kind == "document":
        return {
            "record_title": issued.title or issued.get_kind_display(),
            "record_number": issued.number,
            "record_department": issued.department or getattr(issued.case, "department", None),
            "record_date": issued.issued_at,
        }
    if verdict.issued_kind == "licence":
        return {
            "record_title": licences.type_label(issued),
            "record_number": issued.number,
            "record_department": issued.licence_type.issuer,
            "record_date": issued.issued_at,
            "licence": issued,
            "licence_status": licences.status_of(issued),
        }
    return {}


@never_cache
@require_http_methods(["GET"])
def verify_payload(request: HttpRequest) -> HttpResponse:
    """What a QR code's signed payload says, and the licence it names as the records hold it now."""
    token = request.GET.get("t", "")
    context: dict = {"genuine": False, "licence": None}
    try:
        payload = open_payload(token)
    except SignatureInvalid:
        payload = None
    if payload is not None:
        context["genuine"] = True
        context["payload"] = payload
        licence = licences.licence_for_verification(str(payload.get("c") or ""))
        if licence is not None and licence.number == payload.get("n"):
            context.update(
                licence=licence,
                status=licences.status_of(licence),
                type_label=licences.type_label(licence),
                holder_name=licences.mask_name(licence.holder_name),
            )
    return render(request, "cases/verify_payload.html", context)
