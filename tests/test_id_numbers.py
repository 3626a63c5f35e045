"""Resident ID numbers (公民身份号码, GB 11643-1999) as people hold them (issue 15, item 1).

A number is valid when it has 18 characters (digits, a last X), a real birth date not in the
future, a right check digit and a region code of any period: numbers keep the code of where they
were first assigned, so a person may be born before their district existed or hold the code of one
since abolished. Each problem has its own code and a message that says how to put it right. The
same rule holds at registration, at the counter, for proxies and in ID fields inside forms.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from jsonschema import Draft202012Validator
from stdnum.cn import ric

from accounts.validators import id_number_problems, normalize_id_number, validate_id_number
from services.schema import FORMAT_CHECKER, published_schema, validate_data

from .factories import PASSWORD, CitizenProfileFactory, StaffMembershipFactory, logged_in
from .support.clock import at
from .support.sms import register, register_in_page


def number(first17: str) -> str:
    """The valid number of these 17 digits."""
    return first17 + ric.calc_check_digit(first17 + "0")


BINJIANG = "330108199003071239"  # the user's number: 滨江区 dates from 1996, its holder from 1990

REAL_WORLD = {
    "滨江区 (from 1996), born 1990": BINJIANG,
    "崇文区, abolished in 2010, born 1985": number("11010319850612301"),
    "宣武区, abolished in 2010, born 2012 (any period)": number("11010420120612302"),
    "120110, 东郊区 until 1991 and 东丽区 since, born 1975": number("12011019750101123"),
    "510200, 重庆市 when it was part of 四川 (until 1997), born 1980": number("51020019800101124"),
    "通州区 (from 1997), born 1950": number("11011219500505125"),
    "a city-level code, 深圳市": number("44030019850101126"),
    "香港 residence permit, born before 1997": number("81000019800101127"),
    "台湾 residence permit (830000, no GB/T 2260 code)": number("83000019700101128"),
    "澳门 residence permit, born 1960": number("82000019600101129"),
    "29 February of a leap year": number("11010520000229130"),
    "born in 1900, not a leap year's 29 February but the 28th": number("11010519000228131"),
    "a last X": "11010519491231002X",
}


@pytest.mark.parametrize("value", REAL_WORLD.values(), ids=REAL_WORLD.keys())
def test_real_numbers_are_valid_whatever_the_period_of_their_region(value):
    assert id_number_problems(value) == []
    validate_id_number(value)


def test_python_stdnum_alone_would_refuse_the_binjiang_number():
    """Why the period is not checked: python-stdnum's ric.validate refuses a region created after
    the birth year, with the same exception as a wrong check digit."""
    assert BINJIANG[-1] == ric.calc_check_digit(BINJIANG)
    assert not ric.is_valid(BINJIANG)


@pytest.mark.parametrize(
    "typed",
    [
        "11010519491231002x",
        "110105 19491231 002X",
        "110105-19491231-002X",
        "１１０１０５１９４９１２３１００２Ｘ",
    ],  # fmt: skip
    ids=["small x", "spaces", "dashes", "full-width, as an input method types it"],
)
def test_numbers_as_typed_are_read_in_their_one_spelling(typed):
    validate_id_number(typed)
    assert normalize_id_number(typed) == "11010519491231002X"


def test_born_today_is_valid_and_tomorrow_is_not():
    with at("2026-03-07"):
        validate_id_number(number("11010520260307123"))
        problems = id_number_problems(number("11010520260308123"))
    assert [p.code for p in problems] == ["id_number_birth_date"]


def problem(value: str, language: str = "zh-hans") -> tuple[str, str]:
    with translation.override(language):
        problems = id_number_problems(value)
        assert len(problems) == 1, [str(p.message) for p in problems]
        return problems[0].code, str(problems[0].message)


def test_each_problem_has_its_own_code_and_says_how_to_fix_it():
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    cases = {
        "11010519491231002": ("id_number_format", "应为 18 位，这里是 17 位"),
        "110105491231002": ("id_number_format", "15 位的旧号码"),
        "1101051949I231002X": ("id_number_format", "请核对第 11 位"),
        "11010519491231OO2X": ("id_number_format", "请核对第 15、16 位"),
        "ABCDEFGHIJKLMNOPQR": ("id_number_format", "只含数字"),
        "": ("id_number_format", "请填写 18 位公民身份号码"),
        number("99999919900307123"): (
            "id_number_region",
            "前 6 位（999999）不是现行或曾用的行政区划代码",
        ),
        number("11010519900230123"): ("id_number_birth_date", "不是有效的日期"),
        number("11010519001329123"): ("id_number_birth_date", "不是有效的日期"),
        number("11010510660101123"): ("id_number_birth_date", "不是有效的日期"),  # no one alive
        number(f"110105{tomorrow:%Y%m%d}123"): ("id_number_birth_date", "晚于今天"),
        "330108199003071238": ("id_number_check_digit", "第 17 位之后的校验码"),
        "330108199003072139": ("id_number_check_digit", "两位数字颠倒"),  # 123 typed 213
    }
    for value, (code, words) in cases.items():
        got_code, message = problem(value)
        assert got_code == code, (value, message)
        assert words in message, (value, message)
        assert "如" in message, message  # every message shows an example of the fix


def test_messages_in_english_too():
    assert "check digit after digit 17" in problem("330108199003071238", "en")[1]
    assert "(999999) are no region code" in problem(number("99999919900307123"), "en")[1]
    assert "e.g. 19900307 for 7 March 1990" in problem(number("11010519900230123"), "en")[1]
    assert "this one has 17" in problem("11010519491231002", "en")[1]


def test_a_wrong_region_and_date_are_both_told_and_not_the_check_digit_they_break():
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number("999999199002301231")
    assert [e.code for e in excinfo.value.error_list] == [
        "id_number_region",
        "id_number_birth_date",
    ]


# --- The same rule everywhere ----------------------------------------------------------------------


@pytest.mark.django_db
def test_registration_takes_the_binjiang_number_in_the_page_and_the_api(client):
    page = register_in_page(
        client, username="binjiang", real_name="钱江", id_number=BINJIANG,
        phone="13905710001", password1=PASSWORD, password2=PASSWORD,
    )  # fmt: skip
    assert page.status_code == 302, page.context["form"].errors
    client.logout()
    api = register(
        client, username="chongwen", real_name="崇文", id_number=REAL_WORLD[
            "崇文区, abolished in 2010, born 1985"], phone="13905710002", password=PASSWORD,
    )  # fmt: skip
    assert api.status_code == 201, api.json()


@pytest.mark.django_db
def test_registration_says_which_part_of_the_number_is_wrong(client):
    response = client.post(
        "/api/v1/auth/register/",
        {"username": "typo", "real_name": "钱江", "id_number": BINJIANG[:-1] + "8",
         "phone": "13905710001", "password": PASSWORD, "sms_code": "000000"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "校验码" in response.json()["errors"]["id_number"][0]


@pytest.mark.django_db
def test_a_proxy_is_told_what_is_wrong_with_a_mistyped_number_not_that_no_one_has_it():
    mother = CitizenProfileFactory(real_name="刘秀英")
    son = CitizenProfileFactory(real_name="陈明", id_number=BINJIANG)
    client = logged_in(mother.user)

    def grant(agent_id_number):
        return client.post(
            "/api/v1/authorisations/",
            {
                "agent_real_name": "陈明",
                "agent_id_number": agent_id_number,
                "relationship": "child",
            },
            content_type="application/json",
        )

    mistyped = grant(BINJIANG[:-1] + "8").json()["errors"]["agent_id_number"][0]
    assert "校验码" in mistyped and "注册" not in mistyped
    assert grant(son.id_number).status_code == 201


@pytest.mark.django_db
def test_the_counter_lookup_refuses_a_mistyped_number_and_looks_up_a_binjiang_one():
    clerk = StaffMembershipFactory(role="counter_clerk").user
    client = logged_in(clerk)
    CitizenProfileFactory(real_name="钱江", id_number=BINJIANG)
    found = client.post("/api/v1/counter/citizens/lookup/", {"id_number": BINJIANG})
    assert found.json()["found"] is True
    mistyped = client.post("/api/v1/counter/citizens/lookup/", {"id_number": BINJIANG[:-1] + "8"})
    assert mistyped.status_code == 400
    assert "校验码" in mistyped.json()["errors"]["id_number"][0]


SCHEMA = {
    "type": "object",
    "required": ["child_id"],
    "properties": {"child_id": {"type": "string", "format": "id_number", "title": "子女身份号码"}},
}


def test_id_fields_in_forms_keep_the_same_rule_and_messages():
    assert validate_data(SCHEMA, {"child_id": BINJIANG}) == {"child_id": BINJIANG}
    published = Draft202012Validator(published_schema(SCHEMA), format_checker=FORMAT_CHECKER)
    assert published.is_valid({"child_id": BINJIANG})
    for value, words in [
        (number("99999919900307123"), "行政区划代码"),
        (number("11010519900230123"), "出生日期"),
        (BINJIANG[:-1] + "8", "校验码"),
    ]:
        with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
            validate_data(SCHEMA, {"child_id": value})
        assert words in excinfo.value.message_dict["child_id"][0]
        assert not published.is_valid({"child_id": value})
