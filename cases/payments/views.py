"""The pages of the fees: paying from the case page, the demo provider's checkout, the provider's
callback, the clerk's window payment and refund, and the department's reconciliation (with CSV)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Department, Role
from accounts.permissions import departments_with_role
from portal.forms import attach_errors
from services.fees import yuan

from .. import access, selectors
from ..counter import services as counter
from ..workflow.errors import CaseConflict
from . import reconciliation
from . import services as payments
from .models import Payment, PaymentEvent
from .providers import DemoPaymentProvider, get_provider


def _applicant_case(request: HttpRequest, number: str):
    case = selectors.application_for_applicant(request.user, number)
    if case is None or case.is_draft:
        raise Http404
    return case


@login_required
@require_POST
def pay(request: HttpRequest, number: str) -> HttpResponse:
    """The case page's pay button: open the checkout and send the citizen to the provider."""
    case = _applicant_case(request, number)
    try:
        _payment, url = payments.start_checkout(case=case, user=request.user)
    except CaseConflict as exc:
        messages.error(request, exc.message)
        return redirect("cases:detail", number=case.number)
    return redirect(url)


# --- The demo provider's checkout (what a real gateway shows on its own site) -----------------------


def _demo_payment(request: HttpRequest, reference: str) -> Payment:
    if not isinstance(get_provider(), DemoPaymentProvider):
        raise Http404
    payment = (
        Payment.objects.filter(provider=DemoPaymentProvider.code, provider_reference=reference)
        .select_related("case__service_version", "department")
        .first()
    )
    if (
        payment is None
        or selectors.application_for_applicant(request.user, payment.case.number) is None
    ):
        raise Http404
    return payment


@login_required
@require_http_methods(["GET", "POST"])
def demo_checkout(request: HttpRequest, reference: str) -> HttpResponse:
    payment = _demo_payment(request, reference)
    if request.method == "POST" and payment.state == Payment.State.PENDING:
        choice = request.POST.get("choice")
        if choice in ("pay", "cancel"):
            return redirect(DemoPaymentProvider().complete(payment, pay=choice == "pay"))
    return render(
        request,
        "payments/demo_checkout.html",
        {"payment": payment, "case": payment.case, "amount": yuan(payment.amount_fen)},
    )


# --- The provider's callback ----------------------------------------------------------------------


@csrf_exempt  # the provider's server calls this; the signature, not a cookie, vouches for it
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest, provider: str) -> HttpResponse:
    """POST: the provider's notification (answers JSON; 400 when refused). GET: the citizen's
    browser returning from the checkout with the same signed notice (a gateway's return URL)."""
    configured = get_provider()
    if configured is None or provider != configured.code:
        raise Http404
    result, payment = payments.handle_callback(
        provider_code=provider,
        body=request.body if request.method == "POST" else b"",
        query=request.GET.dict(),
        headers=dict(request.headers),
    )
    refused = result == PaymentEvent.Result.REFUSED
    if request.method == "POST":
        return JsonResponse({"result": result}, status=400 if refused else 200)
    if refused or payment is None:
        return render(request, "payments/callback_refused.html", status=400)
    payment.refresh_from_db()
    if payment.state in (Payment.State.PAID, Payment.State.REFUND_PENDING):
        messages.success(request, _("Payment received. Thank you."))
    elif payment.state in (Payment.State.CANCELLED, Payment.State.FAILED):
        messages.info(request, _("The payment was not made. You may pay later."))
    return redirect("cases:detail", number=payment.case.number)


# --- At the window ----------------------------------------------------------------------------------


class FirstFocusedRadioSelect(forms.RadioSelect):
    """Radio buttons whose first one has the cursor when the page opens (autofocus on one input:
    the clerk's work on the page starts here; the error summary, before it, wins on an error)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if index == 0:
            option["attrs"]["autofocus"] = True
        return option


class WindowPaymentForm(forms.Form):
    method = forms.ChoiceField(
        label=gettext_lazy("Paid by"),
        choices=[(Payment.Method.CASH, Payment.Method.CASH.label),
                 (Payment.Method.CARD, Payment.Method.CARD.label)],
        widget=FirstFocusedRadioSelect,
    )  # fmt: skip
    receipt_number = forms.CharField(label=gettext_lazy("Receipt number"), max_length=64)


class WindowRefundForm(forms.Form):
    refund_number = forms.CharField(label=gettext_lazy("Refund slip number"), max_length=64)


def _counter_case(request: HttpRequest, number: str):
    if not counter.is_counter_clerk(request.user):
        raise Http404
    case = (
        access.cases_for_counter(request.user)
        .filter(number=number)
        .select_related("service_version", "department", "stage")
        .first()
    )
    if case is None:
        raise Http404
    return case


@login_required
def window(request: HttpRequest, number: str) -> HttpResponse:
    """The clerk takes the fee at the window (cash or card, the receipt's number), or hands back
    a window payment to be refunded."""
    case = _counter_case(request, number)
    pay_form = WindowPaymentForm(request.POST if "receipt_number" in request.POST else None)
    refund_form = WindowRefundForm(request.POST if "refund_number" in request.POST else None)
    status = 200
    if pay_form.is_bound:
        if pay_form.is_valid():
            try:
                payments.record_window_payment(
                    case=case, clerk=request.user, method=pay_form.cleaned_data["method"],
                    receipt_number=pay_form.cleaned_data["receipt_number"],
                )  # fmt: skip
            except ValidationError as exc:
                attach_errors(pay_form, exc)
            except (CaseConflict, PermissionDenied) as exc:
                messages.error(request, getattr(exc, "message", str(exc)))
                return redirect("counter:fee", number=case.number)
            else:
                messages.success(request, _("Payment recorded; the receipt is on the application."))
                return redirect("counter:fee", number=case.number)
        status = 400
    if refund_form.is_bound:
        payment = case.payments.filter(
            state=Payment.State.REFUND_PENDING, channel=Payment.PaymentChannel.WINDOW
        ).first()
        if payment is None:
            raise Http404
        if refund_form.is_valid():
            try:
                payments.record_window_refund(
                    payment=payment, clerk=request.user,
                    receipt_number=refund_form.cleaned_data["refund_number"],
                )  # fmt: skip
            except ValidationError as exc:
                attach_errors(refund_form, exc)
            except CaseConflict as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Refund recorded."))
                return redirect("counter:fee", number=case.number)
        status = 400
    case.refresh_from_db()
    return render(
        request,
        "payments/window.html",
        {
            "case": case,
            "fee": payments.fee_of(case),
            "pay_form": pay_form,
            "refund_form": refund_form,
            "to_refund": case.payments.filter(
                state=Payment.State.REFUND_PENDING, channel=Payment.PaymentChannel.WINDOW
            ).first(),
            "payments": case.payments.order_by("created_at", "pk"),
        },
        status=status,
    )


# --- Reconciliation ---------------------------------------------------------------------------------


def _reconciling_departments(user):
    if user.is_superuser:
        return Department.objects.order_by("pk")
    return departments_with_role(user, Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN).order_by("pk")


class ReportForm(forms.Form):
    department = forms.ModelChoiceField(
        label=gettext_lazy("Department"), queryset=Department.objects.none(), empty_label=None
    )
    date = forms.DateField(
        label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        self.fields["department"].label_from_instance = lambda d: d.label


def _report(request: HttpRequest):
    departments = _reconciling_departments(request.user)
    if not departments.exists():
        raise Http404
    data = request.GET.copy()
    data.setdefault("department", str(departments.first().pk))
    data.setdefault("date", (timezone.localdate() - dt.timedelta(days=1)).isoformat())
    form = ReportForm(data, departments=departments)
    if not form.is_valid():
        return form, None
    return form, reconciliation.reconcile(
        department=form.cleaned_data["department"], day=form.cleaned_data["date"]
    )


@login_required
def reconciliation_page(request: HttpRequest) -> HttpResponse:
    form, report = _report(request)
    return render(
        request,
        "payments/reconciliation.html",
        {"form": form, "report": report},
        status=200 if report is not None else 400,
    )


@login_required
def reconciliation_csv(request: HttpRequest) -> HttpResponse:
    form, report = _report(request)
    if report is None:
        return HttpResponse("; ".join(m for e in form.errors.values() for m in e), status=400,
                            content_type="text/plain; charset=utf-8")  # fmt: skip
    response = HttpResponse(reconciliation.as_csv(report), content_type="text/csv; charset=utf-8")
    filename = f"reconciliation-{report.department.code}-{report.date.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
