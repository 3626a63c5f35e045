"""The data `make bench` and `make bench-day` run against, written fast into a throwaway database.

Run inside Django (`python -m bench.seed`, with the server's environment) it loads:

- the demo city and its catalog (accounts.demo, services.demo: 26+ published services in several
  departments, with their form schemas, materials, guides, articles and bundles), and three plain
  bench services in 市场监管 (BENCH-1 for submissions and counter intake; BENCH-2 and BENCH-3 joined
  in the bundle BENCH-B), so that a submission is measured without uploads the demo forms demand;
- 1,000 citizens (CitizenProfile with valid 居民身份证 numbers, encrypted, with their keyed hash);
- staff from accounts.demo (caseworker, clerk, deptadmin in 市场监管, whose queue is the big one),
  each with a confirmed authenticator (TOTP) whose key is handed to the client: it signs them in
  through the login form and the 2FA form, as a person would;
- 25 real cases of one citizen ("my applications") and a few in the caseworker's queue, filed and
  submitted through the services, and a draft of one service for the designer's preview;
- then `--cases` cases by INSERT … SELECT generate_series: spread over states, services,
  departments, channels and citizens, each with one submission event and its chain head (the
  hashes are not a real chain: `verify_trail` would report them, no page checks them).

`--grow-to N` adds bulk cases up to N (the growth test). The last line printed is a JSON document
with what the clients need (session keys, tokens, TOTP keys, case numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CITIZENS = 1000
HEAVY_CITIZEN_CASES = 25
PASSWORD = "bench-pass-2026"  # noqa: S105 - a throwaway database's
SESSION_CITIZENS = 64
BENCH_SCHEMA = {
    "type": "object",
    "required": ["shop_name", "area"],
    "properties": {
        "applicant_name": {"type": "string", "title": "申请人", "x-prefill": "real_name"},
        "shop_name": {"type": "string", "maxLength": 40, "title": "店铺名称"},
        "area": {"type": "number", "minimum": 1, "maximum": 10000, "title": "面积"},
    },
}

# Bulk cases, `g` the row number: state by g % 20 (40 % open, the rest decided or closed); half of
# them in 市场监管's services (the caseworker's queue), the other half over every other service.
INSERT_CASES = """
INSERT INTO cases_case (
    number, service_id, service_version_id, department_id, applicant_id, filed_by_id, channel,
    data, state, state_before_pause, stage_id, received_at, accepted_at, decided_at, closed_at,
    intake_due_date, due_date, due_date_provisional, extended_days, decision_reason,
    decision_legal_basis, materials_received, queue_ticket, paused_working_days,
    working_days_used, decided_on_time, visits, row_version, created_at, updated_at
)
SELECT
    'BK-' || g, s.service_id, s.version_id, s.department_id, p.id, p.user_id,
    CASE WHEN g %% 5 = 0 THEN 'counter' WHEN g %% 7 = 0 THEN 'api' ELSE 'online' END,
    %(data)s, st.state, '',
    CASE WHEN st.state = 'submitted' THEN s.intake_stage
         WHEN st.state IN ('accepted', 'supplement_requested', 'suspended') THEN s.review_stage
         WHEN st.state = 'approved' THEN s.delivery_stage
         ELSE s.closed_stage END,
    c.received,
    CASE WHEN st.state IN ('submitted', 'not_accepted', 'withdrawn') THEN NULL ELSE c.received END,
    CASE WHEN st.state IN ('approved', 'rejected', 'concluded') THEN c.received + interval '5 days' END,
    CASE WHEN st.state IN ('rejected', 'concluded', 'not_accepted', 'withdrawn')
         THEN c.received + interval '6 days' END,
    (c.received + interval '7 days')::date,
    CASE WHEN st.state = 'submitted' THEN NULL
         ELSE (c.received + make_interval(days => 10 + g %% 40))::date END,
    false, 0, '', '', '[]'::jsonb, '', 0,
    CASE WHEN st.state IN ('approved', 'rejected', 'concluded') THEN 4 END,
    CASE WHEN st.state IN ('approved', 'rejected', 'concluded') THEN true END,
    CASE WHEN g %% 5 = 0 THEN 1 ELSE 0 END, 1, c.received, c.received
FROM (
    SELECT g, now() - make_interval(mins => ((g::bigint * 7919) %% (365 * 1440))::int) AS received
    FROM generate_series(%(start)s, %(stop)s) AS g
) AS c
CROSS JOIN LATERAL (
    SELECT (ARRAY['submitted', 'submitted', 'accepted', 'accepted', 'accepted',
                  'supplement_requested', 'suspended', 'approved',
                  'concluded', 'concluded', 'concluded', 'concluded', 'concluded', 'concluded',
                  'rejected', 'not_accepted', 'withdrawn', 'concluded', 'concluded', 'draft'
                 ])[1 + c.g %% 20] AS state
) AS st
JOIN bench_services AS s
  ON s.n = CASE WHEN c.g %% 2 = 0 THEN c.g / 2 %% %(amr)s
                ELSE %(amr)s + (c.g / 2) %% %(others)s END
JOIN bench_citizens AS p ON p.n = c.g %% %(citizens)s
"""

# One event per bulk case (its submission, or its creation for drafts) and the chain head to it.
INSERT_EVENTS = """
INSERT INTO cases_event (case_id, sequence, action, outcome, actor_id, actor_role, channel,
                         from_state, to_state, from_stage, to_stage, opinion, details, at,
                         previous_hash, hash)
SELECT c.id, 1, CASE WHEN c.state = 'draft' THEN 'created' ELSE 'submitted' END, '',
       c.filed_by_id, 'applicant', c.channel, 'draft', c.state, '', '', '', '{}'::jsonb,
       c.created_at, repeat('0', 64), md5(c.number) || md5(c.number || 'x')
FROM cases_case AS c WHERE c.number LIKE 'BK-%%' AND c.id > %(after)s
"""
INSERT_HEADS = """
INSERT INTO cases_casechainhead (case_id, sequence, hash, updated_at)
SELECT e.case_id, 1, e.hash, now() FROM cases_event AS e
WHERE e.case_id > %(after)s AND e.sequence = 1
  AND e.case_id IN (SELECT id FROM cases_case WHERE number LIKE 'BK-%%' AND id > %(after)s)
"""


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def _id_number(n: int) -> str:
    from stdnum.cn import ric

    # 310101 (上海黄浦), born 1960–1999 on a valid day, sequence from n.
    first17 = f"310101{1960 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def _totp_device(user) -> str:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.second_factor import DEVICE_NAME

    device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
    return device.key


def _session_for(user) -> str:
    """A signed-in session made as django.contrib.auth.login makes it (citizens only)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _bench_services(amr, psb):
    from services import bundles
    from services.catalog import create_service, publish_version
    from services.demo import _department_workflow

    made = {}
    for code, department, name in (
        ("BENCH-1", amr, "基准事项（开店备案）"),
        ("BENCH-2", amr, "基准事项（经营备案）"),
        ("BENCH-3", psb, "基准事项（治安备案）"),
    ):
        version = create_service(
            code=code, department=department, name=name, name_en=f"Bench item {code}", kind="licensing",
            audience="person", legal_basis="《基准条例》第一条", conditions="年满十八周岁", statutory_limit_days=20,
            promised_limit_days=10, result_type="approval", result_name="备案回执", form_schema=BENCH_SCHEMA,
            workflow=_department_workflow(department), summary="用于基准测试的事项。",
            materials=[{"name": "店铺照片", "required": False}],
        )  # fmt: skip
        made[code] = publish_version(version=version)
    bundles.import_bundle(
        document={
            "format": bundles.FORMAT, "code": "BENCH-B", "name": "基准一件事", "name_en": "Bench bundle",
            "guide": "一次填写，同时办理两个基准事项。", "guide_en": "One form, two bench items.",
            "lead_department": amr.code, "life_events": [],
            "members": [
                {"key": "shop", "service": "BENCH-2",
                 "fields": {"shop_name": "shop_name", "area": "area"}},
                {"key": "security", "service": "BENCH-3",
                 "fields": {"shop_name": "shop_name", "area": "area"}},
            ],
            "dependencies": [],
        },
        publish=True,
    )  # fmt: skip
    return made


def _citizens():
    from django.contrib.auth.hashers import make_password

    from accounts.crypto import keyed_hash
    from accounts.models import CitizenProfile, User

    password = make_password(PASSWORD)
    users = User.objects.bulk_create(
        [User(username=f"bench{n:04d}", password=password) for n in range(CITIZENS)]
    )
    profiles = []
    for n, user in enumerate(users):
        number = _id_number(n)
        profiles.append(
            CitizenProfile(
                user=user, real_name=f"市民{n:04d}", id_number=number,
                id_number_hash=keyed_hash(number), phone=f"139{n:08d}",
            )
        )  # fmt: skip
    return CitizenProfile.objects.bulk_create(profiles)


def _real_cases(profile, versions, count: int) -> list[str]:
    from cases.workflow import create_draft, submit_application

    numbers = []
    for n in range(count):
        version = versions[n % len(versions)]
        case, _created = create_draft(
            service=version.service, user=profile.user, data={"shop_name": f"店{n}", "area": 20 + n}
        )
        if n % 5 != 4:  # a few stay drafts, as in anyone's list
            case = submit_application(case=case, user=profile.user)
        numbers.append(case.number)
    return numbers


def _prepare_bulk(cursor, profiles) -> dict:
    from services.models import ServiceItem, WorkflowStage

    cursor.execute(
        "CREATE TABLE IF NOT EXISTS bench_services (n int PRIMARY KEY, service_id bigint, "
        "version_id bigint, department_id bigint, intake_stage bigint, review_stage bigint, "
        "delivery_stage bigint, closed_stage bigint)"
    )
    cursor.execute("TRUNCATE bench_services")
    items = list(
        ServiceItem.objects.filter(status=ServiceItem.Status.PUBLISHED)
        .exclude(code__startswith="BENCH-")
        .select_related("current_version", "department")
        .order_by("code")
    )
    amr = [i for i in items if i.department.code == "city-amr"]
    others = [i for i in items if i.department.code != "city-amr"]
    rows = []
    for n, item in enumerate(amr + others):
        stages = {
            s.code: s.pk
            for s in WorkflowStage.objects.filter(definition=item.current_version.workflow_id)
        }
        review = stages.get("review") or stages["decision"]
        rows.append(
            (n, item.pk, item.current_version_id, item.department_id, stages["intake"], review,
             stages["delivery"], stages["closed"])
        )  # fmt: skip
    cursor.executemany("INSERT INTO bench_services VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS bench_citizens (n int PRIMARY KEY, id bigint, user_id bigint)"
    )
    cursor.execute("TRUNCATE bench_citizens")
    # Citizen 0 keeps only their real cases: "my applications" stays at 25 whatever the volume.
    cursor.executemany(
        "INSERT INTO bench_citizens VALUES (%s, %s, %s)",
        [(n, p.pk, p.user_id) for n, p in enumerate(profiles[1:])],
    )
    return {"amr": len(amr), "others": len(others), "citizens": len(profiles) - 1}


def grow_to(total: int) -> tuple[int, float]:
    """Bulk cases up to `total` cases in all; returns (cases now, seconds taken)."""
    from django.db import connection

    from accounts.crypto import EncryptedJSONField
    from accounts.models import CitizenProfile

    started = time.perf_counter()
    profiles = list(
        CitizenProfile.objects.filter(user__username__startswith="bench").order_by("pk")
    )
    data = EncryptedJSONField().get_prep_value({"shop_name": "批量", "area": 30})
    with connection.cursor() as cursor:
        params = _prepare_bulk(cursor, profiles)
        cursor.execute("SELECT count(*), coalesce(max(id), 0) FROM cases_case")
        existing, after = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM cases_case WHERE number LIKE 'BK-%%'")
        bulk = cursor.fetchone()[0]
        wanted = total - existing
        if wanted > 0:
            params |= {"data": data, "start": bulk + 1, "stop": bulk + wanted}
            cursor.execute(INSERT_CASES, params)
            cursor.execute(INSERT_EVENTS, {"after": after})
            cursor.execute(INSERT_HEADS, {"after": after})
            cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM cases_case")
        now = cursor.fetchone()[0]
    return now, time.perf_counter() - started


def seed(cases: int) -> dict:
    from django.db import connection, transaction

    from accounts import demo
    from accounts.models import Department, User
    from cases.models import Case
    from services import demo as services_demo
    from services.catalog import start_new_draft
    from services.models import Bundle, ServiceItem

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, payload text, "
            "at timestamptz DEFAULT now())"
        )
    timings = {}
    started = time.perf_counter()
    with transaction.atomic():
        demo.load(PASSWORD, reset_passwords=True)
        services_demo.load()
        amr = Department.objects.get(code="city-amr")
        psb = Department.objects.get(code="city-psb")
        bench = _bench_services(amr, psb)
        start_new_draft(service=ServiceItem.objects.get(code="330100-AMR-DJ-001"))
    timings["catalog"] = time.perf_counter() - started
    started = time.perf_counter()
    profiles = _citizens()
    timings["citizens"] = time.perf_counter() - started
    started = time.perf_counter()
    versions = [bench["BENCH-1"], bench["BENCH-2"]]
    own = _real_cases(profiles[0], versions, HEAVY_CITIZEN_CASES)
    queue = _real_cases(profiles[1], versions, 10)
    timings["real cases"] = time.perf_counter() - started
    staff = {}
    for username in ("caseworker", "clerk", "deptadmin", "reviewer", "approver"):
        user = User.objects.get(username=username)
        staff[username] = {
            "username": username,
            "password": PASSWORD,
            "totp_key": _totp_device(user),
        }
    sessions = [_session_for(p.user) for p in profiles[:SESSION_CITIZENS]]
    from accounts.tokens import issue_token

    tokens = [
        issue_token(user=p.user, second_factor_verified=False)[0]
        for p in profiles[:SESSION_CITIZENS]
    ]
    total, seconds = grow_to(cases)
    timings["bulk cases"] = seconds
    heavy = profiles[0]
    submitted = (
        Case.objects.filter(number__in=own).exclude(state="draft").values_list("number", flat=True)
    )
    return {
        "cases": total,
        "timings": timings,
        "services": ServiceItem.objects.filter(status=ServiceItem.Status.PUBLISHED).count(),
        "bundles": Bundle.objects.count(),
        "citizens": len(profiles),
        "heavy": {"session": sessions[0], "token": tokens[0], "real_name": heavy.real_name,
                  "cases": own, "submitted": list(submitted)},
        "sessions": sessions[1:],
        "tokens": tokens[1:],
        "citizen_names": [p.real_name for p in profiles[:SESSION_CITIZENS]],
        "citizen_ids": [_id_number(n) for n in range(SESSION_CITIZENS, SESSION_CITIZENS + 200)],
        "queue_cases": queue,
        "staff": staff,
        "guide": "330100-AMR-DJ-001",
        "preview": "330100-AMR-DJ-001",
        "bench_material": bench["BENCH-1"].materials.first().pk,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--grow-to", type=int, default=0)
    args = parser.parse_args()
    _setup()
    if args.grow_to:
        total, seconds = grow_to(args.grow_to)
        print(json.dumps({"cases": total, "seconds": seconds}))
    else:
        print(json.dumps(seed(args.cases)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
