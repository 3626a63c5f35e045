"""Validation and presentation of personal identifiers: ID numbers, credit codes, phone numbers."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

_PHONE = re.compile(r"^1[3-9]\d{9}$")


def normalize_id_number(value: str) -> str:
    """Resident identity card number (居民身份证号码) in its canonical form: 18 characters, capital X."""
    return re.sub(r"[\s\-]", "", value or "").upper()


def validate_id_number(value: str) -> None:
    try:
        ric.validate(normalize_id_number(value))
    except StdnumError as exc:
        raise ValidationError(
            _(
                "This is not a valid resident identity card number (18 characters, check digit last)."
            ),
            code="invalid_id_number",
        ) from exc


def normalize_uscc(value: str) -> str:
    """Unified social credit code (统一社会信用代码), 18 characters, capitals."""
    return uscc.compact(value or "").upper()


def validate_uscc(value: str) -> None:
    try:
        uscc.validate(normalize_uscc(value))
    except StdnumError as exc:
        raise ValidationError(
            _("This is not a valid unified social credit code (18 characters)."),
            code="invalid_uscc",
        ) from exc


def normalize_phone(value: str) -> str:
    """A mainland mobile number as 11 digits: spaces, dashes and a +86 or 0086 prefix removed."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def validate_phone(value: str) -> None:
    if not _PHONE.match(normalize_phone(value)):
        raise ValidationError(
            _("Enter a mainland mobile number of 11 digits starting with 1, e.g. 13800138000."),
            code="invalid_phone",
        )


def mask_id_number(value: str) -> str:
    """110***********123X: region prefix and last four only (DESIGN "Data protection")."""
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """138****8000."""
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
