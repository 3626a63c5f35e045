"""API: `services/`, `services/{code}/`, `departments/` (DESIGN "API"). Public: no sign-in needed."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts.models import Department
from portal import caching

from . import catalog
from .models import LegalArticle, ServiceItem, ServiceMaterial, localized
from .schema import published_schema


class DepartmentOutput(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Department
        fields = ["code", "name", "name_en", "kind", "parent", "address", "phone"]


class ServiceSummaryOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="current_version.name")
    name_en = serializers.CharField(source="current_version.name_en")
    department = serializers.CharField(source="department.code")
    department_name = serializers.CharField(source="department.name")
    kind = serializers.CharField(source="current_version.kind")
    audience = serializers.CharField(source="current_version.audience")
    promised_limit_days = serializers.IntegerField(source="current_version.promised_limit_days")
    visits_required = serializers.IntegerField(source="current_version.visits_required")
    fee_free = serializers.BooleanField(source="current_version.fee_free")
    channels = serializers.SerializerMethodField()
    life_events = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="current_version.number")

    def get_channels(self, item: ServiceItem) -> list[str]:
        version = item.current_version
        return [
            name
            for name, offered in (
                ("online", version.channel_online),
                ("counter", version.channel_counter),
                ("mail", version.channel_mail),
            )
            if offered
        ]

    def get_life_events(self, item: ServiceItem) -> list[str]:
        return [event.code for event in item.current_version.life_events.all()]


class MaterialOutput(serializers.ModelSerializer):
    licence_type = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    shared_by = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = ServiceMaterial
        fields = [
            "id",
            "name",
            "name_en",
            "required",
            "tolerable",
            "covered_by_commitment",
            "source",
            "form",
            "copies",
            "paper_format",
            "licence_type",
            "shared_by",
            "note",
            "note_en",
        ]


class GuideArticleOutput(serializers.Serializer):
    """An article of law the service is decided under, in the reader's language."""

    id = serializers.IntegerField()
    law = serializers.SerializerMethodField()
    article = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()

    def get_law(self, article: LegalArticle) -> str:
        return localized(article, "law")

    def get_article(self, article: LegalArticle) -> str:
        return localized(article, "article")

    def get_text(self, article: LegalArticle) -> str:
        return localized(article, "text")


class ServiceDetailOutput(ServiceSummaryOutput):
    summary = serializers.CharField(source="current_version.summary")
    summary_en = serializers.CharField(source="current_version.summary_en")
    legal_basis = serializers.CharField(source="current_version.legal_basis")
    legal_basis_en = serializers.CharField(source="current_version.legal_basis_en")
    keywords = serializers.CharField(source="current_version.keywords")
    conditions = serializers.CharField(source="current_version.conditions")
    conditions_en = serializers.CharField(source="current_version.conditions_en")
    statutory_limit_days = serializers.IntegerField(source="current_version.statutory_limit_days")
    is_immediate = serializers.BooleanField(source="current_version.is_immediate")
    fee_standard = serializers.CharField(source="current_version.fee_standard")
    fee_standard_en = serializers.CharField(source="current_version.fee_standard_en")
    fee_basis = serializers.CharField(source="current_version.fee_basis")
    fee_basis_en = serializers.CharField(source="current_version.fee_basis_en")
    fee_rule = serializers.JSONField(
        source="current_version.fee_rule",
        help_text="The fee collected through the portal ({} when none): amount_fen, or "
        "per_unit_fen × unit_field (+ base_fen, up to cap_fen), in integer fen; due "
        "before_acceptance or before_result; refund_on: the outcomes after which it is refunded",
    )
    online_depth = serializers.IntegerField(source="current_version.online_depth")
    result_type = serializers.CharField(source="current_version.result_type")
    result_name = serializers.CharField(source="current_version.result_name")
    result_name_en = serializers.CharField(source="current_version.result_name_en")
    licence_type = serializers.CharField(
        source="current_version.licence_type.code", allow_null=True, read_only=True
    )
    delivery = serializers.SerializerMethodField()
    allows_tolerance = serializers.BooleanField(source="current_version.allows_tolerance")
    allows_commitment = serializers.BooleanField(source="current_version.allows_commitment")
    commitment_text = serializers.CharField(source="current_version.commitment_text")
    commitment_text_en = serializers.CharField(source="current_version.commitment_text_en")
    handling_location = serializers.CharField(source="current_version.handling_location")
    handling_location_en = serializers.CharField(source="current_version.handling_location_en")
    office_hours = serializers.CharField(source="current_version.office_hours")
    office_hours_en = serializers.CharField(source="current_version.office_hours_en")
    enquiry_phone = serializers.CharField(source="current_version.enquiry_phone")
    complaint_phone = serializers.CharField(source="current_version.complaint_phone")
    published_at = serializers.DateTimeField(source="current_version.published_at")
    materials = MaterialOutput(source="current_version.materials", many=True)
    legal_articles = GuideArticleOutput(
        source="active_articles",
        many=True,
        read_only=True,
        help_text="The articles of law a decision applies (法律依据), active ones, in the "
        "language of Accept-Language (Chinese unless English is asked and given).",
    )
    form_schema = serializers.SerializerMethodField()

    def get_delivery(self, item: ServiceItem) -> list[str]:
        version = item.current_version
        return [
            name
            for name, offered in (
                ("electronic", version.delivery_electronic),
                ("pickup", version.delivery_pickup),
                ("mail", version.delivery_mail),
            )
            if offered
        ]

    @extend_schema(
        description=(
            "A standard JSON Schema (draft 2020-12), labels and help in x- keywords; the exact "
            "contract of submission: every instance it accepts is accepted at submit. readOnly "
            "fields are filled by the server from the verified profile."
        )
    )
    def get_form_schema(self, item: ServiceItem) -> dict:
        # Derived when served, not stored: versions published before keep to the contract too.
        return published_schema(item.current_version.form_schema)


FILTERS = [
    OpenApiParameter("q", OpenApiTypes.STR, description="Keywords (Chinese or English)"),
    OpenApiParameter("department", OpenApiTypes.STR, description="Department code"),
    OpenApiParameter("life_event", OpenApiTypes.STR, description="Life-event code"),
    OpenApiParameter("audience", OpenApiTypes.STR, enum=["person", "organisation"]),
    OpenApiParameter("channel", OpenApiTypes.STR, enum=["online", "counter", "mail"]),
]


class SearchPagination(PageNumberPagination):
    """Pages of a search, with what the catalog page shows around them: the query searched instead
    of the one typed (a typo corrected) and "did you mean" suggestions when few or none matched."""

    def paginate_queryset(self, queryset, request, view=None):
        self.found = queryset
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["corrected"] = getattr(self.found, "corrected", "")
        response.data["suggestions"] = [
            {"label": s.label, "query": s.query, "service": s.code}
            for s in getattr(self.found, "suggestions", [])
        ]
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["corrected"] = {
            "type": "string",
            "description": "The query searched instead of q (a typo corrected), or empty.",
        }
        schema["properties"]["suggestions"] = {
            "type": "array",
            "description": "Did you mean: a query to search (query) or a service (service code).",
            "items": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "query": {"type": "string"},
                    "service": {"type": "string"},
                },
            },
        }
        return schema


@extend_schema(
    parameters=FILTERS,
    description=(
        "Published services. With q, the services it means, best first: everyday words, keywords "
        "and aliases, pinyin (shebaoka) and initials (sbk), typos corrected (see corrected)."
    ),
)
class ServiceListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = ServiceSummaryOutput
    pagination_class = SearchPagination

    def list(self, request, *args, **kwargs):
        """The same for every client asking the same address in the same language: built once
        per catalog generation (portal/caching.py)."""
        key = caching.key_for(
            "services-api", *caching.generations(caching.CATALOG), *caching.api_variant(request)
        )
        return Response(
            caching.cached(key, lambda: super(ServiceListView, self).list(request).data)
        )

    def get_queryset(self):
        params = self.request.query_params
        return catalog.search_services(
            **{
                key: params.get(key, "")[:100]
                for key in ("q", "department", "life_event", "audience", "channel")
            }
        )


class ServiceDetailView(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = ServiceDetailOutput
    lookup_field = "code"

    def retrieve(self, request, *args, **kwargs):
        key = caching.key_for(
            "service-api",
            *caching.generations(caching.CATALOG),
            *caching.api_variant(request),
            self.kwargs["code"],
        )
        return Response(
            caching.cached(key, lambda: super(ServiceDetailView, self).retrieve(request).data)
        )

    def get_object(self):
        item = catalog.service_for_guide(self.kwargs["code"])
        if item is None:
            raise NotFound()
        return item


class DepartmentListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = DepartmentOutput
    queryset = Department.objects.filter(is_active=True).select_related("parent").order_by("code")
