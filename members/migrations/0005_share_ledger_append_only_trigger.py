from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION members_share_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Share ledger entries are append-only: record a reversal instead.';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER members_share_ledger_append_only
    BEFORE UPDATE OR DELETE ON members_shareledgerentry
    FOR EACH ROW EXECUTE FUNCTION members_share_ledger_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS members_share_ledger_append_only ON members_shareledgerentry;
DROP FUNCTION IF EXISTS members_share_ledger_append_only();
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
    dependencies = [("members", "0004_member_number_sequence_row")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
