"""Database connections: bounded retries, masked errors, the run lock, statement helpers."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import mysql.connector
from mysql.connector import errorcode

from evpipe.errors import DatabaseUnavailable, EvpipeError, RunInProgress
from evpipe.settings import Settings

log = logging.getLogger(__name__)

Connection = Any  # mysql.connector's connection classes share no useful public base type

# Errors that mean "the server is not there (yet)": worth retrying with backoff.
_UNREACHABLE = {
    errorcode.CR_CONN_HOST_ERROR,
    errorcode.CR_CONNECTION_ERROR,
    errorcode.CR_UNKNOWN_HOST,
    errorcode.CR_SERVER_GONE_ERROR,
    errorcode.CR_SERVER_LOST,
    errorcode.CR_SERVER_LOST_EXTENDED,  # 2055: lost connection (reset by peer), e.g. a crash
    errorcode.ER_CON_COUNT_ERROR,
    errorcode.ER_SERVER_SHUTDOWN,
    1927,  # MariaDB: connection was killed
}


def mask(text: str, settings: Settings) -> str:
    """The text with every occurrence of the password replaced (it may hide in DB_HOST too)."""
    return text.replace(settings.db_password, "***") if settings.db_password else text


def describe_error(err: Exception, settings: Settings) -> str:
    """One line for a database error, naming where it happened and never the password."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return mask(f"database {settings.db_host}:{settings.db_port}: {text}", settings)


# mysql-connector's error, without an errno, for a connection whose socket it has already
# dropped: what a connection killed or cut while idle (or mid-LOAD DATA) raises on its next use.
_SOCKET_GONE = "Connection not available"


def is_unreachable(err: BaseException) -> bool:
    return isinstance(err, mysql.connector.Error) and (
        err.errno in _UNREACHABLE
        or isinstance(err, mysql.connector.InterfaceError)
        or (isinstance(err, mysql.connector.OperationalError) and _SOCKET_GONE in (err.msg or ""))
    )


def connect(
    settings: Settings, *, retry: bool = True, database: bool = True, timeout_s: int = 10
) -> Connection:
    """Open a connection, retrying with exponential backoff for settings.connect_timeout_s;
    timeout_s bounds each attempt."""
    deadline = time.monotonic() + (settings.connect_timeout_s if retry else 0)
    delay = 0.5
    while True:
        try:
            conn = mysql.connector.connect(
                host=settings.db_host,
                port=settings.db_port,
                user=settings.db_user,
                password=settings.db_password,
                database=settings.db_name if database else None,
                autocommit=False,
                allow_local_infile=True,
                charset="utf8mb4",
                connection_timeout=timeout_s,
                get_warnings=False,
            )
            with conn.cursor() as cur:
                # Same strictness on MySQL 8.0 and MariaDB: bad values are errors, not warnings.
                cur.execute(
                    "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,"
                    "NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO', time_zone = '+00:00'"
                )
            return conn
        except mysql.connector.Error as err:
            if err.errno in (errorcode.ER_ACCESS_DENIED_ERROR, errorcode.ER_DBACCESS_DENIED_ERROR):
                raise DatabaseUnavailable(
                    describe_error(err, settings) + " (check DB_USER / DB_PASSWORD / DB_NAME)"
                ) from None
            if err.errno == errorcode.ER_BAD_DB_ERROR:
                raise DatabaseUnavailable(
                    describe_error(err, settings) + " (create the schema or fix DB_NAME)"
                ) from None
            remaining = deadline - time.monotonic()
            if not is_unreachable(err) or remaining <= 0:
                waited = f" after {settings.connect_timeout_s}s" if retry else ""
                raise DatabaseUnavailable(
                    mask(
                        f"cannot reach the database at {settings.db_host}:{settings.db_port}"
                        f"{waited}: {describe_error(err, settings)}",
                        settings,
                    )
                ) from None
            # Keep trying for the whole budget: the last wait is cut short so that one more
            # attempt happens at the deadline instead of giving up a backoff step early.
            wait = min(delay, remaining)
            log.warning(
                "%s not reachable yet (%s); retrying in %.1fs",
                mask(f"database {settings.db_host}:{settings.db_port}", settings),
                err.errno,
                wait,
            )
            time.sleep(wait)
            delay = min(delay * 2, 8.0)


def split_statements(sql: str) -> list[str]:
    """Split a .sql file on semicolons that end a line; the files hold no procedures."""
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [p.strip() for p in parts if p.strip()]


def query(conn: Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def scalar(conn: Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    rows = query(conn, sql, params)
    return rows[0][0] if rows else None


def lock_name(settings: Settings) -> str:
    return f"evpipe.run.{settings.db_name}"[:64]


@contextmanager
def run_lock(conn: Connection, settings: Settings) -> Iterator[None]:
    """Serialise runs with a server-side named lock; it dies with the connection (kill -9 safe)."""
    name = lock_name(settings)
    got = scalar(conn, "SELECT GET_LOCK(%s, 0)", (name,))
    if got != 1:
        holder = scalar(conn, "SELECT IS_USED_LOCK(%s)", (name,))
        if settings.lock_timeout_s <= 0:
            raise RunInProgress(
                f"another evpipe run is in progress on {settings.db_name} "
                f"(connection {holder}); try again when it has finished"
            )
        log.warning(
            "another evpipe run is in progress (connection %s); waiting up to %ss",
            holder,
            settings.lock_timeout_s,
        )
        got = scalar(conn, "SELECT GET_LOCK(%s, %s)", (name, settings.lock_timeout_s))
        if got != 1:
            raise RunInProgress(
                f"another evpipe run is still in progress on {settings.db_name} after "
                f"waiting {settings.lock_timeout_s}s (EVPIPE_LOCK_TIMEOUT); try again later"
            )
    try:
        yield
    finally:
        # if the connection is gone, the lock went with it
        with contextlib.suppress(mysql.connector.Error):
            scalar(conn, "SELECT RELEASE_LOCK(%s)", (name,))


def wrap_db_errors(settings: Settings, err: mysql.connector.Error) -> EvpipeError:
    if is_unreachable(err):
        return DatabaseUnavailable(describe_error(err, settings) + " (connection lost)")
    return EvpipeError(describe_error(err, settings))
