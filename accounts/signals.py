"""Signal receivers: only for what must follow any sign-in, whichever view performed it."""

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

STAFF_LAST_SEEN = "staff_last_seen"


@receiver(user_logged_in)
def _remember_preferences(sender, request, user, **kwargs) -> None:
    """Carry the account's language and elder mode into the session at every sign-in. Elder mode
    turned on in this visit before signing in stays on: it is not switched off under the person."""
    if request is not None and hasattr(request, "session"):
        request.session["preferred_language"] = user.preferred_language
        request.session["elder_mode"] = user.elder_mode or bool(request.session.get("elder_mode"))
        # The idle timeout of staff sessions (accounts.staff_sessions) counts from the sign-in.
        request.session[STAFF_LAST_SEEN] = int(time.time())


def ensure_groups(sender, **kwargs) -> None:
    """After every migrate (permissions exist by then): the department admins' group is current."""
    from .permissions import ensure_department_admin_group

    ensure_department_admin_group()
