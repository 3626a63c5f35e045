"""Application form schemas: refused when invalid, rendered as accessible forms, and data validated the
same way for pages and the API."""

import copy

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from services.schema import SchemaForm, check_schema, normalize_schema, validate_data

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
        ({**GOOD, "shop_name": "面"}, "shop_name", "at least 2 characters"),
        ({**GOOD, "shop_name": "面" * 21}, "shop_name", "at most 20 characters"),
        ({**GOOD, "postcode": "31000A"}, "postcode", "form this field asks for"),
        ({**GOOD, "area": 0}, "area", "greater than or equal to 1"),
        ({**GOOD, "area": "35"}, "area", "Expected a number"),
        ({**GOOD, "floors": 1.5}, "floors", "Expected a integer"),
        ({**GOOD, "floors": True}, "floors", "not true or false"),
        ({**GOOD, "opening": "2026-13-01"}, "opening", "valid date"),
        ({**GOOD, "kind": "bakery"}, "kind", "valid choice"),
        ({**GOOD, "staff": []}, "staff", "required"),
        ({**GOOD, "staff": [{"age": 30}]}, "staff[0].name", "required"),
        ({**GOOD, "staff": [{"name": "甲"}] * 4}, "staff", "at most 3"),
        (
            {**GOOD, "staff": [{"name": "甲", "age": 12}]},
            "staff[0].age",
            "greater than or equal to 16",
        ),
        ({**GOOD, "staff": "王五"}, "staff", "list of entries"),
        ({**GOOD, "agree": False}, "agree", "required"),
        ({**GOOD, "hobby": "x"}, "hobby", "no such field"),
        ({k: v for k, v in GOOD.items() if k != "shop_name"}, "shop_name", "required"),
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
    assert "必填项" in excinfo.value.message_dict["shop_name"][0]


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
        assert any("required" in e for e in form.errors["__all__"])  # the list needs an entry


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
    assert "<legend>从业人员</legend>" in html
    assert 'name="_add_row" value="staff"' in html
    assert 'type="radio"' in html  # two choices: radio buttons, easier than a select


def test_initial_json_prefills_the_form():
    form = SchemaForm(
        SCHEMA, initial_json={"shop_name": "老街面馆", "staff": [{"name": "甲"}, {"name": "乙"}]}
    )
    assert form["shop_name"].value() == "老街面馆"
    assert form["staff__1__name"].value() == "乙"
