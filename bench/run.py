"""`make bench`: API submissions per second and latency on PostgreSQL behind gunicorn, beside a bare
DRF view doing one INSERT in the same run.

Everything runs on this machine: a throwaway PostgreSQL cluster, gunicorn on a free loopback port, and
client threads with keep-alive connections. Each level runs for a bounded time and request count, then
stops by itself. Numbers depend on the machine; the ratio to the bare floor is the figure to watch.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import ThrowawayPostgres, free_port  # noqa: E402

LEVELS = [1, 8, 32]
SECONDS_PER_LEVEL = float(os.environ.get("BENCH_SECONDS", "6"))
MAX_REQUESTS_PER_LEVEL = 20_000
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))

SETUP = """
import json
from django.db import connection
from accounts.tokens import issue_token
from accounts.crypto import keyed_hash
from accounts.models import CitizenProfile, Department, User
from services.catalog import create_service, publish_version
from services.workflows import ensure_standard_template
from stdnum.cn import ric

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, payload text, at timestamptz DEFAULT now())")
city = Department.objects.create(code="bench-city", name="基准市", kind="city")
department = Department.objects.create(code="bench-amr", name="基准局", kind="bureau", parent=city)
schema = {"type": "object", "required": ["shop_name", "area"], "properties": {
    "applicant_name": {"type": "string", "title": "申请人", "x-prefill": "real_name"},
    "shop_name": {"type": "string", "maxLength": 40, "title": "店铺名称"},
    "area": {"type": "number", "minimum": 1, "maximum": 10000, "title": "面积"}}}
version = create_service(code="BENCH-1", department=department, name="基准事项", kind="licensing",
    audience="person", legal_basis="基准", conditions="基准", statutory_limit_days=20, promised_limit_days=10,
    result_type="approval", result_name="批文", form_schema=schema, workflow=ensure_standard_template(),
    materials=[{"name": "说明", "required": False}])
publish_version(version=version)
tokens = []
for n in range(64):
    user = User.objects.create_user(username=f"bench{n}", password="x")
    first17 = f"1101051990{n // 28 + 1:02d}{n % 28 + 1:02d}{n:03d}"
    number = first17 + ric.calc_check_digit(first17 + "0")
    CitizenProfile.objects.create(user=user, real_name=f"基准{n}", id_number=number,
        id_number_hash=keyed_hash(number), phone="13800138000")
    tokens.append(issue_token(user=user, second_factor_verified=False)[0])
print(json.dumps(tokens))
"""


def environment(database_url: str, port: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "BENCH_ENDPOINTS": "1",
        "CELERY_BROKER_URL": "memory://",
        "LOG_LEVEL": "WARNING",
        "PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
        "DB_CONN_MAX_AGE": "600",
        "PORT": str(port),
    }


def request(
    conn: http.client.HTTPConnection, path: str, body: dict, token: str, key: str | None = None
):
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Token {token}",
        "Host": "127.0.0.1",
    }
    if key:
        headers["Idempotency-Key"] = key
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    payload = response.read()
    return response.status, payload


def submission(conn, token, n):
    """One API submission: file the application with its data, then submit it."""
    status, payload = request(
        conn, "/api/v1/applications/", {"service": "BENCH-1", "data": {"shop_name": f"店{n}", "area": 20}},
        token, key=f"{token[:8]}-{n}-{time.monotonic_ns()}",
    )  # fmt: skip
    if status != 201:
        return status
    number = json.loads(payload)["number"]
    status, _ = request(conn, f"/api/v1/applications/{number}/submit/", {}, token)
    return 201 if status == 200 else status


def bare(conn, token, n):
    status, _ = request(conn, "/api/v1/bench/insert/", {}, token)
    return status


def run_level(port: int, tokens: list[str], clients: int, operation) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS_PER_LEVEL
    budget = [MAX_REQUESTS_PER_LEVEL]

    def client(index: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            started = time.perf_counter()
            try:
                status = operation(conn, tokens[index % len(tokens)], n)
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = time.perf_counter() - started
            n += 1
            with lock:
                if status == 201:
                    latencies.append(elapsed)
                else:
                    errors += 1
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    latencies.sort()
    return {
        "per_second": len(latencies) / wall if wall else 0.0,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        "done": len(latencies),
        "errors": errors,
    }


def main() -> int:
    postgres = ThrowawayPostgres()
    gunicorn = None
    try:
        postgres.start()
        import psycopg2

        admin = psycopg2.connect(
            host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres"
        )
        admin.autocommit = True
        admin.cursor().execute("CREATE DATABASE portal")
        admin.close()
        port = free_port()
        env = environment(postgres.url, port)
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        setup = subprocess.run(
            [python, "manage.py", "shell", "--no-imports", "-c", SETUP],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        tokens = json.loads(setup.stdout.strip().splitlines()[-1])
        gunicorn = subprocess.Popen(
            [python, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(WORKERS), "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1)
        # Warm up every worker's connections and imports.
        run_level(port, tokens, WORKERS * 2, bare)
        print(f"PostgreSQL (throwaway), gunicorn {WORKERS} sync workers, {os.cpu_count()} cores, "
              f"{SECONDS_PER_LEVEL:.0f} s per level; a submission = POST applications/ + POST submit/")  # fmt: skip
        print(f"{'clients':>7} | {'submissions/s':>13} {'p50 ms':>8} {'p95 ms':>8} | "
              f"{'bare INSERT/s':>13} {'p50 ms':>8} {'p95 ms':>8} | {'ratio':>5} | {'req ratio':>9}")  # fmt: skip
        for clients in LEVELS:
            real = run_level(port, tokens, clients, submission)
            floor = run_level(port, tokens, clients, bare)
            ratio = (
                real["per_second"] / floor["per_second"] if floor["per_second"] else float("nan")
            )
            print(
                f"{clients:>7} | {real['per_second']:>13.1f} {real['p50_ms']:>8.1f} {real['p95_ms']:>8.1f} | "
                f"{floor['per_second']:>13.1f} {floor['p50_ms']:>8.1f} {floor['p95_ms']:>8.1f} | "
                f"{ratio:>5.2f} | {2 * ratio:>9.2f}"
                + (f"  ({real['errors']} failed submissions, {floor['errors']} failed inserts)"
                   if real["errors"] or floor["errors"] else "")
            )  # fmt: skip
        print(
            "ratio = submissions/s ÷ bare INSERTs/s; req ratio counts both requests of a submission."
        )
        return 0
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            gunicorn.wait(timeout=20)
        postgres.stop()


if __name__ == "__main__":
    raise SystemExit(main())
