"""Who changed the catalog, the workflows, the calendar, departments, roles and accounts (django-auditlog).

The models are registered in settings (AUDITLOG_INCLUDE_TRACKING_MODELS); this module names the actor.
The actor is read when the log entry is saved, not when the request comes in, so an API request signed
in by token (DRF authenticates inside the view) is attributed too. The actor's e-mail is not copied into
the log, the client address is the one django-axes sees (TRUSTED_PROXY_COUNT), never a forgeable
X-Forwarded-For, and masked fields show only that they changed.
"""

from __future__ import annotations

from contextvars import ContextVar

from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from axes.helpers import get_client_ip_address
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.http import HttpRequest

MASK = "******"

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


def mask(value: str) -> str:
    """A masked field's value in the log: nothing of it (not half, as auditlog's default keeps)."""
    return value if value in ("", "None") else MASK  # auditlog passes an empty value as "None"


class AuditActorMiddleware(AuditlogMiddleware):
    def get_extra_data(self, request):
        return {
            "actor": None,  # set by `name_the_actor` below, when the entry is saved
            "remote_addr": get_client_ip_address(request) or None,
            "remote_port": None,
        }

    def __call__(self, request):
        token = _request.set(request)
        try:
            return super().__call__(request)
        finally:
            _request.reset(token)


def leave_out_reverse_relations() -> None:
    """auditlog lists a model's reverse relations in every creation ("cases.Case.None"): noise."""
    from auditlog.registry import auditlog

    for model, options in auditlog._registry.items():
        reverse = [f.name for f in model._meta.get_fields() if f.auto_created and not f.concrete]
        options["exclude_fields"] = [*options["exclude_fields"], *reverse]


@receiver(pre_save, sender=LogEntry, dispatch_uid="portal.audit.name_the_actor")
def name_the_actor(sender, instance: LogEntry, **kwargs) -> None:
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    if instance.actor_id is None and user is not None and user.is_authenticated:
        instance.actor = user
    instance.actor_email = None
