"""Fees (issue 19 item 5): the fee rule on the version, the case waiting for its fee and moving on
by itself once paid, the demo provider's signed callback (a replay applied once, a forgery
refused), the window payment, the refund after a refusal, the 缴费凭证, the messages through the
outbox, and the daily reconciliation with its CSV. Free services are unchanged."""

import csv
import hashlib
import hmac
import io
import json
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client

from accounts.models import Role
from cases import workflow
from cases.models import Event, Notification, OfficialDocument
from cases.payments import reconciliation
from cases.payments import services as payments
from cases.payments.models import DemoSettlement, Payment, PaymentEvent, ReconciliationReport
from cases.payments.providers import DemoPaymentProvider, sign
from services import fees
from services.models import ServiceVersion

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)

FEE_TEXT = {
    "fee_free": False,
    "fee_standard": "工本费每证 20 元。",
    "fee_basis": "《国家发展改革委 财政部关于收费标准的通知》（发改价格〔2004〕2831号）",
}
ON_RESULT = {"amount_fen": 2000, "due": "before_result", "refund_on": []}
ON_ACCEPTANCE = {
    "per_unit_fen": 150, "unit_field": "shop_area", "base_fen": 500, "cap_fen": 5000,
    "due": "before_acceptance", "refund_on": ["rejected", "withdrawn"],
}  # fmt: skip


@pytest.fixture
def office(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="psb", name="示范市公安局")
    staff = {
        role: StaffMembershipFactory(department=department, role=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.COUNTER_CLERK,
                     Role.DEPARTMENT_HEAD)
    }  # fmt: skip
    optional = [{"name": "申请书", "required": False}]
    services = {
        "result": make_service("FEE-R", department=department, materials=optional,
                               delivery_electronic=True, fee_rule=ON_RESULT, **FEE_TEXT).service,
        "pickup": make_service("FEE-P", department=department, materials=optional,
                               delivery_electronic=False, fee_rule=ON_RESULT, **FEE_TEXT).service,
        "intake": make_service("FEE-A", department=department, materials=optional,
                               fee_rule=ON_ACCEPTANCE, **FEE_TEXT).service,
        "free": make_service("FREE", department=department, materials=optional).service,
    }  # fmt: skip
    return {"department": department, "staff": staff, "services": services}


def submitted(service, shop_area=3):
    applicant = CitizenProfileFactory(real_name="王小明")
    case, _ = workflow.create_draft(
        service=service, user=applicant.user, data={"shop_area": shop_area}
    )
    return workflow.submit_application(case=case, user=applicant.user)


def act(case, name, actor, opinion="同意"):
    return workflow.apply_transition(case=case, name=name, actor=actor, opinion=opinion)


def approved(office, service_key):
    staff = office["staff"]
    case = act(submitted(office["services"][service_key]), "accept", staff[Role.CASEWORKER])
    case = act(case, "pass_review", staff[Role.REVIEWER])
    return act(case, "approve", staff[Role.APPROVER])


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def notice(payment, *, status="paid", event_id="EV-1", amount_fen=None, transaction="DEMOT1"):
    return {
        "event_id": event_id, "reference": payment.provider_reference, "status": status,
        "amount_fen": payment.amount_fen if amount_fen is None else amount_fen,
        "transaction": transaction, "at": "2026-12-01T10:00:00+08:00",
    }  # fmt: skip


def post_callback(body: dict) -> object:
    return Client().post("/pay/callback/demo/", json.dumps(body), content_type="application/json")


def pay_at_the_demo_provider(payment):
    """What the demo checkout's pay button does: the provider's book, then its signed callback."""
    url = DemoPaymentProvider().complete(payment, pay=True)
    assert Client().get(url).status_code == 302


def signed(payload: dict) -> dict:
    data, signature = sign(payload)
    return {"data": data, "sig": signature}


def text_of(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return "".join(out.stdout.decode().split())


# --- The rule ---------------------------------------------------------------------------------------


def test_fee_rules_are_declarative_integers_of_fen_checked_on_save():
    schema = {"properties": {"copies": {"type": "integer"}, "name": {"type": "string"}}}
    fees.check_fee_rule({"amount_fen": 2000, "due": "before_result"}, schema)
    fees.check_fee_rule(
        {"per_unit_fen": 1000, "unit_field": "copies", "cap_fen": 2500, "due": "before_acceptance"},
        schema,
    )
    for wrong in (
        {"amount_fen": 20.5, "due": "before_result"},  # never floats
        {"amount_fen": "2000", "due": "before_result"},
        {"amount_fen": 0, "due": "before_result"},
        {"amount_fen": 2000},  # when it is due
        {"amount_fen": 2000, "due": "later"},
        {"amount_fen": 2000, "due": "before_result", "formula": "copies * 10"},  # no code
        {"per_unit_fen": 1000, "unit_field": "name", "due": "before_result"},  # not numeric
        {"amount_fen": 1, "per_unit_fen": 1, "unit_field": "copies", "due": "before_result"},
        {"amount_fen": 2000, "due": "before_result", "refund_on": ["approved"]},
    ):
        with pytest.raises(ValidationError):
            fees.check_fee_rule(wrong, schema)
    rule = {"per_unit_fen": 1000, "unit_field": "copies", "base_fen": 300, "cap_fen": 2500}
    assert [fees.amount_fen(rule, {"copies": n}) for n in (0, 1, 2, 3)] == [300, 1300, 2300, 2500]
    assert fees.amount_fen(rule, {"copies": "x"}) == 300
    assert fees.yuan(2050) == "20.50" and fees.yuan(5) == "0.05"


def test_the_version_refuses_a_bad_rule_and_a_fee_on_a_free_service(office):
    version = office["services"]["free"].current_version
    draft = ServiceVersion.objects.get(pk=version.pk)
    draft.pk = None  # an unsaved copy: clean() is what the designer and the admin run
    draft.fee_rule = ON_RESULT
    with pytest.raises(ValidationError) as free:
        draft.clean()
    assert "fee_rule" in free.value.message_dict
    draft.fee_free, draft.fee_standard = False, "20 元"
    draft.fee_rule = {"amount_fen": 19.99, "due": "before_result"}
    with pytest.raises(ValidationError) as floats:
        draft.clean()
    assert "fee_rule" in floats.value.message_dict
    draft.fee_rule = ON_RESULT
    draft.clean()


# --- Paying online, and the case moving on ----------------------------------------------------------


def test_a_fee_due_before_acceptance_holds_acceptance_until_paid_online_then_the_case_moves_on(
    office, django_capture_on_commit_callbacks
):
    case = submitted(office["services"]["intake"], shop_area=12)  # 500 + 12 × 150 = 2300 fen
    assert Notification.objects.filter(case=case, event="fee_due").exists()
    with pytest.raises(workflow.CaseConflict) as held:
        act(case, "accept", office["staff"][Role.CASEWORKER])
    assert held.value.code == "fee_unpaid" and "¥23.00" in held.value.message

    citizen = client_of(case.applicant.user)
    page = citizen.get(f"/applications/{case.number}/").content.decode()
    assert "¥23.00" in page and "发改价格〔2004〕2831号" in page
    api = citizen.get(f"/api/v1/applications/{case.number}/payment/").json()
    assert api["amount_fen"] == 2300 and api["outstanding"] and api["due"] == "before_acceptance"

    to_checkout = citizen.post(f"/applications/{case.number}/pay/")
    assert to_checkout.status_code == 302 and "/pay/demo/" in to_checkout["Location"]
    checkout = citizen.get(to_checkout["Location"])
    assert checkout.status_code == 200 and "¥23.00" in checkout.content.decode()
    paid = citizen.post(to_checkout["Location"], {"choice": "pay"})
    assert paid["Location"].startswith("/pay/callback/demo/?data=")
    back = citizen.get(paid["Location"])  # the browser returns with the signed notice
    assert back.status_code == 302 and back["Location"] == f"/applications/{case.number}/"

    case.refresh_from_db()
    assert case.state == "accepted" and case.accepted_at is not None
    actions = list(case.events.order_by("sequence").values_list("action", "actor_role"))
    assert ("fee_paid", "applicant") in actions and ("accept", "system") in actions
    payment = Payment.objects.get(case=case)
    assert payment.state == "paid" and payment.amount_fen == 2300 and payment.provider_transaction
    receipt = OfficialDocument.objects.get(case=case, kind="payment_receipt")
    pdf = citizen.get(f"/applications/{case.number}/official/{receipt.pk}.pdf")
    text = text_of(b"".join(pdf.streaming_content) if pdf.streaming else pdf.content)
    # (Its words are translated by the lead; the facts are the same in every language.)
    assert receipt.number in text and "¥23.00" in text and payment.provider_reference in text
    assert Notification.objects.filter(case=case, event="fee_paid").exists()
    assert DemoSettlement.objects.filter(reference=payment.provider_reference).count() == 1


def test_the_callback_replayed_is_applied_once_and_a_forged_one_is_refused(office):
    case = approved(office, "result")
    payment, _url = payments.start_checkout(case=case, user=case.applicant.user)
    forged = {"data": signed(notice(payment))["data"], "sig": "0" * 64}
    refused = post_callback(forged)
    assert refused.status_code == 400 and refused.json() == {"result": "refused"}
    wrong_key = hmac.new(b"guess", forged["data"].encode(), hashlib.sha256).hexdigest()
    assert post_callback({"data": forged["data"], "sig": wrong_key}).status_code == 400
    tampered = signed(notice(payment, amount_fen=1))  # signed, but not what we asked for
    assert post_callback(tampered).json() == {"result": "refused"}
    assert Client().get("/pay/callback/demo/?data=x&sig=y").status_code == 400
    payment.refresh_from_db()
    assert payment.state == "pending" and not case.events.filter(action="fee_paid").exists()
    assert PaymentEvent.objects.filter(verified=False, result="refused").count() == 3

    stray = signed({**notice(payment, event_id="EV-STRAY"), "reference": "PAY-NOT-OURS"})
    assert post_callback(stray).json() == {"result": "ignored"}
    assert post_callback(stray).json() == {"result": "duplicate"}  # recorded once, no error

    good = signed(notice(payment, event_id="EV-42"))
    assert post_callback(good).json() == {"result": "applied"}
    assert post_callback(good).json() == {"result": "duplicate"}
    assert Client().get("/pay/callback/demo/", good).status_code == 302  # the browser, again
    case.refresh_from_db()
    assert case.state == "concluded" and case.visits == 0  # electronic result: delivered by itself
    assert case.events.filter(action="fee_paid").count() == 1
    assert OfficialDocument.objects.filter(case=case, kind="payment_receipt").count() == 1
    assert Notification.objects.filter(case=case, event="fee_paid", channel="inbox").count() == 1
    assert Payment.objects.filter(case=case, state="paid").count() == 1
    assert PaymentEvent.objects.filter(event_id="EV-42", result="applied").count() == 1


def test_a_result_to_collect_waits_for_the_fee_taken_at_the_window(office):
    case = approved(office, "pickup")
    clerk = office["staff"][Role.COUNTER_CLERK]
    with pytest.raises(workflow.CaseConflict) as held:
        workflow.apply_transition(case=case, name="conclude", actor=clerk)
    assert held.value.code == "fee_unpaid"
    desk = client_of(clerk)
    page = desk.get(f"/counter/fees/{case.number}/")
    assert page.status_code == 200 and "¥20.00" in page.content.decode()
    missing = desk.post(f"/counter/fees/{case.number}/", {"method": "cash", "receipt_number": ""})
    assert missing.status_code == 400
    assert 'aria-invalid="true"' in missing.content.decode() and not case.payments.exists()
    done = desk.post(
        f"/counter/fees/{case.number}/", {"method": "card", "receipt_number": "NO.0001"}
    )
    assert done.status_code == 302
    payment = Payment.objects.get(case=case)
    assert (payment.state, payment.channel, payment.method, payment.receipt_number) == (
        "paid", "window", "card", "NO.0001",
    )  # fmt: skip
    case.refresh_from_db()
    assert case.state == "approved"  # the result waits at the window; handing it over works now
    event = case.events.get(action="fee_paid")
    assert (event.actor, event.channel) == (clerk, "counter")
    workflow.apply_transition(case=case, name="conclude", actor=clerk, channel="counter")
    case.refresh_from_db()
    assert case.state == "concluded"
    again = desk.post(f"/counter/fees/{case.number}/", {"method": "cash", "receipt_number": "2"})
    assert again.status_code == 302 and Payment.objects.filter(case=case).count() == 1


def test_a_rejection_refunds_the_fee_through_the_provider(
    office, django_capture_on_commit_callbacks
):
    staff = office["staff"]
    case = submitted(office["services"]["intake"], shop_area=100)  # capped at 5000 fen
    payment, _url = payments.start_checkout(case=case, user=case.applicant.user)
    assert payment.amount_fen == 5000
    assert post_callback(signed(notice(payment))).json() == {"result": "applied"}
    case.refresh_from_db()
    case = act(case, "pass_review", staff[Role.REVIEWER])
    with django_capture_on_commit_callbacks(execute=True):
        act(case, "reject", staff[Role.APPROVER], "不符合条件")
    payment.refresh_from_db()
    assert payment.state == "refunded" and payment.refunded_fen == 5000 and payment.refund_reference
    assert DemoSettlement.objects.filter(
        reference=payment.provider_reference, kind="refund", amount_fen=5000
    ).exists()
    assert case.events.filter(action="fee_refunded").count() == 1
    assert Notification.objects.filter(case=case, event="fee_refunded").exists()
    assert payments.complete_refunds() == 0  # nothing left: running again changes nothing
    # Not refundable by the rule: a fee due before the result stays paid after the conclusion.


def test_a_withdrawal_refunds_a_window_payment_handed_back_by_the_clerk(office):
    case = submitted(office["services"]["intake"])
    clerk = office["staff"][Role.COUNTER_CLERK]
    payments.record_window_payment(case=case, clerk=clerk, method="cash", receipt_number="R-1")
    case.refresh_from_db()
    assert case.state == "accepted"
    workflow.withdraw_case(case=case, user=case.applicant.user, reason="不办了")
    payment = Payment.objects.get(case=case)
    assert payment.state == "refund_pending"
    desk = client_of(clerk)
    assert "R-1" in desk.get(f"/counter/fees/{case.number}/").content.decode()
    desk.post(f"/counter/fees/{case.number}/", {"refund_number": "TK-9"})
    payment.refresh_from_db()
    assert payment.state == "refunded" and payment.refund_reference == "TK-9"


def test_a_checkout_paid_after_the_window_payment_is_refunded_not_kept(
    office, django_capture_on_commit_callbacks
):
    case = approved(office, "pickup")
    online, _url = payments.start_checkout(case=case, user=case.applicant.user)
    payments.record_window_payment(
        case=case, clerk=office["staff"][Role.COUNTER_CLERK], method="cash", receipt_number="R-2"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(signed(notice(online))).json() == {"result": "applied"}
    online.refresh_from_db()
    assert online.state == "refunded"
    assert Payment.objects.filter(case=case, state="paid").count() == 1


def test_free_services_are_unchanged(office):
    staff = office["staff"]
    case = act(submitted(office["services"]["free"]), "accept", staff[Role.CASEWORKER])
    assert case.state == "accepted" and not case.payments.exists()
    citizen = client_of(case.applicant.user)
    assert 'id="fee"' not in citizen.get(f"/applications/{case.number}/").content.decode()
    api = citizen.get(f"/api/v1/applications/{case.number}/payment/").json()
    assert api["required"] is False and api["amount_fen"] is None
    refused = citizen.post(f"/api/v1/applications/{case.number}/payment/")
    assert refused.status_code == 409
    assert not Event.objects.filter(case=case, action__startswith="fee_").exists()


def test_the_api_starts_the_checkout(office):
    case = approved(office, "result")
    citizen = client_of(case.applicant.user)
    started = citizen.post(f"/api/v1/applications/{case.number}/payment/")
    assert started.status_code == 201
    body = started.json()
    assert body["amount_fen"] == 2000 and "/pay/demo/" in body["checkout_url"]
    again = citizen.post(f"/api/v1/applications/{case.number}/payment/").json()
    assert again["reference"] == body["reference"]  # the pending checkout is reused
    stranger = client_of(CitizenProfileFactory().user)
    assert stranger.get(f"/api/v1/applications/{case.number}/payment/").status_code == 404
    assert stranger.get(f"/pay/demo/{body['reference']}/").status_code == 404


# --- Reconciliation ---------------------------------------------------------------------------------


def test_the_daily_reconciliation_totals_refunds_and_mismatches(
    office, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    staff = office["staff"]
    first = approved(office, "pickup")
    p1, _ = payments.start_checkout(case=first, user=first.applicant.user)
    pay_at_the_demo_provider(p1)
    second = submitted(office["services"]["intake"], shop_area=2)  # 800 fen, then refunded
    p2, _ = payments.start_checkout(case=second, user=second.applicant.user)
    pay_at_the_demo_provider(p2)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.withdraw_case(case=second, user=second.applicant.user, reason="不办了")
    third = approved(office, "pickup")
    payments.record_window_payment(
        case=third, clerk=staff[Role.COUNTER_CLERK], method="cash", receipt_number="R-3"
    )
    # The provider's book disagrees twice: a line we never saw, and an amount it got wrong.
    DemoSettlement.objects.create(
        reference="PAY-UNKNOWN", transaction="X1", kind="payment", amount_fen=999
    )
    DemoSettlement.objects.filter(reference=p1.provider_reference).update(amount_fen=1999)

    today = timezone.localdate()
    report = reconciliation.reconcile(department=office["department"], day=today)
    assert report.paid_fen == 2000 + 800 + 2000 and len(report.payments) == 3
    assert report.refunded_fen == 800 and len(report.refunds) == 1
    assert report.net_fen == 4000 and report.net_yuan == "40.00"
    problems = {(m["reference"], m["problem"]) for m in report.mismatches}
    assert problems == {
        ("PAY-UNKNOWN", "missing_here"),
        (p1.provider_reference, "amount_differs"),
    }, report.mismatches

    head = client_of(staff[Role.DEPARTMENT_HEAD])
    query = {"department": office["department"].pk, "date": today.isoformat()}
    page = head.get("/pay/reconciliation/", query)
    assert page.status_code == 200 and "¥40.00" in page.content.decode()
    exported = head.get("/pay/reconciliation.csv", query)
    rows = list(csv.reader(io.StringIO(exported.content.decode().lstrip("\ufeff"))))
    assert {r[0] for r in rows[1:]} >= {"payment", "refund", "mismatch", "total_paid", "net"}
    assert ["net", "", "", "", "", "", "", "4000", "40.00", "", "", ""] in rows
    assert head.get("/pay/reconciliation/", {**query, "date": "2026-13-45"}).status_code == 400
    assert client_of(staff[Role.CASEWORKER]).get("/pay/reconciliation/").status_code == 404

    out = io.StringIO()
    call_command("reconcile", "--date", today.isoformat(), stdout=out)
    call_command("reconcile", "--date", today.isoformat(), stdout=out)  # remade, not doubled
    stored = ReconciliationReport.objects.get(department=office["department"], date=today)
    assert (stored.paid_fen, stored.refunded_fen, len(stored.mismatches)) == (4800, 800, 2)
    assert "mismatches 2" in out.getvalue()


def test_production_warns_about_the_demo_provider(settings):
    from cases.payments.checks import demo_payment_provider, payment_provider

    assert {w.id for w in demo_payment_provider(None)} == {
        "cases_payments.W001",
        "cases_payments.W002",
    }
    settings.PAYMENT_PROVIDER = "cases.payments.providers.Nothing"
    assert [e.id for e in payment_provider(None)] == ["cases_payments.E001"]


def test_without_a_provider_fees_are_taken_at_the_window_only(office, settings):
    settings.PAYMENT_PROVIDER = ""
    case = approved(office, "pickup")
    citizen = client_of(case.applicant.user)
    page = citizen.get(f"/applications/{case.number}/").content.decode()
    assert "¥20.00" in page and f"/applications/{case.number}/pay/" not in page
    refused = citizen.post(f"/api/v1/applications/{case.number}/payment/")
    assert refused.status_code == 409
    assert (
        Client().post("/pay/callback/demo/", "{}", content_type="application/json").status_code
        == 404
    )
    payments.record_window_payment(
        case=case, clerk=office["staff"][Role.COUNTER_CLERK], method="cash", receipt_number="R-9"
    )
    assert case.payments.get().state == "paid"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_same_callback_arriving_at_once_from_many_threads_is_applied_once(settings, tmp_path):
    import threading

    from django.db import connections

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="psb2")
    staff = {
        role: StaffMembershipFactory(department=department, role=role).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER)
    }
    service = make_service(
        "FEE-T", department=department, materials=[{"name": "申请书", "required": False}],
        delivery_electronic=True, fee_rule=ON_RESULT, **FEE_TEXT,
    ).service  # fmt: skip
    case = act(submitted(service), "accept", staff[Role.CASEWORKER])
    case = act(act(case, "pass_review", staff[Role.REVIEWER]), "approve", staff[Role.APPROVER])
    payment, _url = payments.start_checkout(case=case, user=case.applicant.user)
    body = signed(notice(payment, event_id="EV-RACE"))
    barrier = threading.Barrier(6)
    results = []

    def deliver():
        try:
            barrier.wait()
            results.append(post_callback(body).json()["result"])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["applied"] + ["duplicate"] * 5, results
    assert Event.objects.filter(case=case, action="fee_paid").count() == 1
    assert OfficialDocument.objects.filter(case=case, kind="payment_receipt").count() == 1


def test_the_fee_rule_travels_in_the_designer_export_and_is_checked_on_import(office):
    from services.interchange import export_service, import_service

    item = office["services"]["intake"]
    document = export_service(item)
    assert document["guide"]["fee_rule"] == ON_ACCEPTANCE
    document["guide"]["fee_rule"] = {"amount_fen": 12.5, "due": "before_result"}
    with pytest.raises(ValidationError) as refused:
        import_service(document=document, code="FEE-COPY", department=office["department"])
    assert any("fee_rule" in key for key in refused.value.message_dict)
