"""The deadline sweep's warnings in one PostgreSQL statement (issue 20: a million open cases in
seconds, a run with nothing new in well under one).

`warn` inserts every threshold crossed as a DeadlineWarning (ON CONFLICT DO NOTHING, so two beats
at once warn once) and, from the rows it inserted, the staff's inbox messages (outbox rows), in a
chain of data-modifying CTEs: `WITH new AS (INSERT … RETURNING …) INSERT INTO notification …
SELECT … FROM new JOIN … GROUP BY recipient`. It writes exactly what `deadlines._warn_in_python`
writes (the portable path, SQLite under `make run`; tests compare the two):

- one warning per case, kind and date, as before (DESIGN "Time": each warning recorded once);
- one digest (NotificationEvent.DEADLINE_DIGEST, no case) per recipient and run, not one message
  per case: a caseworker with 40 cases near their deadline reads one message listing them. Its
  recipients are those of each case: the holder; unclaimed, whoever works its current stage in
  the acting department (the stage's role, the department's caseworkers if nobody holds it); an
  overdue case also goes to that department's heads;
- the digest's context, in the recipient's language, is what its admin-edited template renders
  at delivery: the counts (count, overdue_count, due_soon_count), the first DIGEST_CASES cases
  (overdue first, then by due date and filing) each with number, service name, due date, kind
  and staff link, how many more, the sweep's date and the queue's link.

The working-day arithmetic stays in Python (services.calendar): the thresholds come in as dates.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection
from django.urls import reverse

from accounts.models import Role, StaffMembership, User
from services.models import OuterState, ServiceVersion, WorkflowStage

from .models import (
    Case,
    DeadlineWarning,
    Notification,
    NotificationChannel,
    NotificationEvent,
    SupplementRequest,
)
from .notifications.services import absolute_url

Kind = DeadlineWarning.Kind
# A case number is its service's code (the database allows [0-9A-Za-z._-] only: the constraint
# service_code_format), a date and a sequence: nothing `reverse` would quote, so SQL can put it
# between the two halves of the link.
PLACEHOLDER = "CASENUMBERPLACEHOLDER"
# The cases a digest lists (overdue first, then by due date); it counts the others.
DIGEST_CASES = 50


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def queue_url() -> str:
    return absolute_url(reverse("work:queue"))


def _staff_url_parts() -> tuple[str, str]:
    """The staff page of a case as (before, after) its number, as `staff_case_url` makes it."""
    before, _sep, after = absolute_url(reverse("work:case", args=[PLACEHOLDER])).partition(
        PLACEHOLDER
    )
    return before, after


def _statement() -> str:
    case, warning = _table(Case), _table(DeadlineWarning)
    request, notification = _table(SupplementRequest), _table(Notification)
    version, stage = _table(ServiceVersion), _table(WorkflowStage)
    membership, user = _table(StaffMembership), _table(User)
    # The candidates are narrow keys (case, kind, deadline): the running cases' two thresholds from
    # index-only scans of case_sweep_running_due (due_date INCLUDE id, predicate running and not
    # paused; VACUUM, autovacuum in production, keeps the visibility map that lets it skip the
    # heap). The anti-join with the warnings' unique index discards what earlier sweeps recorded
    # before any case row is read, so a sweep with nothing new reads no case row; only the rows
    # the INSERT returns meet the case, its version and stage, for the digests' columns.
    return f"""
    WITH candidates (case_id, kind, deadline) AS (
        SELECT c.id, %(due_soon)s, c.due_date FROM {case} c
         WHERE c.state = ANY(%(running)s) AND c.paused_since IS NULL
           AND c.due_date >= %(today)s AND c.due_date <= %(soon)s
        UNION ALL
        SELECT c.id, %(overdue)s, c.due_date FROM {case} c
         WHERE c.state = ANY(%(running)s) AND c.paused_since IS NULL AND c.due_date < %(today)s
        UNION ALL
        SELECT c.id, %(reminder)s, r.deadline FROM {case} c JOIN {request} r ON r.case_id = c.id
         WHERE c.state = %(supplement_requested)s AND r.state = %(open)s
           AND r.deadline >= %(today)s AND r.deadline <= %(soon)s
        UNION ALL
        SELECT c.id, %(owed)s, c.materials_owed_by FROM {case} c
         WHERE c.id = ANY(%(owed_ids)s::bigint[]) AND c.materials_owed_by IS NOT NULL
    ), new AS (
        -- The sort is load-bearing: it ends the anti-join before the first row is inserted. Without
        -- it, a plan made while the warnings table looked empty (a nested loop over a scan of it)
        -- rescans the rows this INSERT adds, once per candidate: minutes at 200,000. It also gives
        -- a fixed lock order should two sweeps ever run at once (deadlines.warn serialises them
        -- with an advisory lock; ON CONFLICT settles any other race).
        INSERT INTO {warning} (case_id, kind, deadline, sweep)
        SELECT k.case_id, k.kind, k.deadline, %(run)s FROM candidates k
         WHERE NOT EXISTS (SELECT 1 FROM {warning} w WHERE w.case_id = k.case_id
                           AND w.kind = k.kind AND w.deadline = k.deadline)
         ORDER BY k.case_id, k.kind, k.deadline
        ON CONFLICT (case_id, kind, deadline) DO NOTHING
        RETURNING id, case_id, kind, deadline
    ), warned (case_id, kind, deadline, number, assignee_id, department_id, stage_role, name,
               name_en) AS (
        SELECT n.case_id, n.kind, n.deadline, c.number, c.assignee_id,
               COALESCE(c.acting_department_id, c.department_id),
               COALESCE(NULLIF(s.role, ''), %(caseworker)s), v.name, v.name_en
          FROM new n JOIN {case} c ON c.id = n.case_id
          JOIN {version} v ON v.id = c.service_version_id
          LEFT JOIN {stage} s ON s.id = c.stage_id
         WHERE n.kind IN (%(due_soon)s, %(overdue)s)
    ), held AS (  -- (department, role) pairs somebody holds: the stage's role or the fallback
        SELECT DISTINCT department_id, role FROM {membership}
    ), recipients (case_id, kind, deadline, number, name, name_en, user_id) AS (
        SELECT w.case_id, w.kind, w.deadline, w.number, w.name, w.name_en, w.assignee_id
          FROM warned w WHERE w.assignee_id IS NOT NULL
        UNION ALL  -- the heads of an overdue case's department, its holder told once (above)
        SELECT w.case_id, w.kind, w.deadline, w.number, w.name, w.name_en, m.user_id
          FROM warned w
          JOIN {membership} m ON m.department_id = w.department_id AND m.role = %(head)s
         WHERE w.kind = %(overdue)s AND m.user_id IS DISTINCT FROM w.assignee_id
        UNION ALL  -- unclaimed and due soon: whoever works the stage
        SELECT w.case_id, w.kind, w.deadline, w.number, w.name, w.name_en, m.user_id
          FROM warned w
          LEFT JOIN held h ON h.department_id = w.department_id AND h.role = w.stage_role
          JOIN {membership} m ON m.department_id = w.department_id
           AND m.role = CASE WHEN h.role IS NULL THEN %(caseworker)s ELSE w.stage_role END
         WHERE w.kind = %(due_soon)s AND w.assignee_id IS NULL
    ), ranked AS (  -- each recipient's cases: overdue first, then by due date
        SELECT r.*, u.preferred_language AS language,
               row_number() OVER (PARTITION BY r.user_id ORDER BY r.kind = %(overdue)s DESC,
                                  r.deadline, r.case_id) AS rank
          FROM recipients r JOIN {user} u ON u.id = r.user_id
    ), digests AS (  -- one message per recipient: the counts, the first cases, the queue
        INSERT INTO {notification} (recipient_id, person_id, case_id, event, channel, language,
                                    context, address, state, attempts, last_error, subject, body)
        SELECT k.user_id, NULL, NULL, %(digest_event)s, %(inbox)s, k.language,
               jsonb_build_object(
                   'date', %(date)s,
                   'count', count(*),
                   'overdue_count', count(*) FILTER (WHERE k.kind = %(overdue)s),
                   'due_soon_count', count(*) FILTER (WHERE k.kind = %(due_soon)s),
                   'cases', jsonb_agg(jsonb_build_object(
                       'number', k.number,
                       'service', CASE WHEN k.language LIKE 'en%%' AND k.name_en <> ''
                                       THEN k.name_en ELSE k.name END,
                       'due_date', to_char(k.deadline, 'YYYY-MM-DD'),
                       'kind', k.kind,
                       'case_url', %(url_before)s || k.number || %(url_after)s) ORDER BY k.rank)
                       FILTER (WHERE k.rank <= %(listed)s),
                   'more', greatest(count(*) - %(listed)s, 0),
                   'queue_url', %(queue_url)s),
               '', %(pending)s, 0, '', '', ''
          FROM ranked k GROUP BY k.user_id, k.language ORDER BY k.user_id
        RETURNING id
    )
    SELECT 'message', d.id FROM digests d
    UNION ALL
    SELECT n.kind, count(*) FROM new n GROUP BY n.kind
    UNION ALL
    SELECT 'applicant', n.id FROM new n WHERE n.kind IN (%(reminder)s, %(owed)s)
    """  # noqa: S608 - table names from the models, every value a parameter


def warn(
    *,
    today: dt.date,
    soon: dt.date,
    owed: list[int],
    run: uuid.UUID,
    running_states: list[str],
) -> tuple[dict[str, int], list[int], list[int]]:
    """Record every threshold crossed by `today` (due by `soon`, past due, documents due by `soon`,
    the cases in `owed` whose materials are due) under the sweep `run`, and write one digest per
    staff recipient of the new ones. Returns (new warnings per kind, ids of the digests written,
    ids of the new warnings told to the applicant)."""
    before, after = _staff_url_parts()
    params = {
        "today": today, "soon": soon, "run": run, "running": list(running_states),
        "owed_ids": owed, "due_soon": Kind.DUE_SOON, "overdue": Kind.OVERDUE,
        "reminder": Kind.SUPPLEMENT_REMINDER, "owed": Kind.MATERIALS_OWED,
        "supplement_requested": OuterState.SUPPLEMENT_REQUESTED,
        "open": SupplementRequest.State.OPEN, "caseworker": Role.CASEWORKER,
        "head": Role.DEPARTMENT_HEAD, "digest_event": NotificationEvent.DEADLINE_DIGEST,
        "inbox": NotificationChannel.INBOX, "pending": Notification.State.PENDING,
        "url_before": before, "url_after": after, "listed": DIGEST_CASES,
        "queue_url": queue_url(), "date": today.isoformat(),
    }  # fmt: skip
    params = {
        name: list(map(str, value)) if isinstance(value, list) and name != "owed_ids"
        else str(value) if isinstance(value, str) else value
        for name, value in params.items()
    }  # fmt: skip
    counts = dict.fromkeys(Kind.values, 0)
    ids: list[int] = []
    applicant: list[int] = []
    with connection.cursor() as cursor:
        # The sorts and hashes of 200,000 warnings fit in memory (the default 4 MB spills).
        # JIT compiling (a big statement's cost passes jit_above_cost) takes longer than it saves.
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        cursor.execute(_statement(), params)
        for label, value in cursor.fetchall():
            if label == "message":
                ids.append(value)
            elif label == "applicant":
                applicant.append(value)
            else:
                counts[label] = value
    return counts, ids, applicant
