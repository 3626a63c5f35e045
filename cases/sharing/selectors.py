"""Who may read the sharing log: the admins of the department that owns a registry (and system
admins) see the requests made to it; nobody else."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from accounts.permissions import departments_administered_by

from ..models import SharingRequest


def may_see_sharing_log(user: User) -> bool:
    return user.is_authenticated and (
        user.is_superuser or departments_administered_by(user).exists()
    )


def sharing_requests_for(user: User) -> QuerySet[SharingRequest]:
    """The requests to the registries of the departments `user` administers, newest first."""
    if not may_see_sharing_log(user):
        return SharingRequest.objects.none()
    requests = SharingRequest.objects.all()
    if not user.is_superuser:
        requests = requests.filter(department__in=departments_administered_by(user))
    return requests.select_related("department", "service", "case", "material", "requested_by")


def page_before(queryset: QuerySet, cursor: str | None, size: int) -> tuple[list, str | None]:
    """Newest first by id: the `size` rows older than `cursor`, and the cursor after them."""
    queryset = queryset.order_by("-pk")
    if cursor and cursor.isdigit():
        queryset = queryset.filter(pk__lt=int(cursor))
    rows = list(queryset[: size + 1])
    following = str(rows[size - 1].pk) if len(rows) > size else None
    return rows[:size], following
