"""The fee of an application in the API: `GET applications/{number}/payment/` (what is due and
what was paid) and `POST applications/{number}/payment/` (start the checkout: 201 with the URL to
send the citizen to; 409 when nothing is due)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses

from .. import selectors
from . import services as payments


class PaymentOutput(serializers.Serializer):
    reference = serializers.CharField(source="provider_reference")
    amount_fen = serializers.IntegerField()
    state = serializers.CharField()
    channel = serializers.CharField()
    method = serializers.CharField()
    receipt_number = serializers.CharField()
    paid_at = serializers.DateTimeField(allow_null=True)
    refunded_fen = serializers.IntegerField()
    refunded_at = serializers.DateTimeField(allow_null=True)


class FeeOutput(serializers.Serializer):
    required = serializers.BooleanField(help_text="False: the service charges nothing here")
    amount_fen = serializers.IntegerField(allow_null=True, help_text="Integer fen (分)")
    due = serializers.ChoiceField(choices=["before_acceptance", "before_result"], allow_null=True)
    due_now = serializers.BooleanField()
    outstanding = serializers.BooleanField(help_text="Due now and not yet paid")
    legal_basis = serializers.CharField()
    payments = PaymentOutput(many=True)


class CheckoutOutput(serializers.Serializer):
    reference = serializers.CharField()
    amount_fen = serializers.IntegerField()
    checkout_url = serializers.CharField()


def fee_data(case) -> dict:
    fee = payments.fee_of(case)
    rows = list(case.payments.order_by("created_at", "pk"))
    if fee is None:
        return {"required": False, "amount_fen": None, "due": None, "due_now": False,
                "outstanding": False, "legal_basis": "", "payments": rows}  # fmt: skip
    return {"required": True, "amount_fen": fee.amount_fen, "due": fee.due,
            "due_now": fee.due_now, "outstanding": fee.outstanding,
            "legal_basis": fee.legal_basis, "payments": rows}  # fmt: skip


def _case(request, number: str):
    case = selectors.application_for_applicant(request.user, number)
    if case is None or case.is_draft:
        raise Http404
    return case


class PaymentView(APIView):
    @extend_schema(responses={200: FeeOutput, **error_responses(404)})
    def get(self, request, number: str):
        return Response(FeeOutput(fee_data(_case(request, number))).data)

    @extend_schema(request=None, responses={201: CheckoutOutput, **error_responses(404, 409)})
    def post(self, request, number: str):
        payment, url = payments.start_checkout(case=_case(request, number), user=request.user)
        return Response(
            {"reference": payment.provider_reference, "amount_fen": payment.amount_fen,
             "checkout_url": request.build_absolute_uri(url)},
            status=status.HTTP_201_CREATED,
        )  # fmt: skip
