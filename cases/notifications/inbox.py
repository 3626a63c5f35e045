"""The in-app inbox: page with unread count, and the API `notifications/` (DESIGN "API")."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.facts import inbox_changed

from ..models import Notification, NotificationChannel


def inbox_of(user):
    """The user's in-app messages that have been delivered, newest first."""
    return Notification.objects.filter(
        recipient=user, channel=NotificationChannel.INBOX, state=Notification.State.SENT
    ).select_related("case")


def unread_count(user) -> int:
    return inbox_of(user).filter(read_at__isnull=True).count()


def unread_badge(user) -> int:
    """The unread count every page's header shows: cached under the account's inbox stamp, which
    every delivery to the inbox, reading and move renews (accounts/facts.py)."""
    from accounts.facts import cached_for_inbox

    return cached_for_inbox(user, lambda: unread_count(user))


@transaction.atomic
def mark_read(*, user, notification_id) -> bool:
    read = bool(
        inbox_of(user)
        .filter(pk=notification_id, read_at__isnull=True)
        .update(read_at=timezone.now())
    )
    if read:
        inbox_changed(user.pk)
    return read


@login_required
def inbox_page(request: HttpRequest) -> HttpResponse:
    page = Paginator(inbox_of(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "cases/inbox.html", {"page": page, "messages_list": page.object_list})


@login_required
@require_POST
def read(request: HttpRequest, notification_id: int) -> HttpResponse:
    if not inbox_of(request.user).filter(pk=notification_id).exists():
        raise Http404
    mark_read(user=request.user, notification_id=notification_id)
    return redirect("inbox")


class NotificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField()
    subject = serializers.CharField()
    body = serializers.CharField()
    case = serializers.CharField(source="case.number", allow_null=True)
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField()


class NotificationListView(ListAPIView):
    serializer_class = NotificationOutput

    def get_queryset(self):
        return inbox_of(self.request.user)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response.data["unread"] = unread_count(request.user)
        return response


class NotificationReadView(APIView):
    @extend_schema(request=None, responses={200: NotificationOutput})
    def post(self, request, notification_id: int):
        notification = inbox_of(request.user).filter(pk=notification_id).first()
        if notification is None:
            raise Http404
        mark_read(user=request.user, notification_id=notification_id)
        notification.refresh_from_db()
        return Response(NotificationOutput(notification).data)
