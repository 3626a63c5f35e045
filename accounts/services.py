"""Writes on people and accounts. Views, the API and management commands call these, nothing else.

Each function validates everything first and writes inside one transaction, so a refused registration
leaves nothing half-created.
"""

import logging

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import identity, permissions, sms_codes
from .crypto import keyed_hash
from .facts import inbox_changed
from .models import (
    CitizenProfile,
    Department,
    PersonalDataAccess,
    ProxyAuthorisation,
    Role,
    StaffMembership,
    User,
)
from .validators import (
    normalize_id_number,
    normalize_phone,
    validate_id_number,
    validate_phone,
)

logger = logging.getLogger(__name__)


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


def _field_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: [ValidationError(message, code=code)]})


def _identity_refusal(result: identity.VerificationResult) -> ValidationError:
    """What the registrant is told for each outcome the identity provider may give but VERIFIED."""
    Outcome = identity.Outcome
    if result.outcome == Outcome.UNAVAILABLE:
        return _field_error(
            "non_field_errors",  # the API's name; a page shows it above the form
            _("The identity check is not available just now. Try again in a few minutes."),
            "identity_unavailable",
        )
    if result.outcome == Outcome.PHONE_NOT_THEIRS:
        return _field_error(
            "phone",
            _(
                "This mobile number is not registered in your name (实名登记). Use the number "
                "registered to you, or register at a service counter with your ID card."
            ),
            "phone_not_theirs",
        )
    if result.outcome == Outcome.MISMATCH:
        return ValidationError(
            {
                field: [
                    ValidationError(
                        _(
                            "The name and the ID number do not belong together in the population "
                            "register. Type both exactly as on your ID card."
                        ),
                        code="identity_mismatch",
                    )
                ]
                for field in ("real_name", "id_number")
            }
        )
    return _field_error(
        "id_number",
        _(
            "The population register knows no person with this ID number. Check it against "
            "your ID card, or register at a service counter."
        ),
        "identity_unknown",
    )


def register_citizen(
    *,
    username: str,
    password: str,
    real_name: str,
    id_number: str,
    phone: str,
    sms_code: str = "",
    email: str = "",
    preferred_language: str = "zh-hans",
    dry_run: bool = False,
) -> User | None:
    """Create a citizen's account with a verified profile, or nothing.

    The person is verified (实名认证) by the identity provider (accounts.identity: the name, the
    number and that the phone is registered to them) and the phone by the SMS code sent to it
    (accounts.sms_codes, purpose "register"). Then, for the ID number:
    - nobody holds it: a new profile, verified;
    - a walk-in's counter record (no account): the account takes it over, with every case filed
      there, when the phone is the one the counter recorded (the code went to it);
    - an account holds it whose profile is verified: refused, whatever is typed;
    - an account holds it whose profile is not verified (registered before verification existed,
      or by someone who knew the name and number): the verified owner reclaims it. The profile, and
      with it its cases, authorisations and e-licences, moves to the new account; the old account
      stays, without a profile. The move is written to the audit log.

    Raises ValidationError with a message per field: invalid or duplicate ID number, weak password,
    malformed phone, taken username, a wrong or missing code (`sms_code`), an identity the provider
    does not confirm. `dry_run` checks only what needs neither the code nor the provider (nothing is
    written; returns None), so a page can show these problems together with its own in one round.
    Call it outside a transaction: a wrong code's count must stay when the registration is refused.
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
        if existing is not None and existing.user_id is not None and existing.is_verified:
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

    code = sms_codes.check_code(phone=phone, purpose=sms_codes.Purpose.REGISTER, code=sms_code)
    result = identity.verify_identity(real_name=real_name, id_number=id_number, phone=phone)
    if not result.verified:
        if result.outcome != identity.Outcome.UNAVAILABLE:
            sms_codes.count_failure(code)  # at most a few identities tried per code
        raise _identity_refusal(result)

    normalized_id = normalize_id_number(id_number)
    try:
        with transaction.atomic():
            sms_codes.use_code(code)
            user = User(
                username=username,
                email=email or "",
                first_name=real_name,
                preferred_language=preferred_language,
            )
            user.set_password(password)
            user.save()
            held = (
                CitizenProfile.objects.select_for_update()
                .filter(id_number_hash=keyed_hash(normalized_id))
                .first()
            )
            if held is None:
                CitizenProfile.objects.create(
                    user=user,
                    real_name=real_name,
                    id_number=normalized_id,
                    id_number_hash=keyed_hash(normalized_id),
                    phone=normalize_phone(phone),
                    verified_at=timezone.now(),
                    verified_by=result.provider,
                )
            elif held.user_id is None:
                _claim_walk_in(held, user=user, real_name=real_name, phone=phone, result=result)
            elif held.is_verified:
                raise _duplicate_id_error()
            else:
                _reclaim(held, owner=user, phone=phone, result=result)
    except IntegrityError as exc:
        # Two registrations with the same number or username at the same moment: one wins.
        if CitizenProfile.objects.filter(
            id_number_hash=keyed_hash(normalized_id), verified_at__isnull=False
        ).exists():
            raise _duplicate_id_error() from exc
        raise ValidationError({"username": [_("This username is taken; choose another.")]}) from exc
    return user


def _verify(profile: CitizenProfile, *, result: identity.VerificationResult) -> list[str]:
    profile.verified_at, profile.verified_by = timezone.now(), result.provider
    return ["verified_at", "verified_by"]


def _claim_walk_in(
    profile: CitizenProfile,
    *,
    user: User,
    real_name: str,
    phone: str,
    result: identity.VerificationResult,
) -> None:
    """A person registered at a counter (no account yet) is claimed by the verified person with
    that number, the same real name and the phone the counter recorded (the code went to it)."""
    if profile.real_name != real_name:
        raise _field_error(
            "real_name",
            _("This ID number is on file under another name; check it against your ID card."),
            "walk_in_name",
        )
    if profile.phone != normalize_phone(phone):
        raise _field_error(
            "phone",
            _(
                "A service counter registered you with another mobile number. Register with that "
                "number, or have it changed at a counter."
            ),
            "walk_in_phone",
        )
    # Registered at a counter before: the account takes over that person, and with it every case
    # filed for them there. Nothing is entered twice.
    profile.user = user
    profile.save(update_fields=["user", *_verify(profile, result=result)])


def _reclaim(
    profile: CitizenProfile, *, owner: User, phone: str, result: identity.VerificationResult
) -> None:
    """The verified owner takes their ID number back from an account that holds it unverified."""
    from auditlog.models import LogEntry

    squatter = profile.user
    # Cases the old account filed itself would stay in its list (cases.access lets a filer see
    # what they filed online): they are the owner's cases, so they follow the profile.
    from cases.models import Case, Notification

    moved_cases = Case.objects.filter(applicant=profile, filed_by=squatter).update(filed_by=owner)
    # So do the in-app messages about the person's cases: the old account keeps none of them.
    Notification.objects.filter(recipient=squatter, case__applicant=profile).update(recipient=owner)
    inbox_changed(squatter.pk, owner.pk)
    # Authorisations given or taken online under the number were the old account's doing, not the
    # owner's; those a counter recorded were checked against both ID cards and stay.
    revoked = ProxyAuthorisation.objects.filter(
        Q(principal=profile) | Q(agent=profile),
        channel=ProxyAuthorisation.Channel.ONLINE,
        revoked_at__isnull=True,
    ).update(revoked_at=timezone.now())
    profile.user = owner
    profile.real_name = owner.first_name
    profile.phone = normalize_phone(phone)
    profile.save(update_fields=["user", "real_name", "phone", *_verify(profile, result=result)])
    LogEntry.objects.log_create(
        profile,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        actor=owner,
        object_repr=f"citizen profile #{profile.pk}",
        changes={"user": [str(squatter.pk), str(owner.pk)]},
        additional_data={
            "event": "identity_reclaimed",
            "from_account": squatter.username,
            "to_account": owner.username,
            "verified_by": result.provider,
            "cases_moved": moved_cases,
            "authorisations_revoked": revoked,
        },
    )
    logger.info(
        "Profile %s reclaimed by its verified owner from account %s", profile.pk, squatter.pk
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


def verify_my_identity(*, user: User, sms_code: str) -> CitizenProfile:
    """Real-name verification of an account that has none (registered before verification
    existed): the identity provider confirms the name, ID number and phone on file, and the code
    sent to that phone (purpose "verify") proves it is in the holder's hand. Once verified, nobody
    can take the ID number over by registering it again. Raises ValidationError (`sms_code`, or
    `non_field_errors` with what to do); call it outside a transaction (see sms_codes.check_code).
    """
    profile = getattr(user, "citizen_profile", None)
    if profile is None:
        raise _field_error(
            "non_field_errors", _("This account has no real-name profile to verify."), "no_profile"
        )
    if profile.is_verified:
        return profile
    code = sms_codes.check_code(
        phone=profile.phone, purpose=sms_codes.Purpose.VERIFY, code=sms_code
    )
    result = identity.verify_identity(
        real_name=profile.real_name, id_number=profile.id_number, phone=profile.phone
    )
    if not result.verified:
        if result.outcome == identity.Outcome.UNAVAILABLE:
            raise _identity_refusal(result)
        sms_codes.count_failure(code)
        if result.outcome == identity.Outcome.PHONE_NOT_THEIRS:
            message = _(
                "The population register does not hold this mobile number in your name. Change "
                "it on your profile to the number registered to you (实名登记), then verify again."
            )
        else:
            message = _(
                "The population register does not confirm the name and ID number on this "
                "account. To correct them, visit a service counter with your ID card."
            )
        raise _field_error("non_field_errors", message, f"identity_{result.outcome}")
    with transaction.atomic():
        sms_codes.use_code(code)
        profile.save(update_fields=_verify(profile, result=result))
    return profile


def update_profile(
    *,
    user: User,
    phone: str | None = None,
    sms_code: str = "",
    email: str | None = None,
    preferred_language: str | None = None,
    elder_mode: bool | None = None,
) -> User:
    """Change what a citizen may change themselves; name and ID number are verified data and stay.

    A new mobile number needs the code sent to it (accounts.sms_codes, purpose "change_phone"):
    case messages go to it, and a walk-in's record is claimed with it. Raises ValidationError on
    `phone` or `sms_code`; nothing is changed then. Call it outside a transaction (see
    sms_codes.check_code).
    """
    profile = getattr(user, "citizen_profile", None)
    code = None
    changes_phone = False
    if phone is not None and profile is not None:
        try:
            validate_phone(phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from exc
        changes_phone = normalize_phone(phone) != profile.phone
        if changes_phone:
            code = sms_codes.check_code(
                phone=phone, purpose=sms_codes.Purpose.CHANGE_PHONE, code=sms_code
            )
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
        if changes_phone:
            sms_codes.use_code(code)
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
