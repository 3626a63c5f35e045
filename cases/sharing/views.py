"""Pages of data sharing: the applicant uploads a material that could not be fetched; a
department's admins list the requests made to their registries (the sharing log)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors, workflow
from . import selectors as sharing_selectors

PAGE_SIZE = 50


@login_required
@require_POST
def upload_instead(request: HttpRequest, number: str) -> HttpResponse:
    """Upload a shared material the registry could not give (down, nothing on record)."""
    case = selectors.application_for_applicant(request.user, number)
    if case is None:
        raise Http404
    back = redirect(reverse("cases:detail", args=[case.number]) + "#shared")
    upload = request.FILES.get("file")
    if not upload:
        messages.error(request, _("Choose a file to upload: PDF, JPEG or PNG."))
        return back
    try:
        workflow.add_attachment(
            case=case, material_id=request.POST.get("material"), upload=upload, user=request.user
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except workflow.CaseConflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Received: the department checks your document instead of the shared data.")
        )
    return back


@login_required
def sharing_log(request: HttpRequest) -> HttpResponse:
    """共享调用记录: every request made to the registries of the departments the user administers."""
    if not sharing_selectors.may_see_sharing_log(request.user):
        raise Http404
    rows, following = sharing_selectors.page_before(
        sharing_selectors.sharing_requests_for(request.user), request.GET.get("after"), PAGE_SIZE
    )
    query = request.GET.copy()
    if following:
        query["after"] = following
    return render(
        request,
        "sharing/log.html",
        {"rows": rows, "next_query": query.urlencode() if following else ""},
    )
