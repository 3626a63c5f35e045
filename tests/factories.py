"""factory_boy factories for the models tests need; valid ID numbers and codes by construction."""

import datetime as dt

import factory
from stdnum.cn import ric

from accounts.crypto import keyed_hash
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

    user = factory.SubFactory(UserFactory)
    real_name = factory.Sequence(lambda n: f"市民{n}")
    id_number = factory.Sequence(id_number_for)
    id_number_hash = factory.LazyAttribute(lambda o: keyed_hash(o.id_number))
    phone = factory.Sequence(lambda n: f"139{n:08d}")

    class Params:
        walk_in = factory.Trait(user=None, registered_at_counter=True)


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
