"""No personal identifier in clear at rest (issue 17, item 1): after a whole journey (online, at a
counter, through proxies, with the messages sent) a dump of the PostgreSQL database, the SQLite
file and the stored uploads contain none of the ID numbers, phones or e-mail addresses used, not
even inside the signed session rows and the database cache, which are base64 on disk."""

import base64
import binascii
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection

from tests.servers import _postgres_bindir
from tests.support import journey

ROOT = Path(__file__).resolve().parent.parent
IDENTIFIERS = [*journey.ID_NUMBERS, *journey.PHONES, *journey.EMAILS]
BASE64 = re.compile(rb"[A-Za-z0-9+/=_-]{24,}")


def leaks(blob: bytes) -> list[str]:
    """The identifiers found in `blob`, also inside any base64 run in it (signed sessions, pickled
    cache values), in UTF-8 as every database here stores text."""
    found = {i for i in IDENTIFIERS if i.encode() in blob}
    for run in BASE64.findall(blob):
        for candidate in (run, run + b"=" * (-len(run) % 4)):
            try:
                decoded = base64.urlsafe_b64decode(
                    candidate.replace(b"+", b"-").replace(b"/", b"_")
                )
            except (binascii.Error, ValueError):
                continue
            found |= {i for i in IDENTIFIERS if i.encode() in decoded}
    return sorted(found)


def leaks_by_table(dump: bytes) -> dict[str, list[str]]:
    """pg_dump's data sections (`COPY public.<table> ...` up to `\\.`) that leak, by table."""
    found = {}
    for section in dump.split(b"\nCOPY ")[1:]:
        table = section.split(b" ", 1)[0].decode()
        if hits := leaks(section.split(b"\n\\.\n", 1)[0]):
            found[table] = hits
    return found


def sessions_in_clear() -> bytes:
    """Every session's decoded data (signed, compressed JSON in the table)."""
    return json.dumps(
        [s.get_decoded() for s in Session.objects.all()],
        ensure_ascii=False,
    ).encode()


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def check_the_journey(made: dict) -> None:
    assert len(made["cases"]) == 3
    assert all(status in (200, 302) for status in made["statuses"]), made["statuses"]
    assert made["sent"] and set(made["sent"]) == {"sent"}, made["sent"]  # every message went
    assert made["documents"] >= 5  # three receipts, two acceptance notices


@pytest.mark.django_db(transaction=True)
def test_a_postgresql_dump_after_a_whole_journey_holds_no_identifier(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    made = journey.run()
    check_the_journey(made)
    db = connection.settings_dict
    dump = subprocess.run(
        [str(_postgres_bindir() / "pg_dump"), "--data-only", "--no-owner",
         "-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"], db["NAME"]],
        capture_output=True, check=True, env={**os.environ, "PGPASSWORD": db["PASSWORD"] or ""},
    ).stdout  # fmt: skip
    assert b"COPY public.cases_case " in dump and len(dump) > 100_000  # the rows are there
    assert not (found := leaks_by_table(dump)), json.dumps(found)
    assert leaks(sessions_in_clear()) == []
    files = stored_files(tmp_path / "private")
    assert len(files) >= 3 + 5  # three photos (one each) and the documents
    for path in files:
        content = path.read_bytes()
        assert not content.startswith((b"\x89PNG", b"%PDF")), path  # encrypted at rest
        assert leaks(content) == [], path


def test_a_sqlite_file_after_the_same_journey_holds_no_identifier(tmp_path):
    from cases import pki

    database = tmp_path / "portal.sqlite3"
    pki.make_demo_ca(tmp_path / "pki")
    env = {
        "PORTAL_SIGNING_DIR": str(tmp_path / "pki"),
        "PORTAL_SIGNING_ISSUE_DEMO_CERTIFICATES": "1",
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    result = subprocess.run(
        [python, "-m", "tests.support.journey"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    check_the_journey(json.loads(result.stdout.strip().splitlines()[-1]))
    # Everything SQLite wrote: the main file, the write-ahead log and its dump as SQL text.
    import sqlite3

    with sqlite3.connect(database) as db:
        text = "\n".join(db.iterdump()).encode()
        sessions = [row[0] for row in db.execute("SELECT session_data FROM django_session")]
    assert b'INSERT INTO "cases_case"' in text
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("portal.sqlite3*"))
    assert leaks(text) == [] and leaks(raw) == []
    assert sessions  # the clerk's and the caseworker's
    decoded = [SessionStore().decode(data) for data in sessions]
    assert any(decoded) and leaks(json.dumps(decoded, ensure_ascii=False).encode()) == []
    files = stored_files(tmp_path / "private")
    assert len(files) >= 3 + 5
    for path in files:
        assert not path.read_bytes().startswith((b"\x89PNG", b"%PDF")), path


def test_the_leak_finder_finds_a_number_in_clear_and_inside_base64():
    """The search above would see a number written plainly or in a signed session."""
    number = journey.CITIZEN_ID.encode()
    assert leaks(b"xx" + number + b"yy") == [journey.CITIZEN_ID]
    encoded = base64.urlsafe_b64encode(b'{"citizen": {"id_number": "' + number + b'"}}')
    assert leaks(b"row\t" + encoded.rstrip(b"=") + b"\n") == [journey.CITIZEN_ID]
    assert leaks(b"nothing here") == []
    assert settings.FIELD_ENCRYPTION_KEY  # the key the portal encrypts with
