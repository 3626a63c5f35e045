"""factory_boy factories for the models tests need; valid ID numbers and codes by construction."""

import datetime as dt

import factory
from django.utils import timezone
from stdnum.cn import ric

from accounts.crypto import keyed_hash
from accounts.identity import enter_in_demo_register
from accounts.models import CitizenProfile, Department, Role, StaffMembership, User

PASSWORD = "a-Long-and-unusual-passphrase-42"


def id_number_for(n: int) -> str:
    """A valid, distinct resident ID number for each n."""
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=n * 37 % 20000)
    first17 = f"110105{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class CitizenProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CitizenProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    real_name = factory.Sequence(lambda n: f"市民{n}")
    id_number = factory.Sequence(id_number_for)
    id_number_hash = factory.LazyAttribute(lambda o: keyed_hash(o.id_number))
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    verified_at = factory.LazyFunction(timezone.now)
    verified_by = "demo"

    class Params:
        walk_in = factory.Trait(user=None, registered_at_counter=True, verified_at=None)
        # Registered before verification existed, or by someone who knew the name and number.
        unverified = factory.Trait(verified_at=None, verified_by="")

    @factory.post_generation
    def in_register(obj, create, extracted, **kwargs):
        """Everyone made here is in the demo population register, as the phone they gave
        (in_register=False: nobody the register knows)."""
        if create and extracted is not False:
            enter_in_demo_register(
                real_name=obj.real_name, id_number=obj.id_number, phone=obj.phone
            )


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.Sequence(lambda n: f"示范局{n}")
    kind = Department.Kind.BUREAU
    parent = factory.LazyFunction(
        lambda: Department.objects.get_or_create(
            code="test-city", defaults={"name": "测试市人民政府", "kind": Department.Kind.CITY}
        )[0]
    )

    class Params:
        city = factory.Trait(kind=Department.Kind.CITY, parent=None)


class StaffMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = Role.CASEWORKER


# --- Catalog ---------------------------------------------------------------------------------------

SIMPLE_SCHEMA = {
    "type": "object",
    "required": ["applicant_name", "shop_area"],
    "properties": {
        "applicant_name": {
            "type": "string",
            "maxLength": 30,
            "title": "申请人姓名",
            "x-label": {"zh-hans": "申请人姓名", "en": "Applicant's name"},
            "x-prefill": "real_name",
        },
        "shop_area": {
            "type": "number",
            "minimum": 1,
            "maximum": 10000,
            "title": "经营面积（平方米）",
            "x-label": {"zh-hans": "经营面积（平方米）", "en": "Floor area (m²)"},
        },
    },
}


def published_workflow(department=None):
    from services.workflows import copy_workflow, ensure_standard_template, publish_workflow

    template = ensure_standard_template()
    if department is None:
        return template
    from services.models import WorkflowDefinition

    existing = WorkflowDefinition.objects.filter(
        department=department, status=WorkflowDefinition.Status.PUBLISHED
    ).first()
    if existing:
        return existing
    return publish_workflow(
        definition=copy_workflow(
            definition=template, department=department, code=f"{department.code}-standard"
        )
    )


def make_service(
    code: str, *, department=None, name: str = "测试事项", publish: bool = True, **fields
):
    """A service with one material, published unless asked otherwise."""
    from services.catalog import create_service, publish_version

    department = department or DepartmentFactory()
    values = {
        "name": name,
        "name_en": fields.pop("name_en", "Test service"),
        "kind": "licensing",
        "audience": "person",
        "legal_basis": "《中华人民共和国行政许可法》第二十九条",
        "conditions": "申请人具有完全民事行为能力。",
        "statutory_limit_days": 20,
        "promised_limit_days": 10,
        "result_type": "approval",
        "result_name": "批准文书",
        "form_schema": SIMPLE_SCHEMA,
        "workflow": published_workflow(department),
        **fields,
    }
    materials = values.pop("materials", [{"name": "申请书", "required": True}])
    life_events = values.pop("life_events", None)
    version = create_service(
        code=code, department=department, materials=materials, life_events=life_events, **values
    )
    if publish:
        publish_version(version=version)
        version.refresh_from_db()
    return version


def logged_in(user):
    """A test client signed in as `user`."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client
