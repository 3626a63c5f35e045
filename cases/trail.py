"""Checking the append-only trail, and the signed daily digest that keeps it honest.

`verify_trail` (`check_trail` here) makes one pass over every event, by case and sequence, and reports
- an event whose hash no longer matches its content, or that does not link to the one before, or
  whose sequence skips (a row changed or removed in the middle);
- a case whose trail does not end where its chain head (CaseChainHead, written in the same
  transaction as each event) says it ends: a removed tail, which the chain alone cannot show;
- a latest signed digest that no longer matches the heads as of its time, or whose signature fails:
  history rewritten consistently (events and heads together) since the digest was made.

The digest (`make_digest`, daily by the beat task and `manage.py trail_digest`) is SHA-256 over the
lines `"{case id}:{sequence}:{hash}\\n"`, by case id, of each case's last event at or before `as_of`,
read from the trail itself. `as_of` lies `DIGEST_SETTLE` before the moment it is made, so an event
appended by a transaction still open then is not missed (it would be counted later and look like a
rewrite). The signature is HMAC-SHA256 under `settings.TRAIL_DIGEST_KEY` of the date, `as_of`, the
count and the digest; print it (`trail_digest --print`) and keep it away from the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import Case, CaseChainHead, Event, TrailDigest

GENESIS = "0" * 64
DIGEST_SETTLE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class BrokenLink:
    case_number: str
    sequence: int
    reason: str


@dataclass(frozen=True)
class DigestMismatch:
    date: dt.date
    reason: str


@dataclass
class TrailReport:
    events: int = 0
    broken: list[BrokenLink] = field(default_factory=list)
    digest: TrailDigest | None = None
    digest_problem: DigestMismatch | None = None

    @property
    def intact(self) -> bool:
        return not self.broken and self.digest_problem is None


# --- The digest -------------------------------------------------------------------------------------


def digest_key() -> bytes:
    """TRAIL_DIGEST_KEY, or (when it is not set) a key derived from SECRET_KEY."""
    configured = getattr(settings, "TRAIL_DIGEST_KEY", "")
    if configured:
        return configured.encode()
    return salted_hmac("cases.trail.digest-key", "v1").hexdigest().encode()


def _digest_lines(heads: Iterable[tuple[int, int, str]]) -> tuple[str, int]:
    hasher, count = hashlib.sha256(), 0
    for case_id, sequence, hash_ in heads:
        hasher.update(f"{case_id}:{sequence}:{hash_}\n".encode())
        count += 1
    return hasher.hexdigest(), count


def sign(date: dt.date, as_of: dt.datetime, case_count: int, digest: str) -> str:
    message = f"trail-digest-v1|{date.isoformat()}|{as_of.isoformat()}|{case_count}|{digest}"
    return hmac.new(digest_key(), message.encode(), hashlib.sha256).hexdigest()


def signature_holds(record: TrailDigest) -> bool:
    expected = sign(record.date, record.as_of, record.case_count, record.digest)
    return hmac.compare_digest(expected, record.signature)


def heads_as_of(as_of: dt.datetime) -> Iterator[tuple[int, int, str]]:
    """(case id, sequence, hash) of each case's last event at or before `as_of`, by case id."""
    rows = (
        Event.objects.filter(at__lte=as_of)
        .order_by("case_id", "sequence")
        .values_list("case_id", "sequence", "hash")
        .iterator(chunk_size=5000)
    )
    current = None
    for row in rows:
        if current is not None and row[0] != current[0]:
            yield current
        current = row
    if current is not None:
        yield current


def make_digest(now: dt.datetime | None = None) -> tuple[TrailDigest, bool]:
    """Today's digest (local date), made if there is none yet; (digest, made)."""
    now = now or timezone.now()
    as_of = (now - DIGEST_SETTLE).replace(microsecond=0)
    date = timezone.localdate(as_of)
    existing = TrailDigest.objects.filter(date=date).first()
    if existing is not None:
        return existing, False
    digest, count = _digest_lines(heads_as_of(as_of))
    try:
        with transaction.atomic():
            record = TrailDigest.objects.create(
                date=date,
                as_of=as_of,
                case_count=count,
                digest=digest,
                signature=sign(date, as_of, count, digest),
            )
    except IntegrityError:  # another worker made it meanwhile
        return TrailDigest.objects.get(date=date), False
    return record, True


def printable(record: TrailDigest) -> str:
    """The digest as printed for keeping on paper or elsewhere outside the database."""
    return "\n".join(
        [
            f"Trail digest of {record.date.isoformat()}",
            f"heads as of: {timezone.localtime(record.as_of).isoformat()}",
            f"cases: {record.case_count}",
            f"digest (SHA-256): {record.digest}",
            f"signature (HMAC-SHA256): {record.signature}",
        ]
    )


# --- Checking ---------------------------------------------------------------------------------------


class _CaseCheck:
    """The running state of one case's trail during the single pass."""

    def __init__(self, case_id: int) -> None:
        self.case_id = case_id
        self.expected_previous = GENESIS
        self.expected_sequence = 1
        self.last: tuple[int, str] | None = None
        self.last_as_of: tuple[int, str] | None = None  # the digest's head of this case
        self.broken: tuple[int, str] | None = None


def check_trail() -> TrailReport:
    """Every check of the module docstring, in one pass over the events."""
    report = TrailReport()
    latest = TrailDigest.objects.order_by("-date").first()
    report.digest = latest
    heads = {
        case_id: (sequence, hash_)
        for case_id, sequence, hash_ in CaseChainHead.objects.values_list(
            "case_id", "sequence", "hash"
        ).iterator()
    }
    problems: list[tuple[int, int, str]] = []
    digest_heads: list[tuple[int, int, str]] = []

    def finish(check: _CaseCheck) -> None:
        if check.broken is not None:
            problems.append((check.case_id, *check.broken))
        head = heads.pop(check.case_id, None)
        if head is None:
            problems.append((check.case_id, check.last[0], "the case has no chain head"))
        elif check.broken is None and head != check.last:
            if head[0] > check.last[0]:
                reason = f"the trail ends at #{check.last[0]} but its chain head is #{head[0]}"
                problems.append((check.case_id, check.last[0], reason + ": events were removed"))
            else:
                problems.append(
                    (check.case_id, check.last[0], "the trail does not end at its chain head")
                )
        if check.last_as_of is not None:
            digest_heads.append((check.case_id, *check.last_as_of))

    check = None
    events = Event.objects.order_by("case_id", "sequence").iterator(chunk_size=2000)
    for event in events:
        report.events += 1
        if check is None or event.case_id != check.case_id:
            if check is not None:
                finish(check)
            check = _CaseCheck(event.case_id)
        if latest is not None and event.at <= latest.as_of:
            check.last_as_of = (event.sequence, event.hash)
        if check.broken is None:
            if event.sequence != check.expected_sequence:
                check.broken = (event.sequence, f"expected event #{check.expected_sequence}")
            elif event.previous_hash != check.expected_previous:
                check.broken = (event.sequence, "does not link to the event before")
            elif event.hash != event.compute_hash():
                check.broken = (event.sequence, "content changed after it was written")
        check.expected_previous, check.expected_sequence = event.hash, event.sequence + 1
        check.last = (event.sequence, event.hash)
    if check is not None:
        finish(check)
    for case_id, (sequence, _hash) in heads.items():  # heads of trails that are gone entirely
        problems.append(
            (case_id, sequence, f"all events are gone but its chain head is #{sequence}")
        )

    numbers = dict(Case.objects.filter(pk__in={p[0] for p in problems}).values_list("pk", "number"))
    report.broken = [
        BrokenLink(numbers.get(case_id, f"id {case_id}"), sequence, reason)
        for case_id, sequence, reason in sorted(problems)
    ]
    if latest is not None:
        report.digest_problem = _check_digest(latest, digest_heads)
    return report


def _check_digest(record: TrailDigest, heads: list[tuple[int, int, str]]) -> DigestMismatch | None:
    if not signature_holds(record):
        return DigestMismatch(
            record.date, "its signature does not hold (the digest was altered or the key changed)"
        )
    digest, count = _digest_lines(heads)
    if count != record.case_count:
        return DigestMismatch(
            record.date,
            f"it covered {record.case_count} cases, the trail now has {count} as of its time",
        )
    if not hmac.compare_digest(digest, record.digest):
        return DigestMismatch(
            record.date, "the chain heads as of its time differ: a case's history was rewritten"
        )
    return None


def first_broken_link() -> BrokenLink | None:
    """The first problem of `check_trail` (by case, then sequence), if any."""
    broken = check_trail().broken
    return broken[0] if broken else None
