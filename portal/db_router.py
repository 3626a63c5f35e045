"""Reads of public figures and the public catalog from a PostgreSQL streaming replica.

With DATABASE_REPLICA_URL set, settings add the alias `replica` (settings.REPLICA_DATABASE names
it). Only the views wrapped in `replica_reads` (the statistics page, its exports and API; the
catalog, the guides and their API) read there, and inside them only the models of
`REPLICA_MODELS`: published catalog data and aggregated figures that nobody has just written in
this request. Everything else stays on the primary even inside such a view: sessions, users,
profiles, cases, messages, tokens; and what `on_primary` marks (the menu's questions about the
signed-in person in portal/context_processors.py, which a public model may answer). A citizen who just submitted therefore always sees their own case (read-your-writes),
and a write never goes anywhere but the primary. Migrations run on `default` only: the replica
follows the primary's WAL and has no schema of its own.

A replica lags by the time its WAL takes to arrive (usually milliseconds): a service published a
moment ago may show its previous version on the catalog for that long, the statistics refresh a
moment late; nothing else can be stale.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings

# "app_label" (every model of the app) or "app_label.modelname". Public, published or aggregated
# data only: never a person, a case, a message, a session or a token.
REPLICA_MODELS = frozenset(
    {
        "services",  # the catalog: services, versions, materials, life events, bundles, calendar
        "accounts.department",
        "cases.monthlyfigures",  # the statistics table (cases/transparency/statistics.py)
    }
)

_replica_reads = contextvars.ContextVar("portal_replica_reads", default=False)


def replica_alias() -> str:
    """The alias public reads go to: the replica when one is configured, else the primary."""
    return getattr(settings, "REPLICA_DATABASE", "") or "default"


@contextmanager
def replica_reads() -> Iterator[None]:
    """Inside: reads of REPLICA_MODELS go to the replica (when configured)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


@contextmanager
def primary_reads() -> Iterator[None]:
    """Inside: everything from the primary again, even within a replica view: for questions about
    the signed-in person that a public model answers (may they design services? ...)."""
    token = _replica_reads.set(False)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def on_primary(function: Callable) -> Callable:
    """`function` reads from the primary wherever it is called."""

    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with primary_reads():
            return function(*args, **kwargs)

    return wrapped


def reading_replica() -> bool:
    """Inside `replica_reads`, with a replica configured: public reads go to the replica now."""
    return _replica_reads.get() and replica_alias() != "default"


def reads_from_replica(view: Callable) -> Callable:
    """A view (function, or `as_view()`) whose public reads go to the replica."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped


def _public(model) -> bool:
    meta = model._meta
    return meta.app_label in REPLICA_MODELS or meta.label_lower in REPLICA_MODELS


class ReplicaRouter:
    """DATABASE_ROUTERS entry: public reads inside `replica_reads` to the replica, all else to
    the primary."""

    def db_for_read(self, model, **hints):
        if _replica_reads.get() and _public(model):
            return replica_alias()
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, copied: an object read from either relates to any other

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
