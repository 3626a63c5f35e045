"""The set-based deemed acceptance and withdrawal (cases.workflow.deemed) against the engine: on
twin fixtures, one closed case by case through `deem_accepted` / `deem_withdrawn`, the other by
`deadlines.close_expired`, the same rows come out (events, case fields, documents, messages), the
trail holds, and the queries do not grow with the number of due cases."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from cases import deadlines, workflow
from cases.models import (
    BundleApplication,
    BundleMemberCase,
    Case,
    CaseChainHead,
    Event,
    Notification,
    OfficialDocument,
    SupplementRequest,
)
from cases.trail import check_trail
from services import bundles
from services.models import LifeEvent, WorkflowStage

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)
from .support import clock

TODAY = dt.date(2026, 11, 10)
ON_ACCEPTANCE = {"amount_fen": 1000, "due": "before_acceptance", "refund_on": ["withdrawn"]}
FEE_TEXT = {"fee_free": False, "fee_basis": "《收费标准》", "fee_standard": "每件10元"}


def at(day: str):
    return clock.at(day, hour=9)


@pytest.fixture
def office(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr")
    staff = {
        role: StaffMembershipFactory(
            department=department, role=role, user__username=f"amr-{role}"
        ).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.DEPARTMENT_HEAD)
    }
    # Review is worked by the parent department: acceptance moves the case to another
    # department, whose reviewers are told (`tell_stage_staff`).
    StaffMembershipFactory(
        department=department.parent, role=Role.REVIEWER, user__username="city-reviewer"
    )
    optional = [{"name": "营业执照", "required": False}]
    plain = make_service("D-1", department=department, promised_limit_days=5, materials=optional)
    WorkflowStage.objects.filter(definition_id=plain.workflow_id, code="review").update(
        department_rule="parent"
    )
    fee = make_service(
        "D-FEE", department=department, materials=optional, fee_rule=ON_ACCEPTANCE, **FEE_TEXT
    )
    other = make_service("D-2", department=department, materials=optional)
    LifeEvent.objects.get_or_create(code="opening", defaults={"name": "开店"})
    bundle = bundles.import_bundle(
        document={
            "format": bundles.FORMAT, "code": "YJS-SHOP", "name": "开店一件事",
            "name_en": "Opening a shop", "guide": "一次申请。", "lead_department": "amr",
            "life_events": ["opening"],
            "members": [{"key": "one", "service": "D-1", "fields": {}},
                        {"key": "two", "service": "D-2", "fields": {}}],
            "dependencies": [],
        },
        publish=True,
    )  # fmt: skip
    return {
        "staff": staff,
        "plain": plain.service,
        "fee": fee.service,
        "other": other.service,
        "bundle": bundle,
    }


def _submitted(service, name: str, language: str = "zh-hans") -> Case:
    applicant = CitizenProfileFactory(real_name=name, user__preferred_language=language)
    case, _ = workflow.create_draft(service=service, user=applicant.user, data={"shop_area": 2})
    return workflow.submit_application(case=case, user=applicant.user)


def _as_member(office, case: Case) -> None:
    member = office["bundle"].members.get(service=case.service)
    application = BundleApplication.objects.create(
        number=f"YJS-{case.number}", bundle=office["bundle"], applicant=case.applicant,
        filed_by=case.applicant.user, channel="online",
    )  # fmt: skip
    BundleMemberCase.objects.create(
        application=application, member=member, service=case.service, case=case, state="filed"
    )


def _twin(office) -> dict[str, Case]:
    """One of each: deemed withdrawn (plain, with a fee, a bundle member), deemed accepted (plain
    twice, one claimed and one for an English reader; with a fee unpaid: it waits)."""
    staff, caseworker = office["staff"], office["staff"][Role.CASEWORKER]
    cases = {}
    with at("2026-10-19"):
        for key, service in (("w_plain", "plain"), ("w_fee", "fee"), ("w_member", "plain")):
            case = _submitted(office[service], f"撤回{key}")
            material = case.service_version.materials.get()
            cases[key] = workflow.request_supplement(
                case=case, actor=caseworker, materials=[material], note="请补营业执照"
            )
        _as_member(office, cases["w_member"])
    with at("2026-11-02"):
        cases["a_plain"] = _submitted(office["plain"], "受理甲")
        cases["a_claimed"] = workflow.claim_case(
            case=_submitted(office["plain"], "受理乙"), user=caseworker
        )
        cases["a_english"] = _submitted(office["plain"], "Alice", language="en")
        cases["a_fee"] = _submitted(office["fee"], "受理丙")
    assert staff  # every twin is worked by the same people
    return cases


def _engine(cases: dict[str, Case]) -> None:
    """What close_expired did before: each due case through the engine, withdrawals first."""
    for key, case in cases.items():
        if key.startswith("w_"):
            assert workflow.deem_withdrawn(case=case) is not None
    for key, case in cases.items():
        if key.startswith("a_"):
            deemed = workflow.deem_accepted(case=case)
            assert (deemed is None) == (key == "a_fee")


CASE_FIELDS = (
    "state", "state_before_pause", "stage_id", "acting_department_id", "assignee_id", "claimed_at",
    "accepted_at", "due_date", "due_date_provisional", "paused_working_days", "paused_since",
    "closed_at", "decided_at", "intake_due_date", "row_version", "updated_at",
)  # fmt: skip
EVENT_FIELDS = (
    "sequence", "action", "outcome", "actor_id", "actor_role", "channel", "from_state", "to_state",
    "from_stage", "to_stage", "opinion", "details", "at",
)  # fmt: skip


def _plain(value, case: Case, documents: dict[int, str]):
    """`value` without what differs between twins: the case number, its document ids."""
    if isinstance(value, dict):
        return {k: _plain(v, case, documents) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, case, documents) for v in value]
    if isinstance(value, str):
        value = value.replace(case.number, "NUMBER")
        for pk, kind in documents.items():
            value = re.sub(rf"/{pk}(?=[./])", f"/{kind}", value)
    return value


def _marks() -> dict:
    """The last row of each kind before the closure."""
    return {
        model: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        for model in (Event, OfficialDocument, Notification)
    }


def _written(case: Case, before: dict) -> dict:
    """Everything the closure wrote about `case`, comparable between twins."""
    case = Case.objects.get(pk=case.pk)
    documents = {d.pk: d.kind for d in OfficialDocument.objects.filter(case=case)}
    new_documents = OfficialDocument.objects.filter(case=case, pk__gt=before[OfficialDocument])
    people = {case.applicant.user_id: "applicant"}

    def notification(n: Notification) -> tuple:
        recipient = people.get(n.recipient_id) or n.recipient.username
        return (recipient, n.person_id == case.applicant_id, n.event, n.channel, n.language,
                n.state, repr(_plain(n.context, case, documents)))  # fmt: skip

    return {
        "case": {field: getattr(case, field) for field in CASE_FIELDS},
        "events": [
            {field: _plain(getattr(e, field), case, documents) for field in EVENT_FIELDS}
            for e in case.events.filter(pk__gt=before[Event]).order_by("sequence")
        ],
        "head": case.chain_head.sequence,
        "documents": sorted(
            (
                d.kind,
                d.title,
                d.language,
                d.issued_at,
                d.department_id,
                repr(_plain({k: v for k, v in d.content.items() if k != "applicant_id"}, case, {})),
            )
            for d in new_documents
        ),  # fmt: skip
        "requests": list(case.supplement_requests.values_list("state", "deadline")),
        "messages": sorted(
            map(notification, Notification.objects.filter(case=case, pk__gt=before[Notification]))
        ),
    }


@pytest.mark.django_db
def test_the_set_based_closure_writes_what_the_engine_writes(office):
    engine_twin, batch_twin = _twin(office), _twin(office)
    before = _marks()
    with at(TODAY.isoformat()):
        _engine(engine_twin)
        counts = deadlines.close_expired(TODAY)
    # The batch twin's own cases: three withdrawn and three accepted (the fee unpaid waits).
    assert counts == {"deemed_withdrawn": 3, "deemed_accepted": 3}
    for key in engine_twin:
        by_engine, by_batch = _written(engine_twin[key], before), _written(batch_twin[key], before)
        assert by_batch == by_engine, key
        assert bool(by_batch["events"]) == (key != "a_fee"), key  # the unpaid fee waits

    claimed = Case.objects.get(pk=batch_twin["a_claimed"].pk)
    assert (claimed.state, claimed.stage.code, claimed.assignee_id) == ("accepted", "review", None)
    assert claimed.accepted_at == claimed.received_at and claimed.due_date == dt.date(2026, 11, 9)
    assert Case.objects.get(pk=batch_twin["a_fee"].pk).state == "submitted"
    for key in ("w_plain", "w_fee", "w_member"):
        withdrawn = Case.objects.get(pk=batch_twin[key].pk)
        assert (withdrawn.state, withdrawn.stage.kind) == ("withdrawn", "end")
        assert withdrawn.events.last().action == "deemed_withdrawn"
    notice = OfficialDocument.objects.get(case=batch_twin["a_english"], kind="acceptance_notice")
    assert (notice.language, notice.content["deemed"]) == ("en", True)
    numbers = list(OfficialDocument.objects.filter(kind="acceptance_notice").values_list("number", flat=True))  # fmt: skip
    assert len(numbers) == 6 and len(set(numbers)) == 6
    assert all(re.fullmatch(r"AMR-SL-2026-\d{6}", number) for number in numbers)
    arrived = Notification.objects.filter(
        case=batch_twin["a_plain"], event="new_case", pk__gt=before[Notification]
    )
    assert list(arrived.values_list("recipient__username", flat=True)) == ["city-reviewer"]
    assert check_trail().intact


@pytest.mark.django_db
def test_a_second_sweep_finds_nothing_and_the_messages_go_in_one_publish_per_batch(
    office, django_capture_on_commit_callbacks
):
    cases = _twin(office)
    with at(TODAY.isoformat()), django_capture_on_commit_callbacks() as published:
        assert deadlines.close_expired(TODAY) == {"deemed_withdrawn": 3, "deemed_accepted": 3}
    # One publish per batch of each kind, one per case the engine closed (fee, member).
    assert len(published) == 4
    with at(TODAY.isoformat()):
        assert deadlines.close_expired(TODAY) == {"deemed_withdrawn": 0, "deemed_accepted": 0}
    assert SupplementRequest.objects.filter(case=cases["w_plain"]).get().state == "expired"
    head = CaseChainHead.objects.get(case=cases["a_plain"])
    assert head.sequence == cases["a_plain"].events.count() == 3  # create, submit, deemed
    assert check_trail().intact


@pytest.mark.django_db
def test_queries_do_not_grow_with_the_number_of_plain_due_cases(office):
    caseworker = office["staff"][Role.CASEWORKER]

    def closing(count: int) -> int:
        with at("2026-10-19"):
            for n in range(count):
                case = _submitted(office["plain"], f"撤回{n}")
                workflow.request_supplement(
                    case=case, actor=caseworker, materials=[case.service_version.materials.get()],
                    note="请补",
                )  # fmt: skip
        with at("2026-11-02"):
            for n in range(count):
                _submitted(office["plain"], f"受理{n}")
        with at(TODAY.isoformat()), CaptureQueriesContext(connection) as queries:
            closed = deadlines.close_expired(TODAY)
        assert closed == {"deemed_withdrawn": count, "deemed_accepted": count}
        return len(queries.captured_queries)

    closing(
        1
    )  # the first closure reads the calendar's cache generation; the counts compared come after
    assert closing(2) == closing(20)
