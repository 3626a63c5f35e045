"""API: `bundles/`, `bundles/{code}/` (DESIGN "API", 一件事). Public: no sign-in needed."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses

from . import bundles
from .models import Bundle, BundleMember


class BundleMemberOutput(serializers.Serializer):
    key = serializers.CharField(help_text="The member's group in the combined form_schema.")
    service = serializers.CharField(source="service.code")
    service_name = serializers.CharField(source="service.current_version.name", default="")
    department = serializers.CharField(source="service.department.code")
    department_name = serializers.CharField(source="service.department.name")
    waits_for = serializers.SerializerMethodField(
        help_text="Services whose result this one waits for; it is then filed, prefilled."
    )

    def get_waits_for(self, member: BundleMember) -> list[str]:
        return [d.waits_for.service.code for d in member.waits.all()]


class BundleSummaryOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField()
    lead_department = serializers.CharField(source="lead_department.code")
    life_events = serializers.SerializerMethodField()
    members = BundleMemberOutput(many=True)

    def get_life_events(self, bundle: Bundle) -> list[str]:
        return [event.code for event in bundle.life_events.all()]


class BundleMaterialOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="What bundle-applications/{number}/attachments/ takes.")
    name = serializers.CharField()
    name_en = serializers.CharField()
    required = serializers.BooleanField(help_text="Required by at least one member.")
    tolerable = serializers.BooleanField(
        help_text="容缺: may follow later for every member that requires it."
    )
    source = serializers.ChoiceField(choices=["upload", "licence", "shared", "form"])
    members = serializers.ListField(
        child=serializers.CharField(), help_text="The services one upload serves."
    )


class BundleDetailOutput(BundleSummaryOutput):
    guide = serializers.CharField()
    guide_en = serializers.CharField()
    form_schema = serializers.SerializerMethodField()
    materials = serializers.SerializerMethodField()

    @extend_schema_field(
        {"type": "object", "additionalProperties": True},
    )
    def get_form_schema(self, bundle: Bundle) -> dict:
        """A standard JSON Schema (draft 2020-12): fields shared by several members at the top,
        asked once; each member's own fields in an object under the member's key."""
        return bundles.combined_schema(bundle, self.context["members"])

    @extend_schema_field(BundleMaterialOutput(many=True))
    def get_materials(self, bundle: Bundle) -> list[dict]:
        return BundleMaterialOutput(
            bundles.combined_materials(bundle, self.context["members"]), many=True
        ).data


def _listed():
    return bundles.published_bundles().prefetch_related(
        "life_events",
        "members__service__department",
        "members__service__current_version",
        "members__waits__waits_for__service",
    )


@extend_schema(
    parameters=[
        OpenApiParameter("life_event", OpenApiTypes.STR, description="Life-event code"),
        OpenApiParameter("department", OpenApiTypes.STR, description="A member's department"),
    ],
    description="Published bundles (一件事): several departments' services applied for at once.",
)
class BundleListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = BundleSummaryOutput

    def get_queryset(self):
        queryset = _listed()
        life_event = self.request.query_params.get("life_event", "")[:64]
        department = self.request.query_params.get("department", "")[:64]
        if life_event:
            queryset = queryset.filter(life_events__code=life_event)
        if department:
            queryset = queryset.filter(members__service__department__code=department).distinct()
        return queryset.order_by("code")


class BundleDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: BundleDetailOutput, **error_responses(404)})
    def get(self, request, code: str):
        """The bundle's guide, members, combined form and deduplicated materials."""
        bundle = _listed().filter(code=code).first()
        if bundle is None:
            raise NotFound()
        context = {"members": bundles.members_of(bundle)}
        return Response(BundleDetailOutput(bundle, context=context).data)
