"""Celery tasks of the fees: thin, idempotent wrappers of the services."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from portal.locks import one_at_a_time

from . import reconciliation
from . import services as payments


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def complete_refunds() -> int:
    return payments.complete_refunds()


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def reconcile_yesterday() -> int:
    """Yesterday's report per department (remade if it exists: running twice changes nothing)."""
    return len(reconciliation.store_reports(timezone.localdate() - dt.timedelta(days=1)))
