"""A trail nobody can cut (issue 17, item 8): each case keeps its chain head, so a removed tail shows;
the database refuses TRUNCATE of the trail; a signed daily digest of the heads shows history rewritten
since, heads and events together."""

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from cases import tasks, trail, workflow
from cases.models import CaseChainHead, Event, TrailDigest

from . import test_trail

cases_with_trails = test_trail.cases_with_trails  # the fixture: three accepted cases, 9 events

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL triggers (statement-level TRUNCATE)"
)


def _bypass_triggers(sql: str, params: list) -> None:
    """What an attacker with database superuser rights could do: switch the triggers off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET session_replication_role = origin")
        else:  # SQLite: drop them (the test's transaction puts them back)
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER "{name}"')
            cursor.execute(sql, params)


def _remove_events_from(case, sequence: int) -> None:
    """Remove the case's events from `sequence` on, and the documents that name them."""
    _bypass_triggers(
        "DELETE FROM cases_officialdocument WHERE event_id IN "
        "(SELECT id FROM cases_event WHERE case_id = %s AND sequence >= %s)",
        [case.pk, sequence],
    )
    _bypass_triggers(
        "DELETE FROM cases_event WHERE case_id = %s AND sequence >= %s", [case.pk, sequence]
    )


def _verify_fails() -> str:
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_trail")
    return str(excinfo.value)


def test_every_event_moves_its_cases_head(cases_with_trails):
    for case in cases_with_trails:
        last = case.events.order_by("-sequence").first()
        assert (case.chain_head.sequence, case.chain_head.hash) == (last.sequence, last.hash)
        assert last.sequence == 3


def test_a_removed_tail_is_found_and_the_case_named(cases_with_trails, capsys):
    target = cases_with_trails[1]
    _remove_events_from(target, 3)  # the acceptance: the trail now ends neatly at #2
    message = _verify_fails()
    assert target.number in message
    assert "ends at #2 but its chain head is #3: events were removed" in message
    assert all(case.number not in message for case in cases_with_trails if case != target)


def test_a_trail_removed_entirely_is_found(cases_with_trails):
    target = cases_with_trails[0]
    _remove_events_from(target, 1)
    message = _verify_fails()
    assert target.number in message and "all events are gone" in message


def test_a_head_moved_back_by_hand_is_refused_and_if_forced_found(cases_with_trails):
    target = cases_with_trails[2]
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseChainHead.objects.filter(case=target).update(sequence=2)
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseChainHead.objects.filter(case=target).delete()
    _bypass_triggers("UPDATE cases_casechainhead SET sequence = 2 WHERE case_id = %s", [target.pk])
    message = _verify_fails()
    assert target.number in message and "does not end at its chain head" in message


@postgres_only
@pytest.mark.parametrize("table", ["cases_event", "cases_casechainhead", "cases_traildigest"])
def test_truncate_is_refused(cases_with_trails, table):
    trail.make_digest()
    with (
        pytest.raises(DatabaseError, match="TRUNCATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's rows are checked first
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert Event.objects.count() == 9
    assert CaseChainHead.objects.count() == 3 and TrailDigest.objects.count() == 1


@pytest.fixture
def later(cases_with_trails):
    """Ten minutes on: the digest covers heads as of five minutes before it is made."""
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10)):
        yield


def test_the_digest_is_made_once_a_day_signed_and_printable(cases_with_trails, later, capsys):
    call_command("trail_digest")
    assert re.fullmatch(
        r"Made: trail digest of \d{4}-\d\d-\d\d, 3 cases, [0-9a-f]{64}\.\n", capsys.readouterr().out
    )
    call_command("trail_digest", "--print")
    printed = capsys.readouterr().out
    record = TrailDigest.objects.get()
    assert record.case_count == 3
    assert f"Trail digest of {record.date.isoformat()}" in printed
    assert "cases: 3" in printed
    assert f"digest (SHA-256): {record.digest}" in printed
    assert f"signature (HMAC-SHA256): {record.signature}" in printed
    assert TrailDigest.objects.count() == 1  # made once a day
    call_command("trail_digest", "--date", record.date.isoformat())
    assert f"signature (HMAC-SHA256): {record.signature}" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No trail digest was made on 2001-01-01"):
        call_command("trail_digest", "--date", "2001-01-01")

    # The key signs it: another key's signature is another.
    assert trail.signature_holds(record)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "TRAIL_DIGEST_KEY", "another-key", raising=False)
        assert not trail.signature_holds(record)

    call_command("verify_trail")
    assert (
        f"the digest of {record.date.isoformat()} (3 cases) still matches"
        in capsys.readouterr().out
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        TrailDigest.objects.filter(pk=record.pk).update(case_count=2)


def test_the_beat_task_makes_the_days_digest(cases_with_trails, later):
    entry = settings.CELERY_BEAT_SCHEDULE["make-trail-digest"]
    assert entry["task"] == "cases.tasks.make_trail_digest"
    assert entry["schedule"] <= 24 * 3600
    digest = tasks.make_trail_digest()
    assert TrailDigest.objects.get().digest == digest
    assert TrailDigest.objects.get().case_count == 3
    assert tasks.make_trail_digest() == digest and TrailDigest.objects.count() == 1


def test_history_rewritten_after_the_digest_is_reported(cases_with_trails):
    """The attacker cuts a tail and moves the head back with it: only the digest can tell."""
    record, made = trail.make_digest(timezone.now() + dt.timedelta(minutes=10))
    assert made and record.case_count == 3
    target = cases_with_trails[0]
    _remove_events_from(target, 3)
    last = Event.objects.filter(case=target).order_by("-sequence").first()
    _bypass_triggers(
        "UPDATE cases_casechainhead SET sequence = %s, hash = %s WHERE case_id = %s",
        [last.sequence, last.hash, target.pk],
    )
    message = _verify_fails()
    assert f"Trail digest of {record.date.isoformat()} no longer matches" in message
    assert "the chain heads as of its time differ: a case's history was rewritten" in message


def test_a_forged_digest_is_reported(cases_with_trails):
    record, _made = trail.make_digest(timezone.now() + dt.timedelta(minutes=10))
    _bypass_triggers(
        "UPDATE cases_traildigest SET digest = %s WHERE id = %s", ["0" * 64, record.pk]
    )
    assert "its signature does not hold" in _verify_fails()


def test_events_after_the_digest_do_not_disturb_it(cases_with_trails, capsys):
    record, _made = trail.make_digest(timezone.now() + dt.timedelta(minutes=10))
    case = cases_with_trails[0]
    with pytest.MonkeyPatch.context() as patch:
        later = record.as_of + dt.timedelta(seconds=1)
        patch.setattr(timezone, "now", lambda: later)
        with transaction.atomic():
            workflow.append_event(workflow.lock_case(case), action="remind", actor=None)
    assert case.events.order_by("-sequence").first().at > record.as_of
    assert CaseChainHead.objects.get(case=case).sequence == 4
    call_command("verify_trail")
    assert "still matches" in capsys.readouterr().out
