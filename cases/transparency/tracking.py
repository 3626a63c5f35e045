"""Public case tracking (DESIGN "API": `POST track/` with `{number, name}`, and the page /track/).

Anyone holding a case number and the applicant's real name (or the applying organisation's name)
sees how far the case has got: its outer state, what happened when in plain words, the service, the
department and the dates it is due. Nothing personal is shown: no names, ID numbers, phones, form
data, opinions, staff or documents. A wrong name, an unknown number and a draft get the same 404,
so the answer never tells whether a number exists.

The name travels in a POST body only, never in a URL (URLs end up in access logs, browser histories
and Referer headers): the page's form posts it, the API takes it as JSON, and a `name` in a query
string is refused unread (400) without a lookup. The number may be in a URL: the receipt's QR code
links to /track/?number=….

Guessing is rate-limited per client address. The counters live in the database (portal.RateCounter,
counted by one upsert: portal.ratelimit.count_events) so that the limit holds across web processes
and does not depend on Redis; the upsert's row lock serialises one address's requests, so parallel
requests cannot slip past the limit.
"""

from __future__ import annotations

import hmac
import logging
import math
import time

from axes.helpers import get_client_ip_address
from django import forms
from django.db import DatabaseError
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import ratelimit
from services.models import OuterState, localized

from .. import access, selectors
from ..models import Case

logger = logging.getLogger(__name__)

# Per client address and window: lookups that found nothing, and lookups of any outcome.
FAILURE_LIMIT = 10
LOOKUP_LIMIT = 60
WINDOW_SECONDS = 10 * 60


def not_found_message() -> str:
    return _(
        "No application matches this number and name. Check both against your receipt and try again."
    )


# --- Who may see what -------------------------------------------------------------------------------


def _same(given: str, actual: str | None) -> bool:
    if not actual:
        return False
    return hmac.compare_digest(given.strip().encode(), actual.strip().encode())


def case_for_tracking(number: str, name: str) -> Case | None:
    """The case with this number if `name` is its applicant's real name or its organisation's name,
    compared exactly after trimming whitespace (full-width spaces too); None otherwise, and always
    None for a draft. The applicant's profile is never loaded, only the two names compared."""
    case = (
        access.trackable_cases()
        .filter(number=number.strip())
        .select_related("service", "service_version__workflow", "department")
        .defer("data", "service_version__form_schema")  # never shown here: not even decrypted
        .annotate(
            applicant_name=F("applicant__real_name"), organisation_name=F("organisation__name")
        )
        .first()
    )
    if case is None or not (
        _same(name, case.applicant_name) or _same(name, case.organisation_name)
    ):
        return None
    return case


def public_timeline(case: Case) -> list[dict]:
    """The applicant's timeline without opinions and staff bookkeeping."""
    return [
        {key: entry[key] for key in ("action", "label", "at", "state", "state_label")}
        for entry in selectors.timeline(case)
        if not entry["internal"]
    ]


def public_view(case: Case) -> dict:
    """Everything the page and the API show; nothing here is personal."""
    return {
        "number": case.number,
        "state": case.state,
        "state_label": case.get_state_display(),
        "service": case.service.code,
        "service_name": case.service_version.label,
        "department": localized(case.department, "name"),
        "received_at": case.received_at,
        "intake_due_date": case.intake_due_date if case.state == OuterState.SUBMITTED else None,
        "due_date": case.due_date,
        "due_date_provisional": case.due_date_provisional,
        "decided_at": case.decided_at,
        "closed_at": case.closed_at,
        "timeline": public_timeline(case),
    }


# --- Rate limit -------------------------------------------------------------------------------------


class TooManyLookups(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def _client_key(request: HttpRequest) -> str:
    """The address as django-axes sees it (TRUSTED_PROXY_COUNT), hashed: no address is stored."""
    address = get_client_ip_address(request) or "unknown"
    return "track:" + salted_hmac("cases.tracking", address).hexdigest()[:40]


def _limited_lookup(number: str, name: str, key: str) -> Case | None:
    """Counted first, as if it failed, in one statement: parallel guesses cannot slip past the
    limit, and the counts are right whatever happens after. A refused attempt is then taken back
    (it does not count), and so is the failure of one that found its case."""
    now = time.time()
    lookups, failed = f"{key}:lookups", f"{key}:failed"
    counted = ratelimit.count_events({lookups: WINDOW_SECONDS, failed: WINDOW_SECONDS}, now=now)
    for counter, limit in ((failed, FAILURE_LIMIT), (lookups, LOOKUP_LIMIT)):
        so_far, ends = counted[counter]
        if so_far > limit:
            logger.warning("Case tracking: lookups refused for %s (%s)", key, counter[-7:])
            _take_back([lookups, failed])
            raise TooManyLookups(max(1, math.ceil(ends - now)))
    case = case_for_tracking(number, name)
    if case is not None:
        _take_back([failed])
    return case


def _take_back(counters: list[str]) -> None:
    try:
        ratelimit.uncount(counters)
    except DatabaseError:
        logger.exception("Case tracking: a lookup could not be taken back from its counters")


def track_case(*, number: str, name: str, request: HttpRequest) -> Case | None:
    """Look a case up for the public, counting the attempt against the client's address.

    Raises TooManyLookups when the address has used up its failed or total lookups. When the
    counters cannot be reached the lookup goes ahead (fail open) and the error is logged.
    """
    try:
        return _limited_lookup(number, name, _client_key(request))
    except DatabaseError:
        logger.exception("Case tracking: rate limit unavailable; lookup allowed without it")
    return case_for_tracking(number, name)


# --- The page ---------------------------------------------------------------------------------------


class TrackForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("Application number"),
        max_length=100,
        help_text=gettext_lazy("As printed on your receipt."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    name = forms.CharField(
        label=gettext_lazy("Applicant's name"),
        max_length=200,
        help_text=gettext_lazy(
            "The real name of the person who applied, or the name of the organisation that applied."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def point_inputs_at(self, element_id: str) -> None:
        """Link every input to an error shown above the form (screen readers announce it)."""
        for field in self.visible_fields():
            ids = [f"{field.auto_id}_helptext"] if field.help_text else []
            field.field.widget.attrs["aria-describedby"] = " ".join([*ids, element_id])
            field.field.widget.attrs["aria-invalid"] = "true"


def _fixed_number(data) -> str:
    """A number given in the link (the receipt's QR code): shown, not asked for again."""
    number = data.get("number", "").strip()
    return number if 0 < len(number) <= 100 else ""


@never_cache
@require_http_methods(["GET", "POST"])
def track_page(request: HttpRequest) -> HttpResponse:
    """The form (number, name; the name is POSTed so it never appears in a URL), then the case."""
    if "name" in request.GET:
        # Never a lookup from a URL: the name would sit in access logs. The form asks again.
        fixed = _fixed_number(request.GET)
        form = TrackForm(initial={"number": fixed})
        context = {"form": form, "fixed_number": fixed, "name_in_url": True}
        return render(request, "track/form.html", context, status=400)
    if request.method == "GET":
        fixed = _fixed_number(request.GET)
        form = TrackForm(initial={"number": fixed})
        return render(request, "track/form.html", {"form": form, "fixed_number": fixed})
    form = TrackForm(request.POST)
    fixed = _fixed_number(request.POST) if request.POST.get("fixed") else ""
    context = {"form": form, "fixed_number": fixed}
    if not form.is_valid():
        return render(request, "track/form.html", context, status=400)
    try:
        case = track_case(
            number=form.cleaned_data["number"], name=form.cleaned_data["name"], request=request
        )
    except TooManyLookups as exc:
        form.point_inputs_at("track-errors")
        context["retry_minutes"] = math.ceil(exc.retry_after / 60)
        response = render(request, "track/form.html", context, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    if case is None:
        form.add_error(None, not_found_message())
        form.point_inputs_at("track-errors")
        return render(request, "track/form.html", context, status=404)
    return render(request, "track/result.html", {"case": public_view(case)})


# --- The API ----------------------------------------------------------------------------------------


class TrackQuery(serializers.Serializer):
    number = serializers.CharField(max_length=100, help_text="The application number")
    name = serializers.CharField(
        max_length=200,
        help_text="The applicant's real name, or the applying organisation's name",
    )


def name_in_url_message() -> str:
    return _("Send the name in the request body (POST), never in the address.")


class PublicTimelineEntry(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    at = serializers.DateTimeField()
    state = serializers.CharField()
    state_label = serializers.CharField()


class TrackOutput(serializers.Serializer):
    number = serializers.CharField()
    state = serializers.ChoiceField(choices=OuterState.choices)
    state_label = serializers.CharField()
    service = serializers.CharField(help_text="Service code")
    service_name = serializers.CharField()
    department = serializers.CharField(help_text="The department's name")
    received_at = serializers.DateTimeField(allow_null=True)
    intake_due_date = serializers.DateField(
        allow_null=True, help_text="Accepted or told what is missing by (while submitted)"
    )
    due_date = serializers.DateField(allow_null=True, help_text="Decision due")
    due_date_provisional = serializers.BooleanField()
    decided_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    timeline = PublicTimelineEntry(many=True)


ERROR = inline_serializer(
    "TrackError", {"detail": serializers.CharField(), "errors": serializers.DictField()}
)


class TrackView(APIView):
    """Public: no sign-in, no session (so no CSRF), nothing personal in the answer."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=TrackQuery,
        responses={200: TrackOutput, 400: ERROR, 404: ERROR, 429: ERROR},
        description="The state, dates and timeline labels of a submitted application, for anyone "
        "who knows its number and the applicant's name. The name goes in the body, never in the "
        "URL (a `name` query parameter is refused with 400). A wrong name, an unknown number and a "
        "draft all answer 404. Lookups are limited per client address (429 with Retry-After).",
    )
    def post(self, request):
        if "name" in request.query_params:
            raise exceptions.ValidationError({"name": [name_in_url_message()]})
        query = TrackQuery(data=request.data)
        query.is_valid(raise_exception=True)
        try:
            case = track_case(
                number=query.validated_data["number"],
                name=query.validated_data["name"],
                request=request._request,
            )
        except TooManyLookups as exc:
            raise exceptions.Throttled(
                wait=exc.retry_after, detail=_("Too many lookups from this address.")
            ) from exc
        if case is None:
            raise exceptions.NotFound(not_found_message())
        response = Response(TrackOutput(public_view(case)).data)
        response["Cache-Control"] = "no-store"
        return response
