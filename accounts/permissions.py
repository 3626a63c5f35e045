"""Who may do what: role checks on departments, and django-guardian for object permissions.

Selectors here are the only place that decides which departments a staff user acts for; later apps
(catalog admin scoping, work queues) build on them.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, get_objects_for_user

from .models import CitizenProfile, Department, Role, StaffMembership, User


def departments_with_role(user: User, *roles: str) -> QuerySet[Department]:
    """Departments in which `user` holds any of `roles` (all roles when none is named)."""
    if not user.is_authenticated:
        return Department.objects.none()
    memberships = StaffMembership.objects.filter(user=user)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return Department.objects.filter(pk__in=memberships.values("department_id"))


def departments_administered_by(user: User) -> QuerySet[Department]:
    """A system admin administers every department; a department admin only their own."""
    if user.is_superuser:
        return Department.objects.all()
    return departments_with_role(user, Role.DEPARTMENT_ADMIN)


def has_role(user: User, role: str, department: Department | None = None) -> bool:
    if not user.is_authenticated:
        return False
    memberships = StaffMembership.objects.filter(user=user, role=role)
    if department is not None:
        memberships = memberships.filter(department=department)
    return memberships.exists()


def grant_object_permission(*, user: User, permission: str, obj) -> None:
    """Give one user one permission on one object (guardian), e.g. a proxy on a case."""
    assign_perm(permission, user, obj)


def objects_with_permission(user: User, permission: str, queryset: QuerySet) -> QuerySet:
    return get_objects_for_user(user, permission, klass=queryset, accept_global_perms=False)


DEPARTMENT_ADMINS_GROUP = "department admins"
# Model permissions a department admin needs in Django admin; the admin classes still scope every
# row to the departments they administer.
DEPARTMENT_ADMIN_PERMISSIONS = [
    ("accounts", "staffmembership", ("view", "add", "change", "delete")),
    # Change is scoped to their own departments' review body and court (DepartmentAdmin).
    ("accounts", "department", ("view", "change")),
    # Add and change are scoped to the staff accounts of their departments (staff_managed_by).
    ("accounts", "user", ("view", "add", "change")),
    ("services", "serviceitem", ("view", "add", "change")),
    ("services", "serviceversion", ("view", "add", "change", "delete")),
    ("services", "servicematerial", ("view", "add", "change", "delete")),
    ("services", "legalarticle", ("view", "add", "change")),
    ("services", "workflowdefinition", ("view", "add", "change", "delete")),
    ("services", "workflowstage", ("view", "add", "change", "delete")),
    ("services", "workflowtransition", ("view", "add", "change", "delete")),
    ("services", "lifeevent", ("view", "add")),
    ("services", "licencetype", ("view", "add", "change")),
    ("services", "calendaryear", ("view",)),
    ("services", "calendarday", ("view",)),
    ("cases", "opinionphrase", ("view", "add", "change", "delete")),
    ("cases", "case", ("view",)),
    ("cases", "licence", ("view",)),
    # Grants are changed by the admins of the registry's department (SharingGrantAdmin); the log
    # is read by them too.
    ("services", "sharinggrant", ("view", "add", "change", "delete")),
    ("cases", "sharingrequest", ("view",)),
    # The service centres their departments operate (cases/hall/admin.py scopes them).
    ("hall", "servicecentre", ("view", "add", "change")),
    ("hall", "centreservice", ("view", "add", "change", "delete")),
    ("hall", "window", ("view", "add", "change", "delete")),
    ("hall", "appointment", ("view",)),
]


def ensure_department_admin_group() -> Group:
    """The group every department admin belongs to (kept up to date after each migrate)."""
    group, _created = Group.objects.get_or_create(name=DEPARTMENT_ADMINS_GROUP)
    wanted = Q()
    for app_label, model, actions in DEPARTMENT_ADMIN_PERMISSIONS:
        wanted |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    group.permissions.add(*Permission.objects.filter(wanted))
    return group


# --- Staff accounts and roles in Django admin -------------------------------------------------------

# The roles a department admin may grant in the departments they administer: the roles that work
# cases. Not department head (负责人: approves extensions, 行政许可法 §42, and is named by the
# organisation, not by its IT administrator) and not department admin (admin rights come from a
# system admin, who keeps the record of who administers each department): nobody grants a role
# at or above their own.
ROLES_GRANTED_BY_DEPARTMENT_ADMINS = (
    Role.CASEWORKER,
    Role.REVIEWER,
    Role.APPROVER,
    Role.COUNTER_CLERK,
)


def roles_grantable_by(user: User) -> tuple[str, ...]:
    if user.is_superuser:
        return tuple(Role.values)
    if departments_administered_by(user).exists():
        return tuple(ROLES_GRANTED_BY_DEPARTMENT_ADMINS)
    return ()


def staff_managed_by(user: User) -> QuerySet[User]:
    """The accounts an admin sees in Django admin: every account for a system admin; for a
    department admin, the accounts holding a role in a department they administer (never a
    citizen's account, never a system admin)."""
    if user.is_superuser:
        return User.objects.all()
    members = StaffMembership.objects.filter(department__in=departments_administered_by(user))
    return User.objects.filter(is_superuser=False, pk__in=members.values("user_id"))


def may_change_account(actor: User, account: User) -> bool:
    """A department admin changes (name, e-mail, password, active) only the accounts whose every
    role is one they may grant, in departments they administer: not a peer admin or the head,
    nobody with roles elsewhere, no admin-site account, and no account that is also a citizen's
    (its password opens that person's own applications)."""
    if actor.is_superuser:
        return True
    if account.is_superuser or account.is_staff or account.pk == actor.pk:
        return False
    if CitizenProfile.objects.filter(user=account).exists():
        return False
    memberships = StaffMembership.objects.filter(user=account)
    return (
        memberships.exists()
        and not memberships.exclude(
            department__in=departments_administered_by(actor),
            role__in=roles_grantable_by(actor),
        ).exists()
    )


def role_grant_problems(
    actor: User, *, user: User | None, department: Department | None, role: str
) -> dict[str, str]:
    """Why `actor` may not give `user` the `role` in `department`, by field; empty when they may.
    `user` must already be a staff account of the actor's departments: a new one is created with
    its first role (accounts.services.create_staff_account)."""
    problems: dict[str, str] = {}
    if actor.is_superuser:
        return problems
    if (
        department is not None
        and not departments_administered_by(actor).filter(pk=department.pk).exists()
    ):
        problems["department"] = _("You may grant roles only in the departments you administer.")
    if role and role not in roles_grantable_by(actor):
        problems["role"] = grantable_roles_message(actor)
    if user is not None and not staff_managed_by(actor).filter(pk=user.pk).exists():
        problems["user"] = _(
            "Roles go only to staff accounts of your departments, never to a citizen's account. "
            "For a new colleague, add a user: the account is created with its first role."
        )
    return problems


def grantable_roles_message(actor: User) -> str:
    labels = [Role(role).label for role in roles_grantable_by(actor)]
    return _("You may grant these roles: %(roles)s.") % {"roles": _(", ").join(map(str, labels))}


def may_revoke_role(actor: User, membership: StaffMembership) -> bool:
    if actor.is_superuser:
        return True
    return membership.role in roles_grantable_by(actor) and (
        departments_administered_by(actor).filter(pk=membership.department_id).exists()
    )
