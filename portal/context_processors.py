from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .db_router import on_primary

# High contrast (高对比度) is a display preference of this browser: a cookie, so that it holds
# before sign-in, after sign-out and on the error pages, which read no session.
CONTRAST_COOKIE = "portal_contrast"


def portal(request: HttpRequest) -> dict:
    """What every page needs: the portal's name, elder mode (长辈模式), high contrast, whether to show
    the queue."""
    user = getattr(request, "user", None)
    return {
        "portal_name": settings.PORTAL_NAME,
        "high_contrast": request.COOKIES.get(CONTRAST_COOKIE) == "1",
        "elder_mode": bool(request.session.get("elder_mode"))
        if hasattr(request, "session")
        else False,
        # Evaluated only when a template asks: anonymous pages make no query for it.
        "unread_messages": SimpleLazyObject(lambda: _unread(user)),
        "is_counter_clerk": SimpleLazyObject(lambda: _is_clerk(user)),
        "portal_degraded": SimpleLazyObject(_degraded),
        "designs_services": SimpleLazyObject(lambda: _designs(user)),
        "works_on_cases": SimpleLazyObject(lambda: _works_on_cases(user)),
    }


@on_primary
def _works_on_cases(user) -> bool:
    """A role in a department (admins too need one), from the account's cached facts."""
    from accounts.facts import access_facts

    return bool(user) and access_facts(user).has_role


@on_primary
def _designs(user) -> bool:
    """A department admin or the maintainer of some item (a system admin: any department)."""
    from accounts.facts import access_facts
    from services.designer.access import designs_services

    if not (user and user.is_authenticated):
        return False
    if user.is_superuser:
        return designs_services(user)
    facts = access_facts(user)
    return facts.department_admin or facts.maintains_items


@on_primary
def _unread(user) -> int:
    if not (user and user.is_authenticated):
        return 0
    from cases.notifications.inbox import unread_badge

    return unread_badge(user)


@on_primary
def _is_clerk(user) -> bool:
    from accounts.facts import access_facts

    return bool(user) and access_facts(user).counter_clerk


def _degraded() -> bool:
    """The broker is unreachable (checked at most every 30 s): counters keep working, messages wait."""
    from django.core.cache import cache

    from .views import _broker_state

    up = cache.get("portal:broker-up")
    if up is None:
        up = _broker_state()
        cache.set("portal:broker-up", up, 30)
    return not up
