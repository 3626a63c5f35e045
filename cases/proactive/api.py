"""The citizen's API of 免申即享: `GET offers/` (my offers: to confirm, granted, answered; and, for a
proxy, the pending offers of the people they hold a current authorisation for, with `principal`
naming the person masked), `POST offers/{id}/confirm/` (one click: the case is filed through the
engine; by a proxy, as their proxy), `POST offers/{id}/decline/` (recorded; never offered again)
and `POST offers/{id}/opt-out/` (the person's own choice only)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import proxies
from portal.api import error_responses

from ..models import ProactiveOffer
from . import services as proactive
from .views import offer_message, principal_label


class PrincipalOutput(serializers.Serializer):
    name = serializers.CharField(help_text="The person's name, masked (张*明).")
    relationship = serializers.CharField()
    authorisation = serializers.IntegerField(help_text="The authorisation you act under.")


class OfferOutput(serializers.Serializer):
    id = serializers.IntegerField()
    principal = serializers.SerializerMethodField(
        help_text="null for your own offers; for a person you act for as proxy (帮办代办), who."
    )
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

    def _authorisation(self, offer):
        if offer.person.user_id == self.context["request"].user.pk:
            return None
        return self.context["authorisations"].get(offer.person_id)

    @extend_schema_field(PrincipalOutput(allow_null=True))
    def get_principal(self, offer) -> dict | None:
        authorisation = self._authorisation(offer)
        if authorisation is None:
            return None
        return {
            "name": principal_label(offer),
            "relationship": authorisation.relationship,
            "authorisation": authorisation.pk,
        }

    def get_service_name(self, offer) -> str:
        return offer.service.current_version.label

    def get_message(self, offer) -> str:
        if self._authorisation(offer) is None:
            return offer_message(offer)
        return offer_message(offer, principal=principal_label(offer))


def _context(request) -> dict:
    """What OfferOutput reads besides the offers: the user's current authorisations by person."""
    return {
        "request": request,
        "authorisations": {a.principal_id: a for a in proxies.held_by(request.user)},
    }


class OfferListView(ListAPIView):
    """My 免申即享 offers and, as a proxy, those of the people I act for; newest first."""

    serializer_class = OfferOutput

    def get_queryset(self):
        return (
            proactive.offers_answerable_by(self.request.user)
            .select_related("person")
            .order_by("-found_at", "-pk")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **_context(self.request)}


class OfferReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class _Answer(APIView):
    def _offer(self, offer: ProactiveOffer) -> Response:
        fresh = proactive.offers_answerable_by(self.request.user).select_related("person")
        return Response(OfferOutput(fresh.get(pk=offer.pk), context=_context(self.request)).data)


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
    never granted again. Yours only: a proxy cannot opt the person out (404)."""

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
