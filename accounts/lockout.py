"""What a locked-out sign-in sees (django-axes AXES_LOCKOUT_CALLABLE): a page, or JSON in the API."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_response(request: HttpRequest, original_response, credentials) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "detail": _(
                    "Too many failed attempts for this account from this address; "
                    "try again in %(minutes)d minutes."
                )
                % {"minutes": minutes},
                "errors": {},
            },
            status=429,
        )
    return render(request, "accounts/locked_out.html", {"cooloff_minutes": minutes}, status=429)
