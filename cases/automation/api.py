"""Staff API of 秒批: `work/human-reviews/` (the automated decisions applicants asked a person to
review, in the user's departments) and `work/human-reviews/{id}/decide/`. The rules and their
results of one case are in `work/cases/{number}/` under `automatic_approval`."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses

from ..api import DecisionOutput
from ..decisions import as_data
from ..models import Channel, HumanReview
from . import services as automation


class HumanReviewOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(source="case.number")
    service_name = serializers.CharField(source="case.service_version.name")
    applicant = serializers.CharField(source="case.applicant.real_name")
    reason = serializers.CharField(help_text="Why the applicant asks for a person.")
    state = serializers.ChoiceField(choices=HumanReview.State.choices)
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class HumanReviewListView(ListAPIView):
    """Human reviews of automated decisions asked in the user's departments, open ones first."""

    serializer_class = HumanReviewOutput

    def get_queryset(self):
        return automation.human_reviews_for(self.request.user)


class DecideInput(serializers.Serializer):
    approve = serializers.BooleanField(
        help_text="true: grant (the automated approval is confirmed by a person); false: refuse."
    )
    reason = serializers.CharField(max_length=2000, help_text="The applicant reads it.")
    legal_basis = serializers.IntegerField(
        required=False, allow_null=True, help_text="The id of the article applied (see articles)."
    )


class HumanReviewDecideView(APIView):
    """Decide again: the decision replaces the automated one (marked superseded), a new decision
    document is issued and the applicant told; a refusal closes the case as rejected."""

    @extend_schema(
        request=DecideInput, responses={200: DecisionOutput, **error_responses(400, 403, 404, 409)}
    )
    def post(self, request, review_id: int):
        review = automation.human_reviews_for(request.user).filter(pk=review_id).first()
        if review is None:
            raise Http404
        data = DecideInput(data=request.data)
        data.is_valid(raise_exception=True)
        decision = automation.decide_human_review(
            review=review,
            user=request.user,
            approve=data.validated_data["approve"],
            reason=data.validated_data["reason"],
            legal_basis=data.validated_data.get("legal_basis"),
            channel=Channel.API,
        )
        return Response(DecisionOutput(as_data(decision)).data)
