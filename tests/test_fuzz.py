"""schemathesis against the live test server (issue 17, "No 500 on bad input"): every operation of
the OpenAPI schema, fuzzed with a citizen's and a caseworker's token, answers without a server error,
with a status code the schema documents and a body that matches the schema for it.

`make test` runs it (it is a slow test like the others); `make fuzz` runs it alone and prints the
figures (failures are counted as schemathesis does, once per distinct failure). FUZZ_MAX_EXAMPLES
(default 5) is the number of examples per operation and phase: with the coverage and stateful phases
that comes to well over 2,000 cases for the two tokens, in about 2 minutes on 2 cores.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from .conftest import DEMO_PASSWORD

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
MINIMUM_CASES = 2_000


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


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    demo_data, live_server, tmp_path
):
    max_examples = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
    started = time.monotonic()
    totals = {"cases": 0, "server_errors": 0, "schema_violations": 0, "failures": []}
    for username in ("citizen", "caseworker"):
        summary = _fuzz(
            live_server.url, _token(username), tmp_path / f"{username}.json", max_examples
        )
        totals["cases"] += summary["test_cases"]["generated"]
        for failure in summary["failures"]:
            if failure["code"] == "ST101":  # not_a_server_error
                totals["server_errors"] += failure["count"]
            elif failure["code"] == "ST108":  # response_schema_conformance
                totals["schema_violations"] += failure["count"]
            totals["failures"].append((username, failure["title"], failure["operations"]))
        assert summary["complete"], summary["stop_reason"]
        assert summary["errors"] == [], (username, summary["errors"], summary["output"][-5000:])
        assert summary["failures"] == [], summary["output"][-20000:]
    elapsed = time.monotonic() - started
    print(
        f"\nschemathesis: {totals['cases']} cases, {totals['server_errors']} server errors, "
        f"{totals['schema_violations']} schema violations, {elapsed:.0f} s"
    )
    assert totals["cases"] >= MINIMUM_CASES
