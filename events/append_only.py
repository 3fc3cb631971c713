"""The event table refuses UPDATE and DELETE, in the database itself (triggers from migration 0002).

PostgreSQL: a row trigger raises for any UPDATE or DELETE. TRUNCATE is left alone: it is what
`manage.py flush` (and so the test suite between transactional tests) uses, and whoever may
TRUNCATE or DROP the table owns the database anyway; the triggers stop the application (ORM,
admin, raw SQL from its connection), not the database's owner.

SQLite has no TRUNCATE: flush is `DELETE FROM`, which fires row triggers. So its triggers fire
only while `maisie_events_locked()` is true. Every Django connection defines that function
(`on_connection_created`) as true unless `flushing()` is active in the calling context, which
only the `flush` command enables (events/management/commands/flush.py). A connection without the
function (the sqlite3 shell) fails the statement with "no such function": refused as well.
"""

import contextlib
import contextvars

TABLE = "events_event"
_flushing: contextvars.ContextVar[bool] = contextvars.ContextVar("events_flushing", default=False)

MESSAGE = "events are append-only: UPDATE and DELETE are refused"

POSTGRESQL_CREATE = f"""
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
"""
POSTGRESQL_DROP = f"""
DROP TRIGGER IF EXISTS events_append_only ON {TABLE};
DROP FUNCTION IF EXISTS events_refuse_change();
"""

SQLITE_CREATE = [
    f"""CREATE TRIGGER events_no_{action.lower()} BEFORE {action} ON {TABLE}
        WHEN maisie_events_locked()
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"""
    for action in ("UPDATE", "DELETE")
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS events_no_{action}" for action in ("update", "delete")]


def on_connection_created(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function("maisie_events_locked", 0, _locked)


def _locked() -> int:
    return 0 if _flushing.get() else 1


@contextlib.contextmanager
def flushing():
    """Let this context's SQLite statements empty the table (flush only)."""
    token = _flushing.set(True)
    try:
        yield
    finally:
        _flushing.reset(token)
