"""PostgreSQL keeps a consultation's question and answer as written, below the ORM.

A consultation moves open -> answered -> closed (or open -> closed, withdrawn): its status
and the time it closed change, and its answer, who answered and when are written once.
Every other column (the arc, who asked, whom, the question) never changes; an answer,
once given, is never rewritten or blanked; a consultation is never deleted or truncated.
"""

from django.db import migrations

from clinic.appendonly import REFUSE_CHANGE, create_triggers, drop_triggers

FUNCTION = """
CREATE OR REPLACE FUNCTION careteam_consultation_refuse_change() RETURNS trigger AS $$
DECLARE
    workflow text[] := ARRAY['status', 'closed_at', 'answer', 'answered_by_id', 'answered_at'];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (to_jsonb(NEW) - workflow) <> (to_jsonb(OLD) - workflow) THEN
            RAISE EXCEPTION 'careteam_consultationrequest: only its status, closing time and first answer may change.'
                USING ERRCODE = 'P0001';
        END IF;
        IF OLD.answer <> '' AND (NEW.answer, NEW.answered_by_id, NEW.answered_at)
                IS DISTINCT FROM (OLD.answer, OLD.answered_by_id, OLD.answered_at) THEN
            RAISE EXCEPTION 'careteam_consultationrequest: an answer, once given, never changes.'
                USING ERRCODE = 'P0001';
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on careteam_consultationrequest refused: consultations are kept.', TG_OP
        USING ERRCODE = 'P0001';
END;
$$ LANGUAGE plpgsql;
"""

TABLE = "careteam_consultationrequest"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(REFUSE_CHANGE, params=None)
    schema_editor.execute(FUNCTION, params=None)
    schema_editor.execute(
        create_triggers(TABLE, function="careteam_consultation_refuse_change"), params=None
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(drop_triggers(TABLE))
    schema_editor.execute("DROP FUNCTION IF EXISTS careteam_consultation_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [("careteam", "0006_remove_notification_emailed_at")]

    operations = [migrations.RunPython(create, drop)]
