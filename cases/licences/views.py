"""E-licence pages: the holder's wallet with certificate downloads, and the public verification
page a QR code leads to (no sign-in; the holder's name masked, never their ID number)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from ..models import Licence
from . import services as licences


def _decorate(licence: Licence) -> Licence:
    """What the templates show beside the row itself: status and the type's name in this language."""
    licence.status = licences.status_of(licence)
    licence.type_label = licences.type_label(licence)
    return licence


@login_required
def wallet(request: HttpRequest) -> HttpResponse:
    page = Paginator(licences.licences_of(request.user), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "licences/licence_list.html",
        {
            "page": page,
            "licences": [_decorate(licence) for licence in page.object_list],
            "identity": licences.identity_of(request.user),
        },
    )


@login_required
def pdf(request: HttpRequest, number: str) -> HttpResponse:
    """The certificate, for its holder only; anyone else gets 404."""
    licence = (
        licences.licences_of(request.user).select_related("holder").filter(number=number).first()
    )
    if licence is None:
        raise Http404
    response = HttpResponse(
        licences.licence_pdf(licence=licence, request=request), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="licence-{licence.number}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
def verify(request: HttpRequest, code: str) -> HttpResponse:
    """Public: is this licence genuine and in force? Revocation shows at once (never cached)."""
    licence = licences.licence_for_verification(code)
    if licence is None:
        raise Http404
    licence = _decorate(licence)
    return render(
        request,
        "licences/verify.html",
        {
            "licence": licence,
            "status": licence.status,
            "holder_name": licences.mask_name(licence.holder.real_name),
        },
    )
