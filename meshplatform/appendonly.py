"""Database triggers that make a table append-only, for PostgreSQL and SQLite.

Used from migrations: the app then cannot UPDATE or DELETE those rows through any code path,
the ORM included; only someone with the rights to drop the trigger can.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION mesh_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION mesh_refuse_change();
"""

SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
       BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
       BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END;""",
]


def append_only(table: str) -> migrations.RunPython:
    def forwards(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(POSTGRES.format(table=table), None)
        elif vendor == "sqlite":
            for statement in SQLITE:
                schema_editor.execute(statement.format(table=table), None)

    return migrations.RunPython(forwards, migrations.RunPython.noop)
