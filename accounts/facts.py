"""What every signed-in request asks about its account, cached per account (issue 20).

Each page's header and several middlewares ask whether the account holds a role (the second
factor, the staff idle timeout, a token issued without a code), which roles (the counter, the
designer, the workbench links), whether it maintains a service item (a django-guardian object
permission) and how many messages are unread. These facts change rarely, and only by writes this
module hears of, so they are cached under a *stamp* kept on the account's own row:

- `User.access_stamp` is given a new value by every change of the account's roles or object
  permissions (the signals below: a membership saved or deleted, a guardian permission assigned or
  removed, a group joined or left) and by every save or delete of one of its second-factor
  devices, in the transaction of that change;
- `User.inbox_stamp` by every message delivered to the inbox, read or moved to the account
  (cases.notifications).

The row is read on every request anyway (by the session or the token), so the cache key of a
request always names the facts as committed when the request began: a change is seen by the next
request, in every process, with no invalidation to miss. A cache that is down, or misses, gives the
live queries (portal.caching swallows its errors); nothing here is ever older than the row.
`User.save()` never writes the stamps, so an account edited from an old copy cannot put one back.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from portal import caching

from .models import Role, StaffMembership, User


@dataclass(frozen=True)
class AccessFacts:
    """The account's roles (in any department) and whether it maintains some service item."""

    roles: frozenset[str]
    maintains_items: bool

    @property
    def has_role(self) -> bool:
        return bool(self.roles)

    @property
    def counter_clerk(self) -> bool:
        return Role.COUNTER_CLERK in self.roles

    @property
    def department_admin(self) -> bool:
        return Role.DEPARTMENT_ADMIN in self.roles


NO_FACTS = AccessFacts(roles=frozenset(), maintains_items=False)


def access_facts(user: User) -> AccessFacts:
    """The facts of `user` as its row's stamp names them: kept on the object for the request,
    then from the cache, else two queries."""
    if not user.is_authenticated:
        return NO_FACTS
    known = user.__dict__.get("_access_facts")
    if known is not None:
        return known
    key = f"user-access:{user.pk}:{user.access_stamp}"
    stored = caching.get_many([key]).get(key)
    if isinstance(stored, tuple) and len(stored) == 2:
        facts = AccessFacts(roles=frozenset(stored[0]), maintains_items=bool(stored[1]))
    else:
        facts = _live_access_facts(user)
        caching.store(key, (tuple(sorted(facts.roles)), facts.maintains_items))
    user._access_facts = facts
    return facts


def _live_access_facts(user: User) -> AccessFacts:
    from services.designer.access import maintained_items

    roles = StaffMembership.objects.filter(user=user).values_list("role", flat=True).distinct()
    return AccessFacts(roles=frozenset(roles), maintains_items=maintained_items(user).exists())


def cached_for_inbox(user: User, build) -> int:
    """`build()` (the unread count) kept under the account's inbox stamp."""
    key = f"user-unread:{user.pk}:{user.inbox_stamp}"
    stored = caching.get_many([key]).get(key)
    if isinstance(stored, int):
        return stored
    value = build()
    caching.store(key, value)
    return value


# --- New stamps ---------------------------------------------------------------------------------


def _new_stamp(field: str, user_ids: Iterable[int | None] = (), users: Q | None = None) -> None:
    ids = {pk for pk in user_ids if pk is not None}
    if not ids and users is None:
        return
    rows = User.objects.filter(pk__in=ids) if users is None else User.objects.filter(users)
    # A value never used before, not + 1: a change rolled back must not leave its stamp to a
    # later one (the rolled-back transaction may have cached facts under it).
    rows.update(**{field: secrets.randbits(62)})


def access_changed(*user_ids: int | None, users: Q | None = None) -> None:
    """The roles or object permissions of these accounts changed (in the caller's transaction)."""
    _new_stamp("access_stamp", user_ids, users)


def inbox_changed(*user_ids: int | None) -> None:
    """A message was delivered to, read by or moved to these accounts' inboxes."""
    _new_stamp("inbox_stamp", user_ids)


# --- Signals: no change of a role or an object permission can forget its stamp ---------------------


def _remember_member(sender, instance, **kwargs) -> None:
    instance._facts_user_id = instance.user_id


def _membership_changed(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    access_changed(instance.user_id, getattr(instance, "_facts_user_id", None))
    instance._facts_user_id = instance.user_id


def _user_permission_changed(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        access_changed(instance.user_id)


def _group_permission_changed(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        access_changed(users=Q(groups=instance.group_id))


def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action == "pre_clear" and reverse:
        # group.user_set.clear(): its members are known only before (same transaction).
        access_changed(users=Q(groups=instance.pk))
    elif not action.startswith("post_"):
        return
    elif not reverse:  # user.groups.add/remove/clear
        access_changed(instance.pk)
    elif pk_set:  # group.user_set.add/remove
        access_changed(*pk_set)


def connect_signals() -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_init, post_save
    from guardian.models import GroupObjectPermission, UserObjectPermission

    post_init.connect(_remember_member, sender=StaffMembership, dispatch_uid="facts-member-init")
    post_save.connect(_membership_changed, sender=StaffMembership, dispatch_uid="facts-member")
    post_delete.connect(_membership_changed, sender=StaffMembership, dispatch_uid="facts-member-d")
    for model, receiver in (
        (UserObjectPermission, _user_permission_changed),
        (GroupObjectPermission, _group_permission_changed),
    ):
        post_save.connect(receiver, sender=model, dispatch_uid=f"facts-{model.__name__}")
        post_delete.connect(receiver, sender=model, dispatch_uid=f"facts-{model.__name__}-d")
    m2m_changed.connect(_groups_changed, sender=User.groups.through, dispatch_uid="facts-groups")
    # The second factor's devices (TOTP, and any other django-otp kind installed): the session's
    # device is trusted under the stamp (accounts.second_factor.CachedOTPMiddleware), so removing
    # or disabling one, or moving it to another account, is seen by the next request.
    from django.apps import apps
    from django_otp.models import Device

    for model in apps.get_models():
        if issubclass(model, Device):
            label = model._meta.label_lower
            post_init.connect(_remember_member, sender=model, dispatch_uid=f"facts-otp-i-{label}")
            post_save.connect(_membership_changed, sender=model, dispatch_uid=f"facts-otp-{label}")
            post_delete.connect(
                _membership_changed, sender=model, dispatch_uid=f"facts-otp-d-{label}"
            )
