"""The client's address, as the proxies we run in front of Django report it.

Behind the shipped nginx (deploy/nginx.conf: `X-Forwarded-For $proxy_add_x_forwarded_for`) a request
arrives with REMOTE_ADDR = nginx and X-Forwarded-For = whatever the client claimed, then the address
nginx saw: "203.0.113.7" from a client that claimed nothing, "1.2.3.4, 203.0.113.7" from one that
claimed 1.2.3.4. Only the entries the trusted proxies appended can be believed, so the client is the
entry TRUSTED_PROXY_COUNT places from the right (nginx alone: the last one; nginx behind a load
balancer that appends too: the one before). That is how DRF reads NUM_PROXIES, so its throttles and
this agree. X-Real-IP is never read: nginx passes a client's own X-Real-IP through unchanged.

django-axes (AXES_CLIENT_IP_CALLABLE) and everything that asks it (tracking, sign-in limits) use this.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def _valid(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The address of the client that sent `request`; REMOTE_ADDR when no proxy is trusted."""
    remote = _valid(request.META.get("REMOTE_ADDR"))
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if not hops:
        # Not through the proxies (a health check from inside the network): the peer itself.
        return remote
    address = _valid(hops[-min(count, len(hops))])
    if address is None:
        logger.warning("X-Forwarded-For holds no address where TRUSTED_PROXY_COUNT points")
        return remote
    return address
