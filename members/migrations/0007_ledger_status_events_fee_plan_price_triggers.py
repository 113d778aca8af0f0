"""PostgreSQL refuses changes to the share ledger, status history and assigned prices.

- Share ledger entries already refuse UPDATE and DELETE (0005); TRUNCATE, which row
  triggers do not see, is refused too.
- Member status events are written once by ``member_change_status``: UPDATE, DELETE and
  TRUNCATE are refused.
- A fee plan's amount, period and currency cannot change while any fee-plan assignment
  references it (there is no separate version table: a new price is a new plan). Its name
  and availability stay editable.

There is no session switch past these for the application; see billing 0004 for how the
test suite's flush passes the TRUNCATE triggers. SQLite relies on the ORM guards.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION members_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: the register''s history is append-only; record a new entry instead.',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'P0001';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER members_shareledgerentry_no_truncate
    BEFORE TRUNCATE ON members_shareledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION members_refuse_change();
CREATE TRIGGER members_memberstatusevent_immutable
    BEFORE UPDATE OR DELETE ON members_memberstatusevent
    FOR EACH ROW EXECUTE FUNCTION members_refuse_change();
CREATE TRIGGER members_memberstatusevent_no_truncate
    BEFORE TRUNCATE ON members_memberstatusevent
    FOR EACH STATEMENT EXECUTE FUNCTION members_refuse_change();

CREATE OR REPLACE FUNCTION members_fee_plan_price_fixed() RETURNS trigger AS $$
BEGIN
    IF (NEW.amount, NEW.period, NEW.currency) IS DISTINCT FROM
           (OLD.amount, OLD.period, OLD.currency)
       AND EXISTS (SELECT 1 FROM members_feeplanassignment WHERE plan_id = OLD.id) THEN
        RAISE EXCEPTION 'Fee plan % is assigned to members: its amount, period and currency cannot change; create a new plan and reassign.',
            OLD.name
            USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER members_fee_plan_price_fixed_once_assigned
    BEFORE UPDATE OF amount, period, currency ON members_feeplan
    FOR EACH ROW EXECUTE FUNCTION members_fee_plan_price_fixed();
"""
DROP = """
DROP TRIGGER IF EXISTS members_fee_plan_price_fixed_once_assigned ON members_feeplan;
DROP FUNCTION IF EXISTS members_fee_plan_price_fixed();
DROP TRIGGER IF EXISTS members_memberstatusevent_no_truncate ON members_memberstatusevent;
DROP TRIGGER IF EXISTS members_memberstatusevent_immutable ON members_memberstatusevent;
DROP TRIGGER IF EXISTS members_shareledgerentry_no_truncate ON members_shareledgerentry;
DROP FUNCTION IF EXISTS members_refuse_change();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("members", "0006_member_status_expelled")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
