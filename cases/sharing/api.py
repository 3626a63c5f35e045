"""API of the sharing log: `GET work/sharing-requests/`, the requests made to the registries of the
departments the user administers (共享调用记录), newest first, paginated. Never the data received:
the owning department holds it already; the log says who asked for what, when, and why."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.generics import ListAPIView

from . import selectors
from .registry import SHARING_OUTCOMES


class SharingRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    requested_at = serializers.DateTimeField()
    registry = serializers.CharField()
    department = serializers.CharField(source="department.code", allow_null=True)
    service = serializers.CharField(source="service.code")
    case = serializers.CharField(source="case.number", allow_null=True)
    material = serializers.CharField(source="material.name", allow_null=True)
    purpose = serializers.ChoiceField(choices=["material", "prefill"])
    fields = serializers.ListField(child=serializers.CharField())
    outcome = serializers.ChoiceField(choices=SHARING_OUTCOMES)
    channel = serializers.CharField()


class SharingRequestListView(ListAPIView):
    """Requests to your departments' registries (department admins; others get an empty list)."""

    serializer_class = SharingRequestOutput

    def get_queryset(self):
        return selectors.sharing_requests_for(self.request.user).order_by("-pk")
