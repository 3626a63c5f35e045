"""The published form schema is the exact contract of submission (DESIGN "API"): an instance it
accepts is accepted from create to submit, and an instance the server refuses it refuses too.

A differential property test, over every demo service's form and hand-written forms of every field
type and condition. Instances valid under the published schema are drawn with hypothesis-jsonschema,
property by property (its own object strategy took half a second an example on these forms), put
together as objects and kept only when `Draft202012Validator` accepts the whole instance. Near misses
start from the same values and spoil some: white space, wrong types, integral floats, dates written
otherwise, ID numbers with a wrong check digit, missing and unknown fields, too many entries.

The validator is the standard one plus `FORMAT_CHECKER` (the ID number's check digit: no pattern can
compute it); without it, nothing else is refused by the server alone. Fields filled from the verified
profile are `readOnly`: the server checks what was sent, then replaces it (cases.workflow.drafts).
"""

import datetime as dt
import functools
import json
import math
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator
from stdnum.cn import ric, uscc

from cases.workflow import prefilled_fields
from services import demo
from services.designer import formbuilder
from services.schema import (
    DATE_PATTERN,
    FORMAT_CHECKER,
    check_schema,
    normalize_schema,
    published_schema,
    validate_data,
)

from .factories import DepartmentFactory, make_service

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _id_number(region: str, born: dt.date, sequence: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def _uscc(body: str) -> str:
    return body + uscc.calc_check_digit(body)


PROFILE = {  # what the server fills into x-prefill fields, as drafts.prefill_values gives it
    "real_name": "张三",
    "id_number": _id_number("110105", dt.date(1990, 3, 7), 123),
    "phone": "13800138000",
    "email": "zhang.san@example.com",
    "organisation_name": "示范市小明便利店有限公司",
    "uscc": _uscc("91110105MA01ABCD7"),
}
ID_NUMBERS = st.builds(
    _id_number,
    # 330108 exists from 1996 and 110103 until 2010: a region code of any period is valid.
    st.sampled_from(["110105", "310101", "440305", "330108", "110103"]),
    st.dates(dt.date(1950, 1, 1), dt.date(2020, 12, 31)),
    st.integers(0, 999),
)
CUSTOM_FORMATS = {"id_number": ID_NUMBERS}


def _text(zh: str, **extra) -> dict:
    return {"type": "string", "title": zh, **extra}


EVERY_TYPE = normalize_schema(
    {
        "type": "object",
        "required": [
            "applicant_name",
            "applicant_id",
            "shop_name",
            "postcode",
            "email",
            "opening",
            "owner_id",
            "staff_count",
            "floors",
            "area",
            "kind",
            "staff",
            "agree",
        ],
        "properties": {
            "applicant_name": _text("申请人姓名", maxLength=30, **{"x-prefill": "real_name"}),
            "applicant_id": _text(
                "申请人公民身份号码", format="id_number", **{"x-prefill": "id_number"}
            ),
            "applicant_phone": _text(
                "联系电话", pattern="^1[3-9][0-9]{9}$", **{"x-prefill": "phone"}
            ),
            "shop_name": _text("店铺名称", minLength=2, maxLength=20),
            "note": _text("备注", maxLength=300, **{"x-widget": "textarea"}),
            "postcode": _text("邮政编码", pattern="^[0-9]{6}$"),
            "licence_code": _text("许可证编号", pattern="[A-Z]{2}", maxLength=12),
            "email": _text("电子邮箱", format="email", maxLength=80),
            "backup_email": _text("备用邮箱", format="email"),
            "opening": _text("开业日期", format="date"),
            "closing": _text("停业日期", format="date", **{"x-date-min": "today"}),
            "founded": _text(
                "成立日期", format="date", **{"x-date-min": "1949-10-01", "x-date-max": "today"}
            ),
            "inspection": _text(
                "预约核查日期", format="date", **{"x-date-min": "today", "x-date-max": "2099-12-31"}
            ),
            "owner_id": _text("经营者公民身份号码", format="id_number"),
            "staff_count": {"type": "integer", "title": "从业人数", "minimum": 1, "maximum": 99},
            "floors": {"type": "integer", "title": "楼层数", "enum": [1, 2, 3]},
            "area": {
                "type": "number",
                "title": "面积",
                "minimum": 0.1,
                "exclusiveMaximum": 500.5,
            },
            "rent": {"type": "number", "title": "月租金", "exclusiveMinimum": 0},
            "kind": {"type": "string", "title": "类型", "enum": ["retail", "catering"]},
            "delivery": {"type": "string", "title": "领取方式", "enum": ["counter", "mail"]},
            "chain_store": {"type": "boolean", "title": "连锁门店"},
            "pledge": {"type": "boolean", "const": True, "title": "我承诺守法经营"},
            "agree": {"type": "boolean", "const": True, "title": "我承诺所填信息真实"},
            "staff": {
                "type": "array",
                "title": "从业人员",
                "minItems": 1,
                "maxItems": 3,
                "items": {
                    "type": "object",
                    "required": ["name", "id_number"],
                    "properties": {
                        "name": _text("姓名", maxLength=10),
                        "id_number": _text("公民身份号码", format="id_number"),
                        "age": {"type": "integer", "title": "年龄", "minimum": 16},
                        "health_until": _text(
                            "健康证明有效期至", format="date", **{"x-date-min": "today"}
                        ),
                        "born": _text("出生日期", format="date", **{"x-date-max": "today"}),
                        "trained": {"type": "boolean", "title": "已培训"},
                        "sworn": {"type": "boolean", "const": True, "title": "本人已签字"},
                    },
                },
            },
            "branches": {
                "type": "array",
                "title": "分店",
                "maxItems": 2,
                "items": {
                    "type": "object",
                    "properties": {"address": _text("地址", maxLength=60)},
                },
            },
        },
    }
)

CONDITIONS = normalize_schema(
    {
        "type": "object",
        "required": ["kind", "has_pets"],
        "properties": {
            "kind": {"type": "string", "title": "类型", "enum": ["retail", "catering", "other"]},
            "seats": {"type": "integer", "title": "座位数", "minimum": 1, "maximum": 500},
            "kitchen_area": {"type": "number", "title": "后厨面积", "exclusiveMinimum": 0},
            "hygiene_pledge": {"type": "boolean", "const": True, "title": "承诺遵守卫生规范"},
            "other_kind": _text("其他类型说明", maxLength=60),
            "licence_code": _text("许可证编号", pattern="^[A-Z]{2}[0-9]{4}$"),
            "opening": _text("开业日期", format="date"),
            "has_pets": {"type": "boolean", "title": "养宠物"},
            "floors": {"type": "integer", "title": "楼层", "enum": [1, 2, 3]},
            "lift": {"type": "boolean", "title": "有电梯"},
            "pets": {
                "type": "array",
                "title": "宠物",
                "maxItems": 3,
                "items": {
                    "type": "object",
                    "required": ["name", "holder"],
                    "properties": {
                        "name": _text("名字", maxLength=20),
                        "holder": {
                            "type": "string",
                            "title": "饲养人",
                            "enum": ["person", "organisation"],
                        },
                        "holder_id": _text("饲养人公民身份号码", format="id_number"),
                        "holder_uscc": _text("饲养单位统一社会信用代码", pattern="^[0-9A-Z]{18}$"),
                        "vaccinated": {"type": "boolean", "title": "已接种疫苗"},
                        "vaccinated_on": _text("接种日期", format="date"),
                    },
                    "allOf": [
                        {
                            "if": {
                                "properties": {"holder": {"const": "person"}},
                                "required": ["holder"],
                            },
                            "then": {"required": ["holder_id"]},
                        },
                        {
                            "if": {
                                "properties": {"holder": {"const": "organisation"}},
                                "required": ["holder"],
                            },
                            "then": {"required": ["holder_uscc"]},
                        },
                        {
                            "if": {
                                "properties": {"vaccinated": {"const": True}},
                                "required": ["vaccinated"],
                            },
                            "then": {"properties": {"vaccinated_on": {}}},
                        },
                    ],
                },
            },
        },
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": "catering"}}, "required": ["kind"]},
                "then": {
                    "required": ["seats", "licence_code", "opening"],
                    "properties": {"kitchen_area": {}, "hygiene_pledge": {}},
                },
            },
            {
                "if": {
                    "properties": {"kind": {"enum": ["retail", "other"]}},
                    "required": ["kind"],
                },
                "then": {"properties": {"opening": {}}},
            },
            {
                "if": {"properties": {"kind": {"const": "other"}}, "required": ["kind"]},
                "then": {"required": ["other_kind"]},
            },
            {
                "if": {"properties": {"has_pets": {"const": True}}, "required": ["has_pets"]},
                "then": {"required": ["pets"]},
            },
            {
                "if": {"properties": {"floors": {"enum": [2, 3]}}, "required": ["floors"]},
                "then": {"properties": {"lift": {}}},
            },
        ],
    }
)


def _designed() -> dict:
    """A form as the designer's builder writes it: every kind of field, bounds, a group, conditions."""
    schema = None

    def add(kind, label, group=None, **spec):
        nonlocal schema
        schema, name = formbuilder.add_field(
            schema, {"kind": kind, "label": label, **spec}, group=group
        )
        return name

    add("prefill", "养犬人姓名", source="real_name")
    add("prefill", "养犬人身份证号", source="id_number")
    add("text", "联系电话", preset="phone", required=True)
    add("text", "邮政编码", preset="postcode")
    add("text", "统一社会信用代码", preset="uscc")
    add("text", "紧急联系人身份证号", preset="id_number")
    add("text", "电子邮箱", preset="email")
    add("text", "小区编码", preset="custom", pattern="^[A-Z]{2}[0-9]{3}$",
        pattern_message="两个大写字母加三位数字")  # fmt: skip
    add("textarea", "养犬地址", max_length=200, required=True)
    add("date", "申请日期", latest="today", required=True)
    add("date", "预约上门日期", earliest="today", latest="date", latest_date=dt.date(2099, 1, 1))
    add("date", "迁入日期", earliest="date", earliest_date=dt.date(2000, 2, 29))
    keeps = add("yesno", "是否已有犬只", required=True)
    dogs = add("group", "犬只", min_rows=1, max_rows=3)
    add("choice", "犬种", group=dogs, required=True, options=[
        {"label": "小型犬", "label_en": "Small", "value": "small"},
        {"label": "大型犬", "label_en": "Large", "value": "large"},
    ])  # fmt: skip
    large = add("yesno", "是否为烈性犬", group=dogs)
    add("integer", "犬龄", group=dogs, minimum=0, maximum=30, unit="岁")
    add("number", "体重", group=dogs, minimum=0.1, unit="公斤")
    add("date", "出生日期", group=dogs, latest="today")
    cage = add("text", "犬笼规格", group=dogs, required=True)
    schema = formbuilder.set_condition(schema, cage, field=large, values=["yes"], group=dogs)
    schema = formbuilder.set_condition(schema, dogs, field=keeps, values=["yes"])
    add("agree", "我承诺文明养犬")
    return schema


SCHEMAS = {
    "designer": _designed(),
    **{service["code"]: normalize_schema(service["form"]) for service in demo._services()},
    "every-type": EVERY_TYPE,
    "conditions": CONDITIONS,
}


def filed(schema: dict, instance: dict) -> dict:
    """What becomes of `instance` from `POST applications/` to `submit/`: checked as a draft, the
    profile filled in (cases.workflow.drafts._apply_prefill), checked in full; the data stored."""
    draft = validate_data(schema, instance, partial=True)
    filled = {name: PROFILE[source] for name, source in prefilled_fields(schema).items()}
    return validate_data(schema, {**draft, **filled})


def contract(published: dict) -> Draft202012Validator:
    return Draft202012Validator(published, format_checker=FORMAT_CHECKER)


@functools.cache
def published(name: str) -> dict:
    check_schema(SCHEMAS[name])
    schema = published_schema(SCHEMAS[name])
    Draft202012Validator.check_schema(schema)
    return schema


@functools.cache
def drawn(name: str) -> "Drawn":
    return Drawn(published(name))


# --- Drawing instances -----------------------------------------------------------------------------

ODD_VALUES = st.sampled_from(
    [None, True, False, 0, -1, 3.0, 1.5, 0.1, 1e300, [], {}, "", " ", "\u3000", "\t\n", "\x00"]
    + ["a\x00b", " 王五 ", "王五\n", "0", "1e3", "3.0", "true", "2026-02-29", "2024-02-29"]
    + ["2026-2-1", "2026/02/01", "2026-02-01T08:00", "0000-01-01", "11010519491231002x"]
    + ["110105194912310021", "a@b", "a..b@example.com", "zhang.san@example.com", "张@例子.中国"]
)


def tweaks(value) -> st.SearchStrategy:
    """Values a little off `value`: padded, blanked, cut, retyped; dates and ID numbers nearby."""
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, int | float):
        near = [value + 1, value - 1, float(value), value + 0.5, -value, value * 10]
        return st.sampled_from([v for v in near if math.isfinite(v)])  # JSON has no infinity
    if not isinstance(value, str):
        return st.just(value)
    near = [f" {value}", f"{value} ", f"{value}\n", value.lower(), value.upper(), value[:-1]]
    near += [f"{value}0", " " * len(value), "\u3000" * len(value), f"{value[:1]}\x00{value[1:]}"]
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        near += [f"{value[:8]}{day}" for day in ("00", "29", "30", "31", "32")]
        near += [f"{value[:5]}02-29", f"{value[:5]}13{value[7:]}", value.replace("-", "/")]
        today = timezone.localdate()  # where "today" bounds lie, and the days either side
        near += [(today + dt.timedelta(days=k)).isoformat() for k in (-1, 0, 1)]
        if re.fullmatch(DATE_PATTERN, value) and "0001-01-01" < value < "9999-12-31":
            day = dt.date.fromisoformat(value)
            near += [(day + dt.timedelta(days=k)).isoformat() for k in (-1, 1)]
        near += [
            f"{value[:5]}{int(value[5:7])}-{int(value[8:])}",
            f"1900{value[4:]}",
            f"0000{value[4:]}",
        ]
    if re.fullmatch(r"[0-9]{17}[0-9X]", value):
        near += [value[:-1] + digit for digit in "0123456789X" if digit != value[-1]]
        near += [f"{value[:6]}{value[6:10]}0230{value[14:]}", value.lower()]
    return st.sampled_from(near)


def _scalars(prop: dict) -> st.SearchStrategy:
    values = from_schema(prop, custom_formats=CUSTOM_FORMATS)
    if prop["type"] in ("integer", "number"):
        # JSON does not tell 3 from 3.0 and neither does JSON Schema; hypothesis-jsonschema draws
        # only the former for integers.
        return st.one_of(values, values.map(float))
    return values


class Drawn:
    """Strategies for one published object schema (the form, or the entries of a list), built once:
    building them costs more than drawing from them."""

    def __init__(self, published: dict):
        self.properties = published["properties"]
        self.required = set(published.get("required", []))
        # Fields some condition requires: drawn as often as required ones, so that most drawn
        # objects satisfy their conditions.
        self.wanted = self.required | {
            name for rule in published.get("allOf", []) for name in rule["then"].get("required", [])
        }
        self.validator = contract(published)
        self.rows = {
            name: Drawn(prop["items"])
            for name, prop in self.properties.items()
            if prop["type"] == "array"
        }
        self.values = {
            name: st.lists(
                self.rows[name].valid,
                min_size=prop.get("minItems", 0),
                max_size=prop.get("maxItems", 4),
            )
            if name in self.rows
            else _scalars(prop)
            for name, prop in self.properties.items()
        }
        self.loose = {
            name: from_schema({"type": prop["type"]}) for name, prop in self.properties.items()
        }
        self.valid = self._objects().filter(self.validator.is_valid)
        self.near = self._near()

    def _objects(self):
        @st.composite
        def objects(draw):
            return {
                name: draw(strategy)
                for name, strategy in self.values.items()
                if name in self.required
                or draw(st.integers(0, 9)) < (8 if name in self.wanted else 5)
            }

        return objects()

    def _near(self):
        @st.composite
        def near(draw):
            instance = draw(self.valid)
            for _ in range(draw(st.integers(1, 2))):
                self.spoil(draw, instance)
            return instance

        return near()

    def spoil(self, draw, instance: dict) -> None:
        """Change one thing of a valid instance: a value, a missing or unknown field, an entry."""
        name = draw(st.sampled_from(sorted(self.properties)))
        ways = ["drop", "odd", "loose", "tweak", "tweak", "tweak", "unknown"]
        how = draw(st.sampled_from(ways + (["entry", "entries"] if name in self.rows else [])))
        event(f"spoilt: {how}")
        if how == "drop":
            instance.pop(name, None)
        elif how == "odd":
            instance[name] = draw(ODD_VALUES)
        elif how == "loose":
            instance[name] = draw(self.loose[name])
        elif how == "tweak":
            current = instance[name] if name in instance else draw(self.values[name])
            instance[name] = draw(tweaks(current))
        elif how == "unknown":
            instance[draw(st.sampled_from(["colour", "Name", "shop_name_"]))] = "x"
        elif how == "entry":
            current = instance.get(name)
            if not (
                isinstance(current, list) and current and all(isinstance(r, dict) for r in current)
            ):
                # An earlier spoil may have left something that is no list of entries.
                current = [draw(self.rows[name].valid)]
            rows = [dict(row) for row in current]
            self.rows[name].spoil(draw, rows[draw(st.integers(0, len(rows) - 1))])
            instance[name] = rows
        else:
            rows = list(instance.get(name) or [])
            high = self.properties[name].get("maxItems", 4)
            instance[name] = draw(
                st.sampled_from([[], rows + [draw(self.rows[name].valid)] * (high + 1), ["x"]])
            )


# --- The properties --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", SCHEMAS)
@EXAMPLES
@given(data=st.data())
def test_every_instance_of_the_published_schema_is_accepted_at_submit(name, data):
    form = drawn(name)
    instance = data.draw(form.valid, label="instance")
    try:
        stored = filed(SCHEMAS[name], instance)
    except ValidationError as exc:
        pytest.fail(f"refused: {exc.message_dict}")
    assert form.validator.is_valid(stored)
    assert filed(SCHEMAS[name], stored) == stored  # submitting what was stored changes nothing


@pytest.mark.slow
@pytest.mark.parametrize("name", SCHEMAS)
@EXAMPLES
@given(data=st.data())
def test_what_the_server_refuses_the_published_schema_refuses(name, data):
    form = drawn(name)
    instance = data.draw(form.near, label="instance")
    try:
        stored = filed(SCHEMAS[name], instance)
    except ValidationError as exc:
        event("refused")
        assert not form.validator.is_valid(instance), f"the schema accepts it; the server: {exc}"
        if Draft202012Validator(published(name)).is_valid(instance):
            event("refused for a check digit only")
            assert all(_is_id_number(SCHEMAS[name], path) for path in exc.message_dict), exc
    else:
        event("accepted")
        # What the server keeps is valid under the contract, even from a lenient answer
        # (null for an optional field, blank optional text).
        assert form.validator.is_valid(stored)


def _is_id_number(schema: dict, path: str) -> bool:
    match = re.fullmatch(r"(\w+)(?:\[\d+\]\.(\w+))?", path)
    prop = schema["properties"][match.group(1)]
    if match.group(2):
        prop = prop["items"]["properties"][match.group(2)]
    return prop.get("format") == "id_number"


# --- The contract served by the API ----------------------------------------------------------------


@pytest.mark.django_db
def test_an_instance_valid_under_the_served_schema_is_submitted(settings, tmp_path, citizen):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    make_service(
        "AMR-CONTRACT",
        department=DepartmentFactory(code="amr"),
        form_schema=CONDITIONS,
        materials=[{"name": "其他说明", "required": False}],
    )
    client = Client()
    client.force_login(citizen)
    served = client.get("/api/v1/services/AMR-CONTRACT/").json()["form_schema"]
    assert served == json.loads(json.dumps(published_schema(CONDITIONS)))
    instance = {
        "kind": "catering",
        "seats": 12.0,  # an integer, written as JSON numbers may be
        "licence_code": "ZJ0001",
        "opening": "2026-12-01",
        "hygiene_pledge": True,
        "other_kind": "早餐店",  # hidden while kind is not "other": checked, then dropped
        "has_pets": False,
    }
    assert contract(served).is_valid(instance)
    created = client.post(
        "/api/v1/applications/",
        {"service": "AMR-CONTRACT", "data": instance},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    number = created.json()["number"]
    assert created.json()["data"] == {
        "kind": "catering",
        "seats": 12,
        "licence_code": "ZJ0001",
        "opening": "2026-12-01",
        "hygiene_pledge": True,
        "has_pets": False,
    }
    submitted = client.post(f"/api/v1/applications/{number}/submit/")
    assert submitted.status_code == 200, submitted.json()
    stored = client.get(f"/api/v1/applications/{number}/").json()["data"]
    assert stored["seats"] == 12 and "other_kind" not in stored
    assert contract(served).is_valid(stored)
