"""API for holders: `licences/` (DESIGN "API"), the e-licences in my wallet; for the head of the
issuing department: `work/licences/{number}/revoke/`."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses

from ..models import Channel, Licence
from . import services as licences


class ContentRow(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()


class LicenceOutput(serializers.Serializer):
    number = serializers.CharField()
    licence_type = serializers.CharField(source="licence_type.code")
    licence_type_name = serializers.SerializerMethodField()
    issuer = serializers.CharField(source="licence_type.issuer.name")
    holder = serializers.CharField(
        source="holder_name", help_text="The holder (持证主体): the organisation, else the person."
    )
    holder_kind = serializers.SerializerMethodField()
    organisation = serializers.CharField(source="organisation.name", default=None, allow_null=True)
    case = serializers.CharField(source="case.number", default=None, allow_null=True)
    content = serializers.SerializerMethodField(help_text="What the licence certifies.")
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(allow_null=True)
    issued_at = serializers.DateTimeField()
    status = serializers.SerializerMethodField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revocation_reason = serializers.CharField()
    superseded_by = serializers.CharField(
        source="superseded_by.number", default=None, allow_null=True
    )
    verify_url = serializers.SerializerMethodField()

    def get_licence_type_name(self, licence: Licence) -> str:
        return licences.type_label(licence)

    @extend_schema_field(serializers.ChoiceField(choices=["person", "organisation"]))
    def get_holder_kind(self, licence: Licence) -> str:
        return licences.holder_kind(licence)

    @extend_schema_field(ContentRow(many=True))
    def get_content(self, licence: Licence) -> list[dict]:
        return licences.content_shown(licence)

    @extend_schema_field(serializers.ChoiceField(choices=licences.LicenceStatus.choices))
    def get_status(self, licence: Licence) -> str:
        return str(licences.status_of(licence).value)

    def get_verify_url(self, licence: Licence) -> str:
        return licences.verify_url(self.context["request"], licence)


class LicenceListView(ListAPIView):
    """My e-licences, newest first, with those of the organisations I am an authorised agent of;
    each with the public address that verifies it."""

    serializer_class = LicenceOutput

    def get_queryset(self):
        return licences.licences_of(self.request.user)


class RevokeInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=Licence.Ending.choices, help_text="revoked (吊销) or annulled (撤销)."
    )
    reason = serializers.CharField(
        max_length=2000, help_text="The holder and anyone verifying the licence read it."
    )


class RevokeView(APIView):
    @extend_schema(
        request=RevokeInput,
        responses={200: LicenceOutput, **error_responses(400, 403, 404, 409)},
        description="The head of the issuing department revokes (吊销) or annuls (撤销) an "
        "e-licence with a reason: the holder is told, the licence's case records it and "
        "/verify/ shows it at once. 403 for anyone else; 409 when the licence has ended already.",
    )
    def post(self, request, number: str):
        licence = (
            Licence.objects.select_related("licence_type__issuer", "case")
            .filter(number=number)
            .first()
        )
        if licence is None:
            raise Http404
        if not licences.may_end(request.user, licence):
            raise PermissionDenied(licences.NOT_HEAD)
        data = RevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        licence = licences.revoke_licence(
            licence=licence,
            user=request.user,
            kind=data.validated_data["kind"],
            reason=data.validated_data["reason"],
            channel=Channel.API,
        )
        licence = Licence.objects.select_related(
            "licence_type__issuer", "organisation", "case", "holder", "superseded_by"
        ).get(pk=licence.pk)
        return Response(LicenceOutput(licence, context={"request": request}).data)
