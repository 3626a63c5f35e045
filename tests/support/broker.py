"""Make the Celery broker unreachable for a while, as a Redis outage would."""

import contextlib

from portal.celery import app as celery_app
from tests.servers import free_port


@contextlib.contextmanager
def broker_down():
    original = celery_app.conf.broker_url
    celery_app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        celery_app.conf.broker_url = original
        # Forget the producer pool made for the dead address (a restarted web process has none).
        celery_app.amqp._producer_pool = None
