"""`make bench-sweep`: the deadline sweep over 100,000 open cases on PostgreSQL: time and queries.

Cases are bulk-inserted straight into a throwaway database (the engine is not what is measured);
a tenth are due within two working days, a tenth overdue. The sweep runs twice: the first run
warns, the second finds nothing new; both must make the same, small number of queries.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throwaway import with_django_on_postgres  # noqa: E402

CASES = int(os.environ.get("BENCH_CASES", "100000"))


def main() -> int:
    return with_django_on_postgres(run)


def run() -> int:
    import datetime as dt

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.crypto import keyed_hash
    from accounts.models import CitizenProfile, Department, Role, StaffMembership, User
    from cases import deadlines
    from cases.models import Case
    from services.catalog import create_service, publish_version
    from services.models import WorkflowStage
    from services.workflows import ensure_standard_template

    call_command("migrate", verbosity=0)
    city = Department.objects.create(code="city", name="市", kind="city")
    department = Department.objects.create(code="amr", name="局", kind="bureau", parent=city)
    for role in (Role.CASEWORKER, Role.DEPARTMENT_HEAD):
        StaffMembership.objects.create(
            user=User.objects.create_user(username=str(role), password="x"),
            department=department,
            role=role,
        )
    workflow = ensure_standard_template()
    version = create_service(
        code="S-1", department=department, name="事项", kind="licensing", audience="person", legal_basis="法",
        conditions="条件", statutory_limit_days=20, promised_limit_days=10, result_type="approval",
        result_name="批文", form_schema={"type": "object", "properties": {"a": {"type": "string", "title": "a"}}},
        workflow=workflow, materials=[{"name": "x", "required": False}],
    )  # fmt: skip
    publish_version(version=version)
    number = "110105199001011230"
    applicant = CitizenProfile.objects.create(
        user=User.objects.create_user(username="citizen", password="x"), real_name="市民", id_number=number,
        id_number_hash=keyed_hash(number), phone="13800138000",
    )  # fmt: skip
    review = WorkflowStage.objects.get(definition=workflow, code="review")
    today = timezone.localdate()
    now = timezone.now()
    started = time.perf_counter()
    batch = []
    for n in range(CASES):
        if n % 10 == 0:
            due = today + dt.timedelta(days=1)  # due soon
        elif n % 10 == 1:
            due = today - dt.timedelta(days=3)  # overdue
        else:
            due = today + dt.timedelta(days=60)
        batch.append(
            Case(number=f"S-1-{n:07d}", service=version.service, service_version=version, department=department,
                 applicant=applicant, filed_by=applicant.user, channel="online", state="accepted", stage=review,
                 received_at=now, accepted_at=now, intake_due_date=today, due_date=due, data={})
        )  # fmt: skip
        if len(batch) == 5000:
            Case.objects.bulk_create(batch)
            batch = []
    Case.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"{CASES} open cases inserted in {time.perf_counter() - started:.1f} s (PostgreSQL, throwaway)"
    )
    for label in ("first sweep", "second sweep"):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            counts = deadlines.sweep(today)
            elapsed = time.perf_counter() - started
        print(f"{label}: {elapsed:.2f} s, {len(queries.captured_queries)} queries, {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
