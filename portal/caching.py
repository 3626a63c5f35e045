"""Caching of what every visitor sees alike: the catalog, the guides, the form schemas and the
public statistics (issue 20).

What is cached is keyed by a *generation*: a value in the database (portal.CacheGeneration)
that every write changing such a page bumps in its own transaction: publishing, withdrawing, a
department or a centre renamed for the catalog (signals below, so no write can forget it), each
refresh for the statistics. A page is therefore never invalidated by time alone; the entries'
timeout only lets old generations fall out of the cache. The generation itself is cached for
GENERATION_SECONDS, which bounds how long another process that cached the old one, or a cache that
missed the bump during an outage, may still serve the old page.

Only anonymous-safe content is cached: fragments and payloads that are the same for every visitor
of a language and display mode. Whatever depends on the person (the header, CSRF tokens, messages)
is rendered on each request around them.

The cache may be down: every call here swallows its errors (django-redis' IGNORE_EXCEPTIONS does
too) and the caller builds what it needs, so an outage makes pages slower, never wrong or failing.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

CATALOG = "catalog"
STATISTICS = "statistics"

GENERATION_SECONDS = 30
# Entries outlive their generation only as garbage; a day keeps a quiet catalog's pages warm.
FRAGMENT_SECONDS = 24 * 3600

T = TypeVar("T")
_MISSING = object()


def _generation_key(name: str) -> str:
    return f"generation:{name}"


def _get_many(keys: list[str]) -> dict:
    try:
        return cache.get_many(keys)
    except Exception:  # noqa: BLE001 (any backend's outage: uncached, never an error)
        logger.warning("cache unavailable", exc_info=False)
        return {}


def _set(key: str, value, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:  # noqa: BLE001
        logger.warning("cache unavailable", exc_info=False)


def _delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:  # noqa: BLE001
        logger.warning("cache unavailable", exc_info=False)


def get_many(keys: list[str]) -> dict:
    """The entries found under `keys` (an outage finds none)."""
    return _get_many(keys)


def store(key: str, value, timeout: int = FRAGMENT_SECONDS) -> None:
    """Keep `value` under `key` (an outage keeps nothing)."""
    _set(key, value, timeout)


def generations(*names: str) -> tuple[int, ...]:
    """The current generations of `names`, in order: from the cache, else from the database (one
    query for all that were missing)."""
    from .models import CacheGeneration

    keys = [_generation_key(name) for name in names]
    found = _get_many(keys)
    missing = [name for name, key in zip(names, keys, strict=True) if key not in found]
    if missing:
        stored = dict(CacheGeneration.objects.filter(name__in=missing).values_list("name", "value"))
        for name in missing:
            found[_generation_key(name)] = stored.get(name, 0)
            _set(_generation_key(name), stored.get(name, 0), GENERATION_SECONDS)
    return tuple(found[key] for key in keys)


def bump(name: str) -> None:
    """A write changed what pages keyed by `name` show: from its commit on they are built anew.
    Runs in the caller's transaction, so a rolled-back write bumps nothing."""
    from .models import CacheGeneration

    # A value never used before rather than value + 1: a bump rolled back (its pages perhaps cached
    # by the same transaction) must not be the value a later bump commits.
    CacheGeneration.objects.update_or_create(name=name, defaults={"value": secrets.randbits(62)})
    key = _generation_key(name)
    # Now (this process reads the database until commit) and after commit (what another request
    # cached meanwhile was read before the bump was visible).
    _delete(key)
    transaction.on_commit(lambda: _delete(key))


def api_variant(request) -> tuple[str, str]:
    """What a shared API payload varies by: its language and the address it was asked at (the
    pagination links are absolute)."""
    return (get_language() or "", request.build_absolute_uri())


def variant(request) -> tuple[str, bool]:
    """What a shared fragment varies by besides its data: the page's language and elder mode."""
    session = getattr(request, "session", None)
    elder = bool(session.get("elder_mode")) if session is not None else False
    return (get_language() or "", elder)


def key_for(kind: str, *parts) -> str:
    """A cache key for `parts` (generations, ids, language, filters), short whatever their length."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    return f"{kind}:{digest}"


def cached(key: str, build: Callable[[], T], *, timeout: int = FRAGMENT_SECONDS) -> T:
    """The value cached under `key`, or `build()` stored there (unless None: nothing found is not
    kept, so made-up addresses fill no cache). Nothing personal may be built here."""
    value = _get_many([key]).get(key, _MISSING)
    if value is _MISSING:
        value = build()
        # Built from a replica that has not yet replayed the last bump, it would be the old page
        # stored under the new generation for a day: served, not kept.
        if value is not None and _replica_caught_up():
            _set(key, value, timeout)
    return value


def _replica_caught_up() -> bool:
    """Whether what a view just read from the read replica (portal/db_router.py) is as new as
    the generations it is keyed by: the replica holds the primary's generations. Two small queries,
    once per build, and only in a view that reads the replica."""
    from .db_router import reading_replica, replica_alias
    from .models import CacheGeneration

    if not reading_replica():
        return True

    def stored(alias: str) -> dict:
        return dict(CacheGeneration.objects.using(alias).values_list("name", "value"))

    try:
        return stored(replica_alias()) == stored("default")
    except DatabaseError:
        return False


# --- Catalog invalidation ------------------------------------------------------------------------

# Every model whose rows the catalog page, guides, their API and the stats' names show. Saved in
# admin, the designer, the API, an import or a command, each bumps the catalog generation.
CATALOG_MODELS = (
    "services.ServiceItem",
    "services.ServiceVersion",
    "services.ServiceMaterial",
    "services.LifeEvent",
    "services.LicenceType",
    "services.LegalArticle",
    "services.Bundle",
    "services.BundleMember",
    "services.BundleDependency",
    "accounts.Department",
    "hall.ServiceCentre",
    "hall.CentreService",
)


def _catalog_changed(sender, **kwargs) -> None:
    if kwargs.get("raw"):  # loaddata: the fixture's rows, no transaction of ours around them
        return
    action = kwargs.get("action")
    if action is not None and not action.startswith("post_"):
        return
    bump(CATALOG)


def connect_catalog_signals(models: Iterable[str] = CATALOG_MODELS) -> None:
    from django.apps import apps
    from django.db.models.signals import m2m_changed, post_delete, post_save

    for label in models:
        model = apps.get_model(label)
        post_save.connect(_catalog_changed, sender=model, dispatch_uid=f"catalog-save-{label}")
        post_delete.connect(_catalog_changed, sender=model, dispatch_uid=f"catalog-del-{label}")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(
                _catalog_changed,
                sender=field.remote_field.through,
                dispatch_uid=f"catalog-m2m-{label}-{field.name}",
            )


# --- Whole pages for visitors who are not signed in ----------------------------------------------

_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
_CSRF_SLOT = "\x00csrf\x00"


def _anonymous_and_quiet(request) -> bool:
    """Not signed in and no message waiting: then the whole page is the same for every such
    visitor asking the same address in the same language and display mode."""
    user = getattr(request, "user", None)
    if user is None or user.is_authenticated:
        return False
    waiting = getattr(request, "_messages", None)
    return not waiting


def render_page(request, template_name: str, context: dict, *, key: str, status: int = 200):
    """`render()`, except that for a visitor not signed in the whole page is cached under `key`
    plus what the page shell reads from the request (its address, high contrast), with each CSRF
    token put back per request. Signed-in visitors get the shell rendered for them."""
    if not _anonymous_and_quiet(request):
        return render(request, template_name, context, status=status)
    from .context_processors import CONTRAST_COOKIE

    page_key = key_for(
        "page", key, request.get_full_path(), request.COOKIES.get(CONTRAST_COOKIE) == "1"
    )

    def build() -> str:
        html = render_to_string(template_name, context, request=request)
        return _CSRF_INPUT.sub(lambda m: m.group(1) + _CSRF_SLOT + m.group(2), html)

    html = cached(page_key, build)
    if _CSRF_SLOT in html:
        html = html.replace(_CSRF_SLOT, get_token(request))
    return HttpResponse(html, status=status)
