from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict:
    """What every page needs: the portal's name and whether elder mode (长辈模式) is on."""
    return {
        "portal_name": settings.PORTAL_NAME,
        "elder_mode": bool(request.session.get("elder_mode"))
        if hasattr(request, "session")
        else False,
    }
