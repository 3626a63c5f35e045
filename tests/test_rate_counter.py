"""portal.ratelimit.count_events: one upsert per event, shared by every client of the database."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal import ratelimit
from portal.models import RateCounter

pytestmark = pytest.mark.django_db


def test_counts_per_counter_and_window_then_starts_again_when_it_ends():
    first = ratelimit.count_events({"a": 60, "b": 10}, now=1000.0)
    assert first == {"a": (1, 1060.0), "b": (1, 1010.0)}
    second = ratelimit.count_events({"a": 60, "b": 10}, now=1005.0)
    assert second == {"a": (2, 1060.0), "b": (2, 1010.0)}
    third = ratelimit.count_events({"a": 60, "b": 10}, now=1010.0)  # b's window has ended
    assert third == {"a": (3, 1060.0), "b": (1, 1020.0)}
    ratelimit.uncount(["a"])
    assert RateCounter.objects.get(name="a").count == 2


def test_one_statement_counts_every_window():
    with CaptureQueriesContext(connection) as captured:
        ratelimit.count_events({"x": 60, "y": 60, "z": 60}, now=1.0)
    writes = [q["sql"] for q in captured if "portal_ratecounter" in q["sql"]]
    assert len(writes) == 1
    assert writes[0].startswith("INSERT")


def test_tracking_limit_reached_is_429_and_the_window_ending_lifts_it():
    from .test_tracking import anonymous, track

    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC), tick=False) as clock:
        client = anonymous("10.9.9.9")
        for _ in range(10):
            assert track(client, "AMR-X-20261124-9999").status_code == 404
        refused = track(client, "AMR-X-20261124-9999")
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 600
        clock.shift(dt.timedelta(minutes=10, seconds=1))
        assert track(client, "AMR-X-20261124-9999").status_code == 404


def test_two_clients_from_one_address_share_the_counts_and_refusals_do_not_count():
    from .test_tracking import anonymous, track

    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC), tick=False):
        first, second = anonymous("10.8.8.8"), anonymous("10.8.8.8")
        for index in range(10):
            assert track(first if index % 2 else second, "AMR-X-20261124-9998").status_code == 404
        assert track(first, "AMR-X-20261124-9998").status_code == 429
        assert track(second, "AMR-X-20261124-9998").status_code == 429
        other = anonymous("10.8.8.9")
        assert track(other, "AMR-X-20261124-9998").status_code == 404
    failed = [c for c in RateCounter.objects.all() if c.name.endswith(":failed")]
    assert sorted(c.count for c in failed) == [1, 10]  # the refused attempts were taken back
    assert not any("10.8.8" in c.name for c in RateCounter.objects.all())  # hashed, never stored
