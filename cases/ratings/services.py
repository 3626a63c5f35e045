"""好差评: the applicant rates a finished case once; a bad rating (1 or 2) opens a rectification that
the department answers within working days; the applicant is told, reads the answer and may rate it.

Who rated is recorded on the rating but never shown to the staff rated: the staff side sees the
score, tags and comment on the rectification list, not on the case they handled.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, StaffMembership, User
from accounts.permissions import departments_with_role
from services.calendar import add_working_days_provisional
from services.models import OuterState

from .. import workflow
from ..models import (
    RATING_DIMENSIONS,
    Case,
    Channel,
    NotificationEvent,
    Rating,
    RatingTag,
    Rectification,
)
from ..notifications import services as notifications

RATEABLE_STATES = (OuterState.CONCLUDED, OuterState.REJECTED, OuterState.NOT_ACCEPTED)
COMMENT_MAX = 500
# Who answers bad ratings for a department.
RECTIFIERS = (Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN)


class AlreadyRated(workflow.CaseConflict):
    pass


def _is_score(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5


def _score_message() -> str:
    return _("Choose from 1 (very dissatisfied) to 5 (very satisfied).")


def _clean(score, tags, dimensions, comment, *, at_counter: bool) -> dict:
    errors: dict[str, list[str]] = {}
    if not _is_score(score):
        errors["score"] = [_score_message()]
    tags = list(dict.fromkeys(tags or []))
    if any(tag not in RatingTag.values for tag in tags):
        errors["tags"] = [_("Unknown tag.")]
    allowed = RATING_DIMENSIONS if at_counter else RATING_DIMENSIONS[:3]
    dimensions = {k: v for k, v in (dimensions or {}).items() if v not in (None, "")}
    if any(key not in allowed or not _is_score(value) for key, value in dimensions.items()):
        errors["dimensions"] = [_("Each dimension is rated 1 to 5.")]
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [_("Keep the comment under %(max)d characters.") % {"max": COMMENT_MAX}]
    if errors:
        raise ValidationError(errors)
    return {"score": score, "tags": tags, "dimensions": dimensions, "comment": comment}


def rectification_due(today=None):
    due, _provisional = add_working_days_provisional(
        today or timezone.localdate(), settings.RECTIFICATION_WORKING_DAYS
    )
    return due


def rate(
    *,
    case: Case,
    user: User,
    score,
    tags=None,
    dimensions=None,
    comment: str = "",
    channel: str = Channel.ONLINE,
) -> Rating:
    """Record the one rating of a finished case, online by the applicant (or their proxy) or at a
    counter by a clerk for the citizen in front of them."""
    at_counter = channel == Channel.COUNTER
    with transaction.atomic():
        case = workflow.lock_case(case)
        if at_counter:
            if not may_record_at_counter(case, user):
                raise PermissionDenied(_("You may not record ratings for this application."))
        elif not workflow.is_applicant_side(case, user):
            raise PermissionDenied(_("Only the applicant rates an application."))
        if case.state not in RATEABLE_STATES:
            raise workflow.CaseConflict(
                _("An application is rated once it is finished."), code="not_finished"
            )
        values = _clean(score, tags, dimensions, comment, at_counter=at_counter)
        try:
            with transaction.atomic():
                rating = Rating.objects.create(
                    case=case, department_id=case.department_id, service_id=case.service_id,
                    channel=channel, rated_by=user, **values,
                )  # fmt: skip
        except IntegrityError as exc:
            raise AlreadyRated(
                _("This application has already been rated."), code="already_rated"
            ) from exc
        # The trail says a rating was given, not by whom: staff read the trail.
        workflow.append_event(
            case, action="rated", actor=None, actor_role="applicant", channel=channel,
            details={"score": rating.score},
        )  # fmt: skip
        if rating.is_bad:
            _open_rectification(case, rating)
    return rating


def _open_rectification(case: Case, rating: Rating) -> Rectification:
    rectification = Rectification.objects.create(
        rating=rating, case=case, department_id=case.department_id, due_date=rectification_due()
    )
    rectifiers = (
        User.objects.filter(
            pk__in=StaffMembership.objects.filter(
                department_id=case.department_id, role__in=RECTIFIERS
            ).values("user_id")
        )
        .order_by("pk")
        .distinct()
    )
    context = {"number": case.number, "service": case.service_version.name,
               "deadline": rectification.due_date.isoformat(), "score": rating.score}  # fmt: skip
    notifications.save_and_enqueue(
        notifications.to_staff(
            rectifiers, case=case, event=NotificationEvent.BAD_RATING, context=context
        )
    )
    return rectification


def may_record_at_counter(case: Case, user: User) -> bool:
    return (
        case.filed_by_id == user.pk
        or departments_with_role(user, Role.COUNTER_CLERK).filter(pk=case.department_id).exists()
    )


def rectifications_for(user: User) -> QuerySet[Rectification]:
    """Bad ratings of the departments the user answers for, open ones first, most urgent first."""
    return (
        Rectification.objects.filter(department__in=departments_with_role(user, *RECTIFIERS))
        .select_related("rating", "case__service_version", "department")
        .order_by("-state", "due_date", "pk")
    )


def answer(*, rectification_id, user: User, text: str) -> Rectification:
    """The department says what it did; the applicant (and proxy) are told and can read it."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"answer": [_("Say what the department did about it.")]})
    with transaction.atomic():
        rectification = (
            rectifications_for(user).select_for_update(of=("self",)).filter(pk=rectification_id)
        ).first()
        if rectification is None:
            raise PermissionDenied(_("You do not answer for this department."))
        if rectification.state == Rectification.State.ANSWERED:
            raise workflow.CaseConflict(_("This rating has already been answered."))
        now = timezone.now()
        rectification.state = Rectification.State.ANSWERED
        rectification.answer = text
        rectification.answered_by = user
        rectification.answered_at = now
        rectification.answered_on_time = timezone.localdate(now) <= rectification.due_date
        rectification.save()
        case = workflow.lock_case(rectification.case)
        workflow.append_event(
            case, action="rating_answered", actor=user, actor_role=Role.DEPARTMENT_HEAD,
            channel=Channel.ONLINE, opinion=text,
        )  # fmt: skip
        context = {"number": case.number, "service": case.service_version.name, "opinion": text}
        notifications.save_and_enqueue(
            notifications.to_applicants(case, NotificationEvent.RATING_RESPONSE, context)
        )
    return rectification


def rate_the_answer(*, case: Case, user: User, score) -> Rectification:
    """The applicant says how satisfied they are with the department's answer (1–5), once."""
    if not _is_score(score):
        raise ValidationError({"score": [_score_message()]})
    if not workflow.is_applicant_side(case, user):
        raise PermissionDenied(_("Only the applicant rates an application."))
    updated = Rectification.objects.filter(
        case=case, state=Rectification.State.ANSWERED, fix_score__isnull=True
    ).update(fix_score=score)
    if not updated:
        raise workflow.CaseConflict(_("There is no answer to rate, or you rated it already."))
    return Rectification.objects.get(case=case)


def open_counts(user: User) -> dict | None:
    """Open and overdue bad ratings of the user's departments, for the work queue (one query)."""
    if not departments_with_role(user, *RECTIFIERS).exists():
        return None
    today = timezone.localdate()
    return rectifications_for(user).aggregate(
        open=Count("pk", filter=Q(state=Rectification.State.OPEN)),
        overdue=Count("pk", filter=Q(state=Rectification.State.OPEN, due_date__lt=today)),
    )
