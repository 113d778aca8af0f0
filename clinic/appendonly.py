"""PostgreSQL triggers that keep records append-only below the ORM (used by migrations).

The style of billing's issued-document triggers (billing 0005): a row trigger refuses
DELETE, and UPDATE of any column except the workflow columns named as its arguments; a
statement trigger refuses TRUNCATE, which row triggers do not see. SQLite (the embedded
demo) relies on the ORM guard, ``members.models.ImmutableModel``.

The functions are created by migrations and must keep their names: a later migration may
replace their bodies, never rename them.
"""

from django.db import connection, transaction

REFUSE_CHANGE = """
CREATE OR REPLACE FUNCTION clinic_refuse_change() RETURNS trigger AS $$
DECLARE
    -- The columns a workflow may still update; none when the trigger has no arguments.
    allowed text[] := COALESCE(TG_ARGV::text[], '{}'::text[]);
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - allowed) = (to_jsonb(OLD) - allowed) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION '% is append-only: only % may change.',
            TG_TABLE_NAME,
            CASE WHEN allowed = '{}' THEN 'nothing' ELSE array_to_string(allowed, ', ') END
            USING ERRCODE = 'P0001';
    END IF;
    RAISE EXCEPTION '% on % refused: the table is append-only.', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'P0001';
END;
$$ LANGUAGE plpgsql;
"""


def create_triggers(table: str, *, function: str = "clinic_refuse_change", allowed=()) -> str:
    arguments = ", ".join(f"'{column}'" for column in allowed)
    return f"""
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}({arguments});
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""


def drop_triggers(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""


# --- The ORM's side, for SQLite (and a first guard on PostgreSQL) ----------------------------


class _RewriteWindow:
    """A no-op commit callback: while it is queued, the transaction that opened the window
    is still running, and no savepoint since then was rolled back."""

    def __call__(self) -> None:
        pass


def rewrite_window_open(name: str) -> None:
    """Let the current transaction delete from tables guarded under ``name`` until
    ``rewrite_window_close`` or the end of the transaction, like PostgreSQL's ``SET LOCAL``.

    The window is a callback queued for the commit: a commit runs it, a rollback (of the
    transaction or of a savepoint it was opened in) drops it, and so the window closes
    with the transaction whichever way it ends. Outside a transaction, nothing is opened.
    """
    if not connection.in_atomic_block:
        return
    window = _RewriteWindow()
    transaction.on_commit(window)
    setattr(connection, f"clinic_rewrite_{name}", window)


def rewrite_window_close(name: str) -> None:
    setattr(connection, f"clinic_rewrite_{name}", None)


def rewrite_window_is_open(name: str) -> bool:
    window = getattr(connection, f"clinic_rewrite_{name}", None)
    return window is not None and any(
        callback is window for _savepoints, callback, _robust in connection.run_on_commit
    )
