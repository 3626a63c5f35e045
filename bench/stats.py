"""`make bench-stats`: the public statistics over 1,000,000 cases on PostgreSQL: time and queries.

Cases and ratings are generated with SQL (generate_series) straight into a throwaway database (the
engine is not what is measured): 60 services in 12 departments, received over the last 24 months,
nine in ten decided, half of those rated, rectifications for the ratings of 1–2. Then it times a
full rebuild of the monthly figures, the incremental refresh beat runs (current and previous
month), and the page /stats/, the API and the CSV export, with their number of queries.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throwaway import with_django_on_postgres  # noqa: E402

CASES = int(os.environ.get("BENCH_CASES", "1000000"))
DEPARTMENTS = 12
SERVICES = 60
LIMITS = [0, 1, 3, 5, 10, 15, 20]


def main() -> int:
    return with_django_on_postgres(run)


# Spread deterministically: `g` is the row number. Received at any minute of the last 730 days;
# decided 1–28 days later unless that is still in the future; working days 0–24, on time when
# within the service's promised limit (plus a few late ones), visits 0, 1 or 2.
INSERT_CASES = """
INSERT INTO cases_case (
    number, service_id, service_version_id, department_id, applicant_id, filed_by_id, channel,
    data, state, state_before_pause, received_at, accepted_at, decided_at, closed_at,
    due_date_provisional, extended_days, decision_reason, decision_legal_basis,
    materials_received, queue_ticket, paused_working_days, working_days_used, decided_on_time,
    visits, row_version, created_at, updated_at
)
SELECT
    'B-' || g, s.id, s.version_id, s.department_id, %(applicant)s, %(user)s,
    CASE WHEN g %% 4 = 0 THEN 'counter' ELSE 'online' END,
    '{}'::jsonb,
    CASE WHEN decided > now() THEN 'accepted'
         WHEN g %% 10 = 0 THEN 'rejected' WHEN g %% 10 < 4 THEN 'approved' ELSE 'concluded' END,
    '', received, received,
    CASE WHEN decided > now() THEN NULL ELSE decided END,
    CASE WHEN decided > now() OR g %% 10 BETWEEN 1 AND 3 THEN NULL ELSE decided END,
    false, 0, '', '', '[]'::jsonb, '', 0,
    CASE WHEN decided > now() THEN NULL ELSE days END,
    CASE WHEN decided > now() THEN NULL ELSE days <= s.limit_days OR g %% 17 = 0 END,
    CASE WHEN decided > now() THEN 0 ELSE g %% 3 END,
    1, received, received
FROM (
    SELECT g,
           now() - make_interval(mins => ((g::bigint * 7919) %% (730 * 1440))::int) AS received,
           (g * 31) %% 25 AS days,
           1 + (g * 13) %% %(services)s AS n
    FROM generate_series(1, %(cases)s) AS g
) AS c
CROSS JOIN LATERAL (
    SELECT c.received + make_interval(days => 1 + (c.g %% 28)) AS decided
) AS d
JOIN bench_services AS s ON s.n = c.n
"""

INSERT_RATINGS = """
INSERT INTO cases_rating (case_id, department_id, service_id, score, dimensions, tags, comment,
                          channel, created_at)
SELECT id, department_id, service_id, 1 + (id * 7) %% 5, '{}'::jsonb, '[]'::jsonb, '', channel,
       LEAST(decided_at + interval '2 days', now())
FROM cases_case WHERE decided_at IS NOT NULL AND id %% 2 = 0
"""

INSERT_RECTIFICATIONS = """
INSERT INTO cases_rectification (rating_id, case_id, department_id, state, due_date, answer,
                                 answered_at, answered_on_time, created_at)
SELECT r.id, r.case_id, r.department_id,
       CASE WHEN r.id %% 5 = 0 THEN 'open' ELSE 'answered' END,
       (r.created_at + interval '7 days')::date,
       CASE WHEN r.id %% 5 = 0 THEN '' ELSE '已回访整改' END,
       CASE WHEN r.id %% 5 = 0 THEN NULL ELSE r.created_at + interval '3 days' END,
       CASE WHEN r.id %% 5 = 0 THEN NULL ELSE r.id %% 7 <> 0 END,
       r.created_at
FROM cases_rating AS r WHERE r.score <= 2
"""


def run() -> int:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.crypto import keyed_hash
    from accounts.models import CitizenProfile, Department, User
    from cases.models import MonthlyFigures
    from cases.transparency import statistics
    from services.catalog import create_service, publish_version
    from services.workflows import ensure_standard_template

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    city = Department.objects.create(code="city", name="示范市人民政府", kind="city")
    departments = [
        Department.objects.create(
            code=f"d{n:02d}",
            name=f"示范市第{n}局",
            name_en=f"Bureau {n}",
            kind="bureau",
            parent=city,
        )
        for n in range(1, DEPARTMENTS + 1)
    ]
    workflow = ensure_standard_template()
    services = []
    for n in range(1, SERVICES + 1):
        version = create_service(
            code=f"S-{n:03d}", department=departments[n % DEPARTMENTS], name=f"事项{n}", kind="licensing",
            audience="person", legal_basis="法", conditions="条件", statutory_limit_days=20,
            promised_limit_days=LIMITS[n % len(LIMITS)], result_type="approval", result_name="批文",
            form_schema={"type": "object", "properties": {"a": {"type": "string", "title": "a"}}},
            workflow=workflow, materials=[{"name": "x", "required": False}],
        )  # fmt: skip
        publish_version(version=version)
        services.append((n, version))
    number = "110105199001011230"
    applicant = CitizenProfile.objects.create(
        user=User.objects.create_user(username="citizen", password="x"), real_name="市民", id_number=number,
        id_number_hash=keyed_hash(number), phone="13800138000",
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_services (n int, id bigint, version_id bigint, "
            "department_id bigint, limit_days int)"
        )
        cursor.executemany(
            "INSERT INTO bench_services VALUES (%s, %s, %s, %s, %s)",
            [
                (n, v.service_id, v.pk, v.service.department_id, v.promised_limit_days)
                for n, v in services
            ],
        )
        params = {
            "applicant": applicant.pk,
            "user": applicant.user_id,
            "services": SERVICES,
            "cases": CASES,
        }
        cursor.execute(INSERT_CASES, params)
        cursor.execute(INSERT_RATINGS, ())
        cursor.execute(INSERT_RECTIFICATIONS, ())
        cursor.execute("ANALYZE")
        cursor.execute(
            "SELECT (SELECT count(*) FROM cases_case), (SELECT count(*) FROM cases_rating), "
            "(SELECT count(*) FROM cases_rectification)"
        )
        cases, ratings, rectifications = cursor.fetchone()
    print(
        f"{cases} cases, {ratings} ratings, {rectifications} rectifications inserted in "
        f"{time.perf_counter() - started:.1f} s (PostgreSQL, throwaway)"
    )

    def timed(label: str, action) -> object:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = action()
            elapsed = time.perf_counter() - started
        print(f"{label}: {elapsed * 1000:.0f} ms, {len(queries.captured_queries)} queries")
        return result

    rows = timed("full refresh (--all)", lambda: statistics.refresh_monthly_figures(statistics.ALL))
    print(f"  {rows} monthly rows written")
    timed(
        "full refresh again (idempotent)",
        lambda: statistics.refresh_monthly_figures(statistics.ALL),
    )
    rows = timed("incremental refresh (beat)", statistics.refresh_monthly_figures)
    print(f"  {rows} monthly rows written")
    client = Client()
    for url in (
        "/stats/",
        "/stats/?period=2026",
        "/api/v1/stats/",
        "/api/v1/stats/?department=d03",
        "/stats/export.csv",
    ):
        client.get(url)  # warm: templates compiled, translations loaded
        response = timed(f"GET {url}", lambda url=url: client.get(url))
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    print(f"{MonthlyFigures.objects.count()} rows in the summary table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
