"""Who may design which service item: the admins of its department, and the maintainers named for
that one item (a django-guardian object permission, `services.maintain_serviceitem`)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from accounts.models import User
from accounts.permissions import departments_administered_by

from ..models import ServiceItem

MAINTAIN = "services.maintain_serviceitem"


def designs_services(user: User) -> bool:
    """May open the designer at all: a department admin, or the maintainer of some item."""
    return user.is_authenticated and (
        departments_administered_by(user).exists() or maintained_items(user).exists()
    )


def maintained_items(user: User) -> QuerySet[ServiceItem]:
    return get_objects_for_user(
        user, MAINTAIN, klass=ServiceItem, accept_global_perms=False, with_superuser=False
    )


def items_designed_by(user: User) -> QuerySet[ServiceItem]:
    """The items this user may edit, in a constant number of queries."""
    if not user.is_authenticated:
        return ServiceItem.objects.none()
    return ServiceItem.objects.filter(
        Q(department__in=departments_administered_by(user))
        | Q(pk__in=maintained_items(user).values("pk"))
    )


def may_create_in(user: User):
    """The departments a user may create new items in (admins only; maintainers edit one item)."""
    return departments_administered_by(user)
