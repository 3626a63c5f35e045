"""The deadline sweep: warnings once per case and threshold, escalation, closures through the
engine, catching up after an outage, constant queries."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from cases import deadlines, workflow
from cases.models import Case, DeadlineWarning, Notification
from services.calendar import working_days_between

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support import clock


def at(day: str):
    return clock.at(day, hour=9)


@pytest.fixture
def setting(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr")
    staff = {
        role: StaffMembershipFactory(
            department=department, role=role, user__username=str(role)
        ).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.DEPARTMENT_HEAD)
    }
    service = make_service(
        "D-1",
        department=department,
        promised_limit_days=5,
        materials=[{"name": "x", "required": False}],
    ).service
    return service, staff


def accepted_case(service, staff):
    user = CitizenProfileFactory().user
    case, _ = workflow.create_draft(service=service, user=user, data={"shop_area": 1})
    case = workflow.submit_application(case=case, user=user)
    return workflow.apply_transition(case=case, name="accept", actor=staff[Role.CASEWORKER])


def digests(**filters) -> dict[str, list[Notification]]:
    rows = Notification.objects.filter(event="deadline_digest", **filters).select_related(
        "recipient"
    )
    told: dict[str, list[Notification]] = {}
    for row in rows.order_by("pk"):
        told.setdefault(row.recipient.username, []).append(row)
    return told


def numbers(row: Notification) -> list[str]:
    return [case["number"] for case in row.context["cases"]]


@pytest.mark.django_db
def test_due_soon_warns_once_and_overdue_escalates_to_the_head(setting):
    service, staff = setting
    with at("2026-11-02"):
        case = accepted_case(service, staff)  # due 2026-11-09
    with at("2026-11-05"):
        assert deadlines.sweep()["due_soon"] == 1
        assert deadlines.sweep()["due_soon"] == 0  # the second run warns nobody again
    assert not Notification.objects.filter(event__in=["due_soon", "overdue"]).exists()
    # Unclaimed, the case is told to whoever works its current stage: accepted, it is in review.
    told = digests()
    assert list(told) == ["reviewer"] and len(told["reviewer"]) == 1
    (digest,) = told["reviewer"]
    assert (digest.case, digest.channel, digest.language) == (None, "inbox", "zh-hans")
    assert digest.context["cases"] == [{
        "number": case.number, "service": service.current_version.name, "due_date": "2026-11-09",
        "kind": "due_soon", "case_url": f"http://127.0.0.1:8000/work/{case.number}/",
    }]  # fmt: skip
    with at("2026-11-12"):  # beat was down for days: it catches up
        assert deadlines.sweep()["overdue"] == 1
        assert deadlines.sweep()["overdue"] == 0
    told = digests(pk__gt=digest.pk)
    assert list(told) == ["department_head"] and len(told["department_head"]) == 1
    (escalated,) = told["department_head"]
    assert numbers(escalated) == [case.number]
    assert escalated.context["cases"][0]["kind"] == "overdue"
    assert escalated.context["overdue_count"] == 1
    assert DeadlineWarning.objects.filter(case=case).count() == 2


@pytest.mark.django_db
def test_a_caseworker_gets_one_digest_per_sweep_and_the_next_only_the_new_cases(setting):
    from cases.notifications.services import deliver
    from cases.workflow.claims import claim_case

    service, staff = setting
    reviewer = staff[Role.REVIEWER]
    with at("2026-11-02"):  # due 2026-11-09
        first = [claim_case(case=accepted_case(service, staff), user=reviewer) for _ in range(3)]
    with at("2026-11-03"):  # due 2026-11-10
        second = [claim_case(case=accepted_case(service, staff), user=reviewer) for _ in range(2)]
    with at("2026-11-05"):
        assert deadlines.sweep()["due_soon"] == 3
    (digest,) = digests()["reviewer"]
    assert numbers(digest) == [c.number for c in first]  # by due date, then filing
    assert (digest.context["count"], digest.context["more"]) == (3, 0)
    with at("2026-11-06"):  # a new threshold: the two due on the 10th, not the three again
        assert deadlines.sweep()["due_soon"] == 2
        assert deadlines.sweep()["due_soon"] == 0
    (later,) = digests(pk__gt=digest.pk)["reviewer"]
    assert numbers(later) == [c.number for c in second]

    # What the reader sees: one message, its cases listed with their links, the queue's link.
    assert deliver(digest.pk) == "sent"
    digest.refresh_from_db()
    assert digest.subject == "3 件办件即将到期"
    for case in first:
        assert f"{case.number}（{service.current_version.name}）将于 2026-11-09 到期" in digest.body
    assert digest.body.endswith("待办队列：http://127.0.0.1:8000/work/")
    assert deliver(later.pk) == "sent"
    client = Client()
    client.force_login(reviewer)
    page = client.get("/messages/").content.decode()
    assert page.count('<ul class="digest"') == 2  # each digest a list
    for case in first + second:
        assert f'<a href="/work/{case.number}/">{case.number}</a>' in page
    assert page.count('<time datetime="2026-11-09">') == 3
    assert page.count("即将到期") >= 5 and '<a href="/work/">' in page
    api = client.get("/api/v1/notifications/").json()
    assert [(r["event"], r["case"]) for r in api["results"]] == [("deadline_digest", None)] * 2


@pytest.mark.django_db
def test_a_paused_case_is_not_warned_and_a_moved_due_date_warns_again(setting):
    service, staff = setting
    with at("2026-11-02"):
        case = accepted_case(service, staff)
    with at("2026-11-05"):
        deadlines.sweep()
        case = workflow.apply_transition(
            case=case, name="suspend", actor=staff[Role.REVIEWER], opinion="核查"
        )
        assert deadlines.sweep()["due_soon"] == 0
    with at("2026-11-10"):
        assert deadlines.sweep()["overdue"] == 0  # paused: not overdue
        case = workflow.apply_transition(
            case=case, name="resume", actor=staff[Role.REVIEWER], opinion="完毕"
        )
    assert case.due_date == dt.date(2026, 11, 12)  # three working days paused
    with at("2026-11-11"):
        assert deadlines.sweep()["due_soon"] == 1  # a new date, a new warning


@pytest.mark.django_db
def test_unanswered_request_for_documents_is_deemed_withdrawn(setting):
    service, staff = setting
    material = service.current_version.materials.get()
    user = CitizenProfileFactory().user
    with at("2026-11-02"):
        case, _ = workflow.create_draft(service=service, user=user, data={"shop_area": 1})
        case = workflow.submit_application(case=case, user=user)
        case = workflow.request_supplement(
            case=case, actor=staff[Role.CASEWORKER], materials=[material], note="缺"
        )
    deadline = case.supplement_requests.get().deadline
    assert deadline == dt.date(2026, 11, 16)  # ten working days
    with at("2026-11-13"):
        assert deadlines.sweep()["supplement_reminders"] == 1
        assert deadlines.sweep()["supplement_reminders"] == 0
    assert (
        Notification.objects.filter(case=case, event="supplement_reminder", channel="sms").count()
        == 1
    )
    with at("2026-11-17"):
        assert deadlines.sweep()["deemed_withdrawn"] == 1
        assert deadlines.sweep()["deemed_withdrawn"] == 0
    case.refresh_from_db()
    assert case.state == "withdrawn"
    last = case.events.order_by("-sequence").first()
    assert (last.action, last.actor_role, last.details) == (
        "deemed_withdrawn",
        "system",
        {"deemed": True},
    )
    assert Notification.objects.filter(case=case, event="deemed_withdrawn").exists()


@pytest.mark.django_db
def test_the_sweep_runs_constant_queries(setting):
    service, staff = setting
    with at("2026-11-02"):
        for _ in range(3):
            accepted_case(service, staff)

    def count():
        with at("2026-11-06"), CaptureQueriesContext(connection) as ctx:
            deadlines.sweep()
        return len(ctx.captured_queries)

    working_days_between(
        dt.date(2026, 11, 2), dt.date(2026, 11, 6)
    )  # counted once the calendar is read
    DeadlineWarning.objects.all().delete()
    few = count()
    with at("2026-11-02"):
        for _ in range(30):
            accepted_case(service, staff)
    DeadlineWarning.objects.all().delete()
    many = count()
    assert few == many


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_beats_sweeping_at_once_warn_once(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr")
    staff = {
        role: StaffMembershipFactory(department=department, role=role).user
        for role in (Role.CASEWORKER, Role.DEPARTMENT_HEAD)
    }
    service = make_service("D-2", department=department, promised_limit_days=5,
                           materials=[{"name": "x", "required": False}]).service  # fmt: skip
    with at("2026-11-02"):
        cases = [accepted_case(service, staff) for _ in range(5)]
    barrier = threading.Barrier(2)
    errors = []

    def beat():
        try:
            with at("2026-11-05"):
                barrier.wait()
                deadlines.sweep()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert DeadlineWarning.objects.filter(kind="due_soon").count() == 5
    (digest,) = Notification.objects.filter(event="deadline_digest")  # one beat wrote it
    assert sorted(c["number"] for c in digest.context["cases"]) == sorted(c.number for c in cases)
    assert Case.objects.filter(pk__in=[c.pk for c in cases]).count() == 5


@pytest.mark.django_db
def test_a_documents_reminder_reaches_the_applicant_and_the_proxy_on_every_channel(setting):
    from accounts import proxies

    service, staff = setting
    material = service.current_version.materials.get()
    principal = CitizenProfileFactory(real_name="李奶奶")
    proxy = CitizenProfileFactory(real_name="李小华", user__preferred_language="en")
    authorisation = proxies.grant(
        principal_user=principal.user, agent_id_number=proxy.id_number,
        agent_real_name="李小华", relationship="relative",
    )  # fmt: skip
    with at("2026-11-02"):
        case, _ = workflow.create_draft(
            service=service, user=proxy.user, data={"shop_area": 1}, authorisation=authorisation
        )
        case = workflow.submit_application(case=case, user=proxy.user)
        case = workflow.request_supplement(
            case=case, actor=staff[Role.CASEWORKER], materials=[material], note="缺"
        )
    with at("2026-11-13"):
        assert deadlines.sweep()["supplement_reminders"] == 1
    rows = Notification.objects.filter(case=case, event="supplement_reminder")
    assert set(rows.values_list("recipient__username", "channel", "language")) == {
        (principal.user.username, "inbox", "zh-hans"),
        (principal.user.username, "email", "zh-hans"),
        (principal.user.username, "sms", "zh-hans"),
        (proxy.user.username, "inbox", "en"),
        (proxy.user.username, "email", "en"),
        (proxy.user.username, "sms", "en"),
    }
    # Each says what the request asked for: its materials and its deadline.
    assert {(row.context["materials"], row.context["deadline"]) for row in rows} == {
        (material.name, "2026-11-16")
    }
