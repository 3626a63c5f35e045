"""What the engine answers when something cannot happen."""

from __future__ import annotations


class CaseConflict(Exception):
    """The case is not in a state where this can happen (HTTP 409): stale, concurrent or too late."""

    def __init__(self, message: str, code: str = "conflict"):
        super().__init__(message)
        self.message = message
        self.code = code
