"""The citizen's API of 预约到厅办理: `GET appointments/slots/?service=&centre=&date=` (the day's times
and places left), `POST appointments/` (book: `{slot, service?}`; a proxy names `principal`), `GET appointments/` (mine)
and `POST appointments/{id}/cancel/`. A refusal is a 400 with the reason on its field: a full,
past or too distant time, or booking paused after missed visits, on `slot`."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses
from services.models import localized

from . import booking
from .models import Appointment, Slot


class SlotsQuery(serializers.Serializer):
    service = serializers.CharField(max_length=64, help_text="The service's code (事项编码).")
    centre = serializers.CharField(max_length=32, help_text="The service centre's code.")
    date = serializers.DateField(help_text="A bookable working day (YYYY-MM-DD).")


class SlotOutput(serializers.Serializer):
    id = serializers.IntegerField()
    centre = serializers.SerializerMethodField(help_text="The service centre's code.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    free = serializers.IntegerField(source="places_left", help_text="Places left (0: full).")
    places_left = serializers.IntegerField(help_text="The same as `free`.")

    def get_centre(self, slot) -> str:
        return self.context["centre"]


class SlotListView(APIView):
    """The day's times still to come at a centre for a service, with the places left (0: full)."""

    @extend_schema(
        parameters=[SlotsQuery],
        responses={200: SlotOutput(many=True), **error_responses(400, 404)},
    )
    def get(self, request):
        query = SlotsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        centre_service = booking.centre_service_for(
            service_code=query.validated_data["service"],
            centre_code=query.validated_data["centre"],
        )
        if centre_service is None:
            raise Http404
        slots = booking.slots_of_day(centre_service, query.validated_data["date"])
        return Response(
            SlotOutput(slots, many=True, context={"centre": centre_service.centre.code}).data
        )


class BookInput(serializers.Serializer):
    slot = serializers.IntegerField(help_text="A slot id from appointments/slots/.")
    service = serializers.CharField(
        required=False,
        max_length=64,
        help_text="The service's code (事项编码); if given, the slot must be one of its times.",
    )
    principal = serializers.IntegerField(
        required=False,
        help_text="帮办代办: the id of a current authorisation you hold (authorisations/, held); "
        "the booking is then in that person's name.",
    )


class AppointmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(help_text="Typed or shown at the centre's ticket machine.")
    slot = serializers.IntegerField(source="slot_id")
    service = serializers.CharField(source="slot.centre_service.service.code")
    service_name = serializers.SerializerMethodField()
    centre = serializers.CharField(source="slot.centre_service.centre.code")
    centre_name = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    starts_at = serializers.DateTimeField(source="slot.starts_at")
    ends_at = serializers.DateTimeField(source="slot.ends_at")
    state = serializers.ChoiceField(choices=Appointment.State.choices)
    cancellable_until = serializers.SerializerMethodField()

    def get_service_name(self, appointment) -> str:
        return appointment.slot.centre_service.service.current_version.label

    def get_centre_name(self, appointment) -> str:
        return localized(appointment.slot.centre_service.centre, "name")

    def get_address(self, appointment) -> str:
        return localized(appointment.slot.centre_service.centre, "address")

    @extend_schema_field(serializers.DateTimeField())
    def get_cancellable_until(self, appointment) -> str:
        return serializers.DateTimeField().to_representation(booking.cancellable_until(appointment))


def _fresh(request, appointment_id: int) -> Appointment:
    return booking.appointments_of(request.user).get(pk=appointment_id)


class AppointmentListCreateView(ListAPIView):
    """My appointments (made by me, or for me by a proxy), latest visit first; book one."""

    serializer_class = AppointmentOutput

    def get_queryset(self):
        return booking.appointments_of(self.request.user)

    @extend_schema(request=BookInput, responses={201: AppointmentOutput, **error_responses(400)})
    def post(self, request):
        data = BookInput(data=request.data)
        data.is_valid(raise_exception=True)
        principal = data.validated_data.get("principal")
        service = data.validated_data.get("service")
        if service and (
            Slot.objects.filter(pk=data.validated_data["slot"])
            .exclude(centre_service__service__code=service)
            .exists()
        ):
            raise serializers.ValidationError(
                {"service": [_("This time is not one of that service's.")]}
            )
        appointment = booking.book(
            user=request.user,
            slot_id=data.validated_data["slot"],
            authorisation=booking.held_authorisation(request.user, principal)
            if principal is not None
            else None,
        )
        return Response(
            AppointmentOutput(_fresh(request, appointment.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class AppointmentCancelView(APIView):
    """Cancel until the centre's cut-off before the time booked; the place is freed."""

    @extend_schema(request=None, responses={200: AppointmentOutput, **error_responses(400, 404)})
    def post(self, request, appointment_id: int):
        try:
            booking.cancel(user=request.user, appointment_id=appointment_id)
        except Appointment.DoesNotExist:
            raise Http404 from None
        return Response(AppointmentOutput(_fresh(request, appointment_id)).data)
