"""The set-based sweep (cases/deadline_sql.py) writes exactly what the portable path writes: the
same warnings, the same recipients and the same message rows (channel, language, context: the staff
get one digest each, listing their cases), on a fixture that mixes claimed and unclaimed cases, a
stage role nobody holds, English readers, a head who holds the case, a paused case, a request for
documents with a proxy and a number the URL quotes."""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from cases import deadline_sql, deadlines, workflow
from cases.models import DeadlineWarning, Notification
from cases.notifications.services import absolute_url, staff_case_url

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    UserFactory,
    make_service,
)
from .support import clock


def at(day: str):
    return clock.at(day, hour=9)


def member(department, role, username, language="zh-hans"):
    user = UserFactory(username=username, preferred_language=language)
    StaffMembershipFactory(department=department, role=role, user=user)
    return user


@pytest.fixture
def mixed(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    amr, tax = DepartmentFactory(code="amr"), DepartmentFactory(code="tax")
    staff = {
        "caseworker": member(amr, Role.CASEWORKER, "amr_caseworker"),
        "reviewer": member(amr, Role.REVIEWER, "amr_reviewer", "en"),
        "head": member(amr, Role.DEPARTMENT_HEAD, "amr_head"),
        "tax_caseworker": member(tax, Role.CASEWORKER, "tax_caseworker", "en"),
        "tax_head": member(tax, Role.DEPARTMENT_HEAD, "tax_head"),
    }
    boss = member(amr, Role.DEPARTMENT_HEAD, "amr_boss")  # a head who also reviews
    StaffMembershipFactory(department=amr, role=Role.REVIEWER, user=boss)
    staff["boss"] = boss
    optional = {"materials": [{"name": "x", "required": False}], "promised_limit_days": 5}
    food = make_service("D-1", department=amr, name_en="Food licence", **optional).service
    # No English name: an English reader gets the Chinese one.
    tax_service = make_service("TAX.2", department=tax, name_en="", **optional).service
    return staff, food, tax_service


def filed(service, *, user=None, **draft):
    user = user or CitizenProfileFactory().user
    case, _ = workflow.create_draft(service=service, user=user, data={"shop_area": 1}, **draft)
    return workflow.submit_application(case=case, user=user)


def accepted(service, staff, caseworker="caseworker"):
    return workflow.apply_transition(case=filed(service), name="accept", actor=staff[caseworker])


def written(sweep_kwargs) -> tuple[dict, set, set]:
    """What one sweep writes: its counts, its warnings and its message rows, comparable."""
    last_warning = DeadlineWarning.objects.order_by("-pk").values_list("pk", flat=True).first()
    last_message = Notification.objects.order_by("-pk").values_list("pk", flat=True).first()
    counts = deadlines.sweep(**sweep_kwargs)
    warnings = set(
        DeadlineWarning.objects.filter(pk__gt=last_warning or 0).values_list(
            "case__number", "kind", "deadline"
        )
    )
    messages = {
        (row.recipient_id, row.person_id, row.case.number if row.case else None, row.event,
         row.channel, row.language,
         json.dumps(row.context, sort_keys=True, ensure_ascii=False), row.address, row.state)
        for row in Notification.objects.filter(pk__gt=last_message or 0).select_related("case")
    }  # fmt: skip
    return counts, warnings, messages


def both_paths(**kwargs):
    """The portable path's output (rolled back), then the set-based path's (kept)."""
    with transaction.atomic():
        portable = written({**kwargs, "in_sql": False})
        transaction.set_rollback(True)
    return portable, written({**kwargs, "in_sql": True})


@pytest.mark.django_db
def test_the_set_based_sweep_writes_what_the_portable_sweep_writes(mixed):
    from accounts import proxies
    from cases.workflow.claims import claim_case

    staff, food, tax_service = mixed
    with at("2026-11-02"):  # all due 2026-11-09
        unclaimed = accepted(food, staff)
        held = claim_case(case=accepted(food, staff), user=staff["reviewer"])
        by_boss = claim_case(case=accepted(food, staff), user=staff["boss"])
        paused = accepted(food, staff)
        paused = workflow.apply_transition(
            case=paused, name="suspend", actor=staff["reviewer"], opinion="核查"
        )
        nobody_reviews = accepted(tax_service, {"caseworker": staff["tax_caseworker"]})
        principal = CitizenProfileFactory(real_name="李奶奶")
        proxy = CitizenProfileFactory(real_name="李小华", user__preferred_language="en")
        authorisation = proxies.grant(
            principal_user=principal.user, agent_id_number=proxy.id_number,
            agent_real_name="李小华", relationship="relative",
        )  # fmt: skip
        documents = workflow.request_supplement(
            case=filed(food, user=proxy.user, authorisation=authorisation),
            actor=staff["caseworker"],
            materials=[food.current_version.materials.get()],
            note="缺少材料。",
        )  # due 2026-11-16

    with at("2026-11-05"):
        portable, in_sql = both_paths()
    assert in_sql == portable
    counts, warnings, messages = in_sql
    assert (counts["due_soon"], counts["overdue"], counts["supplement_reminders"]) == (4, 0, 0)
    assert paused.number not in {number for number, _kind, _day in warnings}
    told = digests(messages)
    # One digest each, listing by due date then filing: whoever works the review stage (the
    # reviewer, the boss) gets the unclaimed case, a holder their own; nobody reviews at tax.
    assert {user: listed(d) for user, d in told.items()} == {
        staff["reviewer"].pk: [unclaimed.number, held.number],
        staff["boss"].pk: [unclaimed.number, by_boss.number],
        staff["tax_caseworker"].pk: [nobody_reviews.number],
    }
    english = told[staff["reviewer"].pk]
    assert english["language"] == "en"
    assert english["context"] | {"cases": None} == {
        "date": "2026-11-05", "count": 2, "overdue_count": 0, "due_soon_count": 2, "more": 0,
        "cases": None, "queue_url": absolute_url("/work/"),
    }  # fmt: skip
    assert english["context"]["cases"][1] == {
        "number": held.number, "service": "Food licence", "due_date": "2026-11-09",
        "kind": "due_soon", "case_url": staff_case_url(held),
    }  # fmt: skip
    assert told[staff["boss"].pk]["language"] == "zh-hans"
    assert told[staff["boss"].pk]["context"]["cases"][0]["service"] == food.current_version.name
    tax_case = told[staff["tax_caseworker"].pk]["context"]["cases"][0]
    assert tax_case["service"] == tax_service.current_version.name  # no English name
    assert tax_case["case_url"] == staff_case_url(nobody_reviews)

    with at("2026-11-05"):
        assert written({"in_sql": True})[1:] == (set(), set())  # nothing new, nothing written

    with at("2026-11-13"):  # overdue, and the documents due by the 16th
        portable, in_sql = both_paths()
    assert in_sql == portable
    counts, _warnings, messages = in_sql
    assert (counts["overdue"], counts["supplement_reminders"]) == (4, 1)
    told = digests(messages)
    every_amr_case = [unclaimed.number, held.number, by_boss.number]
    assert {user: listed(d) for user, d in told.items()} == {
        staff["head"].pk: every_amr_case,  # the heads: every overdue case of the department
        staff["boss"].pk: every_amr_case,  # holds one and is a head: listed once
        staff["reviewer"].pk: [held.number],  # the holder
        staff["tax_head"].pk: [nobody_reviews.number],
    }
    boss = told[staff["boss"].pk]["context"]
    assert (boss["count"], boss["overdue_count"], boss["due_soon_count"]) == (3, 3, 0)
    assert {case["kind"] for case in boss["cases"]} == {"overdue"}
    applicants = {
        (user, channel)
        for user, _p, number, _e, channel, *_ in messages
        if number == documents.number
    }
    assert applicants == {
        (principal.user.pk, "inbox"), (principal.user.pk, "email"), (principal.user.pk, "sms"),
        (proxy.user.pk, "inbox"), (proxy.user.pk, "email"), (proxy.user.pk, "sms"),
    }  # fmt: skip  # the applicant's reminders stay one per case, on every channel


def digests(messages: set) -> dict[int, dict]:
    """The staff digests among `messages`, by recipient (one each: a second fails the count)."""
    rows = [m for m in messages if m[3] == "deadline_digest"]
    told = {
        user: {"language": language, "context": json.loads(context), "channel": channel,
               "case": number}
        for user, _p, number, _e, channel, language, context, *_ in rows
    }  # fmt: skip
    assert len(told) == len(rows)
    assert {(d["channel"], d["case"]) for d in told.values()} <= {("inbox", None)}
    return told


def listed(digest: dict) -> list[str]:
    context = digest["context"]
    assert context["count"] == len(context["cases"]) + context["more"]
    return [case["number"] for case in context["cases"]]


@pytest.mark.django_db
def test_a_digest_lists_the_overdue_first_and_counts_what_it_leaves_out(mixed, monkeypatch):
    staff, food, _tax = mixed
    monkeypatch.setattr(deadline_sql, "DIGEST_CASES", 2)
    with at("2026-11-02"):  # due 2026-11-09
        early = [accepted(food, staff) for _ in range(2)]
    with at("2026-11-04"):  # due 2026-11-11
        late = [accepted(food, staff) for _ in range(2)]
    with at("2026-11-05"):
        deadlines.sweep()  # the first two warned due soon
    with at("2026-11-10"):  # the first two overdue now, the other two due soon
        portable, in_sql = both_paths()
    assert in_sql == portable
    told = digests(in_sql[2])
    head = told[staff["head"].pk]["context"]  # told of the overdue only
    assert (listed(told[staff["head"].pk]), head["more"]) == ([c.number for c in early], 0)
    reviewer = told[staff["reviewer"].pk]["context"]  # works the review stage: the due soon ones
    assert (listed(told[staff["reviewer"].pk]), reviewer["more"]) == (
        [late[0].number, late[1].number],
        0,
    )
    boss = told[staff["boss"].pk]["context"]  # reviews and heads: all four, two listed
    assert listed(told[staff["boss"].pk]) == [c.number for c in early]  # overdue first
    assert (boss["count"], boss["overdue_count"], boss["due_soon_count"], boss["more"]) == (
        4,
        2,
        2,
        2,
    )


@pytest.mark.django_db
def test_the_set_based_warning_is_one_statement_whatever_the_number_of_cases(mixed):
    staff, food, _tax = mixed

    def statements(cases: int) -> int:
        with at("2026-11-02"):
            for _ in range(cases):
                accepted(food, staff)
        DeadlineWarning.objects.all().delete()
        with at("2026-11-05"), CaptureQueriesContext(connection) as ctx:
            counts = deadlines.sweep(in_sql=True)
        assert counts["due_soon"] == DeadlineWarning.objects.count()
        return sum("INSERT" in query["sql"] for query in ctx.captured_queries)

    assert statements(2) == statements(20) == 1


@pytest.mark.django_db
def test_the_applicants_reminders_cost_the_same_queries_for_two_or_eight(mixed):
    """Reminders of documents due (to the applicant, and a proxy if any, on every channel) are read
    and written a batch at a time: a thousand of them at Shanghai scale take no more statements."""
    staff, food, _tax = mixed
    material = food.current_version.materials.get()

    def statements(cases: int) -> int:
        with at("2026-11-02"):
            for _ in range(cases):
                workflow.request_supplement(
                    case=filed(food), actor=staff["caseworker"], materials=[material], note="缺"
                )
        DeadlineWarning.objects.all().delete()
        Notification.objects.all().delete()
        with at("2026-11-13"), CaptureQueriesContext(connection) as ctx:
            counts = deadlines.sweep(in_sql=True)
        assert counts["supplement_reminders"] == DeadlineWarning.objects.count() >= cases
        reminders = Notification.objects.filter(event="supplement_reminder")
        assert reminders.count() == 3 * DeadlineWarning.objects.count()  # inbox, e-mail, SMS
        assert {row.context["materials"] for row in reminders} == {material.name}
        return len(ctx.captured_queries)

    with at("2026-11-13"):
        deadlines.sweep(in_sql=True)  # the process reads the calendar's cache generation once
    assert statements(2) == statements(6)
