"""`make bench-profile`: where each hot path's time goes, by layer, beside its floor's.

The server of `make bench` (bench/server.py: throwaway PostgreSQL, the seed, gunicorn under
production settings) with one worker and BENCH_PROFILE=1; one client runs every path of `make
bench` BENCH_PROFILE_N times (200) after a warm-up, each request labelled X-Bench-Profile, and
portal/bench.py's ProfileMiddleware adds each function's own time to its layer (the database
driver and the wait for PostgreSQL, the ORM building and compiling SQL and reading rows,
templates and forms, session/auth/2FA/permissions, DRF, translation, request handling and
middleware, the cache, the portal's own code, JSON and crypto, the rest). Printed: milliseconds
per request under the profiler and per layer, then each path's heaviest functions.

cProfile charges every Python call, so call-heavy layers (ORM, templates) weigh somewhat more
than unprofiled: read the split, not the absolute milliseconds (those are `make bench`'s).
BENCH_CASES (5,000) and BENCH_PROFILE_N change it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import API_FLOOR, INSERT_FLOOR, PAGE_FLOOR, targets  # noqa: E402
from bench.server import Client, Stack, load_line  # noqa: E402

CASES = int(os.environ.get("BENCH_CASES", "5000"))
N = int(os.environ.get("BENCH_PROFILE_N", "200"))
WARM = 20
SHORT = {
    "db driver + wait": "db",
    "orm: build, compile, rows": "orm",
    "templates + forms": "tmpl",
    "session, auth, 2fa, permissions": "auth",
    "drf": "drf",
    "i18n": "i18n",
    "request, middleware, urls": "req",
    "cache": "cache",
    "portal code": "portal",
    "json, crypto": "json",
    "other (stdlib, django utils)": "other",
}
FLOOR_OF = {"page": PAGE_FLOOR, "api": API_FLOOR, "write": INSERT_FLOOR}


def main() -> int:
    print(f"make bench-profile: start, {load_line()}")
    with Stack(CASES, extra_env={"BENCH_PROFILE": "1", "BENCH_WORKERS": "1"}) as stack:
        all_targets = targets(stack)
        floors = {}
        for target in all_targets:
            floors.setdefault(target.kind, target)
        runs = [(t.name, t, t.run) for t in all_targets]
        runs += [(f"floor: {kind} {FLOOR_OF[kind]}", t, t.floor) for kind, t in floors.items()]
        for label, target, operation in runs:
            client = target.client(0)
            if target.prepare:
                target.prepare(client)
            for n in range(WARM):
                operation(client, 0, n)
            client.extra_headers = {"X-Bench-Profile": label}
            for n in range(WARM, WARM + N):
                operation(client, 0, n)
            client.conn.close()
        status, body = Client(stack.port).get("/bench/profile/")
        if status != 200:
            raise SystemExit(f"/bench/profile/ answered {status}")
        report = json.loads(body)
    layers = list(SHORT)
    print(
        f"{CASES:,} cases, gunicorn 1 sync worker, DEBUG=0, one client, {N} profiled requests per path "
        "(a two-request write counts both); ms per request under cProfile, by layer (own time):"
    )
    header = f"{'path':<40} {'ms':>6} | " + " ".join(f"{SHORT[layer]:>6}" for layer in layers)
    print(header)
    print("-" * len(header))
    for label, _target, _op in runs:
        entry = report.get(label)
        if not entry:
            print(f"{label:<40} (no profiled request)")
            continue
        per = entry["requests"] / max(1, N)  # requests per operation
        ms = entry["ms"] / N
        cells = " ".join(f"{entry['layers'].get(layer, 0.0) / N:>6.2f}" for layer in layers)
        print(f"{label:<40} {ms:>6.1f} | {cells}" + (f"  ({per:.0f} requests)" if per > 1 else ""))
    print("layers: " + "; ".join(f"{short} = {layer}" for layer, short in SHORT.items()))
    print("heaviest functions (own ms per operation):")
    for label, _target, _op in runs:
        entry = report.get(label)
        if not entry or label.startswith("floor"):
            continue
        top = ", ".join(f"{name.split('/')[-1]} {ms / N:.2f}" for name, ms in entry["top"][:6])
        print(f"  {label}: {top}")
    print(f"make bench-profile: end, {load_line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
