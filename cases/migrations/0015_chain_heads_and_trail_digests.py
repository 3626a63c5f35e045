"""Each case keeps its chain head (the last event's sequence and hash), filled in here from the trail;
signed daily digests of the heads are kept. In the database: TRUNCATE of the trail, the heads and the
digests is refused (PostgreSQL, statement-level triggers); a head never moves backwards nor goes while
its trail is there, and a digest is never changed (PostgreSQL and SQLite row triggers)."""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models

BACKFILL = """
    INSERT INTO cases_casechainhead (case_id, sequence, hash, updated_at)
    SELECT e.case_id, e.sequence, e.hash, e.at FROM cases_event e
    WHERE e.sequence = (SELECT MAX(x.sequence) FROM cases_event x WHERE x.case_id = e.case_id)
"""

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION cases_trail_no_truncate() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% is part of the audit trail: TRUNCATE refused', TG_TABLE_NAME;
    END;
    $$ LANGUAGE plpgsql
    """,
    *(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION cases_trail_no_truncate()"
        for table in ("cases_event", "cases_casechainhead", "cases_traildigest")
    ),
    """
    CREATE OR REPLACE FUNCTION cases_chain_head_forward_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF EXISTS (SELECT 1 FROM cases_event WHERE case_id = OLD.case_id) THEN
                RAISE EXCEPTION 'cases_casechainhead: the head of a trail cannot be removed';
            END IF;
            RETURN OLD;
        END IF;
        IF NEW.case_id <> OLD.case_id OR NEW.sequence <= OLD.sequence THEN
            RAISE EXCEPTION 'cases_casechainhead: a chain head only moves forward';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER cases_casechainhead_forward_only BEFORE UPDATE OR DELETE ON cases_casechainhead
    FOR EACH ROW EXECUTE FUNCTION cases_chain_head_forward_only()
    """,
    """
    CREATE TRIGGER cases_traildigest_no_update BEFORE UPDATE OR DELETE ON cases_traildigest
    FOR EACH ROW EXECUTE FUNCTION cases_event_append_only()
    """,
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS cases_traildigest_no_update ON cases_traildigest",
    "DROP TRIGGER IF EXISTS cases_casechainhead_forward_only ON cases_casechainhead",
    "DROP FUNCTION IF EXISTS cases_chain_head_forward_only()",
    *(
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"
        for table in ("cases_event", "cases_casechainhead", "cases_traildigest")
    ),
    "DROP FUNCTION IF EXISTS cases_trail_no_truncate()",
]
SQLITE = [
    """
    CREATE TRIGGER cases_casechainhead_forward_only BEFORE UPDATE ON cases_casechainhead
    WHEN NEW.case_id <> OLD.case_id OR NEW.sequence <= OLD.sequence
    BEGIN SELECT RAISE(ABORT, 'cases_casechainhead: a chain head only moves forward'); END
    """,
    """
    CREATE TRIGGER cases_casechainhead_no_delete BEFORE DELETE ON cases_casechainhead
    WHEN EXISTS (SELECT 1 FROM cases_event WHERE case_id = OLD.case_id)
    BEGIN SELECT RAISE(ABORT, 'cases_casechainhead: the head of a trail cannot be removed'); END
    """,
    """
    CREATE TRIGGER cases_traildigest_no_update BEFORE UPDATE ON cases_traildigest
    BEGIN SELECT RAISE(ABORT, 'cases_traildigest is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER cases_traildigest_no_delete BEFORE DELETE ON cases_traildigest
    BEGIN SELECT RAISE(ABORT, 'cases_traildigest is append-only: DELETE refused'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS cases_casechainhead_forward_only",
    "DROP TRIGGER IF EXISTS cases_casechainhead_no_delete",
    "DROP TRIGGER IF EXISTS cases_traildigest_no_update",
    "DROP TRIGGER IF EXISTS cases_traildigest_no_delete",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


def backfill_heads(apps, schema_editor):
    schema_editor.execute(BACKFILL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0014_notification_texts_deadline_materials_rights"),
    ]

    operations = [
        migrations.CreateModel(
            name="CaseChainHead",
            fields=[
                (
                    "case",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="chain_head",
                        serialize=False,
                        to="cases.case",
                    ),
                ),
                ("sequence", models.PositiveIntegerField()),
                ("hash", models.CharField(max_length=64)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "chain head",
                "verbose_name_plural": "chain heads",
            },
        ),
        migrations.CreateModel(
            name="TrailDigest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("date", models.DateField(unique=True, verbose_name="date")),
                ("as_of", models.DateTimeField(verbose_name="heads as of")),
                ("case_count", models.PositiveIntegerField(verbose_name="cases covered")),
                ("digest", models.CharField(max_length=64, verbose_name="digest")),
                ("signature", models.CharField(max_length=64, verbose_name="signature")),
                (
                    "created_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(), verbose_name="created"
                    ),
                ),
            ],
            options={
                "verbose_name": "trail digest",
                "verbose_name_plural": "trail digests",
                "ordering": ["-date"],
            },
        ),
        migrations.RunPython(backfill_heads, migrations.RunPython.noop),
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
