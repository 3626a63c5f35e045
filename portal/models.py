"""The portal's own bookkeeping; no domain models live here (DESIGN "Apps")."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CacheGeneration(models.Model):
    """A value changed by every write that changes what a cached page shows (portal/caching.py):
    the catalog's (publishing, withdrawing, a department renamed …) and the statistics' (each
    refresh). Cached fragments are keyed by it, so they are never invalidated by time alone, and
    it lives in the database so that a cache that lost it, or was down during a write, never
    brings an old page back."""

    name = models.SlugField(_("name"), max_length=32, primary_key=True)
    value = models.BigIntegerField(_("value"), default=0)  # random: see caching.bump

    class Meta:
        verbose_name = _("cache generation")
        verbose_name_plural = _("cache generations")

    def __str__(self) -> str:
        return f"{self.name} {self.value}"


class RateCounter(models.Model):
    """One fixed-window counter of portal/ratelimit.py's `count`: a keyed hash (no address or
    username is stored), how many events its current window has seen and when that window ends
    (Unix time). A model rather than a cache entry: one upsert counts and answers at once, it is
    shared by every web replica, and it does not depend on Redis."""

    name = models.CharField(_("name"), max_length=64, primary_key=True)
    count = models.IntegerField(_("count"), default=0)
    window_ends = models.FloatField(_("window ends"), db_index=True)

    class Meta:
        verbose_name = _("rate-limit counter")
        verbose_name_plural = _("rate-limit counters")

    def __str__(self) -> str:
        return f"{self.name} {self.count}"
