"""Model rules of accounts/: identifiers, encryption at rest, lookups, departments, memberships."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts import services
from accounts.crypto import lookup_hash
from accounts.models import (
    CitizenProfile,
    Department,
    Organisation,
    Role,
    StaffMembership,
    User,
)
from accounts.validators import (
    mask_id_number,
    normalize_phone,
    validate_id_number,
    validate_phone,
    validate_uscc,
)

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    id_number_for,
)


@pytest.mark.parametrize(
    "value",
    ["11010519491231002X", "11010519491231002x", "110105 19491231 002X", id_number_for(7)],
)
def test_valid_id_numbers_pass(value):
    validate_id_number(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("110105194912310021", "id_number_check_digit"),
        ("110105194913310020", "id_number_birth_date"),  # 13th month
        ("11010519491231002", "id_number_format"),  # 17 characters
        ("ABCDEFGHIJKLMNOPQR", "id_number_format"),
        ("", "id_number_format"),
    ],
)
def test_invalid_id_numbers_are_refused(value, code):
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number(value)
    assert excinfo.value.code == code  # the rules in full: tests/test_id_numbers.py


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0086 19912345678", "19912345678"),
    ],
)
def test_phone_numbers_are_normalised(value, normalised):
    validate_phone(value)
    assert normalize_phone(value) == normalised


@pytest.mark.parametrize(
    "value", ["12800138000", "1380013800", "138001380001", "phone", "010-12345678"]
)
def test_malformed_phone_numbers_are_refused(value):
    with pytest.raises(ValidationError):
        validate_phone(value)


def test_id_number_is_masked_to_prefix_and_last_four():
    assert mask_id_number("11010519491231002X") == "110***********002X"


@pytest.mark.django_db
def test_id_number_is_not_stored_in_clear_text():
    profile = CitizenProfileFactory(id_number="11010519491231002X")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, id_number_hash FROM accounts_citizenprofile WHERE id = %s",
            [profile.pk],
        )
        stored, stored_hash = cursor.fetchone()
    assert "11010519491231002X" not in stored
    assert "19491231" not in stored
    assert "11010519491231002X" not in stored_hash
    # ... yet the application reads it back and finds the person by it.
    assert CitizenProfile.objects.get(pk=profile.pk).id_number == "11010519491231002X"
    assert services.find_citizen_by_id_number("11010519491231002x") == profile


@pytest.mark.django_db
def test_lookup_never_matches_a_wrong_or_partial_number():
    CitizenProfileFactory(id_number="11010519491231002X")
    assert services.find_citizen_by_id_number("110105194912310021") is None
    assert services.find_citizen_by_id_number("11010519491231002") is None
    assert services.find_citizen_by_id_number("") is None


@pytest.mark.django_db
def test_encrypted_field_cannot_be_filtered_on():
    with pytest.raises(TypeError):
        CitizenProfile.objects.filter(id_number="11010519491231002X").exists()


@pytest.mark.django_db
def test_database_refuses_two_profiles_for_one_id_number():
    first = CitizenProfileFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CitizenProfileFactory(id_number=first.id_number)


@pytest.mark.django_db
def test_a_malformed_phone_is_never_saved():
    """The phone is encrypted, so the database cannot check its format: every save does."""
    with pytest.raises(ValidationError):
        CitizenProfileFactory(phone="12345")
    profile = CitizenProfileFactory()
    profile.phone = "1380013800"
    with pytest.raises(ValidationError):
        profile.save(update_fields=["phone"])
    assert CitizenProfile.objects.get(pk=profile.pk).phone != "1380013800"


@pytest.mark.django_db
def test_phones_and_e_mails_are_not_stored_in_clear_and_are_found_by_their_hash():
    profile = CitizenProfileFactory(phone="13712345678", user__email="Someone@Example.org")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.phone, p.phone_hash, u.email, u.email_hash FROM accounts_citizenprofile p "
            "JOIN accounts_user u ON u.id = p.user_id WHERE p.id = %s",
            [profile.pk],
        )
        row = cursor.fetchone()
    assert not any(v in "".join(row) for v in ("13712345678", "Someone@Example.org", "example"))
    assert CitizenProfile.objects.get(phone_hash=lookup_hash("13712345678")) == profile
    assert User.objects.get(email_hash=lookup_hash(" someone@example.ORG")) == profile.user
    profile.phone = "13812345678"
    profile.save(update_fields=["phone"])  # the hash follows the number
    assert CitizenProfile.objects.get(phone_hash=lookup_hash("13812345678")) == profile


@pytest.mark.django_db
def test_walk_in_citizen_has_a_profile_without_an_account():
    profile = CitizenProfileFactory(walk_in=True)
    assert profile.user is None
    assert services.find_citizen_by_id_number(profile.id_number) == profile


def test_uscc_validation():
    validate_uscc("91110000600037341L")
    with pytest.raises(ValidationError):
        validate_uscc("91110000600037341A")


@pytest.mark.django_db
def test_organisation_with_invalid_credit_code_is_refused():
    organisation = Organisation(
        uscc="91110000600037341A", name="坏公司", legal_representative="某人"
    )
    with pytest.raises(ValidationError) as excinfo:
        organisation.full_clean()
    assert "uscc" in excinfo.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(uscc="not-a-code", name="坏公司", legal_representative="某人")


@pytest.mark.django_db
def test_department_tree_has_one_root_kind():
    city = DepartmentFactory(city=True)
    district = DepartmentFactory(parent=city, kind=Department.Kind.DISTRICT)
    street = DepartmentFactory(parent=district, kind=Department.Kind.STREET)
    assert list(city.children.all()) == [district]
    assert street.parent.parent == city
    with pytest.raises(IntegrityError), transaction.atomic():
        Department.objects.create(code="orphan", name="无上级街道", kind=Department.Kind.STREET)


@pytest.mark.django_db
def test_a_role_is_held_once_per_department():
    membership = StaffMembershipFactory(role=Role.REVIEWER)
    StaffMembershipFactory(
        user=membership.user, department=membership.department, role=Role.APPROVER
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffMembership.objects.create(
            user=membership.user, department=membership.department, role=Role.REVIEWER
        )


@pytest.mark.django_db
def test_viewing_a_full_id_number_is_logged(citizen):
    viewer = StaffMembershipFactory().user
    profile = citizen.citizen_profile
    value = services.reveal_id_number(profile=profile, viewer=viewer, purpose="核验身份")
    assert value == profile.id_number
    from accounts.models import PersonalDataAccess

    access = PersonalDataAccess.objects.get()
    assert (access.viewer, access.profile, access.field, access.purpose) == (
        viewer,
        profile,
        "id_number",
        "核验身份",
    )
