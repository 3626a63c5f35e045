"""API for staff: `work/queue/`, `work/cases/{number}/`, `claim/`, `transition/` (DESIGN "API")."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from services.calendar import CalendarYearMissing, working_days_between
from services.schema import answers

from . import keyset, selectors, workflow
from .api import AttachmentOutput
from .models import Case, Channel

PAGE_SIZE = 50


class QueueItemOutput(serializers.Serializer):
    number = serializers.CharField()
    service = serializers.CharField(source="service.code")
    service_name = serializers.CharField(source="service_version.name")
    state = serializers.CharField()
    stage = serializers.CharField(source="stage.code", allow_null=True)
    channel = serializers.CharField()
    applicant = serializers.CharField(source="applicant.real_name")
    received_at = serializers.DateTimeField()
    deadline = serializers.DateField()
    due_date_provisional = serializers.BooleanField()
    paused = serializers.SerializerMethodField()
    assignee = serializers.CharField(source="assignee.username", allow_null=True)

    def get_paused(self, case: Case) -> bool:
        return case.paused_since is not None


FILTERS = [
    OpenApiParameter("stage", str),
    OpenApiParameter("service", str),
    OpenApiParameter("channel", str, enum=["online", "counter", "api"]),
    OpenApiParameter("due", str, enum=["soon", "overdue", "paused"]),
    OpenApiParameter("mine", bool),
    OpenApiParameter("after", str, description="Cursor from the previous page's `next`"),
]


class QueueView(APIView):
    @extend_schema(parameters=FILTERS, responses=QueueItemOutput(many=True))
    def get(self, request):
        params = request.query_params
        cases = selectors.work_queue(
            request.user,
            stage=params.get("stage", ""),
            service=params.get("service", ""),
            channel=params.get("channel", ""),
            due=params.get("due", ""),
            mine=params.get("mine") in ("1", "true"),
        )
        rows, following = keyset.page_after(cases, params.get("after"), PAGE_SIZE)
        next_url = None
        if following:
            query = params.copy()
            query["after"] = following
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"next": next_url, "results": QueueItemOutput(rows, many=True).data})


def _case_or_404(request, number: str) -> Case:
    case = selectors.case_for_staff(request.user, number)
    if case is None:
        raise Http404
    return case


def work_case_data(case: Case, user) -> dict:
    today = timezone.localdate()
    remaining = None
    if case.due_date and case.paused_since is None:
        try:
            remaining = (
                working_days_between(today, case.due_date)
                if case.due_date >= today
                else -working_days_between(case.due_date, today)
            )
        except CalendarYearMissing:
            remaining = None
    return {
        "number": case.number,
        "service": case.service.code,
        "service_name": case.service_version.name,
        "service_version": case.service_version.number,
        "state": case.state,
        "stage": case.stage.code if case.stage_id else None,
        "channel": case.channel,
        "applicant": {
            "real_name": case.applicant.real_name,
            "id_number": case.applicant.masked_id_number,
            "organisation": case.organisation.name if case.organisation_id else None,
            "proxy": {
                "real_name": case.agent.real_name,
                "id_number": case.agent.masked_id_number,
                "relationship": case.authorisation.get_relationship_display(),
            }
            if case.agent_id
            else None,
        },
        "data": workflow.display_data(case),
        "answers": [
            {"label": a["label"], "value": a["value"], "rows": a["rows"]}
            for a in answers(case.service_version.form_schema, workflow.display_data(case))
        ],
        "attachments": AttachmentOutput(case.attachments.all(), many=True).data,
        "received_at": case.received_at,
        "intake_due_date": case.intake_due_date,
        "due_date": case.due_date,
        "due_date_provisional": case.due_date_provisional,
        "paused_since": case.paused_since,
        "remaining_working_days": remaining,
        "assignee": case.assignee.username if case.assignee_id else None,
        "row_version": case.row_version,
        "actions": [
            {
                "name": t.name,
                "label": t.localized_label,
                "opinion_required": t.opinion_required,
                "outcome": t.outcome,
            }
            for t in workflow.transitions_for(case, user)
        ],
        "timeline": selectors.staff_timeline(case),
    }


CASE_RESPONSE = extend_schema(
    responses={200: OpenApiTypes.OBJECT},
    description="The case as staff see it: form data, answers, attachments, deadlines, the trail, "
    "`row_version` (send it back as `expected_version`), and `actions`: the transitions this user "
    "may take now, each `{name, label, opinion_required}`. A stale or concurrent action gets 409.",
)


class WorkCaseView(APIView):
    @CASE_RESPONSE
    def get(self, request, number: str):
        return Response(work_case_data(_case_or_404(request, number), request.user))


class ClaimInput(serializers.Serializer):
    release = serializers.BooleanField(required=False, default=False)


class ClaimView(APIView):
    @extend_schema(request=ClaimInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, number: str):
        case = _case_or_404(request, number)
        data = ClaimInput(data=request.data)
        data.is_valid(raise_exception=True)
        workflow.claim_case(case=case, user=request.user, release=data.validated_data["release"])
        return Response(work_case_data(_case_or_404(request, number), request.user))


class TransitionInput(serializers.Serializer):
    transition = serializers.SlugField()
    opinion = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    expected_version = serializers.IntegerField(required=False)
    materials = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list
    )
    days = serializers.IntegerField(required=False, min_value=1)
    supervisor_reason = serializers.CharField(required=False, allow_blank=True, default="")


def take_action(*, case: Case, user, data: dict, channel: str) -> Case:
    """One place for pages and API: what an effect needs (the materials of a request for
    documents, an extension's days) travels in the details; the engine's effects read them."""
    details = {
        "materials": data.get("materials") or [],
        "supervisor_reason": data.get("supervisor_reason", ""),
    }
    if data.get("days"):
        details["days"] = data["days"]
    details = {key: value for key, value in details.items() if value}
    return workflow.apply_transition(
        case=case,
        name=data["transition"],
        actor=user,
        opinion=data.get("opinion", ""),
        expected_version=data.get("expected_version"),
        channel=channel,
        details=details,
    )


class TransitionView(APIView):
    @extend_schema(request=TransitionInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, number: str):
        case = _case_or_404(request, number)
        data = TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        take_action(case=case, user=request.user, data=data.validated_data, channel=Channel.API)
        return Response(work_case_data(_case_or_404(request, number), request.user))
