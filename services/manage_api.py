"""API for department admins (`manage/`, DESIGN "API"): their department's service items, exported
and imported as one JSON document, published and retired. Items of other departments answer 404."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import departments_administered_by
from portal.api import error_responses

from . import interchange
from .models import ServiceItem


def _administered(request):
    departments = departments_administered_by(request.user)
    if not request.user.is_authenticated or not departments.exists():
        raise PermissionDenied(_("Only department admins manage services."))
    return departments


def _item_or_404(request, code: str) -> ServiceItem:
    item = (
        ServiceItem.objects.filter(code=code, department__in=_administered(request))
        .select_related("department", "current_version")
        .first()
    )
    if item is None:
        raise Http404
    return item


class ManagedServiceOutput(serializers.Serializer):
    code = serializers.CharField()
    department = serializers.CharField(source="department.code")
    status = serializers.CharField()
    name = serializers.SerializerMethodField()
    published_version = serializers.IntegerField(source="current_version.number", allow_null=True)
    has_draft = serializers.SerializerMethodField()
    retired_at = serializers.DateTimeField(allow_null=True)
    retirement_reason = serializers.CharField()

    def get_name(self, item: ServiceItem) -> str:
        # From the prefetched versions: the list makes no query per item.
        versions = list(item.versions.all())
        version = item.current_version or max(versions, key=lambda v: v.number, default=None)
        return version.name if version else item.code

    def get_has_draft(self, item: ServiceItem) -> bool:
        return any(v.state == "draft" for v in item.versions.all())


class ManagedServiceListView(APIView):
    @extend_schema(responses={200: ManagedServiceOutput(many=True), **error_responses(403)})
    def get(self, request):
        """The service items of the departments you administer."""
        items = (
            ServiceItem.objects.filter(department__in=_administered(request))
            .select_related("department", "current_version")
            .prefetch_related("versions")
            .order_by("code")
        )
        return Response(ManagedServiceOutput(items, many=True).data)

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT, **error_responses(400, 403)},
        description="Create a draft from an exported document under a new `code` (in the document "
        "or as `?code=`), in your department (`department` in the document, or the one you "
        "administer). 400 names every problem by its path in the document.",
    )
    def post(self, request):
        departments = _administered(request)
        document = request.data if isinstance(request.data, dict) else {}
        code = request.query_params.get("code") or document.get("code") or ""
        department = departments.filter(code=document.get("department")).first()
        if department is None:
            if departments.count() != 1 and document.get("department"):
                raise serializers.ValidationError(
                    {"department": [_("You do not administer this department.")]}
                )
            department = departments.order_by("pk").first()
        version = interchange.import_service(
            document=document, code=code, department=department, actor=request.user
        )
        from .workflows import workflow_problems

        body = interchange.export_service(version.service)
        body["problems_before_publishing"] = workflow_problems(version.workflow)
        return Response(body, status=status.HTTP_201_CREATED)


class ExportView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **error_responses(403, 404)})
    def get(self, request, code: str):
        """One JSON document: the guide fields, `materials`, `form_schema`, `legal_articles` (the
        articles of law deciders apply: `[{law, law_en, article, article_en, text, text_en,
        active}]`), `retention_years` (保管期限 of the case files: 10, 30, or 0 for permanent),
        and `workflow` with its stages and transitions."""
        return Response(interchange.export_service(_item_or_404(request, code)))


class ChangesView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **error_responses(403, 404)},
        description="What publishing the draft would change against the published version, in "
        "words (guide, materials, form fields, workflow): `{changes: [...]}`.",
    )
    def get(self, request, code: str):
        from .changes import changes_to_publish

        return Response({"code": code, "changes": changes_to_publish(_item_or_404(request, code))})


class PublishView(APIView):
    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT, **error_responses(400, 403, 404)},
        description="Publish the draft (and its workflow); 400 with the publishing checks' "
        "messages. `warnings` lists stages whose acting department has nobody in the role.",
    )
    def post(self, request, code: str):
        item = _item_or_404(request, code)
        version, warnings = interchange.publish_service(item=item, actor=request.user)
        return Response(
            {"code": item.code, "status": "published", "version": version.number,
             "warnings": warnings}
        )  # fmt: skip


class RetireInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    replaced_by = serializers.CharField(required=False, allow_blank=True, default="")


class RetireView(APIView):
    @extend_schema(
        request=RetireInput,
        responses={200: ManagedServiceOutput, **error_responses(400, 403, 404)},
    )
    def post(self, request, code: str):
        item = _item_or_404(request, code)
        data = RetireInput(data=request.data)
        data.is_valid(raise_exception=True)
        replacement = None
        if data.validated_data["replaced_by"]:
            replacement = ServiceItem.objects.filter(
                code=data.validated_data["replaced_by"]
            ).first()
            if replacement is None:
                raise serializers.ValidationError({"replaced_by": [_("No such service.")]})
        item = interchange.retire_service(
            item=item, reason=data.validated_data["reason"], replaced_by=replacement,
            actor=request.user,
        )  # fmt: skip
        return Response(ManagedServiceOutput(item).data)
