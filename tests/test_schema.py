"""Application form schemas: refused when invalid, rendered as accessible forms, and data validated the
same way for pages and the API."""

import copy
import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from jsonschema import Draft202012Validator

from services.schema import (
    DATE_PATTERN,
    FORMAT_CHECKER,
    SchemaForm,
    check_schema,
    normalize_schema,
    published_schema,
    validate_data,
)

SCHEMA = normalize_schema(
    {
        "type": "object",
        "required": ["shop_name", "area", "kind", "staff", "agree"],
        "properties": {
            "shop_name": {
                "type": "string",
                "minLength": 2,
                "maxLength": 20,
                "title": "店铺名称",
                "x-label": {"zh-hans": "店铺名称", "en": "Shop name"},
                "x-help": {"zh-hans": "与招牌一致", "en": "As on the sign"},
            },
            "postcode": {"type": "string", "pattern": "^[0-9]{6}$", "title": "邮政编码"},
            "area": {"type": "number", "minimum": 1, "maximum": 500, "title": "面积"},
            "floors": {"type": "integer", "minimum": 1, "maximum": 3, "title": "楼层数"},
            "opening": {"type": "string", "format": "date", "title": "开业日期"},
            "kind": {
                "type": "string",
                "enum": ["retail", "catering"],
                "title": "类型",
                "x-enum-labels": {"retail": {"zh-hans": "零售", "en": "Retail"}},
            },
            "staff": {
                "type": "array",
                "minItems": 1,
                "maxItems": 3,
                "title": "从业人员",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 10, "title": "姓名"},
                        "age": {"type": "integer", "minimum": 16, "title": "年龄"},
                    },
                },
            },
            "agree": {"type": "boolean", "const": True, "title": "我承诺所填信息真实"},
        },
    }
)

GOOD = {
    "shop_name": "老街面馆",
    "postcode": "310000",
    "area": 35.5,
    "floors": 1,
    "opening": "2026-12-01",
    "kind": "catering",
    "staff": [{"name": "王五", "age": 30}],
    "agree": True,
}


def test_valid_schema_is_accepted_and_standard():
    check_schema(SCHEMA)
    assert SCHEMA["x-order"][0] == "shop_name"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["properties"]["area"].update(type="decimal"), "type must be one of"),
        (lambda s: s["properties"]["area"].update(minimum=10, maximum=1), "minimum is larger"),
        (
            lambda s: s["properties"]["postcode"].update(pattern="(["),
            "not a valid regular expression",
        ),
        (lambda s: s["required"].append("ghost"), '"ghost", which is not a field'),
        (lambda s: s["properties"]["kind"].update(enum=[]), "enum must be a list of distinct"),
        (lambda s: s["properties"]["area"].update(minimum="one"), "minimum must be a number"),
        (
            lambda s: s["properties"]["shop_name"].update(format="uuid"),
            'format must be "date" or "email"',
        ),
        (lambda s: s["properties"]["shop_name"].update(oneOf=[{}]), '"oneOf" is not supported'),
        (
            lambda s: s["properties"].update({"Bad Name": {"type": "string", "title": "x"}}),
            "lower-case",
        ),
        (lambda s: s["properties"]["floors"].pop("title"), "needs a label"),
        (
            lambda s: s["properties"]["staff"]["items"]["properties"].update(
                {
                    "kids": {
                        "type": "array",
                        "title": "x",
                        "items": {
                            "type": "object",
                            "properties": {"a": {"type": "string", "title": "a"}},
                        },
                    }
                }
            ),
            "cannot contain another list",
        ),
        (lambda s: s.update(type="array"), 'must have "type": "object"'),
    ],
)
def test_invalid_schemas_are_refused_with_a_clear_message(change, message):
    schema = copy.deepcopy(SCHEMA)
    change(schema)
    if "x-order" in schema and set(schema["x-order"]) != set(schema.get("properties", {})):
        schema["x-order"] = list(schema["properties"])
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        check_schema(schema)
    assert any(message in m for m in excinfo.value.messages), excinfo.value.messages


def test_empty_schema_is_refused():
    with pytest.raises(ValidationError):
        check_schema({})


def test_valid_data_is_cleaned_and_typed():
    assert validate_data(SCHEMA, GOOD) == GOOD
    assert validate_data(SCHEMA, {**GOOD, "area": 35})["area"] == 35


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({**GOOD, "shop_name": "面"}, "shop_name", "Shop name needs at least 2 characters"),
        ({**GOOD, "shop_name": "面" * 21}, "shop_name", "Shop name takes at most 20 characters"),
        ({**GOOD, "postcode": "31000A"}, "postcode", "Enter 邮政编码 as 6 digits, e.g. 310000."),
        ({**GOOD, "area": 0}, "area", "面积 must be at least 1: enter 1 or more."),
        ({**GOOD, "area": "35"}, "area", "Expected a number"),
        ({**GOOD, "floors": 1.5}, "floors", "Expected a integer"),
        ({**GOOD, "floors": True}, "floors", "not true or false"),
        ({**GOOD, "opening": "2026-13-01"}, "opening", "Enter 开业日期 as year-month-day, e.g. 20"),
        ({**GOOD, "kind": "bakery"}, "kind", "Choose 类型 from the options shown."),
        ({**GOOD, "staff": []}, "staff", "Add at least one entry to “从业人员”."),
        ({**GOOD, "staff": [{"age": 30}]}, "staff[0].name", "Enter 姓名."),
        ({**GOOD, "staff": [{"name": "甲"}] * 4}, "staff", "at most 3"),
        (
            {**GOOD, "staff": [{"name": "甲", "age": 12}]},
            "staff[0].age",
            "年龄 must be at least 16: enter 16 or more.",
        ),
        ({**GOOD, "staff": "王五"}, "staff", "list of entries"),
        ({**GOOD, "agree": False}, "agree", "Tick “我承诺所填信息真实” to continue."),
        ({**GOOD, "hobby": "x"}, "hobby", "no such field"),
        ({k: v for k, v in GOOD.items() if k != "shop_name"}, "shop_name", "Enter Shop name."),
    ],
)
def test_invalid_data_gets_a_message_at_its_path(data, path, message):
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        validate_data(SCHEMA, data)
    errors = excinfo.value.message_dict
    assert any(message in m for m in errors.get(path, [])), errors


def test_messages_are_in_chinese_by_default():
    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        validate_data(SCHEMA, {**GOOD, "shop_name": ""})
    # The message names the field and says what to do, not merely that something is wrong.
    assert excinfo.value.message_dict["shop_name"] == ["请填写店铺名称。"]


def page_post(**changes):
    data = {
        "shop_name": "老街面馆",
        "postcode": "310000",
        "area": "35.5",
        "floors": "1",
        "opening": "2026-12-01",
        "kind": "catering",
        "staff__0__name": "王五",
        "staff__0__age": "30",
        "agree": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_page_form_gives_the_same_data_as_the_api():
    form = SchemaForm(SCHEMA, page_post())
    assert form.is_valid(), form.errors
    assert form.cleaned_json() == GOOD
    assert validate_data(SCHEMA, form.cleaned_json()) == GOOD


def test_page_form_reports_errors_on_the_right_fields():
    with translation.override("en"):
        form = SchemaForm(
            SCHEMA,
            page_post(area="0", staff__0__name="", staff__0__age="", agree=None),
            rows={"staff": 2},
        )
        assert not form.is_valid()
        assert "area" in form.errors
        assert "agree" in form.errors
        # The list needs an entry: the message names it and says what to do.
        assert form.errors["__all__"] == ["Add at least one entry to “从业人员”."]


def test_page_form_row_error_lands_on_the_row():
    with translation.override("en"):
        form = SchemaForm(
            SCHEMA, page_post(staff__0__name="", staff__1__age="40"), rows={"staff": 2}
        )
        assert not form.is_valid()
        assert "staff__1__name" in form.errors


def test_rendered_form_is_labelled_and_described():
    with translation.override("en"):
        html = SchemaForm(SCHEMA).render()
    assert '<label for="id_shop_name"' in html
    assert "Shop name" in html
    assert 'aria-describedby="id_shop_name_helptext"' in html
    assert 'type="date"' in html
    assert (
        '<legend><span lang="zh-Hans">从业人员</span></legend>' in html
    )  # no English label: marked
    assert 'name="_add_row" value="staff"' in html
    assert 'type="radio"' in html  # two choices: radio buttons, easier than a select


def test_initial_json_prefills_the_form():
    form = SchemaForm(
        SCHEMA, initial_json={"shop_name": "老街面馆", "staff": [{"name": "甲"}, {"name": "乙"}]}
    )
    assert form["shop_name"].value() == "老街面馆"
    assert form["staff__1__name"].value() == "乙"


# --- The published schema is the contract (services/schema.py docstring) ----------------------------

ID_NUMBER = "11010519491231002X"  # valid: check digit X


def test_published_schema_spells_out_what_the_server_does():
    schema = normalize_schema(
        {
            **copy.deepcopy(SCHEMA),
            "properties": {
                **copy.deepcopy(SCHEMA["properties"]),
                "applicant_name": {"type": "string", "title": "姓名", "x-prefill": "real_name"},
                "owner_id": {"type": "string", "format": "id_number", "title": "身份证号"},
                "pledge": {"type": "boolean", "const": True, "title": "承诺"},  # not in required
            },
            "required": [*SCHEMA["required"], "applicant_name", "owner_id"],
        }
    )
    schema["x-order"] = list(schema["properties"])
    published = published_schema(schema)
    Draft202012Validator.check_schema(published)
    props = published["properties"]
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert published["additionalProperties"] is False
    assert props["staff"]["items"]["additionalProperties"] is False
    assert props["shop_name"]["minLength"] == 2  # already more than 1
    blank = r"\x00|^[\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    assert props["shop_name"]["not"] == {"pattern": blank}
    # Blank as the server has it, not as Python's \s (which takes \x1c-\x1f for space too).
    text = {"type": "string", "not": props["shop_name"]["not"]}
    assert not Draft202012Validator(text).is_valid("\u3000 \t")
    assert Draft202012Validator(text).is_valid("\x1f")
    assert validate_data(SCHEMA, {**GOOD, "shop_name": "\x1f\x1f"})["shop_name"] == "\x1f\x1f"
    assert props["staff"]["items"]["properties"]["name"]["minLength"] == 1
    assert props["postcode"]["pattern"] == "^[0-9]{6}$" and props["postcode"]["not"]["pattern"]
    assert props["opening"]["format"] == "date" and props["opening"]["pattern"] == DATE_PATTERN
    assert props["owner_id"]["pattern"] == "^[0-9]{17}[0-9Xx]$"
    assert props["staff"]["minItems"] == 1
    assert props["applicant_name"]["readOnly"] is True
    required = published["required"]
    assert "applicant_name" not in required  # the server fills it
    assert {"agree", "pledge", "owner_id"} <= set(required)
    assert schema["properties"]["shop_name"].get("minLength") == 2  # the stored schema unchanged
    assert "additionalProperties" not in schema


def test_date_pattern_is_the_calendar():
    day = dt.date(1, 1, 1)
    dates = re.compile(DATE_PATTERN)
    while day.year < 2101:  # every day of twenty-one centuries, leap years included
        assert dates.search(day.isoformat())
        day += dt.timedelta(days=1)
    for wrong in ("2026-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "0000-01-01", "2026-2-1"):
        assert not dates.search(wrong)
    assert dates.search("2000-02-29") and dates.search("2024-02-29")


@pytest.mark.parametrize(
    ("change", "stored"),
    [
        ({"floors": 1.0}, {"floors": 1}),  # 1.0 is the integer 1 in JSON Schema
        ({"area": 35.0}, {"area": 35}),
        ({"shop_name": " 老街面馆 "}, {"shop_name": " 老街面馆 "}),  # kept as sent
        ({"postcode": "   "}, {"postcode": None}),  # blank optional text: no answer
        ({"opening": None}, {"opening": None}),
        ({"staff": [{"name": "王五", "age": 30.0}]}, {"staff": [{"name": "王五", "age": 30}]}),
    ],
)
def test_what_the_schema_accepts_is_stored_typed(change, stored):
    cleaned = validate_data(SCHEMA, {**GOOD, **change})
    for name, value in stored.items():
        assert cleaned.get(name) == value


# A date's error message gives today as its example (Beijing time: the day may have turned already).
EXAMPLE_DAY = f"e.g. {timezone.localdate().isoformat()}"


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"shop_name": "   "}, "shop_name", "Enter Shop name."),
        ({"shop_name": "\u3000\u3000"}, "shop_name", "Enter Shop name."),  # ideographic spaces
        ({"shop_name": "老街\x00面馆"}, "shop_name", "NUL"),
        ({"floors": 1.5}, "floors", "Expected a integer"),
        ({"opening": "2026-2-1"}, "opening", EXAMPLE_DAY),
        ({"opening": "2026/12/01"}, "opening", EXAMPLE_DAY),
        ({"opening": "2026-02-29"}, "opening", EXAMPLE_DAY),
        ({"opening": " 2026-12-01"}, "opening", EXAMPLE_DAY),
    ],
)
def test_what_the_server_refuses_the_published_schema_refuses_too(change, path, message):
    data = {**GOOD, **change}
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        validate_data(SCHEMA, data)
    assert any(message in m for m in excinfo.value.message_dict[path])
    assert not Draft202012Validator(published_schema(SCHEMA)).is_valid(data)


def test_a_box_that_must_be_ticked_is_required_listed_or_not():
    schema = normalize_schema(
        {
            "type": "object",
            "properties": {"agree": {"type": "boolean", "const": True, "title": "a"}},
        }
    )
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        validate_data(schema, {})
    assert excinfo.value.message_dict["agree"] == ["Tick “a” to continue."]
    assert not Draft202012Validator(published_schema(schema)).is_valid({})
    assert validate_data(schema, {}, partial=True) == {"agree": False}  # a draft may wait


ID_SCHEMA = normalize_schema(
    {
        "type": "object",
        "required": ["child_id"],
        "properties": {
            "child_id": {"type": "string", "format": "id_number", "title": "子女身份号码"}
        },
    }
)


def test_id_numbers_in_forms_are_checked_like_registration():
    assert validate_data(ID_SCHEMA, {"child_id": ID_NUMBER.lower()}) == {"child_id": ID_NUMBER}
    with translation.override("en"):
        with pytest.raises(ValidationError) as excinfo:
            validate_data(ID_SCHEMA, {"child_id": ID_NUMBER[:-1] + "1"})
        assert "check digit" in excinfo.value.message_dict["child_id"][0]
        with pytest.raises(ValidationError) as excinfo:
            validate_data(ID_SCHEMA, {"child_id": "110105 19491231 002X"})
        assert "e.g. 11010519491231002X" in excinfo.value.message_dict["child_id"][0]
    published = published_schema(ID_SCHEMA)
    assert not Draft202012Validator(published).is_valid({"child_id": "110105 19491231 002X"})
    wrong_digit = {"child_id": ID_NUMBER[:-1] + "1"}
    assert Draft202012Validator(published).is_valid(wrong_digit)  # a pattern has no arithmetic
    assert not Draft202012Validator(published, format_checker=FORMAT_CHECKER).is_valid(wrong_digit)
    # On a page, spaces typed in an ID number are taken out.
    form = SchemaForm(ID_SCHEMA, {"child_id": "110105 19491231 002x"})
    assert form.is_valid(), form.errors
    assert form.cleaned_json() == {"child_id": ID_NUMBER}


def test_a_format_brings_its_pattern():
    schema = copy.deepcopy(ID_SCHEMA)
    schema["properties"]["child_id"]["pattern"] = "^[0-9]{18}$"
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        check_schema(schema)
    assert 'remove "pattern"' in excinfo.value.messages[0]


# --- Conditions ------------------------------------------------------------------------------------


def when(field, value, *, require=(), show=()):
    test = {"enum": value} if isinstance(value, list) else {"const": value}
    then = {"required": list(require)} if require else {}
    if show:
        then["properties"] = {name: {} for name in show}
    return {"if": {"properties": {field: test}, "required": [field]}, "then": then}


SHOP = normalize_schema(
    {
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": ["retail", "catering"], "title": "类型"},
            "seats": {"type": "integer", "minimum": 1, "title": "座位数"},
            "terrace": {"type": "boolean", "title": "有外摆"},
            "staff": {
                "type": "array",
                "title": "从业人员",
                "items": {
                    "type": "object",
                    "required": ["kind"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["person", "company"], "title": "类别"},
                        "id_number": {"type": "string", "format": "id_number", "title": "身份证号"},
                        "uscc": {
                            "type": "string",
                            "pattern": "^[0-9A-Z]{18}$",
                            "title": "信用代码",
                        },
                    },
                    "allOf": [
                        when("kind", "person", require=["id_number"]),
                        when("kind", "company", require=["uscc"]),
                    ],
                },
            },
        },
        "allOf": [when("kind", "catering", require=["seats"], show=["terrace"])],
    }
)


def test_conditions_are_standard_json_schema():
    check_schema(SHOP)
    published = Draft202012Validator(published_schema(SHOP))
    assert not published.is_valid({"kind": "catering"})
    assert published.is_valid({"kind": "catering", "seats": 20})
    assert published.is_valid({"kind": "retail"})
    assert not published.is_valid({"kind": "retail", "staff": [{"kind": "person"}]})


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"if": {"properties": {"kind": {"const": "catering"}}}, "then": {}}, "write it as"),
        (when("colour", "red", require=["seats"]), '"colour" is not a field here'),
        (when("kind", "bakery", require=["seats"]), "values it accepts"),
        (when("seats", 3, require=["terrace"]), "decides on other fields"),
        (when("kind", "catering", require=["kind"]), "cannot be shown by a condition"),
        (when("kind", "catering", require=["ghost"]), '"ghost" is not a field here'),
        (when("terrace", False, require=["seats"]), '{"const": true}'),
        ({**when("kind", "catering", require=["seats"]), "else": {}}, "write it as"),
    ],
)
def test_unsupported_conditions_are_refused_with_a_clear_message(rule, message):
    schema = copy.deepcopy(SHOP)
    schema["allOf"].append(rule)
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        check_schema(schema)
    assert any(message in m for m in excinfo.value.messages), excinfo.value.messages


def test_a_field_is_required_only_while_its_condition_holds():
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        validate_data(SHOP, {"kind": "catering"})
    assert excinfo.value.message_dict["seats"] == ["Enter 座位数, e.g. 1."]
    draft = validate_data(SHOP, {"kind": "catering"}, partial=True)  # a draft may wait
    assert draft == {"kind": "catering", "terrace": False, "staff": []}
    assert validate_data(SHOP, {"kind": "catering", "seats": 20, "terrace": True}) == {
        "kind": "catering",
        "seats": 20,
        "terrace": True,
        "staff": [],
    }


def test_a_hidden_field_is_checked_then_dropped():
    # Seats and terrace are not asked of a shop: an answer sent anyway is not kept ...
    assert validate_data(SHOP, {"kind": "retail", "seats": 20, "terrace": True}) == {
        "kind": "retail",
        "staff": [],
    }
    # ... but it must still be an answer the schema allows, as the published schema says.
    with pytest.raises(ValidationError) as excinfo:
        validate_data(SHOP, {"kind": "retail", "seats": 0})
    assert "seats" in excinfo.value.message_dict
    assert not Draft202012Validator(published_schema(SHOP)).is_valid({"kind": "retail", "seats": 0})


def test_conditions_inside_the_entries_of_a_list():
    data = {
        "kind": "retail",
        "staff": [{"kind": "person"}, {"kind": "company", "id_number": ID_NUMBER}],
    }
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        validate_data(SHOP, data)
    assert set(excinfo.value.message_dict) == {"staff[0].id_number", "staff[1].uscc"}
    fixed = {"kind": "retail", "staff": [{"kind": "person", "id_number": ID_NUMBER},
                                         {"kind": "company", "id_number": ID_NUMBER, "uscc": "9" * 18}]}  # fmt: skip
    assert validate_data(SHOP, fixed)["staff"] == [
        {"kind": "person", "id_number": ID_NUMBER},
        {"kind": "company", "uscc": "9" * 18},  # the ID number was not asked of a company
    ]


def test_page_shows_conditional_fields_for_the_answers_given_without_javascript():
    with translation.override("en"):
        html = SchemaForm(SHOP, rows={"staff": 1}).render()
    seats = re.search(r'<div class="field"[^>]*>\s*<label for="id_seats"', html).group(0)
    assert (
        'data-show-if="[{&quot;field&quot;: &quot;kind&quot;, &quot;values&quot;: [&quot;catering&quot;]}]"'
        in seats
    )
    assert " hidden" in seats  # nothing chosen yet
    row = re.search(r'<div class="field"[^>]*>\s*<label for="id_staff__0__uscc"', html).group(0)
    assert "staff__0__kind" in row and " hidden" in row
    # Choosing catering and sending the form shows seats, now required, with its message.
    with translation.override("en"):
        form = SchemaForm(
            SHOP, {"kind": "catering", "staff__0__kind": "company"}, rows={"staff": 1}
        )
        assert not form.is_valid()
        assert form.errors["seats"] == ["Enter 座位数, e.g. 1."]
        assert form.errors["staff__0__uscc"][0].startswith("Enter ")
        html = form.render()
    seats = re.search(r'<div class="field[^"]*"[^>]*>\s*<label for="id_seats"', html).group(0)
    assert " hidden" not in seats
    uscc = re.search(r'<div class="field[^"]*"[^>]*>\s*<label for="id_staff__0__uscc"', html).group(
        0
    )
    assert " hidden" not in uscc


def test_page_forgets_what_was_typed_into_a_field_now_hidden():
    form = SchemaForm(SHOP, {"kind": "retail", "seats": "0", "terrace": "on"})
    assert form.is_valid(), form.errors  # seats is not asked of a shop: its mistake does not count
    assert form.cleaned_json() == {"kind": "retail", "staff": []}
    assert validate_data(SHOP, form.cleaned_json()) == form.cleaned_json()


def test_a_required_yes_or_no_question_may_be_answered_no_on_a_page():
    schema = normalize_schema(
        {
            "type": "object",
            "required": ["chain_store"],
            "properties": {"chain_store": {"type": "boolean", "title": "连锁门店"}},
        }
    )
    form = SchemaForm(schema, {})
    assert form.is_valid(), form.errors
    assert form.cleaned_json() == {"chain_store": False}
