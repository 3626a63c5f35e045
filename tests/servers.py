"""Throwaway PostgreSQL and Redis servers for the test suite (loaded with `-p tests.servers`).

Before pytest-django reads the settings, this plugin starts a private PostgreSQL cluster and a Redis
server on free loopback ports, points DATABASE_URL and REDIS_URL at them, and removes both when the
run ends. A developer who sets DATABASE_URL or REDIS_URL themselves gets those instead.

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user that
Debian's package creates (`make test` installs the packages when they are missing).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

# Safe test defaults; the settings module reads these at import time.
TEST_ENVIRONMENT = {
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdefghijklmnop",
    "FIELD_ENCRYPTION_KEY": "dGVzdC1vbmx5LWZpZWxkLWtleS1ub3QtZm9yLXByZCE=",
    "PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
    "SECURE_SSL_REDIRECT": "0",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    # Tests sign staff in with force_login; tests/test_second_factor.py turns it on and checks it.
    "STAFF_2FA": "0",
    # The default cache is this process's memory, as in `make run`; tests/test_caching.py runs the
    # same pages on the throwaway Redis and on a Redis that is down.
    "CACHE_URL": "locmem://",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s")


def _postgres_bindir() -> Path | None:
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class ThrowawayPostgres:
    def __init__(self) -> None:
        bindir = _postgres_bindir()
        if bindir is None:
            raise RuntimeError(
                "PostgreSQL server binaries not found: run `make test` (it installs them), or "
                "`apt-get install postgresql`, or set DATABASE_URL to a server of your own."
            )
        self.bindir = bindir
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="portal-test-pg-"))
        self.process: subprocess.Popen | None = None
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/portal"

    def start(self) -> None:
        data = self.directory / "data"
        subprocess.run(
            [
                *self._as_user,
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.process = subprocess.Popen(
            [
                *self._as_user,
                str(self.bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.directory),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "server.log", "wb"),  # noqa: SIM115 - lives with the server
            start_new_session=True,
        )
        _wait_for_port(self.port, self.process, "PostgreSQL")
        # The port opens a moment before the server accepts logins.
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg2.connect(
                    host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
                ).close()
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # The whole session: as root the server runs under runuser, which does not pass signals on.
            os.killpg(self.process.pid, signal.SIGINT)  # PostgreSQL's fast shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        shutil.rmtree(self.directory, ignore_errors=True)


class ThrowawayRedis:
    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RuntimeError(
                "redis-server not found: run `make test` (it installs it), or "
                "`apt-get install redis-server`, or set REDIS_URL to a server of your own."
            )
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="portal-test-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_port(self.port, self.process, "Redis")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


_started: list[ThrowawayPostgres | ThrowawayRedis] = []


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args) -> None:
    for name, value in TEST_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if worker := os.environ.get("PYTEST_XDIST_WORKER"):
        # The controller started the servers and passed their URLs on. Each worker keeps to a Redis
        # database of its own (gw0 → 1, gw1 → 2 …), so one worker's Celery queue, cache and rate
        # limits are never another's.
        url = os.environ.get("REDIS_URL", "")
        if url.startswith("redis://127.0.0.1:") and url.endswith("/0") and worker[2:].isdigit():
            os.environ["REDIS_URL"] = f"{url[:-2]}/{int(worker[2:]) % 15 + 1}"
        return
    try:
        if not os.environ.get("DATABASE_URL"):
            postgres = ThrowawayPostgres()
            _started.append(postgres)
            postgres.start()
            os.environ["DATABASE_URL"] = postgres.url
        # The read replica (portal/db_router.py) is the test database itself (TEST MIRROR in
        # settings); tests/conftest.py keeps the public views on the primary unless a test asks.
        os.environ.setdefault("DATABASE_REPLICA_URL", os.environ["DATABASE_URL"])
        if not os.environ.get("REDIS_URL") and not os.environ.get("CELERY_BROKER_URL"):
            redis = ThrowawayRedis()
            _started.append(redis)
            redis.start()
            os.environ["REDIS_URL"] = redis.url
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        _stop_all()
        detail = getattr(exc, "stderr", b"") or b""
        raise pytest.UsageError(
            f"Could not start the test servers: {exc} {detail.decode(errors='replace')}"
        ) from exc


def _stop_all() -> None:
    while _started:
        _started.pop().stop()


def pytest_unconfigure(config) -> None:
    _stop_all()
