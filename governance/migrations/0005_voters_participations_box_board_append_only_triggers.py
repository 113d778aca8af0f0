"""PostgreSQL refuses changes to who could vote, who voted, the ballot box and board terms.

Eligible voters (fixed when a ballot opens), participations and board terms are written
once: UPDATE, DELETE and TRUNCATE are refused (``clinic.appendonly``).

The secret ballot's tables (pending pool, cast ballots, marks) are never updated either.
They are emptied and refilled only by the secrecy design's own rewrite
(``governance.services.ballot_box_rewrite_allowed`` and ``ballot_tables_rewrite``,
docs/ballot-secrecy.md): the pool flush, the close and the cancel DELETE rows and then
TRUNCATE and re-insert the three tables, in one transaction. Those code paths, and only
they, first set the transaction-local setting ``clinic.ballot_box_rewrite`` to ``on``
(``SET LOCAL``: it ends with the transaction, committed or not). Without it, DELETE and
TRUNCATE of these tables are refused too. A role that can set a custom setting can set
this one: it stops mistakes, scripts and raw SQL that do not know the design, not the
database owner (who could drop the trigger); see the threat model.
"""

from django.db import migrations

from clinic.appendonly import REFUSE_CHANGE, create_triggers, drop_triggers

BOX_FUNCTION = """
CREATE OR REPLACE FUNCTION governance_ballot_box_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
            AND current_setting('clinic.ballot_box_rewrite', true) = 'on' THEN
        -- A row trigger that returns NULL would silently skip the delete: give OLD back.
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% on % refused: the ballot box changes only through its own rewrite.',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'P0001';
END;
$$ LANGUAGE plpgsql;
"""

APPEND_ONLY = ["governance_eligiblevoter", "governance_participation", "governance_boardterm"]
BALLOT_BOX = ["governance_pendingchoice", "governance_castballot", "governance_ballotmark"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(REFUSE_CHANGE, params=None)
    schema_editor.execute(BOX_FUNCTION, params=None)
    for table in APPEND_ONLY:
        schema_editor.execute(create_triggers(table), params=None)
    for table in BALLOT_BOX:
        schema_editor.execute(
            create_triggers(table, function="governance_ballot_box_refuse_change"), params=None
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY + BALLOT_BOX:
        schema_editor.execute(drop_triggers(table))
    schema_editor.execute("DROP FUNCTION IF EXISTS governance_ballot_box_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [("governance", "0004_ballot_box_pool_and_shared_email_delivery")]

    operations = [migrations.RunPython(create, drop)]
