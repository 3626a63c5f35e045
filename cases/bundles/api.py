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


class SupplementFileOutput(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField(source="original_name")
    sent = serializers.BooleanField(help_text="False while uploaded but not yet sent.")


class SupplementMaterialOutput(serializers.Serializer):
    id = serializers.IntegerField(
        help_text="The material id to post to supplements/attachments/ (one upload answers "
        "every open request of the bundle asking for a material of this name)."
    )
    name = serializers.CharField()
    uploaded = SupplementFileOutput(many=True)


class SupplementOutput(serializers.Serializer):
    case = serializers.CharField(help_text="The member case that asks (see applications/).")
    service = serializers.CharField()
    service_name = serializers.CharField()
    department = serializers.CharField()
    department_name = serializers.CharField()
    state = serializers.ChoiceField(choices=["open", "answered", "expired"])
    state_label = serializers.CharField()
    note = serializers.CharField(help_text="What is missing and why, in the department's words.")
    materials = SupplementMaterialOutput(many=True)
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Materials asked for with nothing uploaded yet."
    )
    deadline = serializers.DateField(
        help_text="Answer by this day, or the case is deemed withdrawn."
    )
    working_days_left = serializers.IntegerField()
    requested_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)


def supplements_data(requests: list[dict]) -> list[dict]:
    rows = []
    for row in requests:
        request, case, link = row["request"], row["case"], row["link"]
        rows.append(
            {
                "case": case.number,
                "service": link.service.code,
                "service_name": case.service_version.name,
                "department": link.service.department.code,
                "department_name": link.service.department.name,
                "state": request.state,
                "state_label": request.get_state_display(),
                "note": request.note,
                "materials": [
                    {
                        "id": item["material"].pk,
                        "name": item["material"].name,
                        "uploaded": [
                            {"id": a.pk, "original_name": a.original_name, "sent": not row["open"]}
                            for a in item["attachments"]
                        ],
                    }
                    for item in row["rows"]
                ],  # fmt: skip
                "missing": [m.name for m in row["missing"]] if row["open"] else [],
                "deadline": request.deadline,
                "working_days_left": row["working_days_left"],
                "requested_at": request.created_at,
                "answered_at": request.answered_at,
            }
        )
    return SupplementOutput(rows, many=True).data


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
    supplements = serializers.SerializerMethodField(
        help_text="Every request for documents (补正) of any member case: the open ones first, "
        "then the closed ones as history. Answer them with supplements/attachments/ and "
        "supplements/answer/."
    )

    @extend_schema_field(SupplementOutput(many=True))
    def get_supplements(self, application: BundleApplication) -> list[dict]:
        return supplements_data(services.supplement_requests(application))

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


class SupplementUploadInput(serializers.Serializer):
    material = serializers.IntegerField(help_text="A material id from `supplements[].materials`")
    file = serializers.FileField()


class SupplementUploadOutput(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.CharField(source="case.number")
    material = serializers.CharField(source="material.name")
    file_name = serializers.CharField(source="original_name")


class SupplementUploadView(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": SupplementUploadInput},
        responses={201: SupplementUploadOutput(many=True), **error_responses(400, 404, 409)},
    )
    def post(self, request, number: str):
        """Upload a document asked for by open requests for documents of the members: stored once,
        attached to every member case that asks for it; not sent until supplements/answer/."""
        application = _application_or_404(request, number)
        data = SupplementUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        attachments = services.upload_for_supplements(
            application=application,
            material_id=data.validated_data["material"],
            upload=data.validated_data["file"],
            user=request.user,
        )
        return Response(
            SupplementUploadOutput(attachments, many=True).data, status=status.HTTP_201_CREATED
        )


class SupplementAnswerInput(serializers.Serializer):
    cases = serializers.ListField(
        child=serializers.CharField(max_length=100),
        min_length=1,
        help_text="The numbers of the member cases whose open request to answer.",
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class SupplementAnswerView(APIView):
    @extend_schema(
        request=SupplementAnswerInput,
        responses={200: BundleApplicationOutput, **error_responses(400, 404, 409)},
    )
    def post(self, request, number: str):
        """Send the documents asked for: each member case named returns to its department, as if
        answered at applications/{number}/supplement/. All or nothing."""
        application = _application_or_404(request, number)
        data = SupplementAnswerInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.answer_supplements(
            application=application,
            user=request.user,
            numbers=data.validated_data["cases"],
            note=data.validated_data["note"],
            channel=Channel.API,
        )
        return Response(_output(request, number))


class BundleReceiptView(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes, **error_responses(404, 409)})
    def get(self, request, number: str):
        """The bundle's receipt (一件事受理回执) as a PDF, listing every member case."""
        from ..documents import _pdf_response
        from ..workflow import CaseConflict
        from . import receipts

        application = _application_or_404(request, number)
        if application.state == BundleApplication.State.DRAFT:
            raise CaseConflict("This bundle application has not been submitted yet.", code="draft")
        return _pdf_response(receipts.receipt_pdf(application), f"receipt-{application.number}.pdf")
