"""The server `make bench` and `make bench-day` measure: a throwaway PostgreSQL, the seed of
bench/seed.py, and gunicorn (sync workers) under production settings (DEBUG=0, so Django's cached
template loaders, STAFF_2FA on), with BENCH_ENDPOINTS=1 for the floor views and the query-count
header (portal/bench.py). Plus the HTTP pieces the clients share: keep-alive connections with
cookies, sign-in through the login and 2FA forms, and API tokens from POST auth/token/.

PostgreSQL runs with fsync off (tests/servers.py): the figures are the application's, not a disk's.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import ThrowawayPostgres, free_port  # noqa: E402

WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
HOST = "127.0.0.1"


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def environment(database_url: str, port: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "BENCH_ENDPOINTS": "1",
        "CELERY_BROKER_URL": "memory://",
        "LOG_LEVEL": "ERROR",
        # As behind nginx: public tracking is limited per client address, and the clients here
        # stand for many citizens, each request from its own address (X-Forwarded-For).
        "TRUSTED_PROXY_COUNT": "1",
        "PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
        "DB_CONN_MAX_AGE": "600",
        "PAYMENT_PROVIDER": "",
        "PORT": str(port),
        "PYTHONPATH": str(ROOT),
    }


class Stack:
    """PostgreSQL, the seeded database and gunicorn; `with Stack(cases) as stack:`."""

    def __init__(self, cases: int, *, extra_env: dict[str, str] | None = None) -> None:
        self.cases = cases
        self.extra_env = extra_env or {}
        self.postgres = ThrowawayPostgres()
        self.port = free_port()
        self.gunicorn: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        self.fixtures: dict = {}
        self.seed_seconds = 0.0

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.postgres.start()
        import psycopg2

        admin = psycopg2.connect(
            host=HOST, port=self.postgres.port, user="postgres", dbname="postgres"
        )
        admin.autocommit = True
        admin.cursor().execute("CREATE DATABASE portal")
        admin.close()
        self.env = {**environment(self.postgres.url, self.port), **self.extra_env}
        # Uploads (bench-day) go beside the throwaway cluster and are removed with it.
        self.env["PRIVATE_MEDIA_ROOT"] = str(self.postgres.directory / "private")
        started = time.perf_counter()
        self.manage("migrate", "-v", "0")
        self.manage("createcachetable")
        self.fixtures = self.python("bench.seed", "--cases", str(self.cases))
        self.seed_seconds = time.perf_counter() - started
        self.gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"{HOST}:{self.port}",
             "--workers", self.extra_env.get("BENCH_WORKERS", str(WORKERS)), "--log-level", "warning", "--timeout", "60"],
            cwd=ROOT, env=self.env, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not answer /healthz")

    def stop(self) -> None:
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            os.killpg(self.gunicorn.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.gunicorn.wait(timeout=20)
        self.postgres.stop()

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def python(self, module: str, *args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", module, *args], cwd=ROOT, env=self.env, check=True,
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        return json.loads(done.stdout.strip().splitlines()[-1])

    def grow_to(self, cases: int) -> dict:
        return self.python("bench.seed", "--grow-to", str(cases))

    def worker_rss_mb(self) -> float | None:
        """Mean resident memory of the gunicorn workers (children of the master), from /proc."""
        if self.gunicorn is None:
            return None
        sizes = []
        for status in Path("/proc").glob("[0-9]*/status"):
            with contextlib.suppress(OSError):
                text = status.read_text()
                if re.search(rf"^PPid:\s+{self.gunicorn.pid}$", text, re.M):
                    rss = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
                    if rss:
                        sizes.append(int(rss.group(1)) / 1024)
        return sum(sizes) / len(sizes) if sizes else None


# --- HTTP clients ------------------------------------------------------------------------------------


def totp(key_hex: str, *, offset: int = 0) -> str:
    """A django-otp TOTP device's code (30 s steps from 0, 6 digits, SHA-1; RFC 6238), `offset`
    steps from now."""
    from django_otp.oath import hotp

    return f"{hotp(bytes.fromhex(key_hex), int(time.time()) // 30 + offset):06d}"


class Client:
    """One keep-alive connection with its cookies, as a browser tab or an API client holds it."""

    def __init__(self, port: int, *, token: str | None = None, session: str | None = None) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.cookies: dict[str, str] = {}
        if session:
            self.cookies["sessionid"] = session
        self.token = token
        self.last_queries: int | None = None
        self.extra_headers: dict[str, str] = {}  # sent with every request (bench-profile's label)

    def reconnect(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)

    def request(
        self, method: str, path: str, *, json_body=None, form=None, body: bytes | None = None,
        content_type: str | None = None, headers: dict | None = None, auth: bool = True,
    ) -> tuple[int, bytes]:  # fmt: skip
        sent = {"Host": HOST, **self.extra_headers, **(headers or {})}
        if json_body is not None:
            body, content_type = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            body = urllib.parse.urlencode(form).encode()
            content_type = "application/x-www-form-urlencoded"
        if content_type:
            sent["Content-Type"] = content_type
        if self.token and auth and path.startswith("/api/"):
            sent["Authorization"] = f"Token {self.token}"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST" and "csrftoken" in self.cookies:
            sent.setdefault("X-CSRFToken", self.cookies["csrftoken"])
            sent.setdefault("Referer", f"http://{HOST}:{self.port}/")
        try:
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.reconnect()
            raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        queries = response.getheader("X-Bench-Queries")
        self.last_queries = int(queries) if queries else None
        if response.getheader("Connection", "").lower() == "close":
            self.reconnect()
        return response.status, payload

    def get(self, path: str, **kw) -> tuple[int, bytes]:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> tuple[int, bytes]:
        return self.request("POST", path, **kw)

    def csrf_from(self, path: str) -> str:
        """Load a page and return its form's CSRF token (the cookie comes with it)."""
        status, payload = self.get(path)
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', payload)
        if found is None:
            raise RuntimeError(f"no CSRF token in {path} ({status})")
        return found.group(1).decode()

    def sign_in(self, username: str, password: str, totp_key: str | None = None) -> None:
        """Through the login form, then (staff) the 2FA form with the authenticator's code."""
        token = self.csrf_from("/accounts/login/")
        status, _ = self.post(
            "/accounts/login/",
            form={"csrfmiddlewaretoken": token, "username": username, "password": password},
        )
        if status != 302:
            raise RuntimeError(f"sign-in of {username} answered {status}")
        if totp_key:
            # The current step's code; refused when that step was already used (the seed confirms
            # each authenticator with one), so the next step's code once it is the current one.
            for attempt in range(3):
                token = self.csrf_from("/accounts/2fa/verify/")
                status, _ = self.post(
                    "/accounts/2fa/verify/",
                    form={"csrfmiddlewaretoken": token, "code": totp(totp_key)},
                )
                if status == 302:
                    break
                if attempt < 2:
                    time.sleep(30 - time.time() % 30 + 0.5)
            if status != 302:
                raise RuntimeError(f"2FA of {username} answered {status}")

    def api_token(self, username: str, password: str, totp_key: str | None = None) -> str:
        """POST auth/token/ (with the authenticator's next code for staff: the form used this one)."""
        body = {"username": username, "password": password}
        if totp_key:
            body["otp"] = totp(totp_key, offset=1)  # a step after the form's: each is taken once
        status, payload = self.post("/api/v1/auth/token/", json_body=body, auth=False)
        if status != 200:
            raise RuntimeError(f"token for {username} answered {status}: {payload[:200]!r}")
        return json.loads(payload)["token"]


def staff_clients(port: int, staff: dict) -> dict[str, tuple[str, str]]:
    """(session cookie, API token) for each staff account, signed in as a person would. The form
    takes the authenticator code of the current 30-s step, the token the next one: django-otp
    accepts each step once per device, and its default tolerance is one step either side."""
    out = {}
    for username, account in staff.items():
        client = Client(port)
        client.sign_in(username, account["password"], account["totp_key"])
        token = client.api_token(username, account["password"], account["totp_key"])
        out[username] = (client.cookies["sessionid"], token)
        client.conn.close()
    return out
