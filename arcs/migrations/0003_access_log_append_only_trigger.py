from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION arcs_access_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The access log of clinical data is append-only.';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER arcs_access_log_append_only
    BEFORE UPDATE OR DELETE ON arcs_accesslogentry
    FOR EACH ROW EXECUTE FUNCTION arcs_access_log_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS arcs_access_log_append_only ON arcs_accesslogentry;
DROP FUNCTION IF EXISTS arcs_access_log_append_only();
"""


def create_trigger(apps, schema_editor):
    # The ORM already refuses updates and deletes; the trigger also stops raw SQL and
    # other clients. SQLite (the embedded demo) relies on the ORM guard alone.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("arcs", "0002_initial_outcome_measures")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
