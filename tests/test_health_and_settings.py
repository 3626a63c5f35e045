"""The health endpoint, and the settings a deployment relies on (checked in fresh processes)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from .support.broker import broker_down

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_reports_everything_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "up",
        "migrations": "applied",
        "broker": "up",
    }


@pytest.mark.django_db
def test_healthz_keeps_serving_when_the_broker_is_down(client):
    with broker_down():
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "down"
    assert response.json()["database"] == "up"
    assert response.json()["status"] == "degraded"


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**extra: str) -> dict[str, str]:
    return {
        "DEBUG": "0",
        "SECRET_KEY": "a-production-like-secret-" + "x" * 40,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "portal.example.gov.cn",
        "DATABASE_URL": "postgres://portal@127.0.0.1:1/portal",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        # Production names a real identity service (the demo register is a deploy warning).
        "IDENTITY_PROVIDER": "accounts.identity.HttpIdentityProvider",
        "IDENTITY_PROVIDER_URL": "https://id.example.gov.cn/verify",
        "SMS_BACKEND": "cases.notifications.sms.HttpSMSBackend",  # not the console
        "SMS_GATEWAY_URL": "https://sms.example.gov.cn/send",
        # No demo registries (a deploy warning): shared materials are uploaded until adapters exist.
        "DATA_REGISTRIES": "",
        # No demo payment provider (a deploy warning): fees are taken at the window until the
        # payment platform's adapter is configured.
        "PAYMENT_PROVIDER": "",
        **extra,
    }


@pytest.mark.slow
def test_production_settings_pass_check_deploy_without_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_production_settings_read_http_registries_from_json():
    registries = [{"code": "household", "department_code": "city-psb", "name": "户籍信息",
                   "fields": {"name": "姓名"}, "url": "https://registry.example.gov.cn/household"}]  # fmt: skip
    env = production_env(
        DATA_REGISTRIES=json.dumps(registries), DATA_REGISTRY_TOKENS='{"household": "t"}'
    )
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    code = (
        "from cases.sharing.registry import get_registry; r = get_registry('household');"
        "print(type(r).__name__, r.token, r.timeout)"
    )
    result = run_manage("shell", "-c", code, env=env)
    assert result.stdout.split()[-3:] == ["HttpRegistry", "t", "3.0"], result.stderr
    env["DATA_REGISTRIES"] = json.dumps([{**registries[0], "url": ""}])
    result = run_manage("check", env=env)
    assert result.returncode != 0 and "cases_sharing.E004" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without_a_secret(missing):
    env = production_env()
    del env[missing]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


@pytest.mark.slow
def test_default_database_is_sqlite_in_wal_mode_with_immediate_transactions(tmp_path):
    code = (
        "from django.db import connection;"
        "c = connection.cursor();"
        "print(connection.vendor, c.execute('PRAGMA journal_mode').fetchone()[0],"
        " c.execute('PRAGMA busy_timeout').fetchone()[0],"
        " connection.settings_dict['OPTIONS']['transaction_mode']);"
        "from django.conf import settings; print(settings.CELERY_BROKER_URL, settings.SESSION_ENGINE)"
    )
    result = run_manage(
        "shell", "--no-imports", "-c", code, env={"DEBUG": "1", "VAR_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert first == "sqlite wal 20000 IMMEDIATE"
    assert second == "filesystem://localhost// django.contrib.sessions.backends.db"
    assert (tmp_path / "db.sqlite3").exists()


@pytest.mark.slow
def test_sqlite_web_process_and_worker_write_at_once_without_locking(tmp_path):
    """Two processes writing the same SQLite file concurrently, as runserver and the worker do."""
    env = {"DEBUG": "1", "VAR_DIR": str(tmp_path)}
    assert run_manage("migrate", "-v", "0", env=env).returncode == 0
    writer = (
        "import os\n"
        "from django.db import transaction\n"
        "from accounts.models import Department\n"
        "tag = os.environ['WRITER']\n"
        "for i in range(150):\n"
        "    with transaction.atomic():\n"
        "        Department.objects.filter(code='root').exists()\n"
        "        Department.objects.create(code=f'{tag}-{i}', name='x', kind='city')\n"
    )
    script = tmp_path / "writer.py"
    script.write_text(writer)
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")}
    code = f"exec(open({str(script)!r}).read())"
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=ROOT,
            env={**base, **env, "WRITER": tag},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("web", "worker", "beat")
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "database is locked" not in err
    count = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from accounts.models import Department; print(Department.objects.count())",
        env=env,
    )
    assert count.stdout.strip() == "450"


@pytest.mark.slow
def test_with_nothing_set_manage_py_is_a_development_instance(tmp_path):
    result = run_manage(
        "shell", "--no-imports", "-c", "from django.conf import settings; print(settings.DEBUG)",
        env={"VAR_DIR": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    # A configured database means production unless DEBUG=1 says otherwise: secrets are required.
    refused = run_manage("check", env={"DATABASE_URL": "postgres://x@127.0.0.1:1/x"})
    assert refused.returncode != 0
    assert "SECRET_KEY must be set" in refused.stderr
