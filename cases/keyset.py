"""Keyset pagination for queues ordered by (deadline, pk): stable and index-friendly at any depth."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet


def encode(deadline: dt.date | None, pk: int) -> str:
    return f"{deadline.isoformat() if deadline else ''}_{pk}"


def page_after(queryset: QuerySet, cursor: str | None, size: int) -> tuple[list, str | None]:
    """The next `size` rows after `cursor` (from `encode`), and the cursor of the page after them."""
    if cursor:
        try:
            raw_date, raw_pk = cursor.rsplit("_", 1)
            pk = int(raw_pk)
            deadline = dt.date.fromisoformat(raw_date) if raw_date else None
        except ValueError:
            deadline, pk = None, 0
        if deadline is not None:
            queryset = queryset.filter(Q(deadline__gt=deadline) | Q(deadline=deadline, pk__gt=pk))
        else:
            queryset = queryset.filter(pk__gt=pk)
    rows = list(queryset[: size + 1])
    following = encode(rows[size - 1].deadline, rows[size - 1].pk) if len(rows) > size else None
    return rows[:size], following
