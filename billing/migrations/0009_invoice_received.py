"""Invoice.received: payments and credit notes less refunds, kept by the database.

Row triggers on payments, credit notes and refunds add (or take off) each one's amount
on its invoice as it is inserted; those tables are append-only, so the sum stays right.
On PostgreSQL the column may change only from inside those triggers: the invoice's
immutability trigger (billing 0005) now lets ``received`` change, and a guard refuses
any change of it made by a statement of its own (``pg_trigger_depth() < 2``). SQLite
(the embedded demo) gets the same insert triggers; the ORM never writes the column.
"""

from decimal import Decimal

from django.db import migrations, models

BACKFILL = """
UPDATE billing_invoice SET received = COALESCE((
    SELECT SUM(amount) FROM billing_payment WHERE invoice_id = billing_invoice.id), 0)
  + COALESCE((
    SELECT SUM(amount) FROM billing_creditnote WHERE invoice_id = billing_invoice.id), 0)
  - COALESCE((
    SELECT SUM(amount) FROM billing_refund WHERE invoice_id = billing_invoice.id), 0)
WHERE EXISTS (SELECT 1 FROM billing_payment WHERE invoice_id = billing_invoice.id)
   OR EXISTS (SELECT 1 FROM billing_creditnote WHERE invoice_id = billing_invoice.id)
   OR EXISTS (SELECT 1 FROM billing_refund WHERE invoice_id = billing_invoice.id)
"""

POSTGRES = """
CREATE OR REPLACE FUNCTION billing_invoice_receive() RETURNS trigger AS $$
BEGIN
    UPDATE billing_invoice
       SET received = received + (CASE TG_ARGV[0] WHEN '-' THEN -NEW.amount ELSE NEW.amount END)
     WHERE id = NEW.invoice_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_invoice_received_guard() RETURNS trigger AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'billing_invoice.received is kept by the database: record a payment, credit note or refund instead.'
            USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER billing_invoice_immutable ON billing_invoice;
CREATE TRIGGER billing_invoice_immutable
    BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_change('status', 'pdf', 'received');
CREATE TRIGGER billing_invoice_received_guard
    BEFORE UPDATE OF received ON billing_invoice
    FOR EACH ROW WHEN (NEW.received IS DISTINCT FROM OLD.received)
    EXECUTE FUNCTION billing_invoice_received_guard();

CREATE TRIGGER billing_payment_receive AFTER INSERT ON billing_payment
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_receive('+');
CREATE TRIGGER billing_creditnote_receive AFTER INSERT ON billing_creditnote
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_receive('+');
CREATE TRIGGER billing_refund_receive AFTER INSERT ON billing_refund
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_receive('-');
"""

POSTGRES_REVERSE = """
DROP TRIGGER billing_payment_receive ON billing_payment;
DROP TRIGGER billing_creditnote_receive ON billing_creditnote;
DROP TRIGGER billing_refund_receive ON billing_refund;
DROP TRIGGER billing_invoice_received_guard ON billing_invoice;
DROP TRIGGER billing_invoice_immutable ON billing_invoice;
CREATE TRIGGER billing_invoice_immutable
    BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_change('status', 'pdf');
DROP FUNCTION billing_invoice_receive();
DROP FUNCTION billing_invoice_received_guard();
"""

# SQLite runs one statement at a time.
SQLITE = [
    """CREATE TRIGGER billing_payment_receive AFTER INSERT ON billing_payment BEGIN
    UPDATE billing_invoice SET received = received + NEW.amount WHERE id = NEW.invoice_id;
END""",
    """CREATE TRIGGER billing_creditnote_receive AFTER INSERT ON billing_creditnote BEGIN
    UPDATE billing_invoice SET received = received + NEW.amount WHERE id = NEW.invoice_id;
END""",
    """CREATE TRIGGER billing_refund_receive AFTER INSERT ON billing_refund BEGIN
    UPDATE billing_invoice SET received = received - NEW.amount WHERE id = NEW.invoice_id;
END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER billing_payment_receive",
    "DROP TRIGGER billing_creditnote_receive",
    "DROP TRIGGER billing_refund_receive",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # The immutability trigger must let the backfill through before the guard exists.
        schema_editor.execute(
            "DROP TRIGGER billing_invoice_immutable ON billing_invoice;"
            "CREATE TRIGGER billing_invoice_immutable BEFORE UPDATE OR DELETE ON billing_invoice"
            " FOR EACH ROW EXECUTE FUNCTION billing_refuse_change('status', 'pdf', 'received');",
            params=None,
        )
        schema_editor.execute(BACKFILL, params=None)
        schema_editor.execute(POSTGRES, params=None)
    else:
        schema_editor.execute(BACKFILL, params=None)
        for statement in SQLITE:
            schema_editor.execute(statement, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE, params=None)
    else:
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0008_invoice_run_preview_and_progress")]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="received",
            field=models.DecimalField(
                db_default=Decimal("0"),
                decimal_places=4,
                default=Decimal("0"),
                editable=False,
                max_digits=15,
                verbose_name="amount received",
            ),
        ),
        migrations.RunPython(create, drop),
    ]
