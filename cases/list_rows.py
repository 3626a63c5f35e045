"""The cells of the two busiest lists, "my applications" and the caseworker queue, built in Python.

Each row of these lists is a few links, dates, translated phrases and Chinese names marked for an
English page (`|zh`); written as template tags, a page of twenty or fifty rows cost most of its
time in the template engine (a `{% url %}`, a `{% blocktranslate %}`, a `|date` and a `|zh` per
cell and row), far more than its query (issue 20). Here each row is a dict of finished, escaped
cells that the page's template lays out with plain `{{ }}` lookups. The HTML is the same the
templates wrote, and so are the message ids (the phrases are those of the old `{% translate %}` and
`{% blocktranslate %}` tags, looked up the same way). Nothing is cached: a row is a pure function of
what the list's query read, so no write can leave one stale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from urllib.parse import quote

from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.html import conditional_escape, escape, format_html
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from portal.templatetags.zh import zh

from .models import Case

URL_SAFE = RFC3986_SUBDELIMS + "/~:@"  # what django.urls.resolvers leaves unquoted


def _zh(value) -> SafeString:
    """`{{ value|zh }}`: escaped, its Chinese runs marked in an English page."""
    return conditional_escape(zh(value))


def _phrase(translated: str, **values) -> SafeString:
    """`{% blocktranslate with ... asvar text %}{{ text|zh }}`: the values escaped into the
    translated phrase (the caller's `gettext("…")`, so makemessages finds the msgid), the whole
    marked."""
    text = translated % {name: escape(value) for name, value in values.items()}
    return _zh(mark_safe(text))  # noqa: S308 - the values are escaped, the phrase is our own


def _url_maker(name: str):
    """reverse() for `name` with one `<str:number>` argument, resolved once: the prefix and suffix
    around a placeholder, the number quoted between them as reverse() quotes it."""
    marker = "0MARKER0"
    prefix, suffix = reverse(name, args=[marker]).split(marker)
    return lambda number: f"{prefix}{quote(number, safe=URL_SAFE)}{suffix}"


def application_rows(cases: Iterable[Case]) -> list[dict]:
    """The rows of "my applications" (cases from selectors.my_applications)."""
    form_url = _url_maker("cases:form")
    detail_url = _url_maker("cases:detail")
    bundle_url = _url_maker("cases:bundles:status")
    rows = []
    for case in cases:
        service = [_zh(case.service_version.label)]
        link = getattr(case, "bundle_link", None)
        if link is not None:
            application = link.application
            service.append(
                format_html(
                    '<br><span class="hint">{} <a class="bundle-link" href="{}">{} {}</a></span>',
                    gettext("Part of the bundle"),
                    bundle_url(application.number),
                    _zh(application.bundle.label),
                    application.number,
                )
            )
        if case.agent_id:
            proxy = _phrase(
                gettext("for %(name)s, by proxy %(proxy)s"),
                name=case.applicant.real_name,
                proxy=case.agent.real_name,
            )
            service.append(format_html('<br><span class="hint">{}</span>', proxy))
        rows.append(
            {
                "url": form_url(case.number) if case.is_draft else detail_url(case.number),
                "number": case.number,
                "service": mark_safe("".join(service)),  # noqa: S308 - each part escaped
                "state": case.state,
                "state_label": _zh(case.get_state_display()),
                "due": _application_due(case),
            }
        )
    return rows


def _ymd(value) -> str:
    return date_filter(value, "Y-m-d")


def _application_due(case: Case) -> SafeString:
    if case.state == "supplement_requested" and case.supplement_deadline:
        due = format_html(
            "<strong>{}</strong>",
            _phrase(gettext("send documents by %(date)s"), date=_ymd(case.supplement_deadline)),
        )
        if case.supplement_uploaded:
            due += format_html(
                '<br><span class="hint">{}</span>', gettext("uploaded, not yet sent")
            )
    elif case.due_date:
        due = conditional_escape(_ymd(case.due_date))
    elif case.intake_due_date and case.state == "submitted":
        due = _phrase(gettext("accepted by %(date)s"), date=_ymd(case.intake_due_date))
    else:
        due = SafeString("—")
    if case.due_date_provisional:
        due += format_html(' <span class="hint">({})</span>', gettext("provisional"))
    return due


def queue_rows(cases: Iterable[Case], today: dt.date) -> list[dict]:
    """The rows of the caseworker queue (cases from selectors.work_queue)."""
    case_url = _url_maker("work:case")
    today_text = _ymd(today)
    overdue = format_html(' <strong class="error-text">{}</strong>', gettext("overdue"))
    paused = format_html(' <span class="tag">{}</span>', gettext("paused"))
    rows = []
    for case in cases:
        deadline = _ymd(case.deadline)
        late = deadline < today_text  # the template compared the formatted dates, "" included
        cell = format_html('<span class="{}">{}</span>', "overdue" if late else "", deadline)
        if late:
            cell += overdue
        if case.paused_since:
            cell += paused
        state = conditional_escape(case.get_state_display())
        if case.stage_id:
            state += format_html(" · {}", case.stage.label)
        assignee = case.assignee
        rows.append(
            {
                "deadline": cell,
                "url": case_url(case.number),
                "number": case.number,
                "service": case.service_version.name,
                "applicant": case.applicant.real_name,
                "state": state,
                "assignee": (assignee.get_full_name() or assignee.username) if assignee else "—",
            }
        )
    return rows
