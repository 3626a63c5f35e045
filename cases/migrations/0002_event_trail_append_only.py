"""The event trail is append-only in the database too: UPDATE and DELETE on cases_event are refused
by triggers (PostgreSQL and SQLite), whatever code or console tries them."""

from django.db import migrations

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION cases_event_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'cases_event is append-only: % refused', TG_OP;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER cases_event_no_update BEFORE UPDATE OR DELETE ON cases_event
    FOR EACH ROW EXECUTE FUNCTION cases_event_append_only()
    """,
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS cases_event_no_update ON cases_event",
    "DROP FUNCTION IF EXISTS cases_event_append_only()",
]
SQLITE = [
    """
    CREATE TRIGGER cases_event_no_update BEFORE UPDATE ON cases_event
    BEGIN SELECT RAISE(ABORT, 'cases_event is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER cases_event_no_delete BEFORE DELETE ON cases_event
    BEGIN SELECT RAISE(ABORT, 'cases_event is append-only: DELETE refused'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS cases_event_no_update",
    "DROP TRIGGER IF EXISTS cases_event_no_delete",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_applications")]
    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}),
        )
    ]
