"""The rows of "my applications" and the caseworker queue (cases.list_rows) against what the
templates wrote before the rows were built in Python: the same HTML, row for row, for drafts,
proxies, bundle members, open requests for documents, overdue and paused cases, in Chinese and in
English; and each row follows its case through a transition, a withdrawal and the set-based deemed
closure (cases.workflow.deemed.close_due), on the pages and in the APIs."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from cases import selectors, workflow
from cases.models import Case
from cases.workflow import deemed
from portal.templatetags.zh import zh

from .factories import CitizenProfileFactory
from .support import clock
from .test_access_log import png
from .test_deemed_bulk import _as_member, office  # noqa: F401 - the fixture

TODAY = dt.date(2026, 11, 10)

# The rows as templates/cases/list.html and templates/work/queue.html wrote them before c29752c.
OLD_APPLICATION_ROWS = """{% load i18n %}{% for case in cases %}
    <tr>
      <th scope="row"><a href="{% if case.is_draft %}{% url 'cases:form' case.number %}{% else %}{% url 'cases:detail' case.number %}{% endif %}">{{ case.number }}</a></th>
      <td>{{ case.service_version.label|zh }}{% if case.bundle_link %}<br><span class="hint">{% translate "Part of the bundle" %} <a class="bundle-link" href="{% url 'cases:bundles:status' case.bundle_link.application.number %}">{{ case.bundle_link.application.bundle.label|zh }} {{ case.bundle_link.application.number }}</a></span>{% endif %}{% if case.agent_id %}<br><span class="hint">{% blocktranslate with name=case.applicant.real_name proxy=case.agent.real_name asvar zh_text %}for {{ name }}, by proxy {{ proxy }}{% endblocktranslate %}{{ zh_text|zh }}</span>{% endif %}</td>
      <td><span class="state state-{{ case.state }}">{{ case.get_state_display|zh }}</span></td>
      <td>{% if case.state == "supplement_requested" and case.supplement_deadline %}<strong>{% blocktranslate with date=case.supplement_deadline|date:"Y-m-d" asvar zh_text %}send documents by {{ date }}{% endblocktranslate %}{{ zh_text|zh }}</strong>{% if case.supplement_uploaded %}<br><span class="hint">{% translate "uploaded, not yet sent" %}</span>{% endif %}{% elif case.due_date %}{{ case.due_date|date:"Y-m-d" }}{% elif case.intake_due_date and case.state == "submitted" %}{% blocktranslate with date=case.intake_due_date|date:"Y-m-d" asvar zh_text %}accepted by {{ date }}{% endblocktranslate %}{{ zh_text|zh }}{% else %}—{% endif %}{% if case.due_date_provisional %} <span class="hint">({% translate "provisional" %})</span>{% endif %}</td>
    </tr>
  {% endfor %}"""  # noqa: E501
OLD_QUEUE_ROWS = """{% load i18n %}{% now "Y-m-d" as today %}{% for case in cases %}
    <tr>
      <td>{% with d=case.deadline|date:"Y-m-d" %}<span class="{% if d < today %}overdue{% endif %}">{{ d }}</span>{% if d < today %} <strong class="error-text">{% translate "overdue" %}</strong>{% endif %}{% endwith %}{% if case.paused_since %} <span class="tag">{% translate "paused" %}</span>{% endif %}</td>
      <th scope="row"><a href="{% url 'work:case' case.number %}">{{ case.number }}</a></th>
      <td>{{ case.service_version.name }}</td>
      <td>{{ case.applicant.real_name }}</td>
      <td>{{ case.get_state_display }}{% if case.stage %} · {{ case.stage.label }}{% endif %}</td>
      <td>{% if case.assignee %}{{ case.assignee.get_full_name|default:case.assignee.username }}{% else %}—{% endif %}</td>
    </tr>
  {% endfor %}"""  # noqa: E501


def _rows(html: str) -> str:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    assert body, html[:500]
    return re.sub(r">\s+<", "><", body.group(1)).strip()


def _old(source: str, cases, language: str) -> str:
    with translation.override(language):
        html = Template(source).render(Context({"cases": list(cases)}))
    return _rows(f"<tbody>{html}</tbody>")


def _client(user, language: str) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _label(state: str, language: str) -> str:
    """The state's label as a page shows it (its Chinese marked in an English page)."""
    with translation.override(language):
        return str(zh(Case(state=state).get_state_display()))


def _file(service, user, **profile) -> Case:
    case, _ = workflow.create_draft(service=service, user=user, data={"shop_area": 2})
    return workflow.submit_application(case=case, user=user)


@pytest.fixture
def desk(office):  # noqa: F811
    """张三's applications, one of each kind a row shows, at TODAY: a draft, a case waiting for
    documents with one uploaded (overdue for the answer, paused), a bundle member, one filed as
    李四's proxy, and one accepted (due date provisional, claimed)."""
    caseworker = office["staff"][Role.CASEWORKER]
    profile = CitizenProfileFactory(real_name="张三")
    citizen = profile.user
    cases = {}
    with clock.at("2026-10-19"):
        waiting = _file(office["other"], citizen)
        material = waiting.service_version.materials.get()
        waiting = workflow.request_supplement(
            case=waiting, actor=caseworker, materials=[material], note="请补营业执照"
        )
        workflow.add_attachment(case=waiting, material_id=material.pk, user=citizen, upload=png())
        cases["waiting"] = waiting
    with clock.at("2026-11-02"):
        cases["member"] = _file(office["plain"], citizen)
        _as_member(office, cases["member"])
        cases["proxied"] = _file(office["other"], citizen)
        other = CitizenProfileFactory(real_name="李四")
        # 张三 filed it for 李四 under an authorisation (帮办代办): the applicant is 李四.
        Case.objects.filter(pk=cases["proxied"].pk).update(applicant=other, agent=profile)
        accepted = workflow.claim_case(case=_file(office["other"], citizen), user=caseworker)
        cases["accepted"] = workflow.apply_transition(
            case=accepted, name="accept", actor=caseworker, opinion="齐全"
        )
        # claimed again at the review stage (acceptance hands the case on unclaimed)
        Case.objects.filter(pk=accepted.pk).update(due_date_provisional=True, assignee=caseworker)
    with clock.at("2026-11-06"):
        cases["draft"], _ = workflow.create_draft(
            service=office["other"], user=citizen, data={"shop_area": 1}
        )
    return {"citizen": citizen, "caseworker": caseworker, "cases": cases, **office}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_my_applications_rows_are_what_the_old_template_wrote(desk, language):
    cases = desk["cases"]
    with clock.at(TODAY.isoformat()):
        html = _page(_client(desk["citizen"], language), "/applications/")
        old = _old(OLD_APPLICATION_ROWS, selectors.my_applications(desk["citizen"]), language)
    assert _rows(html) == old
    with translation.override(language):
        bundle_part = translation.gettext("Part of the bundle")
        uploaded = translation.gettext("uploaded, not yet sent")
    assert bundle_part in html and uploaded in html
    member = cases["member"].bundle_link.application
    bundle_url = reverse("cases:bundles:status", args=[member.number])
    assert f'<a class="bundle-link" href="{bundle_url}">' in html
    assert f'href="{reverse("cases:form", args=[cases["draft"].number])}"' in html
    assert f'href="{reverse("cases:detail", args=[cases["waiting"].number])}"' in html
    deadline = cases["waiting"].supplement_requests.get().deadline.isoformat()
    if language == "en":
        marked = '<span lang="zh-Hans">{}</span>'.format
        assert f"for {marked('李四')}, by proxy {marked('张三')}" in html
        assert f"<strong>send documents by {deadline}</strong>" in html
        assert (
            f'{cases["accepted"].due_date:%Y-%m-%d} <span class="hint">(provisional)</span>' in html
        )
    else:
        assert "李四" in html and "张三" in html and "<span lang=" not in _rows(html)
        assert "by proxy" not in html and "send documents by" not in html
        assert deadline in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_queue_rows_are_what_the_old_template_wrote(desk, language):
    caseworker = desk["caseworker"]
    with clock.at(TODAY.isoformat()):
        html = _page(_client(caseworker, language), "/work/")
        queue = selectors.work_queue(caseworker)
        old = _old(OLD_QUEUE_ROWS, queue, language)
        rows = _rows(html)
    assert rows == old
    with translation.override(language):
        overdue, paused = translation.gettext("overdue"), translation.gettext("paused")
    # The answer to the request for documents was due before TODAY, and its clock is paused.
    waiting = desk["cases"]["waiting"]
    row = next(r for r in rows.split("</tr>") if waiting.number in r)
    assert f'<strong class="error-text">{overdue}</strong>' in row
    assert f'<span class="tag">{paused}</span>' in row
    accepted = desk["cases"]["accepted"]
    row = next(r for r in rows.split("</tr>") if accepted.number in r)
    assert f'<span class="">{accepted.due_date:%Y-%m-%d}</span>' in row
    assert f"<td>{caseworker.get_full_name() or caseworker.username}</td>" in row
    with translation.override(language):  # the queue never marked its Chinese: still the same
        label = str(Case(state="accepted").get_state_display())
    assert f"<td>{label} · {accepted.stage.label}</td>" in row
    proxied = desk["cases"]["proxied"]
    assert "<td>李四</td>" in next(r for r in rows.split("</tr>") if proxied.number in r)


def _api_row(client: Client, url: str, number: str) -> dict | None:
    response = client.get(url)
    assert response.status_code == 200
    return next((r for r in response.json()["results"] if r["number"] == number), None)


def _page_row(client: Client, url: str, number: str) -> str | None:
    rows = _rows(_page(client, url)).split("</tr>")
    return next((r for r in rows if f">{number}</a>" in r), None)


@pytest.mark.django_db
def test_a_row_follows_its_case_through_transitions_and_a_withdrawal(desk):
    citizen, caseworker = desk["citizen"], desk["caseworker"]
    mine, staff = _client(citizen, "en"), _client(caseworker, "en")
    with clock.at("2026-11-03"):
        case = _file(desk["other"], citizen)
        number = case.number
        intake = f"accepted by {case.intake_due_date:%Y-%m-%d}"
        assert intake in _page_row(mine, "/applications/", number)
        assert _api_row(mine, "/api/v1/applications/", number)["state"] == "submitted"
        assert _api_row(staff, "/api/v1/work/queue/", number)["assignee"] is None
        assert "—</td>" in _page_row(staff, "/work/", number)

        material = case.service_version.materials.get()
        case = workflow.request_supplement(
            case=case, actor=caseworker, materials=[material], note="请补营业执照"
        )
        deadline = case.supplement_requests.get().deadline
        row = _page_row(mine, "/applications/", number)
        assert f"send documents by {deadline:%Y-%m-%d}" in row
        assert "uploaded, not yet sent" not in row
        assert _api_row(mine, "/api/v1/applications/", number)["state"] == "supplement_requested"
        assert '<span class="tag">paused</span>' in _page_row(staff, "/work/", number)
        assert _api_row(staff, "/api/v1/work/queue/", number)["paused"] is True
        workflow.add_attachment(case=case, material_id=material.pk, user=citizen, upload=png())
        assert "uploaded, not yet sent" in _page_row(mine, "/applications/", number)

        workflow.withdraw_case(case=case, user=citizen, reason="不办了")
        row = _page_row(mine, "/applications/", number)
        assert f">{_label('withdrawn', 'en')}<" in row and "send documents by" not in row
        assert _api_row(mine, "/api/v1/applications/", number)["state"] == "withdrawn"
        assert _page_row(staff, "/work/", number) is None
        assert _api_row(staff, "/api/v1/work/queue/", number) is None

        case = _file(desk["other"], citizen)
        number = case.number
        intake = f"accepted by {case.intake_due_date:%Y-%m-%d}"
        assert intake in _page_row(mine, "/applications/", number)
        case = workflow.apply_transition(
            case=workflow.claim_case(case=case, user=caseworker),
            name="accept",
            actor=caseworker,
            opinion="齐全",
        )
        row = _page_row(mine, "/applications/", number)
        assert intake not in row and f"{case.due_date:%Y-%m-%d}" in row
        assert f">{_label('accepted', 'en')}<" in row
        api = _api_row(mine, "/api/v1/applications/", number)
        assert (api["state"], api["due_date"]) == ("accepted", case.due_date.isoformat())
        queued = _api_row(staff, "/api/v1/work/queue/", number)
        # acceptance hands the case on to the review stage unclaimed
        assert (queued["state"], queued["assignee"]) == ("accepted", None)
        assert (queued["deadline"], queued["paused"]) == (case.due_date.isoformat(), False)
        assert case.stage.label in _page_row(staff, "/work/", number)


@pytest.mark.django_db
def test_rows_follow_the_set_based_deemed_closure(desk):
    """The sweep writes in SQL (no model save, no signal): the rows still follow it."""
    citizen, caseworker = desk["citizen"], desk["caseworker"]
    waiting, member = desk["cases"]["waiting"], desk["cases"]["member"]
    mine, staff = _client(citizen, "en"), _client(caseworker, "en")
    with clock.at(TODAY.isoformat()):
        assert "accepted by" in _page_row(mine, "/applications/", member.number)
        assert "send documents by" in _page_row(mine, "/applications/", waiting.number)
        assert "overdue" in _page_row(staff, "/work/", member.number)
        assert _api_row(staff, "/api/v1/work/queue/", waiting.number)["paused"] is True
        counts = deemed.close_due(TODAY)
        assert counts["deemed_withdrawn"] >= 1 and counts["deemed_accepted"] >= 1

        row = _page_row(mine, "/applications/", waiting.number)
        assert f">{_label('withdrawn', 'en')}<" in row and "send documents by" not in row
        assert _api_row(mine, "/api/v1/applications/", waiting.number)["state"] == "withdrawn"
        assert _page_row(staff, "/work/", waiting.number) is None
        assert _api_row(staff, "/api/v1/work/queue/", waiting.number) is None

        accepted = Case.objects.get(pk=member.pk)
        row = _page_row(mine, "/applications/", member.number)
        assert f">{_label('accepted', 'en')}<" in row and "accepted by" not in row
        assert f"{accepted.due_date:%Y-%m-%d}" in row and "Part of the bundle" in row
        api = _api_row(mine, "/api/v1/applications/", member.number)
        assert (api["state"], api["due_date"]) == ("accepted", accepted.due_date.isoformat())
        # Deemed accepted at its parent department's review: gone from this department's queue
        # or shown there with its new deadline.
        queued = _api_row(staff, "/api/v1/work/queue/", member.number)
        assert queued is None or queued["deadline"] == accepted.due_date.isoformat()


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_list_apis_answer_what_drfs_field_walk_writes_for_every_kind_of_row(desk, language):
    """The APIs read plain values (cases.api.summary_row, cases.work_api.queue_row): each row
    must be what the declared serializer fields write for the case itself, bundle member and
    proxy included, with the state labels of the language asked for."""
    from rest_framework import serializers

    from cases.api import CaseSummaryOutput
    from cases.work_api import QueueItemOutput

    def walked(output, case):
        return serializers.Serializer.to_representation(output, case)

    accept = {"HTTP_ACCEPT_LANGUAGE": language}
    with clock.at(TODAY.isoformat()):
        mine = _client(desk["citizen"], language).get("/api/v1/applications/", **accept).json()
        queue = _client(desk["caseworker"], language).get("/api/v1/work/queue/", **accept)
        with translation.override(language):
            expected_mine = [
                walked(CaseSummaryOutput(), c) for c in selectors.my_applications(desk["citizen"])
            ]
            expected_queue = [
                walked(QueueItemOutput(), c) for c in selectors.work_queue(desk["caseworker"])
            ]
    assert mine["count"] == 5 and mine["results"] == expected_mine
    assert any(row["bundle"] for row in mine["results"])
    assert queue.json()["results"] == expected_queue and len(expected_queue) == 4
    with translation.override(language):
        accepted = str(Case(state="accepted").get_state_display())
    assert accepted in {row["state_label"] for row in mine["results"]}
