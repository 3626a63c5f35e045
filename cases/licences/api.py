"""API for holders: `licences/` (DESIGN "API"), the e-licences in my wallet."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from ..models import Licence
from . import services as licences


class LicenceOutput(serializers.Serializer):
    number = serializers.CharField()
    licence_type = serializers.CharField(source="licence_type.code")
    licence_type_name = serializers.SerializerMethodField()
    issuer = serializers.CharField(source="licence_type.issuer.name")
    organisation = serializers.CharField(source="organisation.name", default=None, allow_null=True)
    case = serializers.CharField(source="case.number", default=None, allow_null=True)
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(allow_null=True)
    issued_at = serializers.DateTimeField()
    status = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField()

    def get_licence_type_name(self, licence: Licence) -> str:
        return licences.type_label(licence)

    @extend_schema_field(serializers.ChoiceField(choices=licences.LicenceStatus.choices))
    def get_status(self, licence: Licence) -> str:
        return str(licences.status_of(licence).value)

    def get_verify_url(self, licence: Licence) -> str:
        return licences.verify_url(self.context["request"], licence)


class LicenceListView(ListAPIView):
    """My e-licences, newest first; each with the public address that verifies it."""

    serializer_class = LicenceOutput

    def get_queryset(self):
        return licences.licences_of(self.request.user)
