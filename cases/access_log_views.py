"""“谁查看了我的信息”: the citizen's own access log, on a page and at `GET me/access-log/`."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated

from accounts.models import Role

from .access_log import EXPERT, log_of

ROLE_LABELS = {**dict(Role.choices), EXPERT: _("expert consulted")}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


@login_required
def page(request: HttpRequest) -> HttpResponse:
    rows = Paginator(log_of(request.user), 20).get_page(request.GET.get("page"))
    for row in rows:
        row.role_label = role_label(row.role)
    return render(request, "accounts/access_log.html", {"page": rows})


class AccessOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    department = serializers.CharField(source="department.label", default=None, allow_null=True)
    role = serializers.SerializerMethodField(help_text="The viewer's role, never their name.")
    action = serializers.ChoiceField(choices=["viewed", "document", "looked_up", "revealed"])
    action_label = serializers.CharField(source="get_action_display")
    case = serializers.CharField(source="case_number", allow_blank=True)
    purpose = serializers.CharField(allow_blank=True)

    def get_role(self, row) -> str:
        return role_label(row.role)


class AccessLogView(ListAPIView):
    """Every time staff saw my data: newest first, paginated."""

    serializer_class = AccessOutput
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_access_log")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return log_of(self.request.user)
