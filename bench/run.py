"""`make bench` (and `make bench-quick`): every hot path of issue 20 beside its floor, in one run.

A throwaway PostgreSQL seeded by bench/seed.py (100,000 cases by default, BENCH_CASES), gunicorn
with BENCH_WORKERS (4) sync workers under production settings (bench/server.py), and client
threads, each with its own keep-alive connection. For every path and client level (1, 8, 32) the
path runs for BENCH_SECONDS, then its floor for as long, then the next path: interleaved, so noise
on the shared machine falls on both. Floors (portal/bench.py), with the path's own authentication:

- page  — a bare Django view rendering a small template (session cookie, or none when public);
- api   — a bare DRF view serialising a small list (token, or none when public);
- write — a bare DRF view doing one INSERT (token).

Printed per path and level: requests/s (for two-request writes, operations/s), p50 and p95, SQL
statements per request (X-Bench-Queries, the whole middleware stack included), and the ratio of
the path's request rate to its floor's. The ratio is the figure to quote; absolute numbers are the
machine's. Then the growth test (BENCH_GROWTH=0 skips it): "my applications" and the queue API at
10,000 and at 1,000,000 cases, at one client.

BENCH_QUICK=1 (`make bench-quick`): 5,000 cases, 2 s per level, levels 1 and 8, no growth test.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import WORKERS, Client, Stack, load_line, staff_clients  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK", "0") == "1"
CASES = int(os.environ.get("BENCH_CASES", "5000" if QUICK else "100000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "2" if QUICK else "6"))
LEVELS = [int(x) for x in os.environ.get("BENCH_LEVELS", "1,8" if QUICK else "1,8,32").split(",")]
GROWTH = not QUICK and os.environ.get("BENCH_GROWTH", "1") != "0"
GROWTH_SIZES = (10_000, 1_000_000)
MAX_REQUESTS_PER_LEVEL = 20_000

PAGE_FLOOR, API_FLOOR, INSERT_FLOOR = "/bench/page/", "/api/v1/bench/list/", "/api/v1/bench/insert/"


class Failed(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"{status} {body[:300]!r}")


def _ok(status: int, body: bytes, *expected: int) -> None:
    if status not in (expected or (200,)):
        raise Failed(status, body)


@dataclass
class Target:
    name: str
    kind: str  # page | api | write: which floor
    client: Callable[[int], Client]  # thread index → a client with the path's authentication
    run: Callable[
        [Client, int, int], int
    ]  # (client, thread, n) → SQL statements (None when unknown)
    floor: Callable[[Client, int, int], int]
    requests: int = 1  # HTTP requests per operation
    prepare: Callable[[Client], None] | None = None


def get(path: str) -> Callable[[Client, int, int], int]:
    def run(client: Client, index: int, n: int) -> int:
        status, body = client.get(path)
        _ok(status, body)
        return client.last_queries

    return run


def targets(stack: Stack) -> list[Target]:
    f = stack.fixtures
    port = stack.port
    staff = staff_clients(port, f["staff"])
    heavy = f["heavy"]
    guide = f["guide"]
    case = f["queue_cases"][0]
    tracked = heavy["submitted"][0]

    def anonymous(_i):
        return Client(port)

    def heavy_page(_i):
        return Client(port, session=heavy["session"])

    def heavy_api(_i):
        return Client(port, token=heavy["token"])

    def citizen_api(i):
        return Client(port, token=f["tokens"][i % len(f["tokens"])])

    def staff_page(username):
        return lambda _i: Client(port, session=staff[username][0])

    def staff_api(username):
        return lambda _i: Client(port, token=staff[username][1])

    def with_csrf(client: Client) -> None:
        client.csrf_token = client.csrf_from("/track/")

    def address(i: int, n: int) -> dict:
        """Each lookup from its own citizen's address (the limit is 60 per address and 10 min)."""
        return {"X-Forwarded-For": f"10.{i % 250}.{n // 250 % 250}.{n % 250 + 1}"}

    def track_page(client: Client, i: int, n: int) -> int:
        status, body = client.post(
            "/track/",
            form={"csrfmiddlewaretoken": client.csrf_token, "number": tracked, "name": heavy["real_name"]},
            headers=address(i, n),
        )  # fmt: skip
        _ok(status, body)
        if tracked.encode() not in body:
            raise Failed(status, b"tracking page did not show the case")
        return client.last_queries

    def track_api(client: Client, i: int, n: int) -> int:
        status, body = client.post(
            "/api/v1/track/",
            json_body={"number": tracked, "name": heavy["real_name"]},
            headers=address(i, n),
        )
        _ok(status, body)
        return client.last_queries

    def page_floor_post(client: Client, i: int, n: int) -> int:
        status, body = client.post(
            PAGE_FLOOR, form={"csrfmiddlewaretoken": client.csrf_token}, headers=address(i, n)
        )
        _ok(status, body)
        return client.last_queries

    def api_floor_post(client: Client, i: int, n: int) -> int:
        status, body = client.post(API_FLOOR, json_body={}, headers=address(i, n))
        _ok(status, body)
        return client.last_queries

    def insert(client: Client, i: int, n: int) -> int:
        status, body = client.post(INSERT_FLOOR, json_body={})
        _ok(status, body, 201)
        return client.last_queries

    def submission(client: Client, i: int, n: int) -> int:
        status, body = client.post(
            "/api/v1/applications/",
            json_body={"service": "BENCH-1", "data": {"shop_name": f"店{i}-{n}", "area": 20}},
            headers={"Idempotency-Key": f"b{i}-{n}-{time.monotonic_ns()}"},
        )
        _ok(status, body, 201)
        queries = client.last_queries
        number = json.loads(body)["number"]
        status, body = client.post(f"/api/v1/applications/{number}/submit/", json_body={})
        _ok(status, body)
        return queries + client.last_queries

    def bundle(client: Client, i: int, n: int) -> int:
        status, body = client.post(
            "/api/v1/bundle-applications/",
            json_body={"bundle": "BENCH-B", "data": {"shop_name": f"店{i}-{n}", "area": 30}},
        )
        _ok(status, body, 201)
        queries = client.last_queries
        number = json.loads(body)["number"]
        status, body = client.post(f"/api/v1/bundle-applications/{number}/submit/", json_body={})
        _ok(status, body)
        return queries + client.last_queries

    ids = f["citizen_ids"]

    def counter(client: Client, i: int, n: int) -> int:
        status, body = client.post(
            "/api/v1/counter/applications/",
            json_body={
                "citizen": {"id_number": ids[(i * 7 + n) % len(ids)]},
                "service": "BENCH-1",
                "data": {"shop_name": f"窗口{i}-{n}", "area": 15},
                "materials_received": [f["bench_material"]],
            },
        )
        _ok(status, body, 201)
        return client.last_queries

    page_floor, api_floor = get(PAGE_FLOOR), get(API_FLOOR)
    return [
        Target("catalog page /services/", "page", anonymous, get("/services/"), page_floor),
        Target("catalog API", "api", anonymous, get("/api/v1/services/"), api_floor),
        Target("guide page", "page", anonymous, get(f"/services/{guide}/"), page_floor),
        Target("guide API", "api", anonymous, get(f"/api/v1/services/{guide}/"), api_floor),
        Target("my applications page", "page", heavy_page, get("/applications/"), page_floor),
        Target("my applications API", "api", heavy_api, get("/api/v1/applications/"), api_floor),
        Target("queue page", "page", staff_page("caseworker"), get("/work/"), page_floor),
        Target("queue API", "api", staff_api("caseworker"), get("/api/v1/work/queue/"), api_floor),
        Target("staff case page", "page", staff_page("caseworker"), get(f"/work/{case}/"), page_floor),
        Target("staff case API", "api", staff_api("caseworker"), get(f"/api/v1/work/cases/{case}/"), api_floor),
        Target("tracking POST /track/", "page", anonymous, track_page, page_floor_post, prepare=with_csrf),
        Target("tracking POST API", "api", anonymous, track_api, api_floor_post),
        Target("statistics page /stats/", "page", anonymous, get("/stats/"), page_floor),
        Target("designer preview", "page", staff_page("deptadmin"),
               get(f"/manage/{f['preview']}/form/preview/frame/"), page_floor),
        Target("submission (create+submit)", "write", citizen_api, submission, insert, requests=2),
        Target("counter intake (API)", "write", staff_api("clerk"), counter, insert),
        Target("bundle submission (create+submit)", "write", citizen_api, bundle, insert, requests=2),
    ]  # fmt: skip


@dataclass
class Result:
    per_second: float
    p50: float
    p95: float
    queries: float
    done: int
    errors: int
    sample: str


def run_level(target: Target, floor: bool, clients: int, seconds: float) -> Result:
    operation = target.floor if floor else target.run
    latencies: list[float] = []
    queries: list[int] = []
    errors = [0]
    sample: list[str] = []
    lock = threading.Lock()
    budget = [MAX_REQUESTS_PER_LEVEL]
    deadline = [0.0]
    started_at = [0.0]

    def start() -> None:  # run by the barrier before it lets any thread go
        started_at[0] = time.monotonic()
        deadline[0] = started_at[0] + seconds

    ready = threading.Barrier(clients + 1, action=start)

    def worker(index: int) -> None:
        try:
            client = target.client(index)
            if target.prepare:
                target.prepare(client)
        except Exception as exc:  # noqa: BLE001 - reported below, the level goes on
            with lock:
                errors[0] += 1
                sample.append(f"setup: {exc}")
            ready.wait()
            return
        ready.wait()
        n = 0
        while time.monotonic() < deadline[0]:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            started = time.perf_counter()
            try:
                counted = operation(client, index, n)
                ok = True
            except Exception as exc:  # noqa: BLE001 - counted as an error, one kept as a sample
                ok = False
                with lock:
                    if not sample:
                        sample.append(str(exc))
            elapsed = time.perf_counter() - started
            n += 1
            with lock:
                if ok:
                    latencies.append(elapsed)
                    if counted is not None:
                        queries.append(counted)
                else:
                    errors[0] += 1
        client.conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started_at[0]
    latencies.sort()
    requests = 1 if floor else target.requests
    return Result(
        per_second=requests * len(latencies) / wall if wall else 0.0,
        p50=1000 * statistics.median(latencies) if latencies else float("nan"),
        p95=1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        queries=statistics.median(queries) if queries else float("nan"),
        done=len(latencies),
        errors=errors[0],
        sample=sample[0] if sample else "",
    )


def growth(stack: Stack, cases: int) -> list[str]:
    """'My applications' and the queue API at one client, with this many cases in the database."""
    import psycopg2

    with psycopg2.connect(
        host="127.0.0.1", port=stack.postgres.port, user="postgres", dbname="portal"
    ) as db:
        cursor = db.cursor()
        cursor.execute(
            "SELECT count(*) FROM cases_case c JOIN accounts_department d ON d.id = c.department_id "
            "WHERE d.code = 'city-amr' AND c.state IN ('submitted', 'accepted', "
            "'supplement_requested', 'suspended', 'approved')"
        )
        open_in_department = cursor.fetchone()[0]
    staff = staff_clients(stack.port, {"caseworker": stack.fixtures["staff"]["caseworker"]})
    token = staff["caseworker"][1]
    heavy = stack.fixtures["heavy"]["token"]
    rows = []
    for name, path, key in (
        (f"my applications API ({len(stack.fixtures['heavy']['cases'])} own)", "/api/v1/applications/", heavy),
        (f"queue API ({open_in_department:,} open in the department)", "/api/v1/work/queue/", token),
    ):  # fmt: skip
        target = Target(
            name, "api", lambda _i, key=key: Client(stack.port, token=key), get(path), get(path)
        )
        get(path)(Client(stack.port, token=key), 0, 0)  # warm
        result = run_level(target, False, 1, 3.0)
        rows.append(
            f"  {cases:>9,} cases | {name:<48} | p50 {result.p50:7.1f} ms | p95 {result.p95:7.1f} ms | "
            f"{result.queries:4.0f} queries" + (f" | {result.errors} errors: {result.sample}" if result.errors else "")
        )  # fmt: skip
    return rows


def main() -> int:
    print(f"make bench{'-quick' if QUICK else ''}: start, {load_line()}")
    first = GROWTH_SIZES[0] if GROWTH else CASES
    growth_rows: list[str] = []
    with Stack(first) as stack:
        f = stack.fixtures
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in f["timings"].items())
        print(
            f"seeded {f['cases']:,} cases, {f['services']} published services, {f['bundles']} bundles, "
            f"{f['citizens']:,} citizens in {stack.seed_seconds:.0f} s incl. migrations ({timings})"
        )  # fmt: skip
        if GROWTH:
            growth_rows += growth(stack, f["cases"])
            grown = stack.grow_to(CASES)
            print(f"grown to {grown['cases']:,} cases in {grown['seconds']:.1f} s")
        all_targets = targets(stack)
        for target in all_targets:  # warm every worker: imports, templates, connections
            for floor in (False, True):
                result = run_level(target, floor, WORKERS * 2, 0.5)
                if result.errors and not result.done:
                    print(
                        f"  warm-up: {target.name}{' floor' if floor else ''} fails: {result.sample}"
                    )
        print(
            f"PostgreSQL (throwaway, fsync off), gunicorn {WORKERS} sync workers, DEBUG=0, "
            f"{SECONDS:g} s per level and per floor, interleaved; levels {LEVELS}"
        )
        header = (
            f"{'path':<34} {'cl':>3} | {'req/s':>7} {'p50':>7} {'p95':>7} {'q':>4} | "
            f"{'floor':>5} {'req/s':>7} {'p50':>7} {'p95':>7} {'q':>4} | {'ratio':>5}"
        )
        print(header)
        print("-" * len(header))
        summary = []
        for target in all_targets:
            for clients in LEVELS:
                real = run_level(target, False, clients, SECONDS)
                floor = run_level(target, True, clients, SECONDS)
                ratio = real.per_second / floor.per_second if floor.per_second else float("nan")
                line = (
                    f"{target.name:<34} {clients:>3} | {real.per_second:>7.1f} {real.p50:>7.1f} {real.p95:>7.1f} "
                    f"{real.queries:>4.0f} | {target.kind:>5} {floor.per_second:>7.1f} {floor.p50:>7.1f} "
                    f"{floor.p95:>7.1f} {floor.queries:>4.0f} | {ratio:>5.2f}"
                )  # fmt: skip
                if real.errors or floor.errors:
                    line += f"  ({real.errors} errors, floor {floor.errors}) {real.sample or floor.sample}"
                print(line, flush=True)
                if clients == 8:
                    summary.append((target.name, ratio))
        rss = stack.worker_rss_mb()
        if rss:
            print(f"gunicorn worker RSS: {rss:.0f} MB on average")
        print(
            "req/s counts HTTP requests (a submission is 2: create + submit); q = SQL statements per "
            "operation (median); ratio = req/s ÷ floor req/s (aim ≥ 0.5 at 8 clients)."
        )
        if summary:
            below = [f"{name} {ratio:.2f}" for name, ratio in summary if not ratio >= 0.5]
            print(f"below 0.5 at 8 clients: {', '.join(below) if below else 'none'}")
        if GROWTH:
            grown = stack.grow_to(GROWTH_SIZES[1])
            print(f"grown to {grown['cases']:,} cases in {grown['seconds']:.1f} s")
            growth_rows += growth(stack, grown["cases"])
            print("growth test (1 client, 3 s each):")
            print("\n".join(growth_rows))
    print(f"make bench{'-quick' if QUICK else ''}: end, {load_line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
