"""The citizen's API of 免申即享: `GET offers/` (my offers: to confirm, granted, answered),
`POST offers/{id}/confirm/` (one click: the case is filed through the engine),
`POST offers/{id}/decline/` and `POST offers/{id}/opt-out/` (recorded; never offered again)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses

from ..models import ProactiveOffer
from . import services as proactive
from .views import offer_message


class OfferOutput(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField(source="service.code")
    service_name = serializers.SerializerMethodField()
    mode = serializers.ChoiceField(
        choices=["offer", "grant"],
        help_text="offer: confirm with one click; grant: filed for you, you may opt out.",
    )
    state = serializers.ChoiceField(choices=ProactiveOffer.State.choices)
    message = serializers.SerializerMethodField(help_text="What the person reads.")
    found_at = serializers.DateTimeField(help_text="When the registries showed you eligible.")
    answered_at = serializers.DateTimeField(allow_null=True)
    case = serializers.CharField(
        source="case.number", allow_null=True, help_text="The application filed, once filed."
    )
    case_state = serializers.CharField(source="case.state", allow_null=True)

    def get_service_name(self, offer) -> str:
        return offer.service.current_version.label

    def get_message(self, offer) -> str:
        return offer_message(offer)


class OfferListView(ListAPIView):
    """My 免申即享 offers, newest first."""

    serializer_class = OfferOutput

    def get_queryset(self):
        return proactive.offers_of(self.request.user)


class OfferReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class _Answer(APIView):
    def _offer(self, offer: ProactiveOffer) -> Response:
        fresh = proactive.offers_of(self.request.user).get(pk=offer.pk)
        return Response(OfferOutput(fresh).data)


class OfferConfirmView(_Answer):
    """One click: the application is filed for you through the normal engine; the answer carries
    its number (automatic approval may already have decided it)."""

    @extend_schema(request=None, responses={200: OfferOutput, **error_responses(404, 409)})
    def post(self, request, offer_id: int):
        try:
            offer = proactive.confirm_offer(offer_id=offer_id, user=request.user)
        except ProactiveOffer.DoesNotExist:
            raise Http404 from None
        return self._offer(offer)


class OfferDeclineView(_Answer):
    """You do not want it: recorded, and never offered again."""

    @extend_schema(
        request=OfferReasonInput, responses={200: OfferOutput, **error_responses(400, 404, 409)}
    )
    def post(self, request, offer_id: int):
        data = OfferReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            offer = proactive.decline_offer(
                offer_id=offer_id, user=request.user, reason=data.validated_data.get("reason", "")
            )
        except ProactiveOffer.DoesNotExist:
            raise Http404 from None
        return self._offer(offer)


class OfferOptOutView(_Answer):
    """Out of a benefit granted without applying: an application still open is withdrawn; it is
    never granted again."""

    @extend_schema(
        request=OfferReasonInput, responses={200: OfferOutput, **error_responses(400, 404, 409)}
    )
    def post(self, request, offer_id: int):
        data = OfferReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            offer = proactive.opt_out(
                offer_id=offer_id, user=request.user, reason=data.validated_data.get("reason", "")
            )
        except ProactiveOffer.DoesNotExist:
            raise Http404 from None
        return self._offer(offer)
