"""One run at a time of a periodic task, across every worker replica (README "Running on more than
one box"). Beat is a singleton, but a second beat started by mistake, or a sweep still running when
its next tick arrives on another worker, must not make two runs side by side: each periodic task
takes a PostgreSQL session advisory lock named after it and a run that finds it taken does nothing
(the tasks are idempotent and catch up: the next tick does the work). The lock goes with the
connection, so a worker that dies frees it. SQLite (`make run`, one box, one worker) needs none."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable

from django.db import connection

logger = logging.getLogger(__name__)


def key(name: str) -> int:
    """The 64-bit advisory lock key of `name`."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def one_at_a_time(task: Callable) -> Callable:
    """Run `task` only if no other process runs it now; else skip it (and return None)."""
    name = f"{task.__module__}.{task.__qualname__}"

    @functools.wraps(task)
    def wrapped(*args, **kwargs):
        if connection.vendor != "postgresql":
            return task(*args, **kwargs)
        lock = key(name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock])
            (mine,) = cursor.fetchone()
        if not mine:
            logger.info("%s is running elsewhere: this run skipped", name)
            return None
        try:
            return task(*args, **kwargs)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock])

    return wrapped
