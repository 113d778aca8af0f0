"""PostgreSQL refuses changes to issued documents and the billing ledger, below the ORM.

Issued invoices, their lines, credit notes, payments, refunds and billing events are
written once. A row trigger refuses DELETE, and UPDATE of any column except those a
workflow must still move, named as the trigger's arguments:

- invoice: ``status`` (payments, credit notes, the overdue job) and ``pdf`` (the stored
  rendering, written once by ``invoice_render_pdf``);
- credit note: ``pdf`` (``credit_note_render_pdf``).

A statement trigger refuses TRUNCATE, which row triggers do not see. There is no session
switch that lets the application past them; the test suite's flush between
``transaction=True`` tests sets PostgreSQL's own ``session_replication_role = replica``
(superuser only, see tests/conftest.py), which a production role cannot do. Invoices have
no draft state: drafts are in-memory ``InvoiceDraft`` objects until issued.

SQLite (the embedded demo) relies on the ORM guard, ``members.models.ImmutableModel``.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION billing_refuse_change() RETURNS trigger AS $$
DECLARE
    -- The columns a workflow may still update; none when the trigger has no arguments.
    allowed text[] := COALESCE(TG_ARGV::text[], '{}'::text[]);
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - allowed) = (to_jsonb(OLD) - allowed) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION '% is immutable once issued: only % may change; record a credit note or refund instead.',
            TG_TABLE_NAME, CASE WHEN allowed = '{}' THEN 'nothing' ELSE array_to_string(allowed, ', ') END
            USING ERRCODE = 'P0001';
    END IF;
    RAISE EXCEPTION '% on % refused: issued documents are immutable; record a credit note or refund instead.',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'P0001';
END;
$$ LANGUAGE plpgsql;
"""

# (table, columns a workflow may update)
TABLES = [
    ("billing_invoice", ["status", "pdf"]),
    ("billing_invoiceline", []),
    ("billing_creditnote", ["pdf"]),
    ("billing_payment", []),
    ("billing_refund", []),
    ("billing_billingevent", []),
]


def _create(table: str, allowed: list[str]) -> str:
    arguments = ", ".join(f"'{column}'" for column in allowed)
    return f"""
CREATE TRIGGER {table}_immutable
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_change({arguments});
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION billing_refuse_change();
"""


def _drop(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_immutable ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table, allowed in TABLES:
        schema_editor.execute(_create(table, allowed), params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _allowed in TABLES:
        schema_editor.execute(_drop(table))
    schema_editor.execute("DROP FUNCTION IF EXISTS billing_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_refund")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
