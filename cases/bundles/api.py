"""API for applicants: `bundle-applications/...` (DESIGN "API", 一件事). Another person's bundle
application answers 404; each member case is also one of `applications/`."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses
from portal.parsers import JSONParser
from services import bundles as definitions

from ..models import BundleApplication, Channel
from . import services


class BundleCreateInput(serializers.Serializer):
    bundle = serializers.CharField(help_text="Bundle code")
    data = serializers.JSONField(
        required=False,
        default=dict,
        help_text="Answers to the bundle's form_schema: shared fields at the top, each member's "
        "own under its key.",
    )


class MemberOutput(serializers.Serializer):
    service = serializers.CharField()
    service_name = serializers.CharField()
    number = serializers.CharField(
        allow_null=True, help_text="The member case's number once filed (see applications/)."
    )
    department = serializers.CharField()
    department_name = serializers.CharField()
    state = serializers.CharField(
        help_text="The member case's state once filed; before: pending (the bundle is a draft), "
        "waiting (for another member's result), cancelled or failed (see problem)."
    )
    state_label = serializers.CharField()
    waits_for = serializers.ListField(child=serializers.CharField())
    problem = serializers.CharField()


class MissingMaterialOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class BundleAttachmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    material = serializers.CharField(source="material_name")
    file_name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField()


class BundleApplicationOutput(serializers.Serializer):
    number = serializers.CharField()
    bundle = serializers.CharField(source="bundle.code")
    bundle_name = serializers.CharField(source="bundle.name")
    state = serializers.ChoiceField(
        choices=BundleApplication.State.choices,
        help_text="One status for the whole bundle, from the members'.",
    )
    state_label = serializers.CharField(source="get_state_display")
    submitted_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    data = serializers.JSONField()
    members = serializers.SerializerMethodField()
    missing_materials = serializers.SerializerMethodField()
    attachments = BundleAttachmentOutput(many=True)

    @extend_schema_field(MemberOutput(many=True))
    def get_members(self, application: BundleApplication) -> list[dict]:
        return MemberOutput(services.member_rows(application), many=True).data

    @extend_schema_field(MissingMaterialOutput(many=True))
    def get_missing_materials(self, application: BundleApplication) -> list[dict]:
        if application.state != BundleApplication.State.DRAFT:
            return []
        return [
            {"id": m["id"], "name": m["label"]} for m in services.missing_materials(application)
        ]


def _application_or_404(request, number: str) -> BundleApplication:
    application = services.bundle_application_for(request.user, number)
    if application is None:
        raise Http404
    return application


def _output(request, number: str) -> dict:
    return BundleApplicationOutput(_application_or_404(request, number)).data


class BundleApplicationCreateView(APIView):
    @extend_schema(
        request=BundleCreateInput,
        responses={201: BundleApplicationOutput, **error_responses(400)},
    )
    def post(self, request):
        """Start a bundle application (draft) from the combined answers."""
        data = BundleCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.create_bundle_application(
            bundle=definitions.bundle_to_apply_for(data.validated_data["bundle"]),
            user=request.user,
            data=data.validated_data["data"],
            channel=Channel.API,
        )
        return Response(_output(request, application.number), status=status.HTTP_201_CREATED)


class BundleApplicationDetailView(APIView):
    @extend_schema(responses={200: BundleApplicationOutput, **error_responses(404)})
    def get(self, request, number: str):
        """One combined status, with every member case."""
        return Response(_output(request, number))


class BundleAttachmentInput(serializers.Serializer):
    material = serializers.IntegerField(help_text="A material id from bundles/{code}/ materials")
    file = serializers.FileField()


class BundleAttachmentCreatedOutput(BundleAttachmentOutput):
    serves = serializers.ListField(
        child=serializers.CharField(), help_text="The member services this upload serves."
    )


class BundleAttachmentCreateView(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": BundleAttachmentInput},
        responses={201: BundleAttachmentCreatedOutput, **error_responses(400, 404, 409)},
    )
    def post(self, request, number: str):
        """Upload a material once: it is attached to every member case that asks for it."""
        application = _application_or_404(request, number)
        data = BundleAttachmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        attachment, serves = services.add_bundle_attachment(
            application=application,
            material_id=data.validated_data["material"],
            upload=data.validated_data["file"],
            user=request.user,
        )
        body = BundleAttachmentOutput(attachment).data
        return Response({**body, "serves": serves}, status=status.HTTP_201_CREATED)


class BundleSubmitView(APIView):
    @extend_schema(
        request=None, responses={200: BundleApplicationOutput, **error_responses(400, 404, 409)}
    )
    def post(self, request, number: str):
        """Submit once: every member that waits for nobody is filed in its department now."""
        application = _application_or_404(request, number)
        services.submit_bundle_application(application=application, user=request.user)
        return Response(_output(request, number))
