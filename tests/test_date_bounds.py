"""Date fields with bounds (issue 14, item 2): "not in the future", "not in the past", fixed dates.
Set in the designer's form builder, refused by the server with a message saying which dates are
allowed, shown to the browser as min/max, and written out in the published schema as a pattern that
takes exactly the dates allowed on the day it is served."""

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from accounts.models import Role
from services.designer import formbuilder
from services.schema import (
    SchemaForm,
    check_schema,
    date_range_pattern,
    published_schema,
    validate_data,
)

from .factories import DepartmentFactory, StaffMembershipFactory, make_service

BORN = {"type": "string", "format": "date", "title": "出生日期", "x-date-max": "today"}
VISIT = {"type": "string", "format": "date", "title": "预约日期", "x-date-min": "today"}
SINCE = {
    "type": "string",
    "format": "date",
    "title": "迁入日期",
    "x-date-min": "2000-02-29",
    "x-date-max": "2030-12-31",
}
SCHEMA = {
    "type": "object",
    "properties": {"born": BORN, "visit": VISIT, "since": SINCE},
    "required": ["born"],
}


def _day(offset: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=offset)).isoformat()


def test_the_server_refuses_dates_outside_the_bounds_and_says_which_are_allowed():
    check_schema(SCHEMA)
    today = _day(0)
    assert validate_data(SCHEMA, {"born": today, "visit": today, "since": "2000-02-29"})
    with pytest.raises(ValidationError) as refused:
        validate_data(SCHEMA, {"born": _day(1), "visit": _day(-1), "since": "2031-01-01"})
    errors = refused.value.message_dict
    assert errors["born"] == [f"日期不能晚于今天：请填写 {today}（今天）或更早的日期。"]
    assert errors["visit"] == [f"请填写今天或之后的日期（今天是 {today}）。"]
    assert errors["since"] == ["请填写 2030-12-31 或更早的日期。"]
    with pytest.raises(ValidationError) as refused:
        validate_data(SCHEMA, {"born": today, "since": "2000-02-28"})
    assert refused.value.message_dict == {"since": ["请填写 2000-02-29 或之后的日期。"]}


def test_the_published_schema_takes_exactly_the_dates_the_server_takes():
    validator = Draft202012Validator(published_schema(SCHEMA))
    for offset in (-400, -1, 0, 1, 400):
        for name in ("born", "visit"):
            data = {"born": _day(0), name: _day(offset)}
            try:
                validate_data(SCHEMA, data)
                accepted = True
            except ValidationError:
                accepted = False
            assert validator.is_valid(data) == accepted, (name, offset)
    assert validator.is_valid({"born": _day(0), "since": "2000-02-29"})
    assert not validator.is_valid({"born": _day(0), "since": "2000-02-28"})
    assert not validator.is_valid({"born": _day(0), "since": "2031-01-01"})
    # The bounds stay readable as written: a client may say "not in the future" itself.
    assert published_schema(SCHEMA)["properties"]["born"]["x-date-max"] == "today"


@given(
    low=st.none() | st.dates(),
    high=st.none() | st.dates(),
    day=st.dates(),
    text=st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
)
def test_the_range_pattern_matches_the_valid_dates_between_the_bounds_and_nothing_else(
    low, high, day, text
):
    if low and high and low > high:
        low, high = high, low
    pattern = re.compile(date_range_pattern(low, high))
    inside = (low or dt.date.min) <= day <= (high or dt.date.max)
    assert bool(pattern.search(day.isoformat())) == inside
    try:
        parsed = dt.date.fromisoformat(text)
    except ValueError:
        assert not pattern.search(text)  # 2026-02-30, 0000-01-01, 2026-13-01
    else:
        assert bool(pattern.search(text)) == (
            (low or dt.date.min) <= parsed <= (high or dt.date.max)
        )


def test_the_range_pattern_knows_leap_years_across_centuries():
    pattern = re.compile(date_range_pattern(dt.date(1899, 6, 1), dt.date(2101, 3, 1)))
    leap = {f"{year}-02-29" for year in range(1899, 2102) if year % 4 == 0}
    leap -= {"1900-02-29", "2100-02-29"}
    found = {f"{year}-02-29" for year in range(1800, 2200) if pattern.search(f"{year}-02-29")}
    assert found == leap and "2000-02-29" in found


@translation.override("en")
def test_bad_bounds_are_refused_with_what_to_write():
    def problems(prop):
        with pytest.raises(ValidationError) as refused:
            check_schema({"type": "object", "properties": {"d": {"title": "日期", **prop}}})
        return " ".join(refused.value.messages)

    assert 'must be "today" or a date' in problems(
        {"type": "string", "format": "date", "x-date-max": "tomorrow"}
    )
    assert "earliest date is after the latest" in problems(
        {"type": "string", "format": "date", "x-date-min": "2030-01-01", "x-date-max": "2020-01-01"}
    )
    assert 'for format "date"' in problems({"type": "string", "x-date-max": "today"})


def test_the_page_gives_the_browser_the_bounds_and_refuses_a_date_in_the_future():
    form = SchemaForm(SCHEMA)
    html = str(form["born"])
    assert f'max="{_day(0)}"' in html and 'type="date"' in html
    assert f'min="{_day(0)}"' in str(form["visit"])
    page = SchemaForm(SCHEMA, data={"born": _day(1)})
    assert not page.is_valid()
    assert "日期不能晚于今天" in page.errors["born"][0]


@pytest.mark.django_db
def test_the_form_builder_sets_not_in_the_future_and_fixed_bounds(client):
    department = DepartmentFactory(code="pol", name="公安局")
    admin = StaffMembershipFactory(
        department=department, role=Role.DEPARTMENT_ADMIN, user__username="pol-admin"
    ).user
    version = make_service(
        "POL-D", department=department, publish=False, form_schema=formbuilder.empty_schema()
    )
    client.force_login(admin)
    url = "/manage/POL-D/form/"
    response = client.post(url, {"kind": "date", "label": "犬只出生日期"})
    assert response.status_code == 302
    name = response["Location"].split("/fields/")[1].split("/")[0]
    page = client.get(f"{url}fields/{name}/").content.decode()
    assert "今天：不晚于今天" in page  # Chinese first
    response = client.post(
        f"{url}fields/{name}/", {"label": "犬只出生日期", "latest": "today", "earliest": "date"}
    )
    assert response.status_code == 400  # a fixed date chosen but not given: said in the page
    assert "请填写日期，如 2020-01-01。" in response.content.decode()
    version.refresh_from_db()
    assert "x-date-max" not in version.form_schema["properties"][name]  # nothing half-saved
    response = client.post(
        f"{url}fields/{name}/",
        {
            "label": "犬只出生日期",
            "latest": "today",
            "earliest": "date",
            "earliest_date": "2000-01-01",
        },
    )
    assert response.status_code == 302
    version.refresh_from_db()
    prop = version.form_schema["properties"][name]
    assert prop["x-date-max"] == "today" and prop["x-date-min"] == "2000-01-01"
    # It opens again as it was saved.
    page = client.get(f"{url}fields/{name}/").content.decode()
    assert 'value="2000-01-01"' in page
    assert re.search(r'<option value="today" selected>', page)
