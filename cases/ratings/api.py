"""API for 好差评: `applications/{number}/rating/` for the applicant, `work/rectifications/` for the
department that answers bad ratings (DESIGN "API")."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import departments_with_role

from .. import selectors
from ..models import RATING_DIMENSIONS, Channel, Rating, RatingTag
from . import services as ratings


class RatingInput(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    tags = serializers.ListField(
        child=serializers.ChoiceField(choices=RatingTag.choices), required=False, default=list
    )
    dimensions = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=5),
        required=False,
        default=dict,
        help_text=f"Optional, 1–5 each: {', '.join(RATING_DIMENSIONS[:3])}",
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=ratings.COMMENT_MAX
    )


class ScoreInput(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)


class AnswerInput(serializers.Serializer):
    answer = serializers.CharField(max_length=2000)


class RectificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    due_date = serializers.DateField()
    answer = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)
    answered_on_time = serializers.BooleanField(allow_null=True)
    fix_score = serializers.IntegerField(allow_null=True)


class RatingOutput(serializers.Serializer):
    score = serializers.IntegerField()
    tags = serializers.ListField(child=serializers.CharField())
    dimensions = serializers.DictField(child=serializers.IntegerField())
    comment = serializers.CharField()
    channel = serializers.CharField()
    created_at = serializers.DateTimeField()
    rectification = serializers.SerializerMethodField()

    @extend_schema_field(RectificationOutput(allow_null=True))
    def get_rectification(self, rating):
        rectification = getattr(rating, "rectification", None)
        return RectificationOutput(rectification).data if rectification else None


class StaffRectificationOutput(RectificationOutput):
    """What the department sees: the rating, never who gave it."""

    number = serializers.CharField(source="case.number")
    service = serializers.CharField(source="case.service_version.name")
    department = serializers.CharField(source="department.code")
    score = serializers.IntegerField(source="rating.score")
    tags = serializers.ListField(source="rating.tags", child=serializers.CharField())
    comment = serializers.CharField(source="rating.comment")


def _case(request, number):
    case = selectors.application_ref(request.user, number)
    if case is None:
        raise Http404
    return case


class RatingView(APIView):
    @extend_schema(responses={200: RatingOutput})
    def get(self, request, number: str):
        rating = (
            Rating.objects.filter(case=_case(request, number))
            .select_related("rectification")
            .first()
        )
        if rating is None:
            raise Http404
        return Response(RatingOutput(rating).data)

    @extend_schema(request=RatingInput, responses={201: RatingOutput})
    def post(self, request, number: str):
        case = _case(request, number)
        data = RatingInput(data=request.data)
        data.is_valid(raise_exception=True)
        rating = ratings.rate(
            case=case, user=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(RatingOutput(rating).data, status=status.HTTP_201_CREATED)


class RatingAnswerView(APIView):
    """How satisfied the applicant is with the department's answer to their bad rating."""

    @extend_schema(request=ScoreInput, responses={200: RectificationOutput})
    def post(self, request, number: str):
        case = _case(request, number)  # 404 before anything else: a refusal reveals nothing
        data = ScoreInput(data=request.data)
        data.is_valid(raise_exception=True)
        rectification = ratings.rate_the_answer(
            case=case, user=request.user, score=data.validated_data["score"]
        )
        return Response(RectificationOutput(rectification).data)


class RectificationListView(ListAPIView):
    """Bad ratings of your departments: open ones first, most urgent first (heads and admins)."""

    serializer_class = StaffRectificationOutput

    def get_queryset(self):
        return ratings.rectifications_for(self.request.user)


class RectificationAnswerView(APIView):
    @extend_schema(request=AnswerInput, responses={200: StaffRectificationOutput})
    def post(self, request, rectification_id: int):
        if not departments_with_role(request.user, *ratings.RECTIFIERS).exists():
            raise Http404
        data = AnswerInput(data=request.data)
        data.is_valid(raise_exception=True)
        rectification = ratings.answer(
            rectification_id=rectification_id,
            user=request.user,
            text=data.validated_data["answer"],
        )
        return Response(StaffRectificationOutput(rectification).data)
