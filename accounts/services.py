"""Writes on people and accounts. Views, the API and management commands call these, nothing else.

Each function validates everything first and writes inside one transaction, so a refused registration
leaves nothing half-created.
"""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from . import permissions
from .crypto import keyed_hash
from .models import CitizenProfile, Department, PersonalDataAccess, Role, StaffMembership, User
from .validators import (
    normalize_id_number,
    normalize_phone,
    validate_id_number,
    validate_phone,
)


def id_number_hash(id_number: str) -> str:
    return keyed_hash(normalize_id_number(id_number))


def find_citizen_by_id_number(id_number: str) -> CitizenProfile | None:
    """Exact lookup through the keyed hash: a wrong or partial number never matches anyone."""
    try:
        validate_id_number(id_number)
    except ValidationError:
        return None
    return (
        CitizenProfile.objects.select_related("user")
        .filter(id_number_hash=id_number_hash(id_number))
        .first()
    )


def _duplicate_id_error() -> ValidationError:
    return ValidationError(
        {
            "id_number": [
                ValidationError(
                    _(
                        "An account with this ID number already exists. Sign in, or reset the "
                        "password if you have forgotten it."
                    ),
                    code="duplicate_id_number",
                )
            ]
        }
    )


def register_citizen(
    *,
    username: str,
    password: str,
    real_name: str,
    id_number: str,
    phone: str,
    email: str = "",
    preferred_language: str = "zh-hans",
    dry_run: bool = False,
) -> User | None:
    """Create a citizen's account and profile together, or neither.

    Raises ValidationError with a message per field: invalid or duplicate ID number, weak password,
    malformed phone, taken username. `dry_run` checks only (nothing is written; returns None), so a
    page can show these problems together with its own in one round.
    """
    errors: dict[str, list[ValidationError]] = {}
    username = (username or "").strip()
    real_name = (real_name or "").strip()
    if not username:
        errors.setdefault("username", []).append(
            ValidationError(_("Choose a username."), code="required")
        )
    elif User.objects.filter(username__iexact=username).exists():
        errors.setdefault("username", []).append(
            ValidationError(_("This username is taken; choose another."), code="duplicate_username")
        )
    if not real_name:
        errors.setdefault("real_name", []).append(
            ValidationError(_("Enter your name as on your ID card."), code="required")
        )
    try:
        validate_id_number(id_number)
    except ValidationError as exc:
        errors.setdefault("id_number", []).extend(exc.error_list)
    else:
        existing = CitizenProfile.objects.filter(id_number_hash=id_number_hash(id_number)).first()
        if existing is not None and not _may_claim(existing, real_name=real_name, phone=phone):
            errors.setdefault("id_number", []).extend(_duplicate_id_error().error_dict["id_number"])
    try:
        validate_phone(phone)
    except ValidationError as exc:
        errors.setdefault("phone", []).extend(exc.error_list)
    try:
        validate_password(password, User(username=username, email=email, first_name=real_name))
    except ValidationError as exc:
        errors.setdefault("password", []).extend(exc.error_list)
    if errors:
        raise ValidationError(errors)
    if dry_run:
        return None

    normalized_id = normalize_id_number(id_number)
    try:
        with transaction.atomic():
            user = User(
                username=username,
                email=email or "",
                first_name=real_name,
                preferred_language=preferred_language,
            )
            user.set_password(password)
            user.save()
            walk_in = (
                CitizenProfile.objects.select_for_update()
                .filter(id_number_hash=keyed_hash(normalized_id), user__isnull=True)
                .first()
            )
            if walk_in is not None and _may_claim(walk_in, real_name=real_name, phone=phone):
                # Registered at a counter before: the account takes over that person, and with it
                # every case filed for them there. Nothing is entered twice.
                walk_in.user = user
                walk_in.save(update_fields=["user"])
            else:
                CitizenProfile.objects.create(
                    user=user,
                    real_name=real_name,
                    id_number=normalized_id,
                    id_number_hash=keyed_hash(normalized_id),
                    phone=normalize_phone(phone),
                )
    except IntegrityError as exc:
        # Two registrations with the same number or username at the same moment: one wins.
        if CitizenProfile.objects.filter(id_number_hash=keyed_hash(normalized_id)).exists():
            raise _duplicate_id_error() from exc
        raise ValidationError({"username": [_("This username is taken; choose another.")]}) from exc
    return user


def _may_claim(profile: CitizenProfile, *, real_name: str, phone: str) -> bool:
    """A person registered at a counter (no account yet) is claimed by whoever gives the same ID
    number, the same real name and the phone number the counter recorded."""
    return (
        profile.user_id is None
        and profile.real_name == (real_name or "").strip()
        and profile.phone == normalize_phone(phone)
    )


def register_walk_in(*, real_name: str, id_number: str, phone: str) -> tuple[CitizenProfile, bool]:
    """Find a walk-in citizen by ID number, or register them on the spot without an account.

    Returns (profile, created). An existing person is reused, never duplicated; a name that does
    not match the one on file is refused rather than overwritten.
    """
    errors: dict[str, list] = {}
    try:
        validate_id_number(id_number)
    except ValidationError as exc:
        errors["id_number"] = exc.messages
    existing = None if errors else find_citizen_by_id_number(id_number)
    if existing is not None:
        if real_name and existing.real_name != real_name.strip():
            raise ValidationError(
                {
                    "real_name": [
                        _("This ID number is on file under another name; check the ID card.")
                    ]
                }
            )
        return existing, False
    if not (real_name or "").strip():
        errors["real_name"] = [_("Enter the name as on the ID card.")]
    try:
        validate_phone(phone)
    except ValidationError as exc:
        errors["phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    normalized = normalize_id_number(id_number)
    try:
        with transaction.atomic():
            profile = CitizenProfile.objects.create(
                real_name=real_name.strip(),
                id_number=normalized,
                id_number_hash=keyed_hash(normalized),
                phone=normalize_phone(phone),
                registered_at_counter=True,
            )
    except IntegrityError:
        return CitizenProfile.objects.get(id_number_hash=keyed_hash(normalized)), False
    return profile, True


def update_profile(
    *,
    user: User,
    phone: str | None = None,
    email: str | None = None,
    preferred_language: str | None = None,
    elder_mode: bool | None = None,
) -> User:
    """Change what a citizen may change themselves; name and ID number are verified data and stay."""
    profile = getattr(user, "citizen_profile", None)
    if phone is not None and profile is not None:
        validate_phone(phone)
    with transaction.atomic():
        user_fields = []
        if email is not None:
            user.email = email
            user_fields.append("email")
        if preferred_language is not None:
            user.preferred_language = preferred_language
            user_fields.append("preferred_language")
        if elder_mode is not None:
            user.elder_mode = elder_mode
            user_fields.append("elder_mode")
        if user_fields:
            user.save(update_fields=user_fields)
        if phone is not None and profile is not None:
            profile.phone = normalize_phone(phone)
            profile.save(update_fields=["phone"])
    return user


def reveal_id_number(*, profile: CitizenProfile, viewer: User, purpose: str) -> str:
    """The full ID number, for a role that needs it; every such view is logged with its purpose."""
    PersonalDataAccess.objects.create(
        viewer=viewer, profile=profile, field="id_number", purpose=purpose
    )
    return profile.id_number


# --- Staff accounts and roles (Django admin) --------------------------------------------------------


def _refuse(problems: dict[str, str]) -> None:
    if problems:
        raise ValidationError(problems)


def _open_admin_site(user: User) -> None:
    """What a department admin needs of the admin site: is_staff and the group's permissions."""
    user.groups.add(permissions.ensure_department_admin_group())
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


@transaction.atomic
def grant_role(*, actor: User, user: User, department: Department, role: str) -> StaffMembership:
    """Give a staff account a role in a department; granting it twice changes nothing.

    A department admin grants only the roles that work cases, only in the departments they
    administer and only to staff accounts of those departments (permissions.role_grant_problems);
    raises ValidationError by field otherwise. A department admin role, which only a system admin
    grants, also opens the admin site to the account.
    """
    _refuse(permissions.role_grant_problems(actor, user=user, department=department, role=role))
    membership, _created = StaffMembership.objects.get_or_create(
        user=user, department=department, role=role
    )
    if role == Role.DEPARTMENT_ADMIN:
        _open_admin_site(user)
    return membership


@transaction.atomic
def revoke_role(*, actor: User, membership: StaffMembership) -> None:
    """Take a role back: a department admin only the roles they may grant, in their departments.
    The last department admin role closes the admin site again (unless the account is a system
    admin's)."""
    if not permissions.may_revoke_role(actor, membership):
        raise ValidationError(_("You may not revoke this role."))
    user = membership.user
    membership.delete()
    if (
        membership.role == Role.DEPARTMENT_ADMIN
        and not user.memberships.filter(role=Role.DEPARTMENT_ADMIN).exists()
    ):
        user.groups.remove(permissions.ensure_department_admin_group())
        if user.is_staff and not user.is_superuser:
            user.is_staff = False
            user.save(update_fields=["is_staff"])


@transaction.atomic
def create_staff_account(*, actor: User, account: User, department: Department, role: str) -> User:
    """Save a new staff account together with its first role, or neither.

    `account` is an unsaved User as Django's user creation form builds it (username and password
    set). A department admin's new account never opens the admin site itself: it is a caseworker's,
    a reviewer's, an approver's or a clerk's, and works in the staff workbench.
    """
    _refuse(permissions.role_grant_problems(actor, user=None, department=department, role=role))
    if not actor.is_superuser:
        account.is_staff = account.is_superuser = False
    account.save()
    StaffMembership.objects.create(user=account, department=department, role=role)
    if role == Role.DEPARTMENT_ADMIN:
        _open_admin_site(account)
    return account
