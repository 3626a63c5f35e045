"""Beat-scheduled tasks run one at a time across every worker replica (portal/locks.py): a run
that finds another under way (a second beat, a slow sweep meeting its next tick) does nothing."""

import threading
from importlib import import_module

import pytest
from django.conf import settings
from django.db import connection

from portal import locks


def _job(ran: list):
    @locks.one_at_a_time
    def job():
        ran.append(1)
        return "done"

    return job


@pytest.mark.django_db(transaction=True)
def test_a_periodic_task_running_elsewhere_is_skipped_then_runs_once_freed():
    ran: list = []
    job = _job(ran)
    key = locks.key(f"{job.__module__}.{job.__qualname__}")
    held, release = threading.Event(), threading.Event()

    def elsewhere():  # another worker, on a connection of its own
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        held.set()
        release.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        connection.close()

    other = threading.Thread(target=elsewhere)
    other.start()
    assert held.wait(10)
    assert job() is None
    assert ran == []
    release.set()
    other.join(10)
    assert job() == "done"
    assert job() == "done"  # released after each run
    assert ran == [1, 1]


def test_every_beat_scheduled_task_takes_the_lock():
    wrapper = locks.one_at_a_time(lambda: None).__code__
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        module, name = entry["task"].rsplit(".", 1)
        task = getattr(import_module(module), name)
        assert task.name == entry["task"]
        assert getattr(task.run, "__code__", None) is wrapper, entry["task"]
