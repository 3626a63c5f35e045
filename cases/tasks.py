"""Celery tasks: thin wrappers that carry ids and call the services (DESIGN "Notifications")."""

from celery import shared_task

from portal.locks import one_at_a_time

from .models import Notification
from .notifications import services as notifications


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True
)
def send_notification(self, notification_id: int) -> str:
    outcome = notifications.deliver(notification_id)
    if outcome == "retry":
        attempts = (
            Notification.objects.filter(pk=notification_id)
            .values_list("attempts", flat=True)
            .first()
            or 1
        )
        raise self.retry(countdown=notifications.retry_delay(attempts))
    return outcome


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_notifications(self, notification_ids: list[int]) -> dict[str, int]:
    """Every row one transaction wrote, in one message (issue 20: one publish, not one per row).

    Each row is delivered on its own (`deliver` is idempotent and skips rows another worker holds);
    one that fails with attempts left is retried alone, as `send_notification`, after its backoff.
    A worker killed half-way leaves the message unacknowledged: it runs again and skips what went.
    """
    outcomes: dict[str, int] = {}
    for notification_id in notification_ids:
        outcome = notifications.deliver(notification_id)
        if outcome == "retry":
            notifications.retry_later(notification_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def requeue_pending_notifications() -> int:
    return notifications.requeue_pending()


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def sweep_deadlines() -> dict:
    from . import deadlines

    return deadlines.sweep()


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def refresh_statistics() -> int:
    from .transparency import statistics

    return statistics.refresh_monthly_figures()


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def issue_missing_licences() -> int:
    """Approvals whose after-commit licence issuing failed get their licence (idempotent)."""
    from .licences.services import issue_missing

    return issue_missing()


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def make_pending_documents() -> int:
    """Official documents issued but not yet made (rendered, sealed, stored): made now."""
    from .documents import make_pending

    return make_pending()


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def make_trail_digest() -> str:
    """Today's signed digest of the chain heads, once (cases/trail.py); hourly runs catch up."""
    from .trail import make_digest

    record, _made = make_digest()
    return record.digest


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def sweep_proactive() -> dict:
    """免申即享 (cases/proactive): the people newly eligible offered (or granted) each service once;
    set-based and idempotent, so a repeated run offers nobody twice."""
    from .proactive.services import sweep

    return sweep()


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def remind_appointments() -> int:
    """The day-before reminders of booked visits (cases/hall/booking.py), each sent once."""
    from .hall.booking import send_reminders

    return send_reminders()


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def mark_no_shows() -> int:
    """After each centre closes: the day's bookings nobody came for are marked as missed."""
    from .hall.booking import mark_no_shows as mark

    return mark()


@shared_task(acks_late=True, ignore_result=True)
@one_at_a_time
def purge() -> dict:
    """Retention (cases/retention.py): drafts warned and purged, message bodies emptied, closed
    cases archived; set-based and idempotent, so a repeated or late run does only what is due."""
    from .retention import purge as run_purge

    return run_purge().as_dict()
