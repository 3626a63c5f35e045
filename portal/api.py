"""API conventions shared by every endpoint: the error shape of DESIGN.md ("API")."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _as_lists(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _as_lists(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [str(item) for item in detail]
        return [_as_lists(item) for item in detail]
    return [str(detail)]


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every 4xx answers `{"detail": "...", "errors": {field: [messages]}}`.

    Field errors keep their field names; errors not tied to a field are under `non_field_errors`.
    A Django ValidationError raised by a service becomes a 400 in the same shape, never a 500.
    """
    from cases.workflow import CaseConflict

    if isinstance(exc, CaseConflict):
        return Response(
            {"detail": exc.message, "errors": {}, "code": exc.code}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        response.data = {
            "detail": _("The request has errors; see the messages for each field."),
            "errors": _as_lists(errors),
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        response.data = {"detail": str(detail), "errors": {}}
    return response


class ErrorOutput(serializers.Serializer):
    """The shape of every 4xx (DESIGN "API")."""

    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name → messages; `non_field_errors` for the rest.",
    )
    code = serializers.CharField(
        required=False, help_text="409 only: why (stale, claimed, decided, not_allowed ...)."
    )


def error_responses(*codes: int) -> dict:
    """`responses` entries documenting the error shape for these status codes."""
    return dict.fromkeys(codes, ErrorOutput)
