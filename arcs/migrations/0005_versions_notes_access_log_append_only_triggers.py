"""PostgreSQL refuses changes to arc versions, progress notes and the access log.

An arc version is the plan as it was after one change, a progress note is what a
clinician wrote on a date (a correction is a new note), and the access log is the record
of who saw what: none has a workflow column, so UPDATE, DELETE and TRUNCATE are refused
(``clinic.appendonly``). The access log's earlier trigger (0003) refused UPDATE and DELETE
only; it is replaced by these, which also refuse TRUNCATE.
"""

from django.db import migrations

from clinic.appendonly import REFUSE_CHANGE, create_triggers, drop_triggers

TABLES = ["arcs_arcversion", "arcs_progressnote", "arcs_accesslogentry"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(REFUSE_CHANGE, params=None)
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS arcs_access_log_append_only ON arcs_accesslogentry;"
    )
    for table in TABLES:
        schema_editor.execute(create_triggers(table), params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(drop_triggers(table))
    schema_editor.execute(
        "CREATE TRIGGER arcs_access_log_append_only BEFORE UPDATE OR DELETE ON "
        "arcs_accesslogentry FOR EACH ROW EXECUTE FUNCTION arcs_access_log_append_only();"
    )


class Migration(migrations.Migration):
    dependencies = [("arcs", "0004_plan_items_can_be_removed")]

    operations = [migrations.RunPython(create, drop)]
