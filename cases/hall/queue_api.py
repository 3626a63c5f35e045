"""API of the hall's queue (DESIGN "API", service hall): take a ticket (kiosk or clerk), follow
it, the display's feed, and the clerk's calls at a window."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import ratelimit
from portal.api import error_responses
from portal.client_address import client_address
from services.models import ServiceItem, localized

from . import queue
from .models import ServiceCentre, Ticket, Window


class TicketInput(serializers.Serializer):
    centre = serializers.SlugField(max_length=32, help_text="The centre's code.")
    appointment_code = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=12
    )
    id_number = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=24,
        help_text="Finds today's appointment of the person, or names them on a walk-in ticket; "
        "never stored.",
    )  # fmt: skip
    service = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=64,
        help_text="Service code; needed without an appointment.",
    )  # fmt: skip


class TicketOutput(serializers.Serializer):
    number = serializers.CharField()
    token = serializers.CharField(help_text="For `GET hall/tickets/{token}/`: keep it private.")
    centre = serializers.CharField(source="centre.code")
    service = serializers.CharField(source="service.code")
    service_name = serializers.SerializerMethodField()
    state = serializers.ChoiceField(choices=Ticket.State.choices)
    appointment = serializers.SerializerMethodField(help_text="Taken by appointment.")
    issued_at = serializers.DateTimeField()
    called_at = serializers.DateTimeField(allow_null=True)
    calls = serializers.IntegerField()
    window = serializers.IntegerField(source="window.number", allow_null=True, default=None)
    place = serializers.SerializerMethodField(
        help_text="Waiting tickets ahead at the windows that may call this one; null unless "
        "waiting."
    )

    def get_appointment(self, ticket) -> bool:
        return ticket.appointment_id is not None

    def get_service_name(self, ticket) -> str:
        version = ticket.service.current_version
        return localized(version, "name") if version else ticket.service.code

    def get_place(self, ticket) -> int | None:
        return queue.place_in_queue(ticket)


def _ticket(token: str) -> Ticket:
    return get_object_or_404(
        Ticket.objects.select_related(
            "centre", "window", "service__current_version", "appointment__slot"
        ),
        token=token,
    )


class TicketCreateView(APIView):
    """Take a ticket on arrival: by appointment code, by ID number, or for a service. No
    sign-in (a kiosk); limited per address."""

    permission_classes = [AllowAny]

    @extend_schema(
        request=TicketInput, responses={201: TicketOutput, **error_responses(400, 404, 429)}
    )
    def post(self, request):
        key = ratelimit.key_for("hall-kiosk", client_address(request) or "unknown")
        wait = ratelimit.retry_after(key, settings.HALL_KIOSK_LIMIT)
        if wait is not None:
            raise Throttled(wait=wait)
        ratelimit.hit(key, settings.HALL_KIOSK_WINDOW_SECONDS)
        data = TicketInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        centre = get_object_or_404(ServiceCentre, code=values["centre"], active=True)
        service = None
        if values["service"]:
            service = ServiceItem.objects.filter(code=values["service"]).first()
            if service is None:
                raise serializers.ValidationError({"service": ["No such service."]})
        ticket = queue.issue_ticket(
            centre=centre, appointment_code=values["appointment_code"],
            id_number=values["id_number"], service=service,
        )  # fmt: skip
        return Response(TicketOutput(_ticket(ticket.token)).data, status=status.HTTP_201_CREATED)


class TicketDetailView(APIView):
    """A ticket and its place in the queue, for the citizen's phone."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: TicketOutput, **error_responses(404)})
    def get(self, request, token: str):
        return Response(TicketOutput(_ticket(token)).data)


class CallOutput(serializers.Serializer):
    number = serializers.CharField()
    window = serializers.IntegerField(source="window.number")
    calls = serializers.IntegerField()
    called_at = serializers.DateTimeField(source="last_called_at")


class WaitingOutput(serializers.Serializer):
    service = serializers.CharField(source="service.code")
    name = serializers.SerializerMethodField()
    count = serializers.IntegerField()

    def get_name(self, row) -> str:
        version = row["service"].current_version
        return localized(version, "name") if version else row["service"].code


class DisplayOutput(serializers.Serializer):
    centre = serializers.CharField()
    calls = CallOutput(many=True, help_text="Today's latest calls, newest first.")
    waiting = WaitingOutput(many=True)


class DisplayView(APIView):
    """What the hall display shows: the latest calls and the waiting count per service."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: DisplayOutput, **error_responses(404)})
    def get(self, request, code: str):
        centre = get_object_or_404(ServiceCentre, code=code, active=True)
        return Response(
            DisplayOutput(
                {
                    "centre": centre.code,
                    "calls": queue.last_calls(centre),
                    "waiting": queue.waiting_counts(centre),
                }
            ).data
        )


# --- The clerk's window ----------------------------------------------------------------------------


class WindowOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    centre = serializers.CharField(source="centre.code")
    current = TicketOutput(allow_null=True)
    waiting = TicketOutput(many=True)


def _clerk_window(request, window_id: int) -> Window:
    if not queue.may_call(request.user):
        raise PermissionDenied("Only counter clerks call tickets.")
    return get_object_or_404(
        Window.objects.select_related("centre"), pk=window_id, active=True, centre__active=True
    )


def _window_output(window: Window) -> dict:
    current = queue.current_ticket(window)
    waiting = queue.waiting_for(window).select_related(
        "centre", "window", "service__current_version", "appointment__slot"
    )[:30]
    window.current, window.waiting = (_ticket(current.token) if current else None), list(waiting)
    return WindowOutput(window).data


class WindowView(APIView):
    """The window's ticket being served and its queue, in calling order."""

    @extend_schema(responses={200: WindowOutput, **error_responses(403, 404)})
    def get(self, request, window_id: int):
        return Response(_window_output(_clerk_window(request, window_id)))


def _action_view(action, doc: str):
    class ActionView(APIView):
        @extend_schema(
            request=None,
            responses={200: WindowOutput, **error_responses(400, 403, 404)},
            description=doc,
        )
        def post(self, request, window_id: int):
            window = _clerk_window(request, window_id)
            action(window=window, clerk=request.user)
            return Response(_window_output(window))

    ActionView.__name__ = ActionView.__qualname__ = f"{action.__name__.title()}View"
    return ActionView


CallNextView = _action_view(
    queue.call_next,
    "Call the next ticket (叫号): appointments whose slot has begun first, then issue order. "
    "`current` is null when nobody waits.",
)
RecallView = _action_view(queue.recall, "Call the window's ticket again (重呼).")
NoShowView = _action_view(queue.mark_no_show, "The citizen called did not come (过号).")
StartView = _action_view(queue.start_service, "The citizen is at the window (开始办理).")
FinishView = _action_view(queue.finish, "Done with the citizen (完成).")
