"""`make bench-sweep`: the deadline sweep and the other periodic set-based tasks on PostgreSQL.

For each size in BENCH_SWEEP_SIZES (default "100000,1000000") a fresh database is copied from a
migrated template and filled with that many open cases by INSERT … SELECT generate_series (the
engine is not what is measured): a tenth due within two working days, a tenth overdue (so 20 %
warn), one in a thousand waiting for documents due soon; plus BENCH_SWEEP_DEEMED (default 200)
cases whose intake let five working days pass and as many whose documents did not arrive. Then:

- the sweep twice: the first warns (and deems), the second finds nothing new;
- the requeue of the messages the first sweep left pending (no worker runs: all of them);
- the statistics refresh over every month (`refresh_monthly_figures("all")`).

Each line gives seconds and SQL statements, and the load average when it ended (the machine is
shared: figures are noisy). BENCH_SWEEP_PROFILE=1 splits each step into SQL and Python time and
prints its three slowest statements.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throwaway import with_django_on_postgres  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_SWEEP_SIZES", "100000,1000000").split(",") if n]
DEEMED = int(os.environ.get("BENCH_SWEEP_DEEMED", "200"))


def main() -> int:
    return with_django_on_postgres(run)


def _base() -> dict:
    """Departments, staff, the service and an applicant, in the template database."""
    from accounts.crypto import keyed_hash
    from accounts.models import CitizenProfile, Department, Role, StaffMembership, User
    from services.catalog import create_service, publish_version
    from services.models import WorkflowStage
    from services.workflows import ensure_standard_template

    city = Department.objects.create(code="city", name="市", kind="city")
    department = Department.objects.create(code="amr", name="局", kind="bureau", parent=city)
    staff = {}
    for role in (Role.CASEWORKER, Role.REVIEWER, Role.DEPARTMENT_HEAD):
        staff[role] = User.objects.create_user(username=str(role), password="x")
        StaffMembership.objects.create(user=staff[role], department=department, role=role)
    workflow = ensure_standard_template()
    version = create_service(
        code="S-1", department=department, name="事项", name_en="Service", kind="licensing",
        audience="person", legal_basis="法", conditions="条件", statutory_limit_days=20,
        promised_limit_days=10, result_type="approval", result_name="批文",
        form_schema={"type": "object", "properties": {"a": {"type": "string", "title": "a"}}},
        workflow=workflow, materials=[{"name": "x", "required": False}],
    )  # fmt: skip
    publish_version(version=version)
    number = "110105199001011230"
    applicant = CitizenProfile.objects.create(
        user=User.objects.create_user(username="citizen", password="x", email="c@example.com"),
        real_name="市民", id_number=number, id_number_hash=keyed_hash(number), phone="13800138000",
    )  # fmt: skip
    stages = {s.code: s.pk for s in WorkflowStage.objects.filter(definition=workflow)}
    return {"version": version.pk, "applicant": applicant.pk, "caseworker": staff[Role.CASEWORKER].pk,
            "intake": stages["intake"], "review": stages["review"],
            "material": version.materials.get().pk}  # fmt: skip


def _seed(size: int, base: dict, today: dt.date) -> None:
    """`size` open cases and the deemed ones, in a handful of INSERT … SELECT statements."""
    from django.db import connection
    from django.db.models.fields import NOT_PROVIDED
    from django.utils import timezone

    from accounts.models import CitizenProfile
    from cases.models import Case, SupplementRequest
    from services.models import ServiceVersion

    version = ServiceVersion.objects.select_related("service").get(pk=base["version"])
    applicant = CitizenProfile.objects.get(pk=base["applicant"])
    now = timezone.now()
    model = Case(
        number="x", service=version.service, service_version=version,
        department_id=version.service.department_id, applicant=applicant,
        filed_by_id=applicant.user_id, channel="online", state="accepted", data={},
        received_at=now, accepted_at=now,
    )  # fmt: skip
    waiting = "(%(prefix)s = 'S-1-' AND g %% 1000 = 2)"  # documents asked for, due soon
    varying = {
        "number": "%(prefix)s || lpad(g::text, 7, '0')",
        "state": f"CASE WHEN {waiting} THEN 'supplement_requested' ELSE %(state)s END",
        "stage_id": f"CASE WHEN %(state)s = 'accepted' AND NOT {waiting} "
        "THEN %(review)s ELSE %(intake)s END",
        "due_date": f"CASE WHEN %(state)s <> 'accepted' OR {waiting} THEN NULL "
        "WHEN g %% 10 = 0 THEN %(today)s::date + 1 WHEN g %% 10 = 1 THEN %(today)s::date - 3 "
        "ELSE %(today)s::date + 60 END",
        "intake_due_date": "%(intake_due)s::date",
        "received_at": "%(now)s::timestamptz - (g %% 400) * interval '1 day'",
        "accepted_at": f"CASE WHEN %(state)s = 'accepted' AND NOT {waiting} "
        "THEN %(now)s::timestamptz END",
    }
    columns, values, params = [], [], {}
    for field in Case._meta.concrete_fields:
        if field.primary_key or field.db_default is not NOT_PROVIDED:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in varying:
            values.append(varying[field.column])
        else:
            params[field.column] = field.get_db_prep_save(field.pre_save(model, True), connection)
            values.append(f"%({field.column})s")
    sql = (
        f"INSERT INTO {Case._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM generate_series(0, %(count)s - 1) g"
    )
    batches = [("S-1-", "accepted", size, today)]
    batches += [("S-1-A", "submitted", DEEMED, today - dt.timedelta(days=2))]
    batches += [("S-1-W", "supplement_requested", DEEMED, today)]
    with connection.cursor() as cursor:
        for prefix, state, count, intake_due in batches:
            cursor.execute(sql, {**params, **base, "prefix": prefix, "state": state,
                                 "count": count, "today": today, "now": now,
                                 "intake_due": intake_due})  # fmt: skip
        request = SupplementRequest._meta.db_table
        # Due in two days (reminded), or yesterday for the deemed withdrawals.
        cursor.execute(
            f"INSERT INTO {request} (case_id, requested_by_id, note, deadline, state) "  # noqa: S608
            f"SELECT id, %s, '缺材料', CASE WHEN number LIKE 'S-1-W%%' THEN %s::date ELSE %s::date END, "
            f"'open' FROM {Case._meta.db_table} WHERE state = 'supplement_requested'",
            [base["caseworker"], today - dt.timedelta(days=1), today + dt.timedelta(days=1)],
        )
        cursor.execute(
            f"INSERT INTO {request}_materials (supplementrequest_id, servicematerial_id) "  # noqa: S608
            f"SELECT id, %s FROM {request}",
            [base["material"]],
        )
        cursor.execute("ANALYZE")


def _timed(label: str, function) -> tuple[str, float, int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()  # the log keeps 9,000: a step's own queries, all of them
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - started
    if os.environ.get("BENCH_SWEEP_PROFILE"):
        in_sql = sum(float(q["time"]) for q in queries.captured_queries)
        print(f"    SQL {in_sql:.2f} s, Python {elapsed - in_sql:.2f} s", file=sys.stderr)
        slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
        for query in slowest:
            print(f"    {query['time']} s  {query['sql'][:150]!r}", file=sys.stderr)
    load = os.getloadavg()[0]
    return label, elapsed, len(queries.captured_queries), load, result


def run() -> int:
    from django.core.management import call_command
    from django.db import connection, connections
    from django.urls import reverse
    from django.utils import timezone

    from cases import deadlines
    from cases.models import Notification
    from cases.notifications import services as notifications
    from cases.transparency import statistics

    call_command("migrate", verbosity=0)
    # A worker loads the URLconf once (the messages' links are reversed); not a cost of the sweep.
    reverse("work:case", args=["S-1-0000000"])
    base = _base()
    template = connection.settings_dict["NAME"]
    connections.close_all()
    today = timezone.localdate()
    table = []
    for size in SIZES:
        name = f"sweep_{size}"
        admin = _admin(connection.settings_dict)
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        connection.settings_dict["NAME"] = name
        started = time.perf_counter()
        _seed(size, base, today)
        seeded = time.perf_counter() - started
        total = size + 2 * DEEMED
        print(f"{total:,} open cases seeded in {seeded:.0f} s", flush=True)
        steps = [
            ("first sweep: warnings", lambda: deadlines.warn(today)),
            ("second sweep: warnings", lambda: deadlines.warn(today)),
            (f"first sweep: deemed ({2 * DEEMED} due)", lambda: deadlines.close_expired(today)),
            ("second sweep: deemed", lambda: deadlines.close_expired(today)),
        ]
        pending = lambda: Notification.objects.filter(state="pending").count()  # noqa: E731
        later = timezone.now() + dt.timedelta(minutes=10)
        steps += [
            ("requeue of every pending message", lambda later=later: notifications.requeue_pending(now=later, limit=10**7)),
            ("requeue again (all handed over)", lambda later=later: notifications.requeue_pending(now=later)),
            ("statistics refresh (all months)", lambda: statistics.refresh_monthly_figures(statistics.ALL)),
        ]  # fmt: skip
        for label, step in steps:
            table.append((size, *_timed(label, step)))
            print(_line(table[-1]), f"({pending():,} messages pending)", flush=True)
        connections.close_all()
        connection.settings_dict["NAME"] = template
        admin.execute(f"DROP DATABASE {name}")
        admin.close()
    print()
    print("| open cases | step | seconds | queries | load | result |")
    print("|---|---|---|---|---|---|")
    for row in table:
        print(_line(row, markdown=True))
    return 0


class _admin:
    """An autocommit connection to the server's `postgres` database (CREATE/DROP DATABASE)."""

    def __init__(self, settings: dict) -> None:
        import psycopg2

        self.connection = psycopg2.connect(
            host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname="postgres"
        )
        self.connection.autocommit = True

    def execute(self, sql: str) -> None:
        self.connection.cursor().execute(sql)

    def close(self) -> None:
        self.connection.close()


def _line(row, markdown: bool = False) -> str:
    size, label, seconds, queries, load, result = row
    if markdown:
        return f"| {size:,} | {label} | {seconds:.2f} | {queries} | {load:.1f} | {result} |"
    return f"{size:,} cases, {label}: {seconds:.2f} s, {queries} queries, load {load:.1f}, {result}"


if __name__ == "__main__":
    raise SystemExit(main())
