"""schemathesis against the live test server (issue 17, "No 500 on bad input"): every operation of
the OpenAPI schema, fuzzed with one account's token, answers without a server error, with a status
code the schema documents and a body that matches the schema for it.

One file per account (tests/test_fuzz_citizen.py, tests/test_fuzz_caseworker.py), so that `make
test` runs the two in its two workers side by side, first of all files (tests/conftest.py orders
them): each is about half of what used to be one test of four minutes at the end of the run.
`make fuzz` runs both and prints the figures (failures are counted as schemathesis does, once per
distinct failure). FUZZ_MAX_EXAMPLES (default 5) is the number of examples per operation and
phase: with the coverage and stateful phases that comes to well over 1,000 cases per account.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.test import Client

from ..conftest import DEMO_PASSWORD

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
# Per account: the two accounts together make at least the 2,000 cases of the one test before.
MINIMUM_CASES_PER_ACCOUNT = 1_000


def _token(username: str) -> str:
    from django.core.cache import caches

    from portal import ratelimit

    # The sign-in rate counts per address in the shared database cache, across the whole run:
    # earlier tests from this same address must not make the fuzzer's own sign-in a 429.
    caches[ratelimit.CACHE_ALIAS].clear()
    response = Client().post(
        "/api/v1/auth/token/",
        {"username": username, "password": DEMO_PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _fuzz(url: str, token: str, report: Path, max_examples: int) -> dict:
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "run",
            f"{url}/api/schema/",
            "--header",
            f"Authorization: Token {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(max_examples),
            "--workers",
            "2",
            "--no-shrink",
            "--seed",
            "17",
            "--request-retries",
            "2",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        cwd=report.parent,  # its cache (.schemathesis/) goes there, not into the work tree
        timeout=900,
        check=False,
    )
    assert report.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(report.read_text())
    summary["output"] = result.stdout
    return summary


def fuzz_as(username: str, live_server, tmp_path: Path) -> None:
    """The whole schema fuzzed with `username`'s token: complete, no error, no failure."""
    max_examples = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
    started = time.monotonic()
    summary = _fuzz(live_server.url, _token(username), tmp_path / f"{username}.json", max_examples)
    server_errors = schema_violations = 0
    for failure in summary["failures"]:
        if failure["code"] == "ST101":  # not_a_server_error
            server_errors += failure["count"]
        elif failure["code"] == "ST108":  # response_schema_conformance
            schema_violations += failure["count"]
    cases = summary["test_cases"]["generated"]
    print(
        f"\nschemathesis ({username}): {cases} cases, {server_errors} server errors, "
        f"{schema_violations} schema violations, {time.monotonic() - started:.0f} s"
    )
    assert summary["complete"], summary["stop_reason"]
    assert summary["errors"] == [], (username, summary["errors"], summary["output"][-5000:])
    assert summary["failures"] == [], summary["output"][-20000:]
    assert cases >= MINIMUM_CASES_PER_ACCOUNT
