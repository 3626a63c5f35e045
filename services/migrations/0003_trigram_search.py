"""Trigram indexes (pg_trgm) for catalog search on PostgreSQL; nothing on SQLite.

Django's icontains becomes UPPER(col::text) LIKE UPPER(%s), so the index is on that expression.
"""

from django.db import migrations

INDEXES = [
    ("services_version_name_trgm", "services_serviceversion", "name"),
    ("services_version_name_en_trgm", "services_serviceversion", "name_en"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("services", "0002_seed_working_day_calendar")]
    operations = [migrations.RunPython(create, drop)]
