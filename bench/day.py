"""`make bench-day`: a Shanghai day's peak on one box, with locust (headless).

Run as a script it is the runner: it seeds the same server as `make bench` (bench/server.py,
BENCH_CASES cases, 100,000 by default), signs staff in, then runs locust with this file as its
locustfile:

1. the sustained run: BENCH_DAY_RATE reads/s (800) and a hundredth of that in submissions/s (8)
   for BENCH_DAY_MINUTES (3);
2. the step mode (BENCH_DAY_STEPS, reads/s, ascending; BENCH_DAY_STEP_SECONDS each): the highest
   step held is the last with p95 < 300 ms over every request, no error and at least 90 % of the
   reads/s the step's mix of users asks for achieved; it stops at the first step that fails.

It prints, from locust's own CSV statistics, the sustained rates, p50/p95 and errors per kind,
and the highest rate held. The mix (user classes, fixed counts, each at a constant throughput):

- applicants: create (API), upload a PNG (multipart attachments endpoint), submit, track the case
  (public API, own address), read their messages: one journey every APPLICANT_PACE seconds;
- readers (citizens): catalog search, catalog API, guide page and API, my applications page and
  API, messages page, tracking page, statistics page;
- staff (caseworkers): queue page and API, open a case, claim and accept a case an applicant of
  this process submitted;
- clerks: counter intake (API), a seventh of the submissions.

Locust runs BENCH_DAY_PROCESSES processes (1; `--processes`): on a 2-core box the load generator
competes with gunicorn and PostgreSQL for the same cores, which the output states.
"""

from __future__ import annotations

import csv
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

APPLICANT_PACE = 4.0  # seconds per applicant journey
READER_THROUGHPUT = 2.0  # requests/s per reader
STAFF_THROUGHPUT = 1.0  # tasks/s per staff user
CLERK_PACE = 2.0  # seconds per counter intake
P95_LIMIT_MS = 300


def mix(reads: float) -> dict[str, int]:
    """User counts for `reads` reads/s and reads/100 submissions/s (six in seven online)."""
    submissions = reads / 100
    online, counter = submissions * 6 / 7, submissions / 7
    applicants = max(1, round(online * APPLICANT_PACE))
    clerks = max(1, round(counter * CLERK_PACE))
    # An applicant journey reads twice (track, messages); each staff task reads one page.
    staff = max(1, round(reads * 0.1 / STAFF_THROUGHPUT))
    remaining = reads - 2 * applicants / APPLICANT_PACE - staff * STAFF_THROUGHPUT
    readers = max(1, round(remaining / READER_THROUGHPUT))
    return {"Applicant": applicants, "Reader": readers, "Staff": staff, "Clerk": clerks}


def planned_reads(counts: dict[str, int]) -> float:
    """The reads/s a mix asks for (at small rates the rounding to whole users moves it)."""
    return (
        2 * counts["Applicant"] / APPLICANT_PACE
        + counts["Reader"] * READER_THROUGHPUT
        + counts["Staff"] * STAFF_THROUGHPUT
    )


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixels = b"".join(b"\x00" + b"\xff\x80\x00" * 8 for _ in range(8))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


# --- The locustfile ------------------------------------------------------------------------------------

if os.environ.get("BENCH_DAY_FIXTURES"):
    from gevent.queue import Empty, Queue
    from locust import FastHttpUser, constant_pacing, constant_throughput, task

    FIXTURES = json.loads(Path(os.environ["BENCH_DAY_FIXTURES"]).read_text())
    COUNTS = json.loads(os.environ["BENCH_DAY_MIX"])
    SUBMITTED: Queue = Queue()  # numbers submitted by this process's applicants, for its staff
    PNG = _png()
    SEARCHES = ["营业执照", "出生", "社保", "医保", "户口", "备案", "驾驶", "公积金"]

    def _address() -> dict:
        return {
            "X-Forwarded-For": f"10.{random.randrange(250)}.{random.randrange(250)}.{random.randrange(1, 250)}"
        }

    class Portal(FastHttpUser):
        abstract = True
        session: str | None = None
        token: str | None = None

        def headers(self, **extra) -> dict:
            sent = dict(extra)
            if self.session:  # the cookie is Secure in production: sent by hand over plain HTTP
                sent["Cookie"] = f"sessionid={self.session}"
            return sent

        def api(self, method: str, path: str, name: str, **kw):
            headers = {"Authorization": f"Token {self.token}", **kw.pop("headers", {})}
            return self.client.request(method, path, name=name, headers=headers, **kw)

        def page(self, path: str, name: str):
            return self.client.get(path, name=name, headers=self.headers())

    class Applicant(Portal):
        fixed_count = COUNTS["Applicant"]
        wait_time = constant_pacing(APPLICANT_PACE)

        def on_start(self) -> None:
            self.token = random.choice(FIXTURES["tokens"])
            self.n = 0

        @task
        def apply(self) -> None:
            self.n += 1
            response = self.api(
                "POST", "/api/v1/applications/", "write: create application",
                json={"service": "BENCH-1", "data": {"shop_name": f"店{self.n}", "area": 20}},
                headers={"Idempotency-Key": f"day-{id(self)}-{self.n}-{time.monotonic_ns()}"},
            )  # fmt: skip
            if response.status_code != 201:
                return
            number = response.json()["number"]
            self.api(
                "POST", f"/api/v1/applications/{number}/attachments/", "write: upload (multipart)",
                data={"material": str(FIXTURES["bench_material"])},
                files={"file": ("shop.png", PNG, "image/png")},
            )  # fmt: skip
            response = self.api(
                "POST", f"/api/v1/applications/{number}/submit/", "write: submit", json={}
            )
            if response.status_code == 200:
                SUBMITTED.put(number)
            self.client.post(
                "/api/v1/track/", name="read: tracking API",
                json={"number": FIXTURES["heavy"]["submitted"][0], "name": FIXTURES["heavy"]["real_name"]},
                headers=_address(),
            )  # fmt: skip
            self.api("GET", "/api/v1/notifications/", "read: messages API")

    class Reader(Portal):
        fixed_count = COUNTS["Reader"]
        wait_time = constant_throughput(READER_THROUGHPUT)

        def on_start(self) -> None:
            self.session = FIXTURES["heavy"]["session"]
            self.token = FIXTURES["heavy"]["token"]

        @task(4)
        def search(self) -> None:
            self.client.get(f"/services/?q={random.choice(SEARCHES)}", name="read: catalog search")

        @task(2)
        def catalog_api(self) -> None:
            self.client.get("/api/v1/services/", name="read: catalog API")

        @task(4)
        def guide(self) -> None:
            self.client.get(f"/services/{FIXTURES['guide']}/", name="read: guide page")

        @task(2)
        def guide_api(self) -> None:
            self.client.get(f"/api/v1/services/{FIXTURES['guide']}/", name="read: guide API")

        @task(2)
        def mine(self) -> None:
            self.page("/applications/", "read: my applications page")

        @task(2)
        def mine_api(self) -> None:
            self.api("GET", "/api/v1/applications/", "read: my applications API")

        @task(1)
        def messages(self) -> None:
            self.page("/messages/", "read: messages page")

        @task(1)
        def stats(self) -> None:
            self.client.get("/stats/", name="read: statistics page")

    class Staff(Portal):
        fixed_count = COUNTS["Staff"]
        wait_time = constant_throughput(STAFF_THROUGHPUT)

        def on_start(self) -> None:
            self.session, self.token = FIXTURES["signed_in"]["caseworker"]

        @task(2)
        def queue(self) -> None:
            self.page("/work/", "read: queue page")

        @task(2)
        def queue_api(self) -> None:
            self.api("GET", "/api/v1/work/queue/", "read: queue API")

        @task(2)
        def work(self) -> None:
            try:
                number = SUBMITTED.get_nowait()
            except Empty:
                number = random.choice(FIXTURES["queue_submitted"])
                self.page(f"/work/{number}/", "read: staff case page")
                return
            self.page(f"/work/{number}/", "read: staff case page")
            response = self.api(
                "POST", f"/api/v1/work/cases/{number}/claim/", "write: claim", json={}
            )
            if response.status_code == 200:
                self.api(
                    "POST", f"/api/v1/work/cases/{number}/transition/", "write: accept (transition)",
                    json={"transition": "accept"},
                )  # fmt: skip

    class Clerk(Portal):
        fixed_count = COUNTS["Clerk"]
        wait_time = constant_pacing(CLERK_PACE)

        def on_start(self) -> None:
            self.token = FIXTURES["signed_in"]["clerk"][1]

        @task
        def intake(self) -> None:
            self.api(
                "POST", "/api/v1/counter/applications/", "write: counter intake",
                json={"citizen": {"id_number": random.choice(FIXTURES["citizen_ids"])}, "service": "BENCH-1",
                      "data": {"shop_name": "窗口", "area": 15},
                      "materials_received": [FIXTURES["bench_material"]]},
            )  # fmt: skip


# --- The runner -----------------------------------------------------------------------------------------


def _drain(host: str, limit: float = 180) -> None:
    """Wait until gunicorn has worked off the requests of the run before (their clients are gone,
    the requests still queued) and answers at once again, so each run starts on an idle server."""
    import http.client
    import urllib.parse

    address = urllib.parse.urlsplit(host)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
            conn.request("GET", "/healthz", headers={"Host": address.hostname})
            conn.getresponse().read()
            conn.close()
        except (OSError, http.client.HTTPException):
            pass
        if time.monotonic() - started < 0.2:
            return
        time.sleep(1)


def _locust(host: str, fixtures: Path, reads: float, seconds: int, prefix: Path) -> list[dict]:
    _drain(host)
    counts = mix(reads)
    users = sum(counts.values())
    processes = os.environ.get("BENCH_DAY_PROCESSES", "1")
    env = {**os.environ, "BENCH_DAY_FIXTURES": str(fixtures), "BENCH_DAY_MIX": json.dumps(counts)}
    command = [
        sys.executable, "-m", "locust", "-f", str(Path(__file__).resolve()), "--headless",
        "--host", host, "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{seconds}s",
        "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR", "--stop-timeout", "10",
    ]  # fmt: skip
    if processes != "1":
        command += ["--processes", processes]
    # Locust's own summary is not printed (the table below is made from its CSV); it exits 1
    # when a request failed, which the table shows.
    done = subprocess.run(
        command,
        env=env,
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"locust exited with {done.returncode}: {done.stderr[-2000:]}")
    with open(f"{prefix}_stats.csv", newline="") as stats:
        return list(csv.DictReader(stats))


def _summary(rows: list[dict], seconds: float) -> dict:
    by_name = {row["Name"]: row for row in rows}
    total = by_name.get("Aggregated", {})

    def rate(prefix: str) -> float:
        return (
            sum(int(r["Request Count"]) for n, r in by_name.items() if n.startswith(prefix))
            / seconds
        )

    return {
        "reads": rate("read:"),
        "submissions": (
            int(by_name.get("write: submit", {}).get("Request Count", 0))
            + int(by_name.get("write: counter intake", {}).get("Request Count", 0))
        )
        / seconds,
        "p95": float(total.get("95%", "nan") or "nan"),
        "errors": int(total.get("Failure Count", 0)),
        "requests": int(total.get("Request Count", 0)),
    }


def _table(rows: list[dict], seconds: float) -> str:
    lines = [f"{'kind':<32} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'errors':>6}"]
    for row in rows:
        count = int(row["Request Count"])
        lines.append(
            f"{row['Name']:<32} {count:>8} {count / seconds:>7.1f} {row['50%']:>7} {row['95%']:>7} "
            f"{row['Failure Count']:>6}"
        )
    return "\n".join(lines)


def main() -> int:
    from bench.server import Stack, load_line, staff_clients

    cases = int(os.environ.get("BENCH_CASES", "100000"))
    target = float(os.environ.get("BENCH_DAY_RATE", "800"))
    minutes = float(os.environ.get("BENCH_DAY_MINUTES", "3"))
    steps = [
        float(x) for x in os.environ.get("BENCH_DAY_STEPS", "50,100,200,400,800").split(",") if x
    ]
    step_seconds = int(os.environ.get("BENCH_DAY_STEP_SECONDS", "30"))
    print(f"make bench-day: start, {load_line()}")
    with Stack(cases) as stack, tempfile.TemporaryDirectory(prefix="bench-day-") as work:
        fixtures = dict(stack.fixtures)
        print(
            f"seeded {fixtures['cases']:,} cases in {stack.seed_seconds:.0f} s (incl. migrations)"
        )
        fixtures["signed_in"] = staff_clients(
            stack.port, {k: v for k, v in fixtures["staff"].items() if k in ("caseworker", "clerk")}
        )
        fixtures["queue_submitted"] = fixtures["queue_cases"][:4]
        path = Path(work) / "fixtures.json"
        path.write_text(json.dumps(fixtures))
        host = f"http://127.0.0.1:{stack.port}"
        processes = os.environ.get("BENCH_DAY_PROCESSES", "1")
        seconds = int(minutes * 60)
        counts = mix(target)
        print(
            f"sustained run: target {target:g} reads/s and {target / 100:g} submissions/s for {seconds} s; "
            f"users {counts}; locust in {processes} process(es) on the same {os.cpu_count()} cores as "
            "gunicorn (4 workers) and PostgreSQL: the load generator takes its share of them"
        )  # fmt: skip
        rows = _locust(host, path, target, seconds, Path(work) / "sustained")
        print(_table(rows, seconds))
        result = _summary(rows, seconds)
        print(
            f"sustained: {result['reads']:.1f} reads/s, {result['submissions']:.2f} submissions/s "
            f"(online submit + counter intake), p95 {result['p95']:.0f} ms over all, "
            f"{result['errors']} errors of {result['requests']} requests; {load_line()}"
        )
        held = None
        for reads in steps:
            rows = _locust(host, path, reads, step_seconds, Path(work) / f"step-{reads:g}")
            step = _summary(rows, step_seconds)
            planned = planned_reads(mix(reads))
            ok = (
                step["p95"] < P95_LIMIT_MS
                and step["errors"] == 0
                and step["reads"] >= 0.9 * planned
            )
            print(
                f"step {reads:>6g} reads/s: achieved {step['reads']:7.1f} reads/s, {step['submissions']:5.2f} "
                f"submissions/s, p95 {step['p95']:5.0f} ms, {step['errors']} errors -> {'held' if ok else 'not held'}"
            )  # fmt: skip
            if not ok:
                break
            held = step
        if held:
            print(
                f"highest rate held (p95 < {P95_LIMIT_MS} ms, 0 errors): {held['reads']:.0f} reads/s with "
                f"{held['submissions']:.2f} submissions/s"
            )
        else:
            print(
                f"highest rate held: none of the steps {steps} (p95 < {P95_LIMIT_MS} ms, 0 errors)"
            )
    print(f"make bench-day: end, {load_line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
