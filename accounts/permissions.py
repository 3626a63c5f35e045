"""Who may do what: role checks on departments, and django-guardian for object permissions.

Selectors here are the only place that decides which departments a staff user acts for; later apps
(catalog admin scoping, work queues) build on them.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet
from guardian.shortcuts import assign_perm, get_objects_for_user

from .models import Department, Role, StaffMembership, User


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
    ("accounts", "department", ("view",)),
    ("accounts", "user", ("view",)),
    ("services", "serviceitem", ("view", "add", "change")),
    ("services", "serviceversion", ("view", "add", "change", "delete")),
    ("services", "servicematerial", ("view", "add", "change", "delete")),
    ("services", "workflowdefinition", ("view", "add", "change", "delete")),
    ("services", "workflowstage", ("view", "add", "change", "delete")),
    ("services", "workflowtransition", ("view", "add", "change", "delete")),
    ("services", "lifeevent", ("view",)),
    ("services", "licencetype", ("view",)),
    ("services", "calendaryear", ("view",)),
    ("services", "calendarday", ("view",)),
    ("cases", "opinionphrase", ("view", "add", "change", "delete")),
    ("cases", "case", ("view",)),
    ("cases", "licence", ("view",)),
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
