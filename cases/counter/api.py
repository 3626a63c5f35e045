"""API for counter clerks: `counter/citizens/lookup/`, `counter/applications/` and
`counter/bundle-applications/` (DESIGN "API")."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ProxyAuthorisation
from accounts.services import find_citizen_by_id_number
from accounts.validators import validate_id_number
from portal.api import error_responses
from services import bundles as definitions
from services import catalog

from .. import access_log
from ..api import ActedOutput
from ..bundles.api import BundleApplicationOutput
from ..sharing import services as sharing
from . import services as counter


class LookupInput(serializers.Serializer):
    id_number = serializers.CharField(max_length=20)

    def validate_id_number(self, value: str) -> str:
        """A mistyped number is refused with what is wrong in it (a 400), not looked up."""
        validate_id_number(value)
        return value


class CitizenOutput(serializers.Serializer):
    real_name = serializers.CharField()
    id_number = serializers.CharField(source="masked_id_number")
    phone = serializers.CharField(source="masked_phone")
    has_account = serializers.SerializerMethodField()

    def get_has_account(self, profile) -> bool:
        return profile.user_id is not None


def _clerk_only(request) -> None:
    if not counter.is_counter_clerk(request.user):
        raise PermissionDenied("Only counter clerks use the counter.")


class LookupView(APIView):
    """Exact lookup by ID number (keyed hash): never a partial match, never the full number back.
    A number that is no valid ID number is refused (400) with the message that says what is wrong."""

    @extend_schema(request=LookupInput, responses={200: CitizenOutput})
    def post(self, request):
        _clerk_only(request)
        data = LookupInput(data=request.data)
        data.is_valid(raise_exception=True)
        profile = find_citizen_by_id_number(data.validated_data["id_number"])
        if profile is None:
            return Response({"found": False, "citizen": None})
        access_log.clerk_looked_up(request.user, profile)
        return Response({"found": True, "citizen": CitizenOutput(profile).data})


class CitizenInput(serializers.Serializer):
    id_number = serializers.CharField(max_length=20)
    real_name = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class AgentInput(CitizenInput):
    """Someone applying for the citizen (帮办代办)."""

    relationship = serializers.ChoiceField(choices=ProxyAuthorisation.Relationship.choices)
    letter_checked = serializers.BooleanField(
        default=False,
        help_text="The clerk checked the signed authorisation letter; not needed when the agent "
        "already holds a current authorisation",
    )
    valid_until = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Default: today only"
    )


class CounterApplicationInput(serializers.Serializer):
    citizen = CitizenInput()
    agent = AgentInput(required=False, allow_null=True, default=None)
    service = serializers.CharField()
    data = serializers.JSONField(required=False, default=dict)
    materials_received = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list
    )
    accept = serializers.BooleanField(required=False, default=False)
    commitment_signed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The citizen read and signed the service's commitment (告知承诺) at the desk",
    )
    queue_ticket = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=20
    )


class CounterApplicationView(APIView):
    @extend_schema(request=CounterApplicationInput, responses={201: ActedOutput})
    def post(self, request):
        _clerk_only(request)
        data = CounterApplicationInput(data=request.data)
        data.is_valid(raise_exception=True)
        service = catalog.service_to_apply_for(data.validated_data["service"])
        case = counter.file_counter_application(
            clerk=request.user,
            citizen=data.validated_data["citizen"],
            service=service,
            data=data.validated_data["data"],
            materials_received=data.validated_data["materials_received"],
            accept=data.validated_data["accept"],
            commitment_signed=data.validated_data["commitment_signed"],
            queue_ticket=data.validated_data["queue_ticket"],
            agent=data.validated_data["agent"],
        )
        return Response(ActedOutput(case).data, status=status.HTTP_201_CREATED)


class CounterBundleInput(serializers.Serializer):
    """A bundle (一件事) filed at the counter: as `counter/applications/`, with the bundle's code and
    its combined answers (`bundles/{code}/` form_schema); `materials_received` takes the ids of
    `bundles/{code}/` materials, one tick serving every member that asks for the material."""

    citizen = CitizenInput()
    agent = AgentInput(required=False, allow_null=True, default=None)
    bundle = serializers.CharField(help_text="Bundle code")
    data = serializers.JSONField(
        required=False,
        default=dict,
        help_text="Answers to the bundle's form_schema: shared fields at the top, each member's "
        "own under its key.",
    )
    materials_received = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list
    )
    accept = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Accept on the spot the member cases of departments where the clerk may",
    )
    queue_ticket = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=20
    )


class CounterSharedDataOutput(serializers.Serializer):
    case = serializers.CharField(help_text="The member case's number")
    material = serializers.IntegerField()
    material_name = serializers.CharField()
    registry = serializers.CharField(allow_null=True)
    source = serializers.CharField()
    outcome = serializers.CharField(
        help_text="found, not_found, unavailable (the registry was down), refused, no_registry"
    )
    verified = serializers.BooleanField()
    label = serializers.CharField()
    uploaded = serializers.BooleanField()


class CounterBundleOutput(BundleApplicationOutput):
    shared_data = serializers.SerializerMethodField(
        help_text="What each member case's registries gave at filing; a material not verified "
        "may be taken on paper and scanned instead."
    )

    @extend_schema_field(CounterSharedDataOutput(many=True))
    def get_shared_data(self, application) -> list[dict]:
        rows = []
        for link in application.member_cases.all():
            if link.case is not None:
                rows += [{**row, "case": link.case.number} for row in sharing.staff_view(link.case)]
        return CounterSharedDataOutput(rows, many=True).data


class CounterBundleView(APIView):
    @extend_schema(
        request=CounterBundleInput,
        responses={201: CounterBundleOutput, **error_responses(400, 403)},
    )
    def post(self, request):
        """File a bundle for a walk-in citizen: one case per member in its own department."""
        _clerk_only(request)
        data = CounterBundleInput(data=request.data)
        data.is_valid(raise_exception=True)
        application = counter.file_counter_bundle(
            clerk=request.user,
            citizen=data.validated_data["citizen"],
            bundle=definitions.bundle_to_apply_for(data.validated_data["bundle"]),
            data=data.validated_data["data"],
            materials_received=data.validated_data["materials_received"],
            accept=data.validated_data["accept"],
            queue_ticket=data.validated_data["queue_ticket"],
            agent=data.validated_data["agent"],
        )
        application = (
            type(application)
            .objects.select_related("bundle")
            .prefetch_related(
                "attachments",
                "member_cases__service__department",
                "member_cases__service__current_version",
                "member_cases__case__service_version",
                "member_cases__member__waits__waits_for__service",
            )
            .get(pk=application.pk)
        )
        return Response(CounterBundleOutput(application).data, status=status.HTTP_201_CREATED)
