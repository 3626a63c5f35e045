"""E-licence pages: the holder's wallet with certificate downloads, the public verification page a
QR code leads to (no sign-in; a person's name masked, never an ID number nor the 经办人), and for
staff of the case the certificate and the department head's revocation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import selectors
from ..models import Channel, Licence
from ..workflow import CaseConflict
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
    licence = licences.licences_of(request.user).filter(number=number).first()
    if licence is None:
        raise Http404
    return _certificate(request, licence)


def _certificate(request: HttpRequest, licence: Licence) -> HttpResponse:
    """The sealed certificate, made and stored once (its state now is what /verify/ says)."""
    from ..documents import licence_response

    return licence_response(licence=licence, request=request)


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
            "holder_name": licences.public_holder_name(licence),
        },
    )


def _staff_licence(request: HttpRequest, number: str, licence_number: str) -> Licence:
    """A licence of a case the member of staff may see; 404 otherwise."""
    case = selectors.case_for_staff(request.user, number)
    licence = (
        Licence.objects.filter(case=case, number=licence_number)
        .select_related("licence_type__issuer", "organisation", "holder", "agent", "case")
        .first()
        if case is not None
        else None
    )
    if licence is None:
        raise Http404
    return licence


@login_required
def staff_pdf(request: HttpRequest, number: str, licence_number: str) -> HttpResponse:
    """The certificate of a licence a case gave, for staff who may see the case."""
    from .. import access_log

    licence = _staff_licence(request, number, licence_number)
    access_log.staff_saw(
        request.user, licence.case, action=access_log.Action.DOCUMENT, field="licence"
    )
    return _certificate(request, licence)


@login_required
@require_POST
def staff_revoke(request: HttpRequest, number: str, licence_number: str) -> HttpResponse:
    """The department head revokes (吊销) or annuls (撤销) a licence from the staff case page."""
    licence = _staff_licence(request, number, licence_number)
    try:
        licences.revoke_licence(
            licence=licence,
            user=request.user,
            kind=request.POST.get("kind", ""),
            reason=request.POST.get("reason", ""),
            channel=Channel.ONLINE,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except CaseConflict as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The licence has ended; the holder is told why."))
    return redirect("work:case", number=number)
