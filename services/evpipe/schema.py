"""Create or upgrade the schema from db/init/*.sql, the files the MySQL container also runs."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import mysql.connector

from evpipe.db import Connection, leased, query, split_statements
from evpipe.errors import EvpipeError
from evpipe.settings import Settings

log = logging.getLogger(__name__)

# DDL commits statement by statement, so a migration interrupted half-way (a kill, a crash) has
# some of its statements applied but is not recorded. Its re-run meets these errors where a
# statement already took effect, and goes on.
_ALREADY_DONE = {
    1050: "the table exists",
    1060: "the column exists",
    1061: "the index exists",
    1091: "nothing left to drop",
}


def db_dir() -> Path:
    """The repository's db/ folder (or EVPIPE_DB_DIR, as set in the container image)."""
    env = os.environ.get("EVPIPE_DB_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "db" / "init").is_dir():
            return parent / "db"
    raise FileNotFoundError("cannot find the db/ folder; set EVPIPE_DB_DIR")


def migration_files() -> list[Path]:
    return sorted((db_dir() / "init").glob("[0-9][0-9][0-9]_*.sql"))


def ensure_schema(
    conn: Connection, wait_s: int = 600, settings: Settings | None = None
) -> list[str]:
    """Apply every migration not yet recorded in schema_migrations; return the versions applied.

    Two processes starting on a bare database would both apply the same migration (an ALTER
    TABLE is not idempotent): a named lock, held only while migrating, lets one do it and the
    other find it done. `evpipe status` passes through it too, but never waits for a run.
    With settings whose run_lock is "table", a lease row in run_locks replaces the named lock."""
    if settings is not None and settings.run_lock == "table":
        return _ensure_leased(conn, wait_s, settings) if _pending(conn) else []
    if _pending(conn):
        name = f"evpipe.schema.{conn.database}"[:64]
        got = query(conn, "SELECT GET_LOCK(%s, %s)", (name, wait_s))[0][0]
        if got != 1:
            raise EvpipeError(f"another evpipe is upgrading the schema of {conn.database}")
        try:
            return _apply(conn)
        finally:
            query(conn, "SELECT RELEASE_LOCK(%s)", (name,))
    return []


def _ensure_leased(conn: Connection, wait_s: int, settings: Settings) -> list[str]:
    if not _has_table(conn, "run_locks"):
        # A bare database, or one from before migration 008: there is no table to hold a lease
        # in yet, and GET_LOCK is what this mode avoids (it is not cluster-wide). So these
        # migrations run without a lock: every migration is written to be re-run (CREATE TABLE
        # IF NOT EXISTS, INSERT IGNORE, and _apply goes past "already exists" / "nothing to
        # drop"), so processes migrating at once all end with the same schema. What remains is
        # a race on that one start: a process re-running a migration that drops and re-creates
        # a table (006) can empty it under another that has already moved on; such migrations
        # end by resetting the transform watermark, so the next transform rebuilds it in full.
        return _apply(conn)
    name = f"evpipe.schema.{conn.database}"[:64]
    with leased(
        settings, name, wait_s, "another evpipe is upgrading the schema", EvpipeError
    ) as lease:
        return _apply(lease.guard(conn))


def _has_table(conn: Connection, table: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SHOW TABLES LIKE %s", (table,))
        return bool(cur.fetchall())


def _pending(conn: Connection) -> bool:
    if not _has_table(conn, "schema_migrations"):
        return True
    done = {r[0] for r in query(conn, "SELECT version FROM schema_migrations")}
    conn.commit()
    return any(p.name.split("_", 1)[0] not in done for p in migration_files())


def _apply(conn: Connection) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SHOW TABLES LIKE 'schema_migrations'")
        known = bool(cur.fetchall())
    done = {r[0] for r in query(conn, "SELECT version FROM schema_migrations")} if known else set()
    applied = []
    for path in migration_files():
        version = path.name.split("_", 1)[0]
        if version in done:
            continue
        log.info("applying schema migration %s", path.name)
        with conn.cursor() as cur:
            for statement in split_statements(path.read_text(encoding="utf-8")):
                try:
                    cur.execute(statement)
                except mysql.connector.Error as err:
                    if err.errno not in _ALREADY_DONE:
                        raise
                    log.info("%s: %s, already done: %s", path.name, _ALREADY_DONE[err.errno],
                             statement.splitlines()[0][:80])  # fmt: skip
            cur.execute("INSERT IGNORE INTO schema_migrations (version) VALUES (%s)", (version,))
        conn.commit()
        applied.append(version)
    return applied
