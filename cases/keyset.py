"""Keyset pagination for queues ordered by (`queue_key`, pk): stable and index-friendly at any depth.

`queue_key` is the deadline, or NO_DEADLINE for a case without one (so those come last, as NULLs
would, while the key stays comparable). The filter after a cursor is written with a plain lower
bound on the key, which PostgreSQL uses as the start of the index walk (case_queue_by_deadline),
and the tie on the same key broken by pk."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

NO_DEADLINE = dt.date(9999, 12, 31)


def encode(key: dt.date | None, pk: int) -> str:
    return f"{key.isoformat() if key and key != NO_DEADLINE else ''}_{pk}"


def page_after(queryset: QuerySet, cursor: str | None, size: int) -> tuple[list, str | None]:
    """The next `size` rows after `cursor` (from `encode`), and the cursor of the page after them.
    The rows are model instances, or dicts from `.values()` naming `pk` and `queue_key`."""
    if cursor:
        try:
            raw_date, raw_pk = cursor.rsplit("_", 1)
            pk = int(raw_pk)
            key = dt.date.fromisoformat(raw_date) if raw_date else NO_DEADLINE
            if not 0 <= pk < 2**63:  # what a bigint holds: anything else is no cursor of ours
                raise ValueError(raw_pk)
        except ValueError:
            key, pk = None, 0
        if key is not None:
            queryset = queryset.filter(
                Q(queue_key__gte=key) & (Q(queue_key__gt=key) | Q(pk__gt=pk))
            )
    rows = list(queryset[: size + 1])
    following = None
    if len(rows) > size:
        last = rows[size - 1]
        if isinstance(last, dict):
            following = encode(last["queue_key"], last["pk"])
        else:
            following = encode(last.queue_key, last.pk)
    return rows[:size], following
