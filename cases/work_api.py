"""API for staff: `work/queue/`, `work/cases/{number}/` and what staff do to a case: claim, take over,
transition, consult another department, give a consulted opinion, repair (DESIGN "API")."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses
from services.calendar import CalendarYearMissing, working_days_between
from services.models import Outcome, WorkflowStage
from services.schema import answers

from . import access_log, decisions, documents, keyset, selectors, workflow
from .api import (
    AttachmentOutput,
    AutomaticApprovalOutput,
    DecisionOutput,
    OfficialDocumentOutput,
    date_out,
    datetime_out,
)
from .automation import services as automation
from .models import Case, Channel, Consultation
from .sharing import services as sharing
from .sharing.registry import SHARED_MATERIAL_OUTCOMES

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

    def to_representation(self, case: Case) -> dict:
        """The fields above, written out: a queue page is fifty rows, and DRF's field-by-field
        walk cost more than the query."""
        return {
            "number": case.number,
            "service": case.service.code,
            "service_name": case.service_version.name,
            "state": case.state,
            "stage": case.stage.code if case.stage_id else None,
            "channel": case.channel,
            "applicant": case.applicant.real_name,
            "received_at": datetime_out(case.received_at),
            "deadline": date_out(case.deadline),
            "due_date_provisional": bool(case.due_date_provisional),
            "paused": case.paused_since is not None,
            "assignee": case.assignee.username if case.assignee_id else None,
        }


# What a row of the queue reads, as plain values (fifty model instances a page, with four joined
# ones each, cost more than the query); `pk` and `queue_key` for the keyset cursor.
QUEUE_VALUES = (
    "pk", "queue_key", "number", "service__code", "service_version__name", "state", "stage__code",
    "channel", "applicant__real_name", "received_at", "deadline", "due_date_provisional",
    "paused_since", "assignee__username",
)  # fmt: skip


def queue_row(row: dict) -> dict:
    """QueueItemOutput of a case read as QUEUE_VALUES."""
    return {
        "number": row["number"],
        "service": row["service__code"],
        "service_name": row["service_version__name"],
        "state": row["state"],
        "stage": row["stage__code"],
        "channel": row["channel"],
        "applicant": row["applicant__real_name"],
        "received_at": datetime_out(row["received_at"]),
        "deadline": date_out(row["deadline"]),
        "due_date_provisional": bool(row["due_date_provisional"]),
        "paused": row["paused_since"] is not None,
        "assignee": row["assignee__username"],
    }


class QueuePageOutput(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = QueueItemOutput(many=True)


FILTERS = [
    OpenApiParameter("stage", str),
    OpenApiParameter("service", str),
    OpenApiParameter("channel", str, enum=["online", "counter", "api"]),
    OpenApiParameter("due", str, enum=["soon", "overdue", "paused"]),
    OpenApiParameter("mine", bool),
    OpenApiParameter("after", str, description="Cursor from the previous page's `next`"),
]


class QueueView(APIView):
    @extend_schema(parameters=FILTERS, responses={200: QueuePageOutput, **error_responses(403)})
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
        rows, following = keyset.page_after(
            cases.values(*QUEUE_VALUES), params.get("after"), PAGE_SIZE
        )
        next_url = None
        if following:
            query = params.copy()
            query["after"] = following
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"next": next_url, "results": [queue_row(row) for row in rows]})


def _case_or_404(request, number: str) -> Case:
    case = selectors.case_for_staff(request.user, number)
    if case is None:
        raise Http404
    return case


# --- The case as staff see it ------------------------------------------------------------------------


class ActionOutput(serializers.Serializer):
    name = serializers.CharField(help_text="The transition's name, as its workflow calls it.")
    label = serializers.CharField()
    opinion_required = serializers.BooleanField()
    outcome = serializers.ChoiceField(
        choices=Outcome.choices, help_text="What it means, whatever it is called."
    )


class ProxyOutput(serializers.Serializer):
    real_name = serializers.CharField()
    id_number = serializers.CharField(help_text="Masked.")
    relationship = serializers.CharField()


class ApplicantOutput(serializers.Serializer):
    real_name = serializers.CharField()
    id_number = serializers.CharField(help_text="Masked.")
    organisation = serializers.CharField(allow_null=True)
    proxy = ProxyOutput(allow_null=True)


class AnswerOutput(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.JSONField()
    rows = serializers.JSONField()


class StaffTimelineEntry(serializers.Serializer):
    sequence = serializers.IntegerField()
    action = serializers.CharField()
    outcome = serializers.CharField()
    label = serializers.CharField()
    actor = serializers.CharField()
    role = serializers.CharField()
    role_label = serializers.CharField()
    at = serializers.DateTimeField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    from_stage = serializers.CharField()
    to_stage = serializers.CharField()
    opinion = serializers.CharField()
    details = serializers.JSONField()


class ConsultationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    expert = serializers.CharField(source="expert.username")
    department = serializers.SerializerMethodField()
    question = serializers.CharField()
    opinion = serializers.CharField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)

    def get_department(self, consultation: Consultation) -> str | None:
        memberships = list(consultation.expert.memberships.all())  # prefetched with departments
        return memberships[0].department.name if memberships else None


class HolderOutput(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)


class ArticleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    citation = serializers.CharField(help_text="Law, article and text, as the decision prints it.")


class WorkHumanReviewOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="Decide it at work/human-reviews/{id}/decide/.")
    state = serializers.CharField()
    reason = serializers.CharField()
    requested_at = serializers.DateTimeField()


class SharedFieldOutput(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    value = serializers.CharField()


class SharedDataOutput(serializers.Serializer):
    material = serializers.IntegerField(help_text="The material's id.")
    material_name = serializers.CharField()
    registry = serializers.CharField(allow_null=True, help_text="The registry's code.")
    source = serializers.CharField(help_text="The registry's (or department's) name.")
    outcome = serializers.ChoiceField(choices=SHARED_MATERIAL_OUTCOMES)
    outcome_label = serializers.CharField()
    verified = serializers.BooleanField()
    label = serializers.CharField(help_text="已核验：来自 X，时间 Y, or why it is not verified.")
    fetched_at = serializers.DateTimeField(allow_null=True)
    as_of = serializers.DateTimeField(allow_null=True, help_text="The registry's data as of.")
    data = SharedFieldOutput(many=True, help_text="The snapshot received, in the asked order.")
    uploaded = serializers.BooleanField(help_text="The applicant uploaded a document for it.")


class WorkCaseOutput(serializers.Serializer):
    number = serializers.CharField()
    service = serializers.CharField()
    service_name = serializers.CharField()
    service_version = serializers.IntegerField()
    state = serializers.CharField()
    stage = serializers.CharField(allow_null=True)
    acting_department = serializers.CharField(allow_null=True)
    channel = serializers.CharField()
    applicant = ApplicantOutput()
    data = serializers.JSONField()
    answers = AnswerOutput(many=True)
    attachments = AttachmentOutput(many=True)
    shared_data = SharedDataOutput(
        many=True, help_text="Materials shared by other departments' registries (数据共享)."
    )
    received_at = serializers.DateTimeField(allow_null=True)
    intake_due_date = serializers.DateField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    due_date_provisional = serializers.BooleanField()
    paused_since = serializers.DateField(allow_null=True)
    remaining_working_days = serializers.IntegerField(allow_null=True)
    assignee = serializers.CharField(allow_null=True, help_text="Username of the holder.")
    holder = HolderOutput(allow_null=True)
    may_take_over = serializers.BooleanField()
    may_consult = serializers.BooleanField()
    may_repair = serializers.BooleanField()
    consulted = serializers.BooleanField(help_text="You are asked for an opinion on this case.")
    consultations = ConsultationOutput(many=True)
    row_version = serializers.IntegerField(help_text="Send it back as `expected_version`.")
    actions = ActionOutput(many=True)
    articles = ArticleOutput(
        many=True, help_text="What a decision may apply: send one's id as `legal_basis`."
    )
    decision = DecisionOutput(allow_null=True)
    automatic_approval = AutomaticApprovalOutput(
        allow_null=True,
        help_text="秒批: the rules checked at submission; `failed` when it went to you.",
    )
    human_review = WorkHumanReviewOutput(
        allow_null=True, help_text="The applicant asked a person to review the automated decision."
    )
    documents = OfficialDocumentOutput(many=True)
    timeline = StaffTimelineEntry(many=True)


def _remaining(case: Case) -> int | None:
    today = timezone.localdate()
    if not case.due_date or case.paused_since is not None:
        return None
    try:
        if case.due_date >= today:
            return working_days_between(today, case.due_date)
        return -working_days_between(case.due_date, today)
    except CalendarYearMissing:
        return None


def work_case_data(case: Case, user, request=None, roles: set[str] | None = None) -> dict:
    """`roles`: workflow.roles_for(case, user), when the caller has them already."""
    if roles is None:
        roles = workflow.roles_for(case, user)
    shown = workflow.display_data(case)
    actions = workflow.transitions_for(case, user, roles=roles)
    roles = roles - {"applicant"}
    holder = case.assignee if case.assignee_id else None
    consultations = list(
        case.consultations.select_related("expert")
        .prefetch_related("expert__memberships__department")
        .order_by("created_at", "pk")
    )
    return {
        "number": case.number,
        "service": case.service.code,
        "service_name": case.service_version.name,
        "service_version": case.service_version.number,
        "state": case.state,
        "stage": case.stage.code if case.stage_id else None,
        "acting_department": case.acting_department.name if case.acting_department_id else None,
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
        "data": shown,
        "answers": [
            {"label": a["label"], "value": a["value"], "rows": a["rows"]}
            for a in answers(case.service_version.form_schema, shown)
        ],
        "attachments": list(case.attachments.all()),
        "shared_data": sharing.staff_view(case),
        "received_at": case.received_at,
        "intake_due_date": case.intake_due_date,
        "due_date": case.due_date,
        "due_date_provisional": case.due_date_provisional,
        "paused_since": case.paused_since,
        "remaining_working_days": _remaining(case),
        "assignee": holder.username if holder else None,
        "holder": {
            "username": holder.username,
            "name": holder.get_full_name() or holder.username,
            "since": case.claimed_at,
        }
        if holder
        else None,
        "may_take_over": bool(holder and holder.pk != user.pk and roles and case.is_open),
        "may_consult": bool(roles and case.is_open),
        "may_repair": case.is_open and workflow.may_repair(user, case),
        # access.is_consulted, read off the list
        "consulted": any(
            c.expert_id == user.pk and c.state == Consultation.State.OPEN for c in consultations
        ),
        "consultations": consultations,
        "row_version": case.row_version,
        "actions": [
            {
                "name": t.name,
                "label": t.localized_label,
                "opinion_required": t.opinion_required,
                "outcome": t.outcome,
            }
            for t in actions
        ],
        "articles": [
            {"id": article.pk, "citation": article.citation()}
            for article in decisions.articles_for(case)
        ],
        "decision": decisions.as_data(decisions.decision_of(case)),
        "automatic_approval": automation.check_as_data(case),
        "human_review": case.human_reviews.order_by("-pk").first(),
        "documents": documents.listing(case, request, api=True, staff=True) if request else [],
        "timeline": selectors.staff_timeline(case),
    }


class MovedOnOutput(serializers.Serializer):
    number = serializers.CharField()
    state = serializers.CharField()
    stage = serializers.CharField(allow_null=True)
    visible = serializers.BooleanField(help_text="Always false: the case left your work.")


def _answer(request, number: str, acted: Case | None = None) -> Response:
    """The case as the user now sees it; after a step that took it to another department's
    stage (or ended a consultation), just where it went: the step was done, nothing is hidden."""
    case = selectors.case_for_staff(request.user, number)
    if case is None:
        if acted is None:
            raise Http404
        acted.refresh_from_db(fields=["state", "stage"])
        return Response(
            {"number": acted.number, "state": acted.state,
             "stage": acted.stage.code if acted.stage_id else None, "visible": False}
        )  # fmt: skip
    return Response(WorkCaseOutput(work_case_data(case, request.user, request)).data)


CASE_RESPONSES = {
    200: PolymorphicProxySerializer(
        component_name="WorkCaseOrMovedOn",
        serializers=[WorkCaseOutput, MovedOnOutput],
        resource_type_field_name=None,
    ),
    **error_responses(400, 403, 404, 409),
}


class WorkCaseView(APIView):
    @extend_schema(
        responses={200: WorkCaseOutput, **error_responses(403, 404)},
        description="The case as staff see it: form data, answers, attachments, deadlines, the "
        "trail, who holds it, `row_version` (send it back as `expected_version`), and `actions`: "
        "the transitions this user may take now, each `{name, label, opinion_required, outcome}`.",
    )
    def get(self, request, number: str):
        case = selectors.case_for_staff(request.user, number)
        if case is None:
            raise Http404
        roles = workflow.roles_for(case, request.user)
        access_log.staff_saw(
            request.user, case, action=access_log.Action.VIEWED, roles=roles - {"applicant"}
        )
        return Response(WorkCaseOutput(work_case_data(case, request.user, request, roles)).data)


class RevealInput(serializers.Serializer):
    field = serializers.ChoiceField(choices=access_log.REVEALABLE)
    reason = serializers.CharField(max_length=200, help_text="Why; the citizen reads it.")


class RevealOutput(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField()


class RevealView(APIView):
    @extend_schema(
        request=RevealInput,
        responses={200: RevealOutput, **error_responses(400, 403, 404)},
        description="查看完整号码: the applicant's full ID number or phone, for staff who work the "
        "case, with the reason; written into the access log the citizen reads before it is shown.",
    )
    def post(self, request, number: str):
        case = _case_or_404(request, number)
        data = RevealInput(data=request.data)
        data.is_valid(raise_exception=True)
        value = access_log.reveal(request.user, case, **data.validated_data)
        response = Response({"field": data.validated_data["field"], "value": value})
        response["Cache-Control"] = "no-store"
        return response


class ClaimInput(serializers.Serializer):
    release = serializers.BooleanField(required=False, default=False)


class ClaimView(APIView):
    @extend_schema(
        request=ClaimInput,
        responses=CASE_RESPONSES,
        description="Claim the case for its current stage (or `release` it). Claiming what you "
        "hold already changes nothing; a case someone else holds answers 409 `claimed`.",
    )
    def post(self, request, number: str):
        case = _case_or_404(request, number)
        data = ClaimInput(data=request.data)
        data.is_valid(raise_exception=True)
        workflow.claim_case(case=case, user=request.user, release=data.validated_data["release"])
        return _answer(request, number, case)


class TakeOverInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class TakeOverView(APIView):
    @extend_schema(
        request=TakeOverInput,
        responses=CASE_RESPONSES,
        description="Take over a case a colleague holds, with a reason (recorded in the trail).",
    )
    def post(self, request, number: str):
        case = _case_or_404(request, number)
        data = TakeOverInput(data=request.data)
        data.is_valid(raise_exception=True)
        workflow.take_over_case(case=case, user=request.user, reason=data.validated_data["reason"])
        return _answer(request, number, case)


class TransitionInput(serializers.Serializer):
    transition = serializers.SlugField(help_text="An action's `name`.")
    opinion = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    expected_version = serializers.IntegerField(required=False)
    materials = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        help_text="A request for documents: every material missing, in one notice.",
    )
    days = serializers.IntegerField(required=False, min_value=1, help_text="An extension.")
    supervisor_reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="A second request for documents."
    )
    legal_basis = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="A decision: the id of the article of law it applies, one of the case's "
        "`articles` (required when the service has articles).",
    )


def take_action(*, case: Case, user, data: dict, channel: str) -> Case:
    """One place for pages and API: what an effect needs (the materials of a request for
    documents, an extension's days) travels in the details; the engine's effects read them."""
    details = {
        "materials": data.get("materials") or [],
        "supervisor_reason": data.get("supervisor_reason", ""),
        "legal_basis": data.get("legal_basis"),
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
    @extend_schema(
        request=TransitionInput,
        responses=CASE_RESPONSES,
        description="Take one of the case's `actions`. A stale `expected_version`, a transition "
        "not possible now or a case someone else holds answers 409; a missing opinion or what "
        "the step needs (materials, days) 400.",
    )
    def post(self, request, number: str):
        case = _case_or_404(request, number)
        data = TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        take_action(case=case, user=request.user, data=data.validated_data, channel=Channel.API)
        return _answer(request, number, case)


class ConsultInput(serializers.Serializer):
    expert = serializers.CharField(help_text="Username of the member of staff asked.")
    question = serializers.CharField(max_length=4000)


class ConsultView(APIView):
    @extend_schema(
        request=ConsultInput,
        responses=CASE_RESPONSES,
        description="Ask a member of another department for an opinion on this case (征求意见): "
        "they see this case only, until they answer or the request is withdrawn.",
    )
    def post(self, request, number: str):
        case = _case_or_404(request, number)
        data = ConsultInput(data=request.data)
        data.is_valid(raise_exception=True)
        expert = get_user_model().objects.filter(username=data.validated_data["expert"]).first()
        if expert is None:
            raise serializers.ValidationError(
                {"expert": [_("No member of staff has this username.")]}
            )
        workflow.consult(
            case=case, actor=request.user, expert=expert, question=data.validated_data["question"]
        )
        return _answer(request, number, case)


class OpinionInput(serializers.Serializer):
    opinion = serializers.CharField(max_length=4000)


class OpinionView(APIView):
    @extend_schema(
        request=OpinionInput,
        responses=CASE_RESPONSES,
        description="The consulted expert gives their opinion; it lands in the trail and their "
        "access to the case ends (404 afterwards).",
    )
    def post(self, request, number: str):
        case = _case_or_404(request, number)
        data = OpinionInput(data=request.data)
        data.is_valid(raise_exception=True)
        workflow.give_opinion(
            case=case, expert=request.user, opinion=data.validated_data["opinion"]
        )
        return _answer(request, number, case)


class RepairInput(serializers.Serializer):
    stage = serializers.SlugField(help_text="Code of a stage of the case's own workflow.")
    reason = serializers.CharField(max_length=2000)


class RepairView(APIView):
    @extend_schema(
        request=RepairInput,
        responses=CASE_RESPONSES,
        description="A department admin moves a stranded case to a stage of its own workflow, "
        "with a reason (in the trail).",
    )
    def post(self, request, number: str):
        case = _case_or_404(request, number)
        if not workflow.may_repair(request.user, case):
            raise PermissionDenied(_("You may not do this for this application."))
        data = RepairInput(data=request.data)
        data.is_valid(raise_exception=True)
        stage = WorkflowStage.objects.filter(
            definition_id=case.stage.definition_id, code=data.validated_data["stage"]
        ).first()
        if stage is None:
            raise serializers.ValidationError(
                {"stage": [_("The case's workflow has no such stage.")]}
            )
        workflow.repair_case(
            case=case, actor=request.user, stage=stage, reason=data.validated_data["reason"]
        )
        return _answer(request, number, case)


class WorkDocumentPdfView(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes, **error_responses(404)})
    def get(self, request, number: str, document_id: int):
        """An official document of a case you work on, the same sealed PDF the applicant has."""
        case = selectors.case_for_staff(request.user, number)
        document = documents.documents_of(case).filter(pk=document_id).first() if case else None
        if document is None:
            raise Http404
        access_log.staff_saw(
            request.user, case, action=access_log.Action.DOCUMENT, field=document.kind
        )
        return documents.pdf_response(document=document)
