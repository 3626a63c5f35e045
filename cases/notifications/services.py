"""The notification outbox (DESIGN "Notifications").

The `tell_*` functions run inside the engine's transaction, next to the event that causes the messages:
the rows commit or roll back with the change. After commit each row is handed to Celery; if the broker
is down that hand-over fails quietly (robust on_commit) and the periodic `requeue_pending` picks the row
up later. `deliver` sends a row only from the pending state, so a repeated task sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template import Context, Template
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from ..models import (
    Case,
    Event,
    Notification,
    NotificationChannel,
    NotificationEvent,
    NotificationTemplate,
)

logger = logging.getLogger(__name__)
CHINESE = re.compile(r"[\u3400-\u9fff]")

MAX_ATTEMPTS = 6
REQUEUE_AFTER = dt.timedelta(minutes=3)

# The built-in words; admins override any of them with a NotificationTemplate row.
DEFAULT_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "submitted": {
        "zh-hans": ("已收到您的申请", "您的申请“{{ service }}”（办件编号 {{ number }}）已提交，部门将在 {{ intake_due_date }} 前受理或一次性告知需补正的材料。"),
        "en": ("Application received", "Your application “{{ service }}” ({{ number }}) has been received. The department will accept it or tell you what is missing by {{ intake_due_date }}."),
    },
    "accepted": {
        "zh-hans": ("申请已受理", "您的申请 {{ number }}（{{ service }}）已受理，承诺办结日期 {{ due_date }}。"),
        "en": ("Application accepted", "Your application {{ number }} ({{ service }}) has been accepted; decision due by {{ due_date }}."),
    },
    "not_accepted": {
        "zh-hans": ("申请不予受理", "您的申请 {{ number }} 不予受理。理由：{{ opinion }}。如不服，可依法申请行政复议或提起行政诉讼。"),
        "en": ("Application not accepted", "Your application {{ number }} was not accepted. Reason: {{ opinion }}. You may apply for administrative review or bring a lawsuit."),
    },
    "supplement_requested": {
        "zh-hans": ("请补正材料", "您的申请 {{ number }} 需要补正材料：{{ opinion }}。请在 {{ deadline }} 前提交，逾期视为撤回。"),
        "en": ("Documents needed", "Your application {{ number }} needs more documents: {{ opinion }}. Please send them by {{ deadline }}, or it is deemed withdrawn."),
    },
    "supplement_reminder": {
        "zh-hans": ("补正材料即将到期", "提醒：申请 {{ number }} 的补正材料须在 {{ deadline }} 前提交。"),
        "en": ("Documents due soon", "Reminder: the documents for application {{ number }} are due by {{ deadline }}."),
    },
    "materials_owed": {
        "zh-hans": ("请补齐容缺材料", "您的申请 {{ number }}（{{ service }}）已容缺受理，请在 {{ deadline }} 前在办件页面上传：{{ materials }}。材料齐全后方可作出决定。"),
        "en": ("Materials still owed", "Your application {{ number }} ({{ service }}) was accepted with materials to follow. Upload them on the application's page by {{ deadline }}: {{ materials }}. The decision waits for them."),
    },
    "suspended": {
        "zh-hans": ("办理进入特别程序", "您的申请 {{ number }} 进入特别程序（{{ opinion }}），期间不计入办理时限。"),
        "en": ("Special procedure", "Your application {{ number }} is in a special procedure ({{ opinion }}); this time does not count."),
    },
    "resumed": {
        "zh-hans": ("恢复办理", "您的申请 {{ number }} 已恢复办理，办结日期调整为 {{ due_date }}。"),
        "en": ("Processing resumed", "Your application {{ number }} is being processed again; decision due by {{ due_date }}."),
    },
    "extended": {
        "zh-hans": ("办理时限延长", "经部门负责人批准，您的申请 {{ number }} 办理时限延长至 {{ due_date }}。理由：{{ opinion }}。"),
        "en": ("Time limit extended", "With the department head's approval, the decision on {{ number }} is now due by {{ due_date }}. Reason: {{ opinion }}."),
    },
    "decided": {
        "zh-hans": ("审批结果：{{ state }}", "您的申请 {{ number }} 已作出决定：{{ state }}。{{ opinion }}"),
        "en": ("Decision: {{ state }}", "A decision was made on your application {{ number }}: {{ state }}. {{ opinion }}"),
    },
    "ready_for_pickup": {
        "zh-hans": ("办结", "您的申请 {{ number }} 已办结，结果可领取或已寄出。"),
        "en": ("Concluded", "Your application {{ number }} is concluded; the result is ready or on its way."),
    },
    "deemed_withdrawn": {
        "zh-hans": ("申请视为撤回", "因未在期限内补正材料，您的申请 {{ number }} 视为撤回。"),
        "en": ("Deemed withdrawn", "The documents for {{ number }} did not arrive in time, so the application is deemed withdrawn."),
    },
    "withdrawn": {
        "zh-hans": ("申请已撤回", "您的申请 {{ number }} 已撤回。"),
        "en": ("Application withdrawn", "Your application {{ number }} has been withdrawn."),
    },
    "progressed": {
        "zh-hans": ("办理进展：{{ step }}", "您的申请 {{ number }}（{{ service }}）有新进展：{{ step }}。"),
        "en": ("Progress: {{ step }}", "Your application {{ number }} ({{ service }}) moved on: {{ step }}."),
    },
    "service_retired": {
        "zh-hans": ("事项已停止办理", "您的申请草稿 {{ number }}（{{ service }}）所属事项已于 {{ date }} 停止办理，草稿无法提交。原因：{{ opinion }}{% if replacement %}。请改为申请“{{ replacement }}”{% endif %}。"),
        "en": ("Service withdrawn", "The service of your draft {{ number }} ({{ service }}) was withdrawn on {{ date }}; the draft can no longer be submitted. Reason: {{ opinion }}{% if replacement %}. Apply for “{{ replacement }}” instead{% endif %}."),
    },
    "consulted": {
        "zh-hans": ("征求意见", "办件 {{ number }}（{{ service }}）征求您的意见：{{ opinion }}"),
        "en": ("Your opinion is asked", "Your opinion is asked on application {{ number }} ({{ service }}): {{ opinion }}"),
    },
    "rating_response": {
        "zh-hans": ("对您评价的回复", "部门已回复您对办件 {{ number }} 的评价：{{ opinion }}"),
        "en": ("Answer to your rating", "The department answered your rating of {{ number }}: {{ opinion }}"),
    },
    "new_case": {
        "zh-hans": ("新办件待受理", "新办件 {{ number }}（{{ service }}）待受理，受理期限 {{ intake_due_date }}。"),
        "en": ("New application", "New application {{ number }} ({{ service }}) waiting; intake due by {{ intake_due_date }}."),
    },
    "due_soon": {
        "zh-hans": ("办件即将到期", "办件 {{ number }} 将于 {{ due_date }} 到期。"),
        "en": ("Due soon", "Application {{ number }} is due on {{ due_date }}."),
    },
    "overdue": {
        "zh-hans": ("办件已超期", "办件 {{ number }} 已于 {{ due_date }} 超期。"),
        "en": ("Overdue", "Application {{ number }} was due on {{ due_date }}."),
    },
    "bad_rating": {
        "zh-hans": ("差评待整改", "办件 {{ number }} 收到差评，请在 {{ deadline }} 前整改并回复。"),
        "en": ("Bad rating to rectify", "Application {{ number }} was rated badly; rectify and answer by {{ deadline }}."),
    },
    # E-licences (cases.licences.services.end_licence): licence, licence_type, kind (revoked or
    # annulled), reason, date; number is the application that gave the licence.
    "licence_revoked": {
        "zh-hans": ("电子证照已{% if kind == 'annulled' %}撤销{% else %}吊销{% endif %}", "您的电子证照“{{ licence_type }}”（证照编号 {{ licence }}）已于 {{ date }} 被依法{% if kind == 'annulled' %}撤销{% else %}吊销{% endif %}，自即日起不再有效。理由：{{ reason }}。如不服，可依法申请行政复议或提起行政诉讼。"),
        "en": ("E-licence {% if kind == 'annulled' %}annulled{% else %}revoked{% endif %}", "Your e-licence “{{ licence_type }}” (number {{ licence }}) was {% if kind == 'annulled' %}annulled{% else %}revoked{% endif %} on {{ date }} and is no longer valid. Reason: {{ reason }}. You may apply for administrative review or bring a lawsuit."),
    },
}  # fmt: skip


def ensure_default_templates(template_model=NotificationTemplate) -> int:
    """Template rows for every event, channel and language that has none yet (admins edit them)."""
    existing = set(template_model.objects.values_list("event", "channel", "language"))
    rows = [
        template_model(event=event, channel=channel, language=language, subject=subject, body=body)
        for event, texts in DEFAULT_TEXTS.items()
        for language, (subject, body) in texts.items()
        for channel in NotificationChannel.values
        if (event, channel, language) not in existing
    ]
    template_model.objects.bulk_create(rows)
    return len(rows)


def _context(case: Case, event: Event) -> dict:
    return {
        "number": case.number,
        "service": case.service_version.name,
        "state": case.get_state_display(),
        "opinion": event.opinion,
        "due_date": case.due_date.isoformat() if case.due_date else "",
        "intake_due_date": case.intake_due_date.isoformat() if case.intake_due_date else "",
        "deadline": (event.details or {}).get("deadline", ""),
    }


def _without_gloss(label: str) -> str:
    """“approved (准予)” → “approved”: a plain-text message cannot mark the Chinese gloss."""
    head, _sep, tail = label.rpartition(" (")
    return head if head and tail.endswith(")") and CHINESE.search(tail) else label


def in_language(case: Case, context: dict, language: str, words=None) -> dict:
    """`context` with what depends on the reader's language said in `language`: the service's name
    (its English name for an English reader), the case's state, and `words()` (a callable run in
    that language, for a caller's own words such as the names of owed materials)."""
    from services.models import localized

    with translation.override(language):
        localized_words = {}
        if "service" in context:
            localized_words["service"] = localized(case.service_version, "name")
        if "state" in context:
            state = str(case.get_state_display())
            localized_words["state"] = _without_gloss(state) if language.startswith("en") else state
        if words is not None:
            localized_words.update(words())
    return {**context, **localized_words}


def _rows_for_person(
    profile, *, case: Case, event: str, context: dict, words=None
) -> list[Notification]:
    """Inbox and e-mail for someone with an account; a text message for everyone."""
    rows = []
    user = profile.user if profile.user_id else None
    language = user.preferred_language if user else settings.LANGUAGE_CODE
    context = in_language(case, context, language, words)
    common = {"case": case, "event": event, "language": language, "context": context}
    if user is not None:
        rows.append(Notification(recipient=user, channel=NotificationChannel.INBOX, **common))
        if user.email:
            rows.append(
                Notification(
                    recipient=user, channel=NotificationChannel.EMAIL, address=user.email, **common
                )
            )
    rows.append(
        Notification(
            person=profile,
            recipient=user,
            channel=NotificationChannel.SMS,
            address=profile.phone,
            **common,
        )
    )
    return rows


def to_applicants(case: Case, event: str, context: dict, words=None) -> list[Notification]:
    """Unsaved rows telling the applicant, and their proxy if any, about `event`, each in their own
    language (`words`: see `in_language`)."""
    people = [case.applicant] + ([case.agent] if case.agent_id else [])
    return [
        row
        for profile in people
        for row in _rows_for_person(profile, case=case, event=event, context=context, words=words)
    ]


def to_staff(users, *, case: Case, event: str, context: dict) -> list[Notification]:
    """Unsaved in-app messages for staff, each in their own language."""
    return [
        Notification(recipient=user, case=case, event=event, channel=NotificationChannel.INBOX,
                     language=user.preferred_language,
                     context=in_language(case, context, user.preferred_language))
        for user in users
    ]  # fmt: skip


def save_and_enqueue(rows: list[Notification]) -> list[Notification]:
    """Write outbox rows in the caller's transaction; hand them to Celery after it commits."""
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    ids = [row.pk for row in created]
    transaction.on_commit(lambda: enqueue(ids), robust=True)
    return created


def tell_applicant(
    case: Case, event_kind: str, event: Event, *, texts: dict[str, str] | None = None
) -> list[Notification]:
    """The applicant, and the proxy who applied for them (帮办代办): both follow the case, on
    every channel, in their own language. `texts`: a transition's own words by language."""
    context = _context(case, event)
    rows = to_applicants(case, event_kind, context)
    for row in rows:
        text = (texts or {}).get(row.language) or (texts or {}).get(settings.LANGUAGE_CODE)
        if text:
            row.context = {**row.context, "text": text}
    return save_and_enqueue(rows)


def tell_applicant_of_transition(case: Case, transition, event: Event) -> list[Notification]:
    """The effect "notify the applicant": the text of the transition's outcome, or the transition's
    own message when the admin wrote one."""
    from services.models import localized

    from ..vocabulary import OUTCOME_LABELS, OUTCOME_MESSAGES

    texts = {settings.LANGUAGE_CODE: transition.message} if transition.message else {}
    if transition.message_en:
        texts["en"] = transition.message_en
    rows = to_applicants(case, OUTCOME_MESSAGES[transition.outcome], _context(case, event))
    for row in rows:
        with translation.override(row.language):
            step = str(OUTCOME_LABELS[transition.outcome])
            label = localized(transition, "label")
        row.context = {**row.context, "step": step, "transition": label}
        text = texts.get(row.language) or texts.get(settings.LANGUAGE_CODE)
        if text:
            row.context["text"] = text
    return save_and_enqueue(rows)


def stage_staff(case: Case):
    from ..access import staff_working_stage

    return staff_working_stage(case)


def tell_of_submission(case: Case, event: Event) -> list[Notification]:
    """A new application: the applicant gets the receipt message, intake its queue message."""
    context = _context(case, event)
    rows = to_applicants(case, NotificationEvent.SUBMITTED, context)
    rows += to_staff(
        stage_staff(case), case=case, event=NotificationEvent.NEW_CASE, context=context
    )
    return save_and_enqueue(rows)


def tell_stage_staff(case: Case, event: Event) -> list[Notification]:
    """The case arrived in a stage another department works: its staff find it in their queue."""
    return save_and_enqueue(
        to_staff(
            stage_staff(case),
            case=case,
            event=NotificationEvent.NEW_CASE,
            context=_context(case, event),
        )
    )


def tell_drafts_of_retirement(item, *, replacement=None) -> list[Notification]:
    """Everyone with a draft of a retired service is told it cannot be submitted, and what replaces
    it; in the transaction that retires it."""
    from services.models import OuterState

    drafts = Case.objects.filter(service=item, state=OuterState.DRAFT).select_related(
        "service_version", "applicant__user", "agent__user"
    )
    rows = []
    for case in drafts:
        context = {
            "number": case.number,
            "service": case.service_version.name,
            "opinion": item.retirement_reason,
            "date": timezone.localdate(item.retired_at).isoformat(),
            "replacement": replacement.current_version.name if replacement else "",
        }
        words = (
            (lambda: {"replacement": replacement.current_version.label}) if replacement else None
        )
        rows += to_applicants(case, NotificationEvent.SERVICE_RETIRED, context, words)
    return save_and_enqueue(rows)


def tell_expert(case: Case, expert, event: Event) -> list[Notification]:
    return save_and_enqueue(
        to_staff(
            [expert], case=case, event=NotificationEvent.CONSULTED, context=_context(case, event)
        )
    )


def enqueue(ids: list[int]) -> None:
    """Hand rows to Celery. With the broker down this raises; the rows stay pending for requeue."""
    from ..tasks import send_notification

    for notification_id in ids:
        send_notification.apply_async((notification_id,), retry=False)


def requeue_pending(now: dt.datetime | None = None, limit: int = 500) -> int:
    """Pending rows nobody has tried for a while: hand them to Celery again (beat runs this)."""
    cutoff = (now or timezone.now()) - REQUEUE_AFTER
    ids = list(
        Notification.objects.filter(state=Notification.State.PENDING, created_at__lt=cutoff)
        .exclude(last_attempt_at__gte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        enqueue(ids)
    return len(ids)


def _render(notification: Notification) -> tuple[str, str]:
    template = (
        NotificationTemplate.objects.filter(
            event=notification.event, channel=notification.channel, language=notification.language
        ).first()
        or NotificationTemplate.objects.filter(
            event=notification.event, channel=notification.channel, language=settings.LANGUAGE_CODE
        ).first()
    )
    if template is not None:
        subject, body = template.subject, template.body
    else:
        texts = DEFAULT_TEXTS.get(notification.event, {})
        subject, body = texts.get(notification.language) or texts.get(
            settings.LANGUAGE_CODE, ("", "")
        )
    if notification.context.get("text"):
        body = notification.context["text"]  # the transition's own message, written by an admin
    context = Context(notification.context, autoescape=False)
    return Template(subject).render(context).strip(), Template(body).render(context).strip()


def sms_backend():
    return import_string(settings.SMS_BACKEND)()


def deliver(notification_id: int) -> str:
    """Send one pending row. Returns "sent", "retry" (a failure with attempts left), "failed" or
    "skipped" (already sent, failed, or being sent by another worker)."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, state=Notification.State.PENDING)
            .first()
        )
        if notification is None:
            return "skipped"
        subject, body = _render(notification)
        notification.subject, notification.body = subject, body
        notification.attempts += 1
        notification.last_attempt_at = timezone.now()
        try:
            if notification.channel == NotificationChannel.EMAIL:
                send_mail(subject, body, None, [notification.address], fail_silently=False)
            elif notification.channel == NotificationChannel.SMS:
                sms_backend().send(notification.address, f"【{settings.SMS_SIGNATURE}】{body}")
        except Exception as exc:  # noqa: BLE001 - any delivery failure is recorded and retried
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if notification.attempts >= MAX_ATTEMPTS:
                notification.state = Notification.State.FAILED
            notification.save(
                update_fields=[
                    "subject",
                    "body",
                    "attempts",
                    "last_attempt_at",
                    "last_error",
                    "state",
                ]
            )
            logger.warning(
                "notification %s failed (attempt %s): %s",
                notification.pk,
                notification.attempts,
                exc,
            )
            return "failed" if notification.state == Notification.State.FAILED else "retry"
        notification.state = Notification.State.SENT
        notification.sent_at = timezone.now()
        notification.save(
            update_fields=[
                "subject",
                "body",
                "attempts",
                "last_attempt_at",
                "state",
                "sent_at",
                "last_error",
            ]
        )
        return "sent"


def retry_delay(attempts: int) -> int:
    """Exponential backoff in seconds: base, 2×base, 4×base ... capped at 30 minutes (base 30 s)."""
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), 1800)
