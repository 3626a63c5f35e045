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
