"""Fixed-window counters that hold across web processes: the `ratelimit` cache (a DatabaseCache
table made by createcachetable), never the per-process local memory, and never Redis, so a limit
neither multiplies with the number of workers nor falls away in a Redis outage.

Keys are hashed before they are stored: no address or username sits in the table. When the table
cannot be reached the counters fail open (the caller goes ahead) and the error is logged.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.core.cache import caches
from django.db import DatabaseError, connection, transaction
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

CACHE_ALIAS = "ratelimit"


def key_for(scope: str, value: str) -> str:
    return f"{scope}:" + salted_hmac(f"portal.ratelimit.{scope}", value).hexdigest()[:40]


def lock(key: str) -> None:
    """Serialise the writers of one key until the transaction ends. SQLite needs nothing: the
    project's IMMEDIATE transactions already take the database's write lock."""
    if connection.vendor == "postgresql":
        lock_id = int.from_bytes(
            hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def retry_after(key: str, limit: int) -> int | None:
    """Seconds until the window of `key` ends if it has reached `limit`; None if it has not."""
    try:
        stored = caches[CACHE_ALIAS].get(key)
    except DatabaseError:
        logger.exception("Rate limit %s unavailable; allowed without it", key.split(":")[0])
        return None
    if not stored:
        return None
    count, ends = stored
    now = time.time()
    if ends <= now or count < limit:
        return None
    return max(1, math.ceil(ends - now))


def hit(key: str, window_seconds: int) -> int:
    """Count one event in the current window of `key` (a new window starts when the last one has
    ended); returns the count so far."""
    cache = caches[CACHE_ALIAS]
    now = time.time()
    try:
        with transaction.atomic():
            lock(key)
            stored = cache.get(key)
            count, ends = stored if stored and stored[1] > now else (0, now + window_seconds)
            count += 1
            cache.set(key, (count, ends), timeout=max(1, math.ceil(ends - now)))
    except DatabaseError:
        logger.exception("Rate limit %s unavailable; not counted", key.split(":")[0])
        return 0
    return count
