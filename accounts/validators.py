"""Validation and presentation of personal identifiers: ID numbers, credit codes, phone numbers."""

import datetime as dt
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")
# No one born earlier has held an 18-character number: they were issued from 1999 (GB 11643-1999).
EARLIEST_BIRTH_YEAR = 1880
# The residence permits of Hong Kong, Macao and Taiwan residents (港澳台居民居住证) carry a number of
# this form whose region is 810000, 820000 or 830000 (港澳台居民居住证申领发放办法 §8); GB/T 2260
# has no 83, and gives 81 and 82 only from 1997 and 1999, after many holders were born.
_RESIDENCE_PERMIT_REGIONS = frozenset({"810000", "820000", "830000"})


def normalize_id_number(value: str) -> str:
    """Resident identity card number (居民身份证号码) in its canonical form: 18 characters, capital X.
    Spaces and dashes go; full-width digits and Ｘ, as a Chinese input method types them, become
    ASCII (NFKC), so that what is stored and hashed is one spelling."""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value or "")).upper()


def is_known_region(code: str) -> bool:
    """A region code (行政区划代码) of any period, as python-stdnum's table of GB/T 2260 codes has it.

    A number keeps the code of where it was first assigned, so a person may be born before their
    district existed (330108 滨江区 dates from 1996) or hold the code of one since abolished (110103
    崇文区, until 2010): neither is a reason to refuse it. python-stdnum's own `ric.validate` refuses
    both, which is why the period is not checked here.
    """
    if code in _RESIDENCE_PERMIT_REGIONS:
        return True
    return any("county" in props for _part, props in numdb.get("cn/loc").info(code))


def id_number_problems(value: str) -> list[ValidationError]:
    """What is wrong with a resident ID number (公民身份号码, GB 11643-1999), each with its own code
    and a message that says how to put it right; empty when it is valid.

    Codes: `id_number_format` (not 18 characters, or characters other than digits and a last X),
    `id_number_region` (the first six digits are no region code of any period), `id_number_birth_date`
    (digits 7 to 14 are no real date, or one in the future), `id_number_check_digit` (the last
    character does not match the first 17). A wrong check digit is reported only when the region
    and the date hold: a mistyped digit there breaks both, and the message that names the place
    helps more.
    """
    number = normalize_id_number(value)
    if len(number) != 18:
        if len(number) == 15 and number.isdigit():
            message = _(
                "This is an old 15-digit number: enter the 18-character number of the current "
                "resident identity card, e.g. 11010519491231002X."
            )
        elif not number:
            message = _("Enter the 18 characters of the ID number, e.g. 11010519491231002X.")
        else:
            message = _(
                "An ID number has 18 characters and this one has %(count)d: compare it with the "
                "identity card and type it again, e.g. 11010519491231002X."
            ) % {"count": len(number)}
        return [ValidationError(message, code="id_number_format")]
    if not _ID_NUMBER.match(number):
        wrong = [
            str(position)
            for position, char in enumerate(number, start=1)
            if not ("0" <= char <= "9" or (position == 18 and char == "X"))
        ]
        if len(wrong) > 3:
            message = _(
                "An ID number has only digits, and the last character may be X: compare it with "
                "the identity card and type it again, e.g. 11010519491231002X."
            )
        else:
            message = ngettext(
                "An ID number has only digits, and the last character may be X: check the "
                "character at position %(positions)s, e.g. 11010519491231002X.",
                "An ID number has only digits, and the last character may be X: check the "
                "characters at positions %(positions)s, e.g. 11010519491231002X.",
                len(wrong),
            ) % {"positions": pgettext("list separator", ", ").join(wrong)}
        return [ValidationError(message, code="id_number_format")]
    problems = []
    if not is_known_region(number[:6]):
        problems.append(
            ValidationError(
                _(
                    "The first 6 digits (%(region)s) are no region code, current or former: check "
                    "them against the identity card, e.g. 330108 for Binjiang District, Hangzhou."
                )
                % {"region": number[:6]},
                code="id_number_region",
            )
        )
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < EARLIEST_BIRTH_YEAR:
        problems.append(
            ValidationError(
                _(
                    "Digits 7 to 14 are the date of birth (year, month, day) and do not make a real "
                    "date: check them against the identity card, e.g. 19900307 for 7 March 1990."
                ),
                code="id_number_birth_date",
            )
        )
    elif born > timezone.localdate():
        problems.append(
            ValidationError(
                _(
                    "Digits 7 to 14 give a date of birth after today: check them against the "
                    "identity card, e.g. 19900307 for 7 March 1990."
                ),
                code="id_number_birth_date",
            )
        )
    if not problems and number[-1] != ric.calc_check_digit(number):
        problems.append(
            ValidationError(
                _(
                    "The last character (the check digit after digit 17) does not match the first "
                    "17: compare each digit with the identity card; two swapped digits (123 typed "
                    "as 213) or one mistyped digit is the usual cause."
                ),
                code="id_number_check_digit",
            )
        )
    return problems


def validate_id_number(value: str) -> None:
    """Raise ValidationError when `value` is no valid resident ID number: one error per problem
    (see `id_number_problems` for the codes), in the order of the characters they concern."""
    problems = id_number_problems(value)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ValidationError(problems)


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
