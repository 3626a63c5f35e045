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
    """A role in a department. For everyone but admins that is what the middlewares already
    asked (accounts.second_factor.is_staff_account, kept on the user for the request)."""
    if not (user and user.is_authenticated):
        return False
    if user.is_staff or user.is_superuser:
        return user.memberships.exists()
    from accounts.second_factor import is_staff_account

    return is_staff_account(user)


@on_primary
def _designs(user) -> bool:
    from accounts.second_factor import is_staff_account
    from services.designer.access import designs_services, maintained_items

    if not (user and user.is_authenticated):
        return False
    if not is_staff_account(user):
        # No role anywhere (what the middlewares already asked): no department to administer,
        # only perhaps an item maintained, one query instead of two.
        return maintained_items(user).exists()
    return designs_services(user)


@on_primary
def _unread(user) -> int:
    if not (user and user.is_authenticated):
        return 0
    from cases.notifications.inbox import unread_count

    return unread_count(user)


@on_primary
def _is_clerk(user) -> bool:
    from accounts.second_factor import is_staff_account
    from cases.counter.services import is_counter_clerk

    # A clerk is a role in a department: someone with none (already known) asks nothing more.
    return bool(user) and is_staff_account(user) and is_counter_clerk(user)


def _degraded() -> bool:
    """The broker is unreachable (checked at most every 30 s): counters keep working, messages wait."""
    from django.core.cache import cache

    from .views import _broker_state

    up = cache.get("portal:broker-up")
    if up is None:
        up = _broker_state()
        cache.set("portal:broker-up", up, 30)
    return not up
