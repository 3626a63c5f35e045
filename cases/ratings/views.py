"""Pages for 好差评: the applicant rates online, a clerk records a rating on a counter tablet, and the
department answers bad ratings."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import access, selectors, workflow
from ..counter import services as counter
from ..models import Case, Channel, Rating, RatingTag
from . import services as ratings

ONLINE_DIMENSIONS = ("efficiency", "guidance", "convenience")
COUNTER_DIMENSIONS = (*ONLINE_DIMENSIONS, "attitude", "skill")


def dimension_choices(names) -> list[tuple[str, str]]:
    labels = {
        "efficiency": _("Speed"),
        "guidance": _("Accuracy of the guidance"),
        "convenience": _("Convenience"),
        "attitude": _("Staff attitude"),
        "skill": _("Staff skill"),
    }
    return [(name, labels[name]) for name in names]


SCORES = [
    (5, "非常满意", "Very satisfied"),
    (4, "满意", "Satisfied"),
    (3, "基本满意", "Fairly satisfied"),
    (2, "不满意", "Dissatisfied"),
    (1, "非常不满意", "Very dissatisfied"),
]


def score_choices() -> list[tuple[int, str]]:
    from django.utils.translation import get_language

    english = (get_language() or "").startswith("en")
    return [(value, en if english else zh) for value, zh, en in SCORES]


def _int(value) -> int | None:
    return int(value) if str(value or "").isdigit() else None


def _rating_from(request: HttpRequest, dimensions=()) -> dict:
    post = request.POST
    return {
        "score": _int(post.get("score")),
        "tags": post.getlist("tags"),
        "comment": post.get("comment", ""),
        "dimensions": {d: _int(post.get(f"dimension-{d}")) for d in dimensions},
    }


def _report(request: HttpRequest, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.error(request, getattr(exc, "message", str(exc)))


@login_required
@require_POST
def rate(request: HttpRequest, number: str) -> HttpResponse:
    """The applicant's rating from the case page."""
    case = selectors.application_ref(request.user, number)
    if case is None:
        raise Http404
    values = _rating_from(request, ONLINE_DIMENSIONS)
    try:
        rating = ratings.rate(case=case, user=request.user, **values)
    except (ValidationError, PermissionDenied, workflow.CaseConflict) as exc:
        _report(request, exc)
    else:
        if rating.is_bad:
            messages.success(
                request,
                _("Thank you. The department must answer your rating within %(days)d working "
                  "days; you will be told.") % {"days": settings.RECTIFICATION_WORKING_DAYS},
            )  # fmt: skip
        else:
            messages.success(request, _("Thank you for your rating."))
    return _back_to(case)


def _back_to(case: Case) -> HttpResponse:
    return redirect(reverse("cases:detail", args=[case.number]) + "#rating")


@login_required
@require_POST
def rate_answer(request: HttpRequest, number: str) -> HttpResponse:
    case = selectors.application_ref(request.user, number)
    if case is None:
        raise Http404
    try:
        ratings.rate_the_answer(case=case, user=request.user, score=_int(request.POST.get("score")))
    except (ValidationError, PermissionDenied, workflow.CaseConflict) as exc:
        _report(request, exc)
    else:
        messages.success(request, _("Thank you for telling us."))
    return _back_to(case)


# --- At the counter: a tablet the citizen taps -------------------------------------------------------


@login_required
def counter_rate(request: HttpRequest) -> HttpResponse:
    """The clerk types (or scans) the application number; the citizen rates on the tablet."""
    if not counter.is_counter_clerk(request.user):
        raise Http404
    number = (request.POST.get("number") or request.GET.get("number") or "").strip()[:100]
    case = access.cases_for_counter(request.user).filter(number=number).first() if number else None
    if case is not None and not ratings.may_record_at_counter(case, request.user):
        case = None
    status = 200
    if number and case is None:
        messages.error(request, _("No application with this number for your counter."))
        status = 404
    elif case is not None and "score" in request.POST:
        try:
            ratings.rate(case=case, user=request.user, channel=Channel.COUNTER,
                         **_rating_from(request, COUNTER_DIMENSIONS))  # fmt: skip
        except (ValidationError, PermissionDenied, workflow.CaseConflict) as exc:
            _report(request, exc)
            status = 400
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect("counter:rate")
    context = {"number": number, "case": case, "scores": score_choices(),
               "tags": RatingTag.choices, "dimensions": dimension_choices(COUNTER_DIMENSIONS)}  # fmt: skip
    if case is not None:
        context["already"] = Rating.objects.filter(case=case).exists()
        context["finished"] = case.state in ratings.RATEABLE_STATES
    return render(request, "counter/rate.html", context, status=status)


# --- The department's side ---------------------------------------------------------------------------


@login_required
def rectifications(request: HttpRequest) -> HttpResponse:
    if not ratings.departments_with_role(request.user, *ratings.RECTIFIERS).exists():
        raise Http404
    rows = ratings.rectifications_for(request.user)
    if request.method == "POST":
        try:
            ratings.answer(
                rectification_id=_int(request.POST.get("rectification")),
                user=request.user,
                text=request.POST.get("answer", ""),
            )
        except (ValidationError, PermissionDenied, workflow.CaseConflict) as exc:
            _report(request, exc)
        else:
            messages.success(request, _("Answered; the applicant is told."))
            return redirect("work:rectifications")
    labels = dict(RatingTag.choices)
    rows = list(rows[:200])
    for row in rows:
        row.tag_labels = [labels.get(tag, tag) for tag in row.rating.tags]
    return render(
        request, "work/rectifications.html", {"rows": rows, "today": timezone.localdate()}
    )
