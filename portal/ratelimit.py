"""Fixed-window counters that hold across web processes: the `ratelimit` cache (a DatabaseCache
table made by createcachetable) for `hit`/`retry_after`, and the `portal.RateCounter` table for the
one-statement `count_events`; never the per-process local memory, and never Redis, so a limit neither
multiplies with the number of workers nor falls away in a Redis outage.

Keys are hashed before they are stored: no address or username sits in the table. When the table
cannot be reached the counters fail open (the caller goes ahead) and the error is logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import secrets
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


# --- Counters in one statement ----------------------------------------------------------------------
#
# `count_events` is for hot paths (case tracking): one upsert counts an event in each of several windows
# and answers every count, without a lock, a transaction or the DatabaseCache's culling `COUNT(*)`
# on every write. The row lock of `ON CONFLICT DO UPDATE` serialises the writers of one counter, so
# parallel requests cannot slip past a limit. Expired rows are deleted now and then (CULL_EVERY).

CULL_EVERY = 1000  # about one call in so many also deletes the counters whose window has ended


def _table() -> str:
    from .models import RateCounter

    return connection.ops.quote_name(RateCounter._meta.db_table)


def count_events(
    windows: dict[str, int], *, now: float | None = None
) -> dict[str, tuple[int, float]]:
    """Count one event in each counter of `windows` (name → window seconds; a new window starts
    when the counter's last one has ended): name → (count so far in its window, when it ends).
    Raises DatabaseError when the table cannot be reached: the caller decides to fail open."""
    now = time.time() if now is None else now
    table = _table()
    rows = ", ".join(["(%s, 1, %s)"] * len(windows))
    params: list = []
    for name, seconds in windows.items():
        params += [name, now + seconds]
    sql = (
        f"INSERT INTO {table} (name, count, window_ends) VALUES {rows} "  # noqa: S608 - names are ours
        f"ON CONFLICT (name) DO UPDATE SET "
        f"count = CASE WHEN {table}.window_ends > %s THEN {table}.count + 1 ELSE 1 END, "
        f"window_ends = CASE WHEN {table}.window_ends > %s THEN {table}.window_ends "
        f"ELSE excluded.window_ends END "
        f"RETURNING name, count, window_ends"
    )
    with _guarded(), connection.cursor() as cursor:
        cursor.execute(sql, [*params, now, now])
        answered = {name: (counted, ends) for name, counted, ends in cursor.fetchall()}
        if secrets.randbelow(CULL_EVERY) == 0:
            cursor.execute(f"DELETE FROM {table} WHERE window_ends <= %s", [now])  # noqa: S608
    return answered


def uncount(names: list[str]) -> None:
    """Take back one event of each counter (an attempt that, after all, does not count)."""
    table = _table()
    marks = ", ".join(["%s"] * len(names))
    with _guarded(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET count = count - 1 WHERE name IN ({marks}) AND count > 0",  # noqa: S608
            names,
        )


def _guarded():
    """Inside a transaction, a savepoint, so that a counter that fails leaves the caller's
    transaction usable; in autocommit, nothing (each statement commits by itself)."""
    return transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
