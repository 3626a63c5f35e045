"""Demo people and departments for `make run` (DESIGN "Running it"). Idempotent: run it as often as you like."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric, uscc

from .crypto import keyed_hash
from .identity import DemoIdentityProvider, enter_in_demo_register
from .models import (
    CitizenProfile,
    Department,
    Organisation,
    OrganisationAgent,
    ProxyAuthorisation,
    Role,
    StaffMembership,
    User,
)
from .permissions import ensure_department_admin_group

DEMO_CITY = "demo-city"
# The department that owns most demo services; demo staff work there.
DEMO_DEPARTMENT = "city-amr"

DEPARTMENTS = [
    # code, name, English name, kind, parent
    (DEMO_CITY, "示范市人民政府", "Demo City People's Government", "city", None),
    (
        "city-centre",
        "示范市政务服务中心",
        "Demo City Government Service Centre",
        "centre",
        DEMO_CITY,
    ),
    ("city-psb", "示范市公安局", "Demo City Public Security Bureau", "bureau", DEMO_CITY),
    (
        "city-amr",
        "示范市市场监督管理局",
        "Demo City Administration for Market Regulation",
        "bureau",
        DEMO_CITY,
    ),
    (
        "city-hrss",
        "示范市人力资源和社会保障局",
        "Demo City Human Resources and Social Security Bureau",
        "bureau",
        DEMO_CITY,
    ),
    ("city-civil", "示范市民政局", "Demo City Civil Affairs Bureau", "bureau", DEMO_CITY),
    (
        "city-hsa",
        "示范市医疗保障局",
        "Demo City Healthcare Security Administration",
        "bureau",
        DEMO_CITY,
    ),
    (
        "city-nrp",
        "示范市自然资源和规划局",
        "Demo City Natural Resources and Planning Bureau",
        "bureau",
        DEMO_CITY,
    ),
    (
        "city-hpf",
        "示范市住房公积金管理中心",
        "Demo City Housing Provident Fund Centre",
        "bureau",
        DEMO_CITY,
    ),
    (
        "city-dpf",
        "示范市残疾人联合会",
        "Demo City Disabled Persons' Federation",
        "bureau",
        DEMO_CITY,
    ),
    ("district-binjiang", "滨江区人民政府", "Binjiang District Government", "district", DEMO_CITY),
    (
        "street-huqiao",
        "滨江区湖桥街道办事处",
        "Huqiao Street Office, Binjiang",
        "street",
        "district-binjiang",
    ),
    (
        "street-wanghai",
        "滨江区望海街道办事处",
        "Wanghai Street Office, Binjiang",
        "street",
        "district-binjiang",
    ),
    ("district-qingshan", "青山区人民政府", "Qingshan District Government", "district", DEMO_CITY),
    (
        "street-songlin",
        "青山区松林街道办事处",
        "Songlin Street Office, Qingshan",
        "street",
        "district-qingshan",
    ),
    (
        "street-shiqiao",
        "青山区石桥镇人民政府",
        "Shiqiao Township, Qingshan",
        "street",
        "district-qingshan",
    ),
]


# Where each demo department's refusals are challenged (行政复议法 §24, 行政诉讼法 §§15, 18): a
# city bureau's acts at the city government and the basic court where the bureaus sit (滨江区); a
# government's acts at the government above it and, being a government at county level or above,
# at the intermediate court; a street office's or township's at the district government and the
# district's basic court. code → (review body, English, court, English).
_CITY_GOVERNMENT = ("示范市人民政府", "Demo City People's Government")
_BINJIANG_COURT = ("示范市滨江区人民法院", "Binjiang District People's Court, Demo City")
_QINGSHAN_COURT = ("示范市青山区人民法院", "Qingshan District People's Court, Demo City")
_INTERMEDIATE_COURT = ("示范市中级人民法院", "Demo City Intermediate People's Court")
REVIEW_AND_COURT = {
    DEMO_CITY: ("示范省人民政府", "Demo Province People's Government", *_INTERMEDIATE_COURT),
    **dict.fromkeys(
        (
            "city-centre",
            "city-psb",
            "city-amr",
            "city-hrss",
            "city-civil",
            "city-hsa",
            "city-nrp",
            "city-hpf",
            "city-dpf",
        ),
        (*_CITY_GOVERNMENT, *_BINJIANG_COURT),
    ),
    "district-binjiang": (*_CITY_GOVERNMENT, *_INTERMEDIATE_COURT),
    "district-qingshan": (*_CITY_GOVERNMENT, *_INTERMEDIATE_COURT),
    "street-huqiao": (
        "示范市滨江区人民政府",
        "Binjiang District People's Government",
        *_BINJIANG_COURT,
    ),
    "street-wanghai": (
        "示范市滨江区人民政府",
        "Binjiang District People's Government",
        *_BINJIANG_COURT,
    ),
    "street-songlin": (
        "示范市青山区人民政府",
        "Qingshan District People's Government",
        *_QINGSHAN_COURT,
    ),
    "street-shiqiao": (
        "示范市青山区人民政府",
        "Qingshan District People's Government",
        *_QINGSHAN_COURT,
    ),
}


def _name_review_bodies(departments: dict[str, Department]) -> None:
    """Name each demo department's review body and court, unless an admin has named them."""
    for code, (review_body, review_body_en, court, court_en) in REVIEW_AND_COURT.items():
        department = departments[code]
        if department.review_body or department.court:
            continue
        department.review_body, department.review_body_en = review_body, review_body_en
        department.court, department.court_en = court, court_en
        department.save(update_fields=["review_body", "review_body_en", "court", "court_en"])


def _id_number(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


# username, display name, roles in the demo department, is_staff, is_superuser, what they do
STAFF = [
    (
        "caseworker",
        "王承办",
        [Role.CASEWORKER],
        False,
        False,
        "caseworker (承办人): intake and review",
    ),
    ("reviewer", "赵审核", [Role.REVIEWER], False, False, "reviewer (审核人)"),
    (
        "approver",
        "钱审批",
        [Role.APPROVER, Role.DEPARTMENT_HEAD],
        False,
        False,
        "approver (审批人), department head",
    ),
    ("clerk", "孙窗口", [Role.COUNTER_CLERK], False, False, "counter clerk (窗口人员)"),
    ("deptadmin", "周管理", [Role.DEPARTMENT_ADMIN], True, False, "department admin"),
    ("admin", "系统管理员", [], True, True, "system admin"),
]

CITIZEN = {
    "username": "citizen",
    "real_name": "张小明",
    "id_number": _id_number("11010519900307123"),
    "phone": "13800138000",
    "email": "citizen@example.com",
}
COMPANY_AGENT = {
    "username": "company",
    "real_name": "李华",
    "id_number": _id_number("11010519850520456"),
    "phone": "13900139000",
    "email": "company@example.com",
}
# The citizen's grandmother, registered at a counter without an account, who has authorised him
# to apply for her (帮办代办): "Who is applying" on the start page offers her.
GRANDMOTHER = {
    "real_name": "张秀兰",
    "id_number": _id_number("11010519460512122"),
    "phone": "13800138111",
}
# People in the demo population register (人口库) with no account yet, to try registering as: the
# demo identity provider knows them (accounts.identity.DemoIdentityProvider), and nobody else.
UNREGISTERED = [
    {"real_name": "王小红", "id_number": _id_number("11010519920815234"), "phone": "13700137000"},
    {"real_name": "陈建国", "id_number": _id_number("11010519780103567"), "phone": "13600136000"},
]
COMPANY = {
    "uscc": "91110105MA01" + "ABCD" + "7",
    "name": "示范市创新科技有限公司",
    "legal_representative": "李华",
    "address": "示范市滨江区望海路 88 号",
}
COMPANY["uscc"] += uscc.calc_check_digit(COMPANY["uscc"])


def _user(username: str, display_name: str, password: str, *, email: str = "", **flags) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": display_name, "email": email, **flags}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _citizen(data: dict, password: str) -> User:
    user = _user(data["username"], data["real_name"], password, email=data["email"])
    profile, _created = CitizenProfile.objects.get_or_create(
        id_number_hash=keyed_hash(data["id_number"]),
        defaults={
            "user": user,
            "real_name": data["real_name"],
            "id_number": data["id_number"],
            "phone": data["phone"],
        },
    )
    if not profile.is_verified and profile.user_id == user.pk:
        profile.verified_at, profile.verified_by = timezone.now(), DemoIdentityProvider.name
        profile.save(update_fields=["verified_at", "verified_by"])
    return user


def _population_register() -> None:
    """Every demo person in the demo population register, with the phone registered to them."""
    for person in [CITIZEN, COMPANY_AGENT, GRANDMOTHER, *UNREGISTERED]:
        enter_in_demo_register(
            real_name=person["real_name"], id_number=person["id_number"], phone=person["phone"]
        )


@transaction.atomic
def load(password: str, *, reset_passwords: bool = False) -> list[tuple[str, str]]:
    """Create what is missing; return (username, what they do) for every demo login."""
    by_code: dict[str, Department] = {}
    for code, name, name_en, kind, parent in DEPARTMENTS:
        by_code[code], _ = Department.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "kind": kind,
                "parent": by_code.get(parent),
            },
        )
    _name_review_bodies(by_code)
    _population_register()
    department = by_code[DEMO_DEPARTMENT]
    admins_group = ensure_department_admin_group()

    logins = [
        ("citizen", "citizen (自然人)"),
        ("company", f"company agent (法人经办人) of {COMPANY['name']}"),
    ]
    users = [_citizen(CITIZEN, password), _citizen(COMPANY_AGENT, password)]
    organisation, _ = Organisation.objects.get_or_create(
        uscc=COMPANY["uscc"],
        defaults={k: v for k, v in COMPANY.items() if k != "uscc"},
    )
    OrganisationAgent.objects.get_or_create(
        organisation=organisation,
        user=users[1],
        defaults={"valid_from": dt.date(2024, 1, 1), "is_legal_representative": True},
    )
    for username, display_name, roles, is_staff, is_superuser, description in STAFF:
        user = _user(
            username,
            display_name,
            password,
            email=f"{username}@demo.gov.example",
            is_staff=is_staff,
            is_superuser=is_superuser,
        )
        users.append(user)
        for role in roles:
            StaffMembership.objects.get_or_create(user=user, department=department, role=role)
        if Role.DEPARTMENT_ADMIN in roles:
            user.groups.add(admins_group)
        logins.append((username, description))
    grandmother, _ = CitizenProfile.objects.get_or_create(
        id_number_hash=keyed_hash(GRANDMOTHER["id_number"]),
        defaults={**GRANDMOTHER, "registered_at_counter": True},
    )
    clerk = User.objects.get(username="clerk")
    today = timezone.localdate()
    if not ProxyAuthorisation.objects.filter(
        principal=grandmother, valid_until__gte=today
    ).exists():
        ProxyAuthorisation.objects.create(
            principal=grandmother, agent=users[0].citizen_profile, relationship="relative",
            valid_from=today, valid_until=today + dt.timedelta(days=365),
            channel=ProxyAuthorisation.Channel.COUNTER, recorded_by=clerk,
        )  # fmt: skip
    if reset_passwords:
        for user in users:
            if not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
    return logins
