"""The demo registries (示范数据): household register (户籍), marriage (婚姻), social insurance (社保)
and real property (不动产), answering from `cases.models.DemoRegistryRecord`, keyed by the keyed
hash of the ID number and encrypted, never an ID number in clear. `load()` seeds them for the demo
people of accounts.demo (idempotent); DEMO_REGISTRIES_DOWN (codes) makes one answer as if down,
to try the upload-instead path.

Sweeps (免申即享) ask a registry for everyone who meets a rule at once (`eligible`): the demo table
carries, beside the encrypted record, the few non-identifying columns such a query needs (birth
date, district, whether the household registration is in force), filled from the record.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import demo as accounts_demo
from accounts.crypto import keyed_hash

from .registry import Answer, Person, Registry, RegistryUnavailable


class DemoRegistry(Registry):
    """A registry answering from the demo table."""

    def _check_up(self) -> None:
        if self.code in getattr(settings, "DEMO_REGISTRIES_DOWN", []):
            raise RegistryUnavailable(f"the demo registry {self.code} is set to be down")

    def lookup(self, person: Person, fields: list[str]) -> Answer:
        from ..models import DemoRegistryRecord

        self._check_up()
        record = DemoRegistryRecord.objects.filter(
            registry=self.code, person_hash=keyed_hash(person.normalized_id_number)
        ).first()
        if record is None:
            return Answer(found=False)
        return Answer(found=True, data={f: record.data.get(f) for f in fields}, as_of=record.as_of)

    def lookup_many(self, people: list[Person], fields: list[str]) -> dict[str, Answer]:
        """One query for all of them (for set-based sweeps)."""
        from ..models import DemoRegistryRecord

        self._check_up()
        by_hash = {keyed_hash(p.normalized_id_number): p.normalized_id_number for p in people}
        answers = {number: Answer(found=False) for number in by_hash.values()}
        for record in DemoRegistryRecord.objects.filter(
            registry=self.code, person_hash__in=list(by_hash)
        ):
            answers[by_hash[record.person_hash]] = Answer(
                found=True, data={f: record.data.get(f) for f in fields}, as_of=record.as_of
            )
        return answers

    def columns(self, data: dict) -> dict:
        """The queryable columns of a record (DemoRegistryRecord.birth_date ...) from its data."""
        return {}


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _age_condition(op: str, value, day: dt.date) -> Q:
    """Whole years on `day` (as cases.automation.facts counts them) as a condition on the birth
    date: aged at least n ⇔ born on or before the day n years before."""

    def at_least(n: int) -> Q:
        return Q(birth_date__lte=_years_before(day, n))

    def at_most(n: int) -> Q:
        return Q(birth_date__gt=_years_before(day, n + 1))

    if op == "in":
        condition = Q(pk__in=[])
        for item in value:
            condition |= _age_condition("eq", item, day)
        return condition
    number = float(value)
    conditions = {
        "gte": lambda: at_least(math.ceil(number)),
        "gt": lambda: at_least(math.floor(number) + 1),
        "lte": lambda: at_most(math.floor(number)),
        "lt": lambda: at_most(math.ceil(number) - 1),
        "eq": lambda: (
            at_least(int(number)) & at_most(int(number)) if number == int(number) else Q(pk__in=[])
        ),
        "ne": lambda: ~_age_condition("eq", number, day),
    }
    return Q(birth_date__isnull=False) & conditions[op]()


_LOOKUPS = {"eq": "exact", "lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte", "in": "in",
            "startswith": "startswith"}  # fmt: skip


class HouseholdRegistry(DemoRegistry):
    code = "household"
    department_code = "city-psb"
    name = "户籍信息（示范市公安局人口库）"
    name_en = "Household register (Demo City Public Security Bureau)"
    fields = {
        "name": "姓名",
        "gender": "性别",
        "birth_date": "出生日期",
        "ethnicity": "民族",
        "address": "户籍地址",
        "household_head": "户主姓名",
        "relation_to_head": "与户主关系",
        "status": "户籍状态",
    }
    field_kinds = {"birth_date": "date"}

    def derived_facts(self) -> dict[str, tuple[str, str, list[str]]]:
        return {
            "age": ("number", "年龄（周岁）", ["birth_date"]),
            "resident": ("boolean", "本市户籍（户籍状态正常）", ["status"]),
            "district": ("string", "户籍所在区县", ["address"]),
        }

    def fact_values(self, found: bool, data: dict, facts: list[str], day: dt.date) -> dict:
        """A person the register does not hold is no resident; age in whole years on `day`."""
        if not found:
            return {"resident": False} if "resident" in facts else {}
        values = super().fact_values(found, data, facts, day)
        derived = self.columns(data)
        if "resident" in facts:
            values["resident"] = derived["resident"]
        if "district" in facts and derived["district"]:
            values["district"] = derived["district"]
        if "age" in facts and derived["birth_date"] is not None:
            birth = derived["birth_date"]
            values["age"] = (
                day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
            )
        return values

    def columns(self, data: dict) -> dict:
        try:
            birth = dt.date.fromisoformat(str(data.get("birth_date") or ""))
        except ValueError:
            birth = None
        district = re.search(r"市(\w+?[区县])", str(data.get("address") or ""))
        return {
            "birth_date": birth,
            "district": district.group(1) if district else "",
            "resident": data.get("status") == "正常",
        }

    def set_facts(self) -> set[str]:
        return {"age", "birth_date", "resident", "district"}

    def eligible(self, rules: list[dict], day: dt.date) -> list[str]:
        """One query over the queryable columns."""
        from ..models import DemoRegistryRecord

        self._check_up()
        condition = Q(registry=self.code)
        for rule in rules:
            name = str(rule["fact"]).removeprefix(f"registry.{self.code}.")
            op, value = rule["op"], rule["value"]
            if name not in self.set_facts():
                raise NotImplementedError(f"{self.code} cannot answer {name} for a set")
            if name == "age":
                condition &= _age_condition(op, value, day)
            elif op == "ne":
                condition &= ~Q(**{name: value})
            else:
                condition &= Q(**{f"{name}__{_LOOKUPS[op]}": value})
        return list(
            DemoRegistryRecord.objects.filter(condition).values_list("person_hash", flat=True)
        )


class MarriageRegistry(DemoRegistry):
    code = "marriage"
    department_code = "city-civil"
    name = "婚姻登记信息（示范市民政局）"
    name_en = "Marriage records (Demo City Civil Affairs Bureau)"
    fields = {
        "status": "婚姻状况",
        "spouse_name": "配偶姓名",
        "registered_on": "登记日期",
    }


class SocialInsuranceRegistry(DemoRegistry):
    code = "social_insurance"
    department_code = "city-hrss"
    name = "社会保险参保信息（示范市人力资源和社会保障局）"
    name_en = "Social insurance records (Demo City Human Resources and Social Security Bureau)"
    field_kinds = {"insured": "boolean", "contribution_months": "number",
                   "unemployment_months": "number"}  # fmt: skip
    fields = {
        "insured": "是否参保",
        "scheme": "参保险种",
        "employer": "参保单位",
        "since": "参保起始年月",
        "contribution_months": "累计缴费月数",
        "unemployment_months": "失业保险缴费月数",
    }


class PropertyRegistry(DemoRegistry):
    code = "property"
    department_code = "city-nrp"
    name = "不动产登记信息（示范市自然资源和规划局）"
    name_en = "Real property register (Demo City Natural Resources and Planning Bureau)"
    field_kinds = {"count": "number", "properties": "list"}
    fields = {
        "count": "名下不动产数量",
        "properties": "不动产清单",
    }


_HOME = "示范市滨江区望海街道江畔路 12 号 3 幢 201 室"
_GRANDMOTHER_HOME = "示范市青山区松林街道松林路 5 号 1 单元 302 室"

# Each demo person's records, by registry; a registry left out knows nothing of them (王小红 has no
# social insurance, 张小明 no property), so "nothing on record" can be tried too.
RECORDS = {
    "citizen": {
        "household": {
            "name": "张小明", "gender": "男", "birth_date": "1990-03-07", "ethnicity": "汉族",
            "address": _HOME, "household_head": "张小明", "relation_to_head": "户主",
            "status": "正常",
        },
        "marriage": {"status": "已婚", "spouse_name": "刘芳", "registered_on": "2018-10-01"},
        "social_insurance": {
            "insured": True, "scheme": "职工基本养老保险、医疗保险、失业保险",
            "employer": "示范市创新科技有限公司", "since": "2014-07", "contribution_months": 138,
            "unemployment_months": 138,
        },
    },
    "company": {
        "household": {
            "name": "李华", "gender": "女", "birth_date": "1985-05-20", "ethnicity": "汉族",
            "address": "示范市滨江区湖桥街道湖桥路 8 号 2 幢 1101 室", "household_head": "李华",
            "relation_to_head": "户主", "status": "正常",
        },
        "marriage": {"status": "已婚", "spouse_name": "周明", "registered_on": "2012-05-20"},
        "social_insurance": {
            "insured": True, "scheme": "职工基本养老保险、医疗保险、失业保险",
            "employer": "示范市创新科技有限公司", "since": "2008-09", "contribution_months": 206,
            "unemployment_months": 206,
        },
        "property": {
            "count": 1,
            "properties": [{"certificate": "示范（2019）滨江区不动产权第 0012345 号",
                            "address": "示范市滨江区湖桥街道湖桥路 8 号 2 幢 1101 室",
                            "area": "89.50"}],
        },
    },
    "grandmother": {
        "household": {
            "name": "张秀兰", "gender": "女", "birth_date": "1946-05-12", "ethnicity": "汉族",
            "address": _GRANDMOTHER_HOME, "household_head": "张秀兰", "relation_to_head": "户主",
            "status": "正常",
        },
        "marriage": {"status": "丧偶", "spouse_name": "张国栋", "registered_on": "1968-03-08"},
        "social_insurance": {
            "insured": True, "scheme": "城乡居民基本养老保险（领取待遇）", "employer": "",
            "since": "2011-01", "contribution_months": 0, "unemployment_months": 0,
        },
        "property": {
            "count": 1,
            "properties": [{"certificate": "示范（2005）青山区房权证第 0004567 号",
                            "address": _GRANDMOTHER_HOME, "area": "62.30"}],
        },
    },
    "unregistered-0": {
        "household": {
            "name": "王小红", "gender": "女", "birth_date": "1992-08-15", "ethnicity": "汉族",
            "address": "示范市青山区石桥镇石桥村 3 组 16 号", "household_head": "王建华",
            "relation_to_head": "女", "status": "正常",
        },
        "marriage": {"status": "未婚", "spouse_name": "", "registered_on": ""},
    },
    "unregistered-1": {
        "household": {
            "name": "陈建国", "gender": "男", "birth_date": "1978-01-03", "ethnicity": "汉族",
            "address": "示范市滨江区湖桥街道滨河路 21 号", "household_head": "陈建国",
            "relation_to_head": "户主", "status": "正常",
        },
        "marriage": {"status": "离婚", "spouse_name": "", "registered_on": "2003-11-11"},
        "social_insurance": {
            "insured": True, "scheme": "职工基本养老保险、医疗保险、失业保险",
            "employer": "示范市滨江建设集团有限公司", "since": "2000-03", "contribution_months": 300,
            "unemployment_months": 300,
        },
        "property": {
            "count": 1,
            "properties": [{"certificate": "示范（2016）滨江区不动产权第 0009876 号",
                            "address": "示范市滨江区湖桥街道滨河路 21 号", "area": "120.00"}],
        },
    },
}  # fmt: skip


def _people() -> dict[str, str]:
    """Key of RECORDS → the demo person's ID number."""
    return {
        "citizen": accounts_demo.CITIZEN["id_number"],
        "company": accounts_demo.COMPANY_AGENT["id_number"],
        "grandmother": accounts_demo.GRANDMOTHER["id_number"],
        **{
            f"unregistered-{i}": person["id_number"]
            for i, person in enumerate(accounts_demo.UNREGISTERED)
        },
    }


def _columns(registry: str, data: dict) -> dict:
    from .registry import get_registry

    adapter = get_registry(registry)
    return adapter.columns(data) if isinstance(adapter, DemoRegistry) else {}


def enter_in_demo_registry(*, registry: str, id_number: str, data: dict, as_of=None):
    """Put (or update) one person's record in a demo registry; for the demo data and tests."""
    from ..models import DemoRegistryRecord

    record, _created = DemoRegistryRecord.objects.update_or_create(
        registry=registry,
        person_hash=keyed_hash(Person(id_number).normalized_id_number),
        defaults={"data": data, "as_of": as_of or timezone.now(), **_columns(registry, data)},
    )
    return record


def demo_record(*, registry: str, id_number: str, data: dict, as_of=None):
    """An unsaved record, its queryable columns filled, for bulk_create (many demo people)."""
    from ..models import DemoRegistryRecord

    return DemoRegistryRecord(
        registry=registry,
        person_hash=keyed_hash(Person(id_number).normalized_id_number),
        data=data,
        as_of=as_of or timezone.now(),
        **_columns(registry, data),
    )


@transaction.atomic
def load() -> int:
    """Seed the demo registries for the demo people; return how many records they hold."""
    from ..models import DemoRegistryRecord

    as_of = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)  # 09:00 in China
    for key, id_number in _people().items():
        for registry, data in RECORDS[key].items():
            enter_in_demo_registry(registry=registry, id_number=id_number, data=data, as_of=as_of)
    return DemoRegistryRecord.objects.count()
