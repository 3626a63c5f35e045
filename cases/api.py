"""API for applicants: `applications/...` (DESIGN "API")."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import proxies
from portal.api import error_responses
from portal.parsers import JSONParser
from services import catalog

from . import decisions, documents, receipts, selectors, workflow
from .automation import services as automation
from .models import Case, Channel, OfficialDocument
from .sharing.registry import SHARED_MATERIAL_OUTCOMES


class TimelineEntry(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    at = serializers.DateTimeField()
    state = serializers.CharField()
    opinion = serializers.CharField()


class AttachmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    material = serializers.IntegerField(source="material_id")
    file_name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField()


class CaseBundleOutput(serializers.Serializer):
    number = serializers.CharField(help_text="See bundle-applications/{number}/.")
    bundle = serializers.CharField()
    bundle_name = serializers.CharField()


_DATETIME = serializers.DateTimeField()


def datetime_out(value) -> str | None:
    """What serializers.DateTimeField writes (the current time zone, "Z" for UTC)."""
    return None if value is None else _DATETIME.to_representation(value)


def date_out(value) -> str | None:
    return None if value is None else value.isoformat()


def bundle_of(case: Case) -> dict | None:
    """The bundle application (一件事) a case was filed for, if any."""
    try:
        application = case.bundle_link.application
    except Case.bundle_link.RelatedObjectDoesNotExist:
        return None
    return {
        "number": application.number,
        "bundle": application.bundle.code,
        "bundle_name": application.bundle.name,
    }


class CaseSummaryOutput(serializers.Serializer):
    number = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    service = serializers.CharField(source="service.code")
    service_name = serializers.CharField(source="service_version.name")
    channel = serializers.CharField()
    created_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    intake_due_date = serializers.DateField()
    due_date = serializers.DateField()
    due_date_provisional = serializers.BooleanField()
    bundle = serializers.SerializerMethodField(
        help_text="The bundle application (一件事) this case is a member of, or null."
    )

    @extend_schema_field(CaseBundleOutput(allow_null=True))
    def get_bundle(self, case: Case) -> dict | None:
        return bundle_of(case)

    def to_representation(self, case: Case) -> dict:
        """The fields above, written out: a list page serialises twenty of these per request,
        and DRF's field-by-field walk cost more than the rest of the request. Subclasses (the
        detail, created and acted answers) add fields and keep DRF's walk."""
        if type(self) is not CaseSummaryOutput:
            return super().to_representation(case)
        return {
            "number": case.number,
            "state": case.state,
            "state_label": str(case.get_state_display()),
            "service": case.service.code,
            "service_name": case.service_version.name,
            "channel": case.channel,
            "created_at": datetime_out(case.created_at),
            "received_at": datetime_out(case.received_at),
            "intake_due_date": date_out(case.intake_due_date),
            "due_date": date_out(case.due_date),
            "due_date_provisional": bool(case.due_date_provisional),
            "bundle": bundle_of(case),
        }


_STATE_LABELS: dict[str, dict[str, str]] = {}


def state_labels() -> dict[str, str]:
    """Each case state's label (`get_state_display`) in the active language, looked up once per
    language and process: the choices are code, not data."""
    language = get_language() or ""
    labels = _STATE_LABELS.get(language)
    if labels is None:
        choices = Case._meta.get_field("state").flatchoices
        labels = _STATE_LABELS[language] = {value: str(label) for value, label in choices}
    return labels


# What a row of "my applications" reads, as plain values (no model instances: at twenty rows a
# page, building them cost more than the query).
SUMMARY_VALUES = (
    "number", "state", "service__code", "service_version__name", "channel", "created_at",
    "received_at", "intake_due_date", "due_date", "due_date_provisional",
    "bundle_link__application__number", "bundle_link__application__bundle__code",
    "bundle_link__application__bundle__name",
)  # fmt: skip


def summary_row(row: dict, labels: dict[str, str]) -> dict:
    """CaseSummaryOutput of a case read as SUMMARY_VALUES (`labels`: state_labels())."""
    number = row["bundle_link__application__number"]
    return {
        "number": row["number"],
        "state": row["state"],
        "state_label": labels.get(row["state"], row["state"]),
        "service": row["service__code"],
        "service_name": row["service_version__name"],
        "channel": row["channel"],
        "created_at": datetime_out(row["created_at"]),
        "received_at": datetime_out(row["received_at"]),
        "intake_due_date": date_out(row["intake_due_date"]),
        "due_date": date_out(row["due_date"]),
        "due_date_provisional": bool(row["due_date_provisional"]),
        "bundle": None
        if number is None
        else {
            "number": number,
            "bundle": row["bundle_link__application__bundle__code"],
            "bundle_name": row["bundle_link__application__bundle__name"],
        },
    }


class RightsOutput(serializers.Serializer):
    review_body = serializers.CharField(help_text="Where to apply for administrative review.")
    review_days = serializers.IntegerField(help_text="Days from receiving the decision (60).")
    court = serializers.CharField(help_text="Where to bring an administrative lawsuit.")
    litigation_months = serializers.IntegerField(help_text="Months to bring the lawsuit (6).")
    text = serializers.CharField(help_text="The same as one sentence, as the documents say it.")


class DecisionOutput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["approved", "rejected", "not_accepted"])
    outcome_label = serializers.CharField()
    decided_at = serializers.DateTimeField()
    decided_by = serializers.CharField(help_text="The decider's role; empty when automated.")
    department = serializers.CharField()
    reason = serializers.CharField()
    legal_basis = serializers.CharField(help_text="The article the decider applied, with its text.")
    article = serializers.IntegerField(allow_null=True)
    effective_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    automated = serializers.BooleanField()
    rights = RightsOutput(allow_null=True)


class AutoRuleOutput(serializers.Serializer):
    label = serializers.CharField()
    fact = serializers.CharField(help_text="The fact the rule reads, e.g. `applicant.age`.")
    held = serializers.BooleanField()
    why = serializers.CharField(help_text="Why it did not hold; empty when it held.")


class AutomaticApprovalOutput(serializers.Serializer):
    """秒批: the service's rules checked at submission, and their results."""

    approved = serializers.BooleanField(help_text="Every rule held: the system approved it.")
    checked_at = serializers.DateTimeField()
    sampled = serializers.BooleanField(help_text="Drawn for the post-check (事后核查).")
    rules = AutoRuleOutput(many=True)
    failed = serializers.ListField(
        child=serializers.CharField(), help_text="The rules that failed."
    )


class HumanReviewStateOutput(serializers.Serializer):
    """The right to a human review of an automated decision (PIPL art. 24)."""

    state = serializers.ChoiceField(
        choices=["", "open", "decided"], help_text="Empty: not asked for (yet)."
    )
    state_label = serializers.CharField()
    may_ask = serializers.BooleanField(help_text="POST human-review/ is open now.")
    until = serializers.DateField(allow_null=True, help_text="The last day to ask.")
    requested_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)


class SharedMaterialOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The material's id, for attachments/.")
    name = serializers.CharField()
    outcome = serializers.ChoiceField(
        choices=SHARED_MATERIAL_OUTCOMES,
        help_text="pending: fetched at submission; found: verified from the registry; "
        "no_registry: the department shares it through no registry configured here.",
    )
    verified = serializers.BooleanField()
    may_upload = serializers.BooleanField(
        help_text="It could not be fetched: upload the document to attachments/ instead."
    )
    uploaded = serializers.BooleanField()
    message = serializers.CharField(help_text="What to tell the applicant; empty when verified.")


def shared_materials_data(case: Case) -> list[dict]:
    from .sharing.services import shared_materials

    return SharedMaterialOutput(
        [
            {"id": s.material.pk, "name": s.material.name, "outcome": s.outcome,
             "verified": s.verified, "may_upload": s.may_upload, "uploaded": s.uploaded,
             "message": s.message}
            for s in shared_materials(case)
        ],
        many=True,
    ).data  # fmt: skip


class CaseDetailOutput(CaseSummaryOutput):
    service_version = serializers.IntegerField(source="service_version.number")
    data = serializers.SerializerMethodField(
        help_text="The answers; for a proxy, the applicant's ID number and phone masked."
    )
    decision_reason = serializers.CharField()
    attachments = AttachmentOutput(many=True)
    missing_materials = serializers.SerializerMethodField()
    owed_materials = serializers.SerializerMethodField(
        help_text="Materials accepted to follow (容缺): upload them to attachments/ by "
        "materials_owed_by; the approval waits for them."
    )
    materials_owed_by = serializers.DateField()
    shared_materials = serializers.SerializerMethodField(
        help_text="Materials other departments share (数据共享), fetched at submission; one that "
        "could not be fetched may be uploaded instead."
    )
    commitment_signed_at = serializers.DateTimeField()
    timeline = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()
    automatic_approval = serializers.SerializerMethodField()
    human_review = serializers.SerializerMethodField()
    row_version = serializers.IntegerField()

    @extend_schema_field(AutomaticApprovalOutput(allow_null=True))
    def get_automatic_approval(self, case: Case) -> dict | None:
        data = automation.check_as_data(case)
        return AutomaticApprovalOutput(data).data if data else None

    @extend_schema_field(HumanReviewStateOutput(allow_null=True))
    def get_human_review(self, case: Case) -> dict | None:
        data = automation.review_state(case)
        return HumanReviewStateOutput(data).data if data else None

    def get_timeline(self, case: Case) -> list[dict]:
        return TimelineEntry(selectors.timeline(case), many=True).data

    @extend_schema_field(serializers.JSONField())
    def get_data(self, case: Case) -> dict:
        user = self.context.get("user")
        if user is not None and case.applicant.user_id != user.pk:  # a proxy: never in full
            return workflow.display_data(case)
        return case.data

    @extend_schema_field(DecisionOutput(allow_null=True))
    def get_decision(self, case: Case) -> dict | None:
        data = decisions.as_data(decisions.decision_of(case))
        return DecisionOutput(data).data if data else None

    def get_missing_materials(self, case: Case) -> list[dict]:
        if not case.is_draft:
            return []
        return [{"id": m.pk, "name": m.name} for m in workflow.missing_materials(case)]

    def get_owed_materials(self, case: Case) -> list[dict]:
        return [{"id": m.pk, "name": m.name} for m in workflow.owed_materials(case)]

    @extend_schema_field(SharedMaterialOutput(many=True))
    def get_shared_materials(self, case: Case) -> list[dict]:
        return shared_materials_data(case)


def _detail(case: Case, request) -> dict:
    case = selectors.application_for_applicant(request.user, case.number)
    return CaseDetailOutput(case, context={"user": request.user}).data


class CreatedOutput(CaseSummaryOutput):
    data = serializers.JSONField()
    row_version = serializers.IntegerField()
    missing_materials = serializers.SerializerMethodField()

    def get_missing_materials(self, case: Case) -> list[dict]:
        return [{"id": m.pk, "name": m.name} for m in workflow.missing_materials(case)]


class ActedOutput(CaseSummaryOutput):
    """What an action answers: the case's new state and dates (GET the case for its timeline)."""

    row_version = serializers.IntegerField()
    decision_reason = serializers.CharField()
    shared_materials = serializers.SerializerMethodField(
        help_text="After submitting: materials other departments share (数据共享); one that could "
        "not be fetched has `may_upload` and a `message`: upload it to attachments/ instead."
    )

    @extend_schema_field(SharedMaterialOutput(many=True))
    def get_shared_materials(self, case: Case) -> list[dict]:
        return shared_materials_data(case)


class CreateInput(serializers.Serializer):
    service = serializers.CharField(help_text="Service code")
    data = serializers.JSONField(required=False, default=dict)
    agent_for = serializers.IntegerField(
        required=False, help_text="Organisation id, when applying as its agent"
    )
    on_behalf_of = serializers.IntegerField(
        required=False,
        help_text="Id of an authorisation (委托) you hold, when applying for another person",
    )


def _case_or_404(request, number: str) -> Case:
    case = selectors.application_for_applicant(request.user, number)
    if case is None:
        raise Http404
    return case


def _ref_or_404(request, number: str) -> Case:
    case = selectors.application_ref(request.user, number)
    if case is None:
        raise Http404
    return case


IDEMPOTENCY_KEY = re.compile(
    r"[\x21-\x7e]{1,100}"
)  # printable ASCII, as Case.idempotency_key keeps


def _idempotency_key(request) -> str | None:
    """The `Idempotency-Key` header (at most 100 printable characters), or None when not sent."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationError(
            {
                "Idempotency-Key": _(
                    "An Idempotency-Key has 1 to 100 printable ASCII characters and no spaces."
                )
            }
        )
    return key


def _held_authorisation(request, authorisation_id):
    if authorisation_id is None:
        return None
    return proxies.authorisation_for(request.user, authorisation_id)


class ApplicationListCreateView(ListAPIView):
    serializer_class = CaseSummaryOutput

    def get_queryset(self):
        return selectors.my_applications(self.request.user)

    def list(self, request, *args, **kwargs):
        """The page read as plain values and written by summary_row: the same answer as
        CaseSummaryOutput gives for the cases."""
        page = self.paginate_queryset(self.get_queryset().values(*SUMMARY_VALUES))
        labels = state_labels()
        return self.get_paginated_response([summary_row(row, labels) for row in page])

    @extend_schema(
        request=CreateInput,
        responses={201: CreatedOutput},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="1 to 100 printable ASCII characters: a repeat returns the same case.",
                pattern=r"^[\x21-\x7e]{1,100}$",
            )
        ],
    )
    def post(self, request):
        data = CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        service = catalog.service_to_apply_for(data.validated_data["service"])
        case, _created = workflow.create_draft(
            service=service,
            user=request.user,
            data=data.validated_data["data"],
            channel=Channel.API,
            idempotency_key=_idempotency_key(request),
            organisation_id=data.validated_data.get("agent_for"),
            authorisation=_held_authorisation(request, data.validated_data.get("on_behalf_of")),
        )
        return Response(CreatedOutput(case).data, status=status.HTTP_201_CREATED)


class ApplicationDetailView(APIView):
    @extend_schema(responses=CaseDetailOutput)
    def get(self, request, number: str):
        case = _case_or_404(request, number)
        return Response(CaseDetailOutput(case, context={"user": request.user}).data)

    @extend_schema(
        request=CreateInput, responses=CaseDetailOutput, operation_id="applications_update"
    )
    def patch(self, request, number: str):
        case = _ref_or_404(request, number)
        if not isinstance(request.data.get("data"), dict):
            raise ValidationError({"data": ["Send the form data as a JSON object."]})
        workflow.update_draft(case=case, user=request.user, data=request.data["data"])
        return Response(_detail(case, request))


class AttachmentInput(serializers.Serializer):
    material = serializers.IntegerField()
    file = serializers.FileField(required=False)
    document = serializers.IntegerField(
        required=False, help_text="Id of a document already on file, instead of a file"
    )

    def validate(self, attrs):
        if not attrs.get("file") and not attrs.get("document"):
            raise serializers.ValidationError(
                {"file": ["Upload a file or pick a document on file."]}
            )
        return attrs


class AttachmentCreateView(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": AttachmentInput}, responses={201: AttachmentOutput}
    )
    def post(self, request, number: str):
        case = _ref_or_404(request, number)
        data = AttachmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data.get("file"):
            attachment = workflow.add_attachment(
                case=case,
                material_id=data.validated_data["material"],
                upload=data.validated_data["file"],
                user=request.user,
            )
        else:
            attachment = workflow.reuse_document(
                case=case,
                material_id=data.validated_data["material"],
                attachment_id=data.validated_data["document"],
                user=request.user,
            )
        return Response(AttachmentOutput(attachment).data, status=status.HTTP_201_CREATED)


class SubmitView(APIView):
    @extend_schema(request=None, responses=ActedOutput)
    def post(self, request, number: str):
        case = _ref_or_404(request, number)
        case = workflow.submit_application(case=case, user=request.user, channel=Channel.API)
        return Response(ActedOutput(case).data)


class CommitmentInput(serializers.Serializer):
    signed = serializers.BooleanField(
        help_text="true: the applicant signs the service's commitment_text (告知承诺); false: "
        "takes it back. Before submitting only."
    )


class CommitmentView(APIView):
    """Sign the service's commitment (告知承诺): the materials it covers are no longer asked."""

    @extend_schema(request=CommitmentInput, responses=ActedOutput)
    def post(self, request, number: str):
        case = _ref_or_404(request, number)
        data = CommitmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        case = workflow.sign_commitment(
            case=case, user=request.user, signed=data.validated_data["signed"]
        )
        return Response(ActedOutput(case).data)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class WithdrawView(APIView):
    @extend_schema(request=ReasonInput, responses=ActedOutput)
    def post(self, request, number: str):
        case = _ref_or_404(request, number)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        case = workflow.withdraw_case(
            case=case, user=request.user, reason=data.validated_data["reason"], channel=Channel.API
        )
        return Response(ActedOutput(case).data)


class HumanReviewView(APIView):
    """Ask for a person to review the automated decision (秒批, PIPL art. 24), with a reason,
    within AUTO_DECISION_REVIEW_DAYS of it: a caseworker of the department decides again, and
    their decision replaces the automated one. 409 after the period, for a decision made by a
    person, or when a review was asked already."""

    @extend_schema(
        request=ReasonInput,
        responses={201: HumanReviewStateOutput, **error_responses(400, 404, 409)},
    )
    def post(self, request, number: str):
        case = _ref_or_404(request, number)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        automation.request_human_review(
            case=case, user=request.user, reason=data.validated_data["reason"], channel=Channel.API
        )
        return Response(
            HumanReviewStateOutput(automation.review_state(case)).data,
            status=status.HTTP_201_CREATED,
        )


class NoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class SupplementView(APIView):
    """Answer a request for documents: upload them to attachments/ first, then post here."""

    @extend_schema(request=NoteInput, responses=ActedOutput)
    def post(self, request, number: str):
        case = _ref_or_404(request, number)
        data = NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        case = workflow.answer_supplement(
            case=case, user=request.user, note=data.validated_data["note"], channel=Channel.API
        )
        return Response(ActedOutput(case).data)


class ReceiptView(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, number: str):
        case = _case_or_404(request, number)
        if case.is_draft:
            raise workflow.CaseConflict(
                "This application has not been submitted yet.", code="draft"
            )
        response = HttpResponse(receipts.receipt_pdf(case=case), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="receipt-{case.number}.pdf"'
        return response


class OfficialDocumentOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="Unique within its kind (licences count apart).")
    kind = serializers.ChoiceField(choices=OfficialDocument.Kind.choices)
    title = serializers.CharField()
    number = serializers.CharField()
    issued_at = serializers.DateTimeField()
    url = serializers.URLField(help_text="The sealed PDF.")


class DocumentListView(APIView):
    @extend_schema(responses=OfficialDocumentOutput(many=True))
    def get(self, request, number: str):
        """The official documents of the case (收件凭证, 受理通知书, 补正告知书 ..., the decision) and
        the e-licences it gave, oldest first; each a sealed PDF."""
        case = _case_or_404(request, number)
        rows = documents.listing(case, request, api=True)
        return Response(OfficialDocumentOutput(rows, many=True).data)


class DocumentPdfView(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, number: str, document_id: int):
        case = _case_or_404(request, number)
        document = documents.documents_of(case).filter(pk=document_id).first()
        if document is None:
            raise Http404
        return documents.pdf_response(document=document, request=request)


class LicencePdfView(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, number: str):
        """The sealed certificate of one of my e-licences (or my organisation's)."""
        from .licences import services as licences

        licence = licences.licences_of(request.user).filter(number=number).first()
        if licence is None:
            raise Http404
        return documents.licence_response(licence=licence, request=request)
