"""The notification outbox (DESIGN "Notifications").

The `tell_*` functions run inside the engine's transaction, next to the event that causes the messages:
the rows commit or roll back with the change. After commit each row is handed to Celery; if the broker
is down that hand-over fails quietly (robust on_commit) and the periodic `requeue_pending` picks the row
up later. `deliver` sends a row only from the pending state, so a repeated task sends nothing twice.

Every channel says the same thing (DESIGN "Official documents and decisions"): the message about a
step carries the facts of its record (the request for documents' deadline, materials and note; the
decision's reason, basis and rights), and every message ends with the link to the case, and on e-mail
and inbox to the step's official document. A text message says it in fewer words (SMS_TEXTS).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from accounts.facts import inbox_changed
from services.models import DECISION_OUTCOMES, Outcome, join_names, localized

from ..decisions import REFUSING_OUTCOMES, rights_for, rights_text
from ..models import (
    Case,
    Decision,
    Event,
    Notification,
    NotificationChannel,
    NotificationEvent,
    NotificationTemplate,
    OfficialDocument,
    SupplementRequest,
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
        "zh-hans": ("申请已受理", "您的申请 {{ number }}（{{ service }}）已受理，承诺于 {{ due_date }} 前作出决定。受理通知书可在办件页面查看和下载。"),
        "en": ("Application accepted", "Your application {{ number }} ({{ service }}) has been accepted; the decision is due by {{ due_date }}. The acceptance notice is on the application's page."),
    },
    "not_accepted": {
        "zh-hans": ("申请不予受理", "您的申请 {{ number }}（{{ service }}）不予受理。{% if reason %}理由：{{ reason }}。{% endif %}{% if legal_basis %}依据：{{ legal_basis }}。{% endif %}{{ rights }}"),
        "en": ("Application not accepted", "Your application {{ number }} ({{ service }}) was not accepted.{% if reason %} Reason: {{ reason }}.{% endif %}{% if legal_basis %} Legal basis: {{ legal_basis }}.{% endif %} {{ rights }}"),
    },
    "supplement_requested": {
        "zh-hans": ("请补正材料", "您的申请 {{ number }}（{{ service }}）需要补正以下材料：{{ materials }}。{% if note %}说明：{{ note }}。{% endif %}请在 {{ deadline }} 前在办件页面提交，逾期未提交视为撤回申请。"),
        "en": ("Documents needed", "Your application {{ number }} ({{ service }}) needs these documents: {{ materials }}.{% if note %} Note: {{ note }}.{% endif %} Please upload them on the application's page by {{ deadline }}; otherwise the application is deemed withdrawn."),
    },
    "supplement_reminder": {
        "zh-hans": ("补正材料即将到期", "提醒：您的申请 {{ number }}（{{ service }}）须在 {{ deadline }} 前补正以下材料：{{ materials }}。{% if note %}说明：{{ note }}。{% endif %}逾期未提交视为撤回申请。"),
        "en": ("Documents due soon", "Reminder: the documents for your application {{ number }} ({{ service }}) are due by {{ deadline }}: {{ materials }}.{% if note %} Note: {{ note }}.{% endif %} Otherwise the application is deemed withdrawn."),
    },
    "materials_owed": {
        "zh-hans": ("请补齐容缺材料", "您的申请 {{ number }}（{{ service }}）已容缺受理，请在 {{ deadline }} 前在办件页面上传：{{ materials }}。材料齐全后方可作出决定。"),
        "en": ("Materials still owed", "Your application {{ number }} ({{ service }}) was accepted with materials to follow. Upload them on the application's page by {{ deadline }}: {{ materials }}. The decision waits for them."),
    },
    "suspended": {
        "zh-hans": ("办理进入特别程序", "您的申请 {{ number }}（{{ service }}）进入特别程序{% if reason %}：{{ reason }}{% endif %}。特别程序是指听证、招标、拍卖、检验、检测、检疫、鉴定或专家评审等，所需时间不计入办理时限（《行政许可法》第四十五条）；恢复办理时将告知新的办结日期。"),
        "en": ("Special procedure", "Your application {{ number }} ({{ service }}) is in a special procedure{% if reason %}: {{ reason }}{% endif %}. A special procedure is a hearing, tender, auction, inspection, test, quarantine, appraisal or expert review; the time it takes does not count towards the time limit (Administrative Licensing Law, Article 45). You will be told the new due date when processing resumes."),
    },
    "resumed": {
        "zh-hans": ("恢复办理", "您的申请 {{ number }} 已恢复办理，办结日期调整为 {{ due_date }}。"),
        "en": ("Processing resumed", "Your application {{ number }} is being processed again; decision due by {{ due_date }}."),
    },
    "extended": {
        "zh-hans": ("办理时限延长", "经部门负责人批准，您的申请 {{ number }}（{{ service }}）办理时限延长至 {{ due_date }}。{% if reason %}理由：{{ reason }}。{% endif %}"),
        "en": ("Time limit extended", "With the department head's approval, the decision on your application {{ number }} ({{ service }}) is now due by {{ due_date }}.{% if reason %} Reason: {{ reason }}.{% endif %}"),
    },
    "decided": {
        "zh-hans": ("审批结果：{{ state }}", "{% if refused %}您的申请 {{ number }}（{{ service }}）经审查，决定不予许可。{% if reason %}理由：{{ reason }}。{% endif %}{% if legal_basis %}依据：{{ legal_basis }}。{% endif %}{{ rights }}{% else %}您的申请 {{ number }}（{{ service }}）已作出准予决定。{% if reason %}意见：{{ reason }}。{% endif %}{% if legal_basis %}依据：{{ legal_basis }}。{% endif %}{% endif %}"),
        "en": ("Decision: {{ state }}", "{% if refused %}Your application {{ number }} ({{ service }}) has been refused.{% if reason %} Reason: {{ reason }}.{% endif %}{% if legal_basis %} Legal basis: {{ legal_basis }}.{% endif %} {{ rights }}{% else %}Your application {{ number }} ({{ service }}) has been approved.{% if reason %} Opinion: {{ reason }}.{% endif %}{% if legal_basis %} Legal basis: {{ legal_basis }}.{% endif %}{% endif %}"),
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
    # The deadline sweep's digest (cases.deadlines): one message per recipient and run. count,
    # overdue_count, due_soon_count; cases (at most DIGEST_CASES, overdue first, then by due date),
    # each with number, service, due_date, kind (due_soon or overdue) and case_url; more (the cases
    # not listed); date (of the sweep); queue_url.
    "deadline_digest": {
        "zh-hans": ("{% if overdue_count %}{{ overdue_count }} 件办件已超期{% if due_soon_count %}，{{ due_soon_count }} 件即将到期{% endif %}{% else %}{{ due_soon_count }} 件办件即将到期{% endif %}", "{% if overdue_count %}{{ overdue_count }} 件办件已超期{% if due_soon_count %}，{{ due_soon_count }} 件即将到期{% endif %}{% else %}{{ due_soon_count }} 件办件将在两个工作日内到期{% endif %}，请尽快办理。{% for c in cases %}\n{{ c.number }}（{{ c.service }}）{% if c.kind == 'overdue' %}已于 {{ c.due_date }} 超期{% else %}将于 {{ c.due_date }} 到期{% endif %}：{{ c.case_url }}{% endfor %}{% if more %}\n另有 {{ more }} 件未列出，请在待办队列查看。{% endif %}"),
        "en": ("{% if overdue_count %}{{ overdue_count }} overdue{% if due_soon_count %}, {{ due_soon_count }} due soon{% endif %}{% else %}{{ due_soon_count }} due soon{% endif %}", "{% if overdue_count %}{{ overdue_count }} application{{ overdue_count|pluralize }} overdue{% if due_soon_count %} and {{ due_soon_count }} due soon{% endif %}{% else %}{{ due_soon_count }} application{{ due_soon_count|pluralize }} due within two working days{% endif %}.{% for c in cases %}\n{{ c.number }} ({{ c.service }}) {% if c.kind == 'overdue' %}was due on{% else %}is due on{% endif %} {{ c.due_date }}: {{ c.case_url }}{% endfor %}{% if more %}\n{{ more }} more not listed; see the queue.{% endif %}"),
    },
    "bad_rating": {
        "zh-hans": ("差评待整改", "办件 {{ number }} 收到差评，请在 {{ deadline }} 前整改并回复。"),
        "en": ("Bad rating to rectify", "Application {{ number }} was rated badly; rectify and answer by {{ deadline }}."),
    },
    # Retention (cases.retention.warn_drafts): date is the day the draft will be removed.
    "draft_expiring": {
        "zh-hans": ("草稿即将删除", "您的申请草稿 {{ number }}（{{ service }}）长期未修改，将于 {{ date }} 连同已上传的材料一并删除。如需继续办理，请在此之前打开草稿修改或提交。"),
        "en": ("Your draft will be removed", "Your draft application {{ number }} ({{ service }}) has not been changed for a long time and will be removed, with the documents uploaded to it, on {{ date }}. To keep it, open it and change or submit it before then."),
    },
    # E-licences (cases.licences.services.end_licence): licence, licence_type, kind (revoked or
    # annulled), reason, date; number is the application that gave the licence.
    "licence_revoked": {
        "zh-hans": ("电子证照已{% if kind == 'annulled' %}撤销{% else %}吊销{% endif %}", "您的电子证照“{{ licence_type }}”（证照编号 {{ licence }}）已于 {{ date }} 被依法{% if kind == 'annulled' %}撤销{% else %}吊销{% endif %}，自即日起不再有效。理由：{{ reason }}。{{ rights }}"),
        "en": ("E-licence {% if kind == 'annulled' %}annulled{% else %}revoked{% endif %}", "Your e-licence “{{ licence_type }}” (number {{ licence }}) was {% if kind == 'annulled' %}annulled{% else %}revoked{% endif %} on {{ date }} and is no longer valid. Reason: {{ reason }}. {{ rights }}"),
    },
    # 免申即享 (cases.proactive): service, offers_url; number once a granted case is filed.
    "proactive_offered": {
        "zh-hans": ("您已符合{{ service }}", "根据政府部门共享的数据，您已符合“{{ service }}”的条件，无需申请，一键确认即可：{{ offers_url }}。如不需要，也可以选择不办理，今后不再提示。"),
        "en": ("You qualify for {{ service }}", "Government records show that you qualify for “{{ service }}”. You need not apply: confirm with one click at {{ offers_url }}. If you do not want it, say so and you will not be asked again."),
    },
    "proactive_granted": {
        "zh-hans": ("已为您免申办理{{ service }}", "根据政府部门共享的数据，您已符合“{{ service }}”的条件，已为您免申办理（办件编号 {{ number }}），办理结果将另行通知。如不需要，可在此选择退出：{{ offers_url }}"),
        "en": ("{{ service }} granted without applying", "Government records show that you qualify for “{{ service }}”, so it has been filed for you without an application ({{ number }}); you will be told the result. If you do not want it, opt out at {{ offers_url }}"),
    },
    # The service hall (cases.hall.queue.call_next): number (the ticket), window, centre.
    "hall_called": {
        "zh-hans": ("请到 {{ window }} 号窗口", "请 {{ number }} 号到 {{ window }} 号窗口办理（{{ centre }}）。"),
        "en": ("Please go to window {{ window }}", "Ticket {{ number }}: please go to window {{ window }} ({{ centre }})."),
    },
    # Bookings of a visit (cases.hall.booking): code, service, centre, address, date, time,
    # appointments_url; reopens_on (appointment_missed) when booking is paused.
    "appointment_booked": {
        "zh-hans": ("预约成功", "您已预约{{ date }} {{ time }}到{{ centre }}（{{ address }}）办理“{{ service }}”，预约码 {{ code }}。请携带身份证件，到厅后凭预约码取号。查看或取消预约：{{ appointments_url }}"),
        "en": ("Visit booked", "You have booked a visit to {{ centre }} ({{ address }}) on {{ date }} at {{ time }} for “{{ service }}”. Your booking code is {{ code }}: bring your ID card and take a ticket with the code when you arrive. See or cancel it: {{ appointments_url }}"),
    },
    "appointment_cancelled": {
        "zh-hans": ("预约已取消", "您{{ date }} {{ time }}在{{ centre }}办理“{{ service }}”的预约（预约码 {{ code }}）已取消。"),
        "en": ("Booking cancelled", "Your visit to {{ centre }} on {{ date }} at {{ time }} for “{{ service }}” (code {{ code }}) is cancelled."),
    },
    "appointment_reminder": {
        "zh-hans": ("明天请按预约到厅办理", "提醒：您预约了明天（{{ date }}）{{ time }}到{{ centre }}（{{ address }}）办理“{{ service }}”，预约码 {{ code }}。请携带身份证件；如不能前来，请提前取消：{{ appointments_url }}"),
        "en": ("Your visit is tomorrow", "Reminder: you booked a visit to {{ centre }} ({{ address }}) tomorrow, {{ date }}, at {{ time }} for “{{ service }}”; code {{ code }}. Bring your ID card. If you cannot come, please cancel: {{ appointments_url }}"),
    },
    "appointment_missed": {
        "zh-hans": ("预约未到", "您{{ date }} {{ time }}在{{ centre }}办理“{{ service }}”的预约（预约码 {{ code }}）未按时到厅，记为失约一次。{% if reopens_on %}因多次失约，您在该中心的网上预约已暂停，{{ reopens_on }}起可再次预约。{% else %}多次失约将暂停网上预约。{% endif %}"),
        "en": ("Booked visit missed", "You did not come to your visit to {{ centre }} on {{ date }} at {{ time }} for “{{ service }}” (code {{ code }}); it counts as missed.{% if reopens_on %} After repeated missed visits, online booking at this centre is paused; you can book again from {{ reopens_on }}.{% else %} Repeated missed visits pause online booking.{% endif %}"),
    },
    # Fees (cases.payments): amount in yuan with two decimals; receipt_number and method once paid.
    "fee_due": {
        "zh-hans": ("请缴纳费用", "您的申请 {{ number }}（{{ service }}）需缴纳费用 ¥{{ amount }}，请在办件页面在线缴费或到窗口缴纳；缴费后办件将自动继续办理。"),
        "en": ("A fee to pay", "Your application {{ number }} ({{ service }}) has a fee of ¥{{ amount }} to pay. Pay it online on the application's page or at the window; the application then moves on by itself."),
    },
    "fee_paid": {
        "zh-hans": ("缴费成功", "已收到您为申请 {{ number }}（{{ service }}）缴纳的费用 ¥{{ amount }}（{{ method }}）。电子缴费凭证可在办件页面下载。"),
        "en": ("Fee paid", "We received ¥{{ amount }} ({{ method }}) for your application {{ number }} ({{ service }}). The electronic payment receipt is on the application's page."),
    },
    "fee_refunded": {
        "zh-hans": ("费用已退还", "您为申请 {{ number }}（{{ service }}）缴纳的费用 ¥{{ amount }} 已按规定退还。"),
        "en": ("Fee refunded", "The fee of ¥{{ amount }} you paid for application {{ number }} ({{ service }}) has been refunded, as the rules provide."),
    },
}  # fmt: skip

# A text message is short (two segments: about 130 Chinese characters or 300 Latin ones, with the
# signature and the link): the same facts in fewer words. Events not listed send their text as is.
SMS_TEXTS: dict[str, dict[str, str]] = {
    "accepted": {
        "zh-hans": "您的申请“{{ service }}”（{{ number }}）已受理，承诺办结日期{{ due_date }}。",
        "en": "Application {{ number }} ({{ service }}) accepted; decision due by {{ due_date }}.",
    },
    "not_accepted": {
        "zh-hans": "申请{{ number }}不予受理。如不服可于{{ review_days }}日内向{{ review_body }}申请行政复议或{{ litigation_months }}个月内向{{ court }}提起行政诉讼。",
        "en": "Application {{ number }} not accepted. To challenge it: administrative review at {{ review_body }} within {{ review_days }} days, or a lawsuit at {{ court }} within {{ litigation_months }} months.",
    },
    "supplement_requested": {
        "zh-hans": "您的申请{{ number }}需补正：{{ materials }}{% if note %}（{{ note }}）{% endif %}，请于{{ deadline }}前提交，逾期视为撤回。",
        "en": "Application {{ number }}: send {{ materials }}{% if note %} ({{ note }}){% endif %} by {{ deadline }}, or it is deemed withdrawn.",
    },
    "supplement_reminder": {
        "zh-hans": "提醒：申请{{ number }}须于{{ deadline }}前补正：{{ materials }}{% if note %}（{{ note }}）{% endif %}，逾期视为撤回。",
        "en": "Reminder: application {{ number }} needs {{ materials }}{% if note %} ({{ note }}){% endif %} by {{ deadline }}, or it is deemed withdrawn.",
    },
    "suspended": {
        "zh-hans": "您的申请{{ number }}进入特别程序{% if reason %}（{{ reason }}）{% endif %}，期间不计入办理时限，恢复办理时另行告知办结日期。",
        "en": "Application {{ number }} is in a special procedure{% if reason %} ({{ reason }}){% endif %}; this time does not count. You will be told the new due date.",
    },
    "extended": {
        "zh-hans": "您的申请{{ number }}办理时限经批准延长至{{ due_date }}{% if reason %}，理由：{{ reason }}{% endif %}。",
        "en": "Application {{ number }}: decision now due by {{ due_date }}{% if reason %} ({{ reason }}){% endif %}.",
    },
    "decided": {
        "zh-hans": "{% if refused %}申请{{ number }}不予许可。如不服可于{{ review_days }}日内向{{ review_body }}申请行政复议或{{ litigation_months }}个月内向{{ court }}提起行政诉讼。{% else %}您的申请{{ number }}已准予许可。{% endif %}",
        "en": "{% if refused %}Application {{ number }} refused. To challenge it: administrative review at {{ review_body }} within {{ review_days }} days, or a lawsuit at {{ court }} within {{ litigation_months }} months.{% else %}Application {{ number }} approved.{% endif %}",
    },
    "licence_revoked": {
        "zh-hans": "您的电子证照{{ licence }}已于{{ date }}被依法{% if kind == 'annulled' %}撤销{% else %}吊销{% endif %}。如不服可于{{ review_days }}日内向{{ review_body }}申请行政复议或{{ litigation_months }}个月内向{{ court }}提起行政诉讼。",
        "en": "Your e-licence {{ licence }} was {% if kind == 'annulled' %}annulled{% else %}revoked{% endif %} on {{ date }}. To challenge it: administrative review at {{ review_body }} within {{ review_days }} days, or a lawsuit at {{ court }} within {{ litigation_months }} months.",
    },
    "appointment_booked": {
        "zh-hans": "您已预约{{ date }} {{ time }}到{{ centre }}办理{{ service }}，预约码{{ code }}，请携带身份证件。",
        "en": "Visit booked: {{ centre }}, {{ date }} {{ time }}, {{ service }}. Code {{ code }}; bring your ID card.",
    },
    "appointment_reminder": {
        "zh-hans": "提醒：明天{{ time }}请到{{ centre }}办理{{ service }}，预约码{{ code }}。不能前来请提前取消。",
        "en": "Reminder: tomorrow {{ time }} at {{ centre }} for {{ service }}, code {{ code }}. Cannot come? Please cancel.",
    },
}  # fmt: skip

# The links every message ends with (the case; the step's official document on e-mail and inbox;
# the queue, for the deadline digest, which is about many cases).
LINK_WORDS = {
    "zh-hans": {"case": "办件：{url}", "document": "文书：{url}", "queue": "待办队列：{url}",
                "sms": "详见 {url}"},
    "en": {"case": "Application: {url}", "document": "Document: {url}", "queue": "Queue: {url}",
           "sms": " See {url}"},
}  # fmt: skip
# The download of an official document: the name the documents work gives it, else today's.
DOCUMENT_URL_NAMES = ("cases:official-document",)


def default_text(event: str, channel: str, language: str) -> tuple[str, str] | None:
    """The built-in (subject, body) of `event` on `channel` in `language`, or None."""
    texts = DEFAULT_TEXTS.get(event, {})
    if language not in texts:
        return None
    subject, body = texts[language]
    if channel == NotificationChannel.SMS:
        body = SMS_TEXTS.get(event, {}).get(language, body)
    return subject, body


def ensure_default_templates(template_model=NotificationTemplate) -> int:
    """Template rows for every event, channel and language that has none yet (admins edit them)."""
    existing = set(template_model.objects.values_list("event", "channel", "language"))
    rows = [
        template_model(event=event, channel=channel, language=language, subject=subject, body=body)
        for event, texts in DEFAULT_TEXTS.items()
        for language in texts
        for channel in NotificationChannel.values
        if (event, channel, language) not in existing
        for subject, body in [default_text(event, channel, language)]
    ]
    template_model.objects.bulk_create(rows)
    return len(rows)


def absolute_url(path: str) -> str:
    """`path` under the portal's public address (messages are read outside any request)."""
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def case_url(case: Case) -> str:
    """The applicant's page of the case (the proxy's account opens the same page)."""
    return absolute_url(reverse("cases:detail", args=[case.number]))


def staff_case_url(case: Case) -> str:
    return absolute_url(reverse("work:case", args=[case.number]))


# `document=LOOK_UP`: the message finds the event's document itself (a query); a set-based caller
# that wrote it passes it, or None when the event has none.
LOOK_UP = object()


def document_url(case: Case, event: Event, document=LOOK_UP) -> str:
    """The download of the official document issued with `event` (受理通知书, 补正告知书 ...: the
    effects write it in the same transaction, before the message), or "" when there is none."""
    if document is LOOK_UP:
        document = OfficialDocument.objects.filter(case=case, event=event).first()
    if document is None:
        return ""
    for name in DOCUMENT_URL_NAMES:
        try:
            return absolute_url(reverse(name, args=[case.number, document.pk]))
        except NoReverseMatch:
            continue
    return ""


def _clause(text: str) -> str:
    """A reason written as a sentence, fitted into the message's own sentence (no “。。”)."""
    return (text or "").strip().rstrip("。.；;，, ")


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


def material_words(materials):
    """The materials' names in words of the reader's language: run by `in_language`."""
    return lambda: {"materials": join_names(m.label for m in materials)}


def supplement_words(request: SupplementRequest):
    """What a request for documents asks, in words of the reader's language: run by `in_language`."""
    return material_words(list(request.materials.all()))


def supplement_context(request: SupplementRequest) -> dict:
    return {"deadline": request.deadline.isoformat(), "note": _clause(request.note)}


def _event_context(
    case: Case, event: Event, document=LOOK_UP
) -> tuple[dict, Callable[[], dict] | None]:
    """The facts of the message about `event` and the words that depend on the reader's language
    (`in_language`): the deadline and materials of a request for documents (from the request
    itself: its deadline is the one deem_withdrawn enforces), the reason, basis and rights of a
    decision (from its record, written by transitions.take before the message), the document."""
    context = _context(case, event)
    outcome = event.outcome
    words = None
    if outcome in (Outcome.EXTENDED, Outcome.SUSPENDED, Outcome.RESUMED):
        context["reason"] = _clause(event.opinion)
    if outcome == Outcome.SUPPLEMENT_REQUESTED:
        request = (
            case.supplement_requests.filter(state=SupplementRequest.State.OPEN)
            .prefetch_related("materials")
            .first()
        )
        if request is not None:
            context.update(supplement_context(request))
            words = supplement_words(request)
    if outcome in DECISION_OUTCOMES:
        decision = Decision.objects.filter(event=event).first()
        refused = outcome in REFUSING_OUTCOMES
        rights = (decision.rights if decision else {}) or rights_for(case.department)
        context["refused"] = refused
        context["reason"] = _clause(decision.reason if decision else event.opinion)
        context["review_days"] = rights["review_days"]
        context["litigation_months"] = rights["litigation_months"]

        def words():
            language = translation.get_language()
            basis = localized(decision, "legal_basis") if decision else case.decision_legal_basis
            english = language.startswith("en")
            return {
                "legal_basis": _clause(basis),
                "rights": rights_text(rights, language) if refused else "",
                "review_body": rights["review_body_en" if english else "review_body"],
                "court": rights["court_en" if english else "court"],
            }

    if url := document_url(case, event, document):
        context["document_url"] = url
    return context, words


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


def rows_for_person(
    profile, *, case: Case | None, event: str, context: dict, words=None
) -> list[Notification]:
    """Inbox and e-mail for someone with an account; a text message for everyone. Without a
    case (a bundle draft's warning) the context names no service or state: `words` gives them."""
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
    if profile.phone:  # none once an account is closed (accounts.closure)
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
    context = {**context, "case_url": case_url(case)}
    return [
        row
        for profile in people
        for row in rows_for_person(profile, case=case, event=event, context=context, words=words)
    ]


def to_staff(users, *, case: Case, event: str, context: dict) -> list[Notification]:
    """Unsaved in-app messages for staff, each in their own language, linking the staff case page."""
    context = {**context, "case_url": staff_case_url(case)}
    return [
        Notification(recipient=user, case=case, event=event, channel=NotificationChannel.INBOX,
                     language=user.preferred_language,
                     context=in_language(case, context, user.preferred_language))
        for user in users
    ]  # fmt: skip


def insert(rows: list[Notification]) -> list[Notification]:
    """Outbox rows written in one statement, stamped with this moment. The stamp is set here, not
    left to the column's database default: a value the database fills in is an expression, and an
    expression keeps Django from sending many rows as one UNNEST of arrays, which costs a third of
    the Python time (the sweep's thousands of reminders: 0.3 s for 3,000 rows against 1.0 s)."""
    if not rows:
        return []
    now = timezone.now()
    for row in rows:
        row.created_at = now
    return Notification.objects.bulk_create(rows)


def save_and_enqueue(rows: list[Notification]) -> list[Notification]:
    """Write outbox rows in the caller's transaction; hand them to Celery after it commits."""
    if not rows:
        return []
    created = insert(rows)
    ids = [row.pk for row in created]
    transaction.on_commit(lambda: enqueue(ids), robust=True)
    return created


def tell_applicant(
    case: Case, event_kind: str, event: Event, *, texts: dict[str, str] | None = None
) -> list[Notification]:
    """The applicant, and the proxy who applied for them (帮办代办): both follow the case, on
    every channel, in their own language. `texts`: a transition's own words by language."""
    return save_and_enqueue(applicant_rows(case, event_kind, event, texts=texts))


def applicant_rows(
    case: Case,
    event_kind: str,
    event: Event,
    *,
    texts: dict[str, str] | None = None,
    document=LOOK_UP,
) -> list[Notification]:
    """The unsaved rows of `tell_applicant` (`document`: see LOOK_UP)."""
    context, words = _event_context(case, event, document)
    rows = to_applicants(case, event_kind, context, words)
    for row in rows:
        text = (texts or {}).get(row.language) or (texts or {}).get(settings.LANGUAGE_CODE)
        if text:
            row.context = {**row.context, "text": text}
    return rows


def tell_applicant_of_transition(case: Case, transition, event: Event) -> list[Notification]:
    """The effect "notify the applicant": the text of the transition's outcome, or the transition's
    own message when the admin wrote one."""
    return save_and_enqueue(transition_rows(case, transition, event))


def transition_rows(case: Case, transition, event: Event, document=LOOK_UP) -> list[Notification]:
    """The unsaved rows of `tell_applicant_of_transition` (`document`: see LOOK_UP)."""
    from services.models import localized

    from ..vocabulary import OUTCOME_LABELS, OUTCOME_MESSAGES

    texts = {settings.LANGUAGE_CODE: transition.message} if transition.message else {}
    if transition.message_en:
        texts["en"] = transition.message_en
    context, words = _event_context(case, event, document)
    rows = to_applicants(case, OUTCOME_MESSAGES[transition.outcome], context, words)
    for row in rows:
        with translation.override(row.language):
            step = str(OUTCOME_LABELS[transition.outcome])
            label = localized(transition, "label")
        row.context = {**row.context, "step": step, "transition": label}
        text = texts.get(row.language) or texts.get(settings.LANGUAGE_CODE)
        if text:
            row.context["text"] = text
    return rows


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
    return save_and_enqueue(arrival_rows(case, event, stage_staff(case)))


def arrival_rows(case: Case, event: Event, users) -> list[Notification]:
    """The unsaved rows of `tell_stage_staff`, for `users` (who work the case's stage)."""
    return to_staff(
        users, case=case, event=NotificationEvent.NEW_CASE, context=_context(case, event)
    )


def tell_drafts_of_retirement(item, *, replacement=None) -> list[Notification]:
    """Everyone with a draft of a retired service is told it cannot be submitted, and what replaces
    it; in the transaction that retires it."""
    from services.models import OuterState

    drafts = Case.objects.filter(
        service=item, state=OuterState.DRAFT, purged_at__isnull=True
    ).select_related("service_version", "applicant__user", "agent__user")
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


# Rows per Celery message: a sweep's 200,000 warnings go as 40 messages, not 200,000 (a publish
# costs about 5 ms; 5,000 ids are 40 kB of JSON, still enough messages for every worker to share).
ENQUEUE_BATCH = 5000


def enqueue(ids: list[int]) -> None:
    """Hand rows to Celery, all of a transaction's rows in one message (a sweep's in batches).
    With the broker down this raises; the rows stay pending for requeue."""
    from ..tasks import send_notifications

    for start in range(0, len(ids), ENQUEUE_BATCH):
        send_notifications.apply_async((list(ids[start : start + ENQUEUE_BATCH]),), retry=False)


def retry_later(notification_id: int) -> None:
    """One row whose delivery failed with attempts left: again on its own after the backoff. With
    the broker down it stays pending, and the requeue finds it."""
    from ..tasks import send_notification

    attempts = (
        Notification.objects.filter(pk=notification_id).values_list("attempts", flat=True).first()
        or 1
    )
    try:
        send_notification.apply_async(
            (notification_id,), countdown=retry_delay(attempts), retry=False
        )
    except Exception:  # noqa: BLE001 - the broker is down: the pending row is requeued later
        logger.warning("notification %s: retry not queued, left for the requeue", notification_id)


# Rows per requeue run: a backlog left by a long outage goes in a few runs, ENQUEUE_BATCH a message.
REQUEUE_LIMIT = 50_000


def requeue_pending(now: dt.datetime | None = None, limit: int = REQUEUE_LIMIT) -> int:
    """Pending rows nobody has tried for a while: hand them to Celery again (beat runs this).

    One query finds them (the partial index on pending rows), one stamps them as handed over
    (`last_attempt_at`), so the next run, minutes later, leaves them to the workers still draining
    the queue instead of publishing the same backlog again, and a second beat skips the rows this
    one holds. They go in messages of ENQUEUE_BATCH ids."""
    now = now or timezone.now()
    cutoff = now - REQUEUE_AFTER
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(state=Notification.State.PENDING, created_at__lt=cutoff)
            .exclude(last_attempt_at__gte=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Notification.objects.filter(pk__in=ids).update(last_attempt_at=now)
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
        subject, body = (
            default_text(notification.event, notification.channel, notification.language)
            or default_text(notification.event, notification.channel, settings.LANGUAGE_CODE)
            or ("", "")
        )
    if notification.context.get("text"):
        body = notification.context["text"]  # the transition's own message, written by an admin
    context = Context(notification.context, autoescape=False)
    subject, body = (
        Template(subject).render(context).strip(),
        Template(body).render(context).strip(),
    )
    return subject, with_links(body, notification)


def _has_link(body: str, url: str) -> bool:
    """`url` itself is in `body`, not only as the start of a longer one (the queue's link begins
    every case link a digest lists)."""
    return re.search(re.escape(url) + r"(?![^\s，。；）).,;])", body) is not None


def with_links(body: str, notification: Notification) -> str:
    """Every message ends with its links, whatever words an admin wrote: the case's page (all
    channels) and the step's official document (e-mail and inbox), unless the text has them; a
    message about many cases (the deadline digest) ends with the queue instead."""
    words = LINK_WORDS.get(notification.language) or LINK_WORDS[settings.LANGUAGE_CODE]
    context = notification.context
    url = context.get("case_url") or context.get("queue_url")
    if notification.channel == NotificationChannel.SMS:
        return f"{body}{words['sms'].format(url=url)}" if url and not _has_link(body, url) else body
    lines = [
        words[key].format(url=context[name])
        for key, name in (
            ("case", "case_url"),
            ("document", "document_url"),
            ("queue", "queue_url"),
        )
        if context.get(name) and not _has_link(body, context[name])
    ]
    return "\n".join([body, "", *lines]) if lines else body


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
        if notification.channel == NotificationChannel.INBOX:
            # The header's unread count (cached per account) follows from this commit on.
            inbox_changed(notification.recipient_id)
        return "sent"


def retry_delay(attempts: int) -> int:
    """Exponential backoff in seconds: base, 2×base, 4×base ... capped at 30 minutes (base 30 s)."""
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), 1800)
