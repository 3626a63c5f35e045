"""Checking the append-only trail: every event's hash recomputed, every link to the one before."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Event

GENESIS = "0" * 64


@dataclass(frozen=True)
class BrokenLink:
    case_number: str
    sequence: int
    reason: str


def first_broken_link(case_ids: list[int] | None = None) -> BrokenLink | None:
    """The first event (by case, then sequence) whose content or chain does not check out."""
    events = Event.objects.select_related("case").order_by("case_id", "sequence")
    if case_ids is not None:
        events = events.filter(case_id__in=case_ids)
    previous_case, expected_previous, expected_sequence = None, GENESIS, 1
    for event in events.iterator(chunk_size=2000):
        if event.case_id != previous_case:
            previous_case, expected_previous, expected_sequence = event.case_id, GENESIS, 1
        if event.sequence != expected_sequence:
            return BrokenLink(
                event.case.number, event.sequence, f"expected event #{expected_sequence}"
            )
        if event.previous_hash != expected_previous:
            return BrokenLink(
                event.case.number, event.sequence, "does not link to the event before"
            )
        if event.hash != event.compute_hash():
            return BrokenLink(
                event.case.number, event.sequence, "content changed after it was written"
            )
        expected_previous, expected_sequence = event.hash, event.sequence + 1
    return None
