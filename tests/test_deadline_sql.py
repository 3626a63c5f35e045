"""The set-based sweep (cases/deadline_sql.py) writes exactly what the portable path writes: the
same warnings, the same recipients and the same message rows (channel, language, context), on a
fixture that mixes claimed and unclaimed cases, a stage role nobody holds, English readers, a head
who holds the case, a paused case, a request for documents with a proxy and a number the URL
quotes."""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from cases import deadlines, workflow
from cases.models import DeadlineWarning, Notification
from cases.notifications.services import staff_case_url

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
        (row.recipient_id, row.person_id, row.case.number, row.event, row.channel, row.language,
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
    recipients = {(number, user) for user, _p, number, *_rest in messages}
    assert recipients == {
        (unclaimed.number, staff["reviewer"].pk),  # whoever works the review stage
        (unclaimed.number, staff["boss"].pk),
        (held.number, staff["reviewer"].pk),  # the holder alone
        (by_boss.number, staff["boss"].pk),
        (nobody_reviews.number, staff["tax_caseworker"].pk),  # nobody reviews at tax
    }
    contexts = {
        (user, number): json.loads(context)
        for user, _p, number, _e, _c, _l, context, *_ in messages
    }
    english = contexts[(staff["reviewer"].pk, held.number)]
    assert (english["service"], english["due_date"]) == ("Food licence", "2026-11-09")
    tax_context = contexts[(staff["tax_caseworker"].pk, nobody_reviews.number)]
    assert tax_context["service"] == tax_service.current_version.name  # no English name
    assert tax_context["case_url"] == staff_case_url(nobody_reviews)

    with at("2026-11-05"):
        assert written({"in_sql": True})[1:] == (set(), set())  # nothing new, nothing written

    with at("2026-11-13"):  # overdue, and the documents due by the 16th
        portable, in_sql = both_paths()
    assert in_sql == portable
    counts, _warnings, messages = in_sql
    assert (counts["overdue"], counts["supplement_reminders"]) == (4, 1)
    told = {(number, user, channel) for user, _p, number, _e, channel, *_ in messages}
    heads = {staff["head"].pk, staff["boss"].pk}
    assert {(n, u) for n, u, _c in told if n == by_boss.number} == {
        (by_boss.number, user) for user in heads
    }  # the boss holds it and is a head: told once
    assert {u for n, u, _c in told if n == held.number} == heads | {staff["reviewer"].pk}
    assert {u for n, u, _c in told if n == nobody_reviews.number} == {staff["tax_head"].pk}
    assert {(u, c) for n, u, c in told if n == documents.number} == {
        (principal.user.pk, "inbox"), (principal.user.pk, "email"), (principal.user.pk, "sms"),
        (proxy.user.pk, "inbox"), (proxy.user.pk, "email"), (proxy.user.pk, "sms"),
    }  # fmt: skip


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
