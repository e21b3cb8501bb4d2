"""Database connections: bounded retries, masked errors, the run lock, statement helpers."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import socket
import threading
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


class Lease:
    """What run_lock yields. This base is the named lock's: it lives on the work connection
    itself, so if that connection dies the lock and the uncommitted work die together and there
    is nothing to check before a commit."""

    def check(self) -> None:
        """Raise LeaseLost if the lock may no longer be ours."""

    def guard(self, conn: Connection) -> Connection:
        """The work connection, made to check() before each commit."""
        return conn


@contextmanager
def run_lock(conn: Connection, settings: Settings) -> Iterator[Lease]:
    """Serialise runs: GET_LOCK on the work connection (EVPIPE_RUN_LOCK=named), or a lease row
    in run_locks (table) for engines where a named lock is not cluster-wide."""
    if settings.run_lock == "table":
        what = "another evpipe run is in progress"
        with leased(settings, lock_name(settings), settings.lock_timeout_s, what) as lease:
            yield lease
        return
    with _named_run_lock(conn, settings):
        yield Lease()


@contextmanager
def _named_run_lock(conn: Connection, settings: Settings) -> Iterator[None]:
    """A server-side named lock; it dies with the connection (kill -9 safe)."""
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


# --- EVPIPE_RUN_LOCK=table: a lease row in run_locks (db/init/008_run_locks.sql) ----------------
#
# GET_LOCK is local to one server: on multi-primary Group Replication two workers connected to
# different nodes would both get it, and Galera does not support it (TiDB's is cluster-wide).
# A row is seen by every node. It cannot die with a connection, so it expires instead: a holder
# renews it in the background and deletes it when done; one killed with -9 stops renewing and
# its lease runs out, after at most EVPIPE_RUN_LOCK_LEASE seconds. Every time is the server's
# (UTC_TIMESTAMP), never the client's.
#
# Insert the lease, or take it over if it has expired: one statement, so two runs racing for an
# expired lease cannot both win. expires_at is assigned last because MySQL evaluates the
# assignments left to right, each seeing the new values before it, and every condition reads
# expires_at (MariaDB's SIMULTANEOUS_ASSIGNMENT gives the same result). UTC_TIMESTAMP is fixed
# for the statement.
_TAKE = (
    "INSERT INTO run_locks (name, owner, acquired_at, expires_at) VALUES (%(name)s, %(owner)s, "
    "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL %(lease)s SECOND) ON DUPLICATE KEY UPDATE "
    "owner = IF(expires_at < UTC_TIMESTAMP(6), VALUES(owner), owner), "
    "acquired_at = IF(expires_at < UTC_TIMESTAMP(6), VALUES(acquired_at), acquired_at), "
    "expires_at = IF(expires_at < UTC_TIMESTAMP(6), VALUES(expires_at), expires_at)"
)
_RENEW = (
    "UPDATE run_locks SET expires_at = UTC_TIMESTAMP(6) + INTERVAL %(lease)s SECOND "
    "WHERE name = %(name)s AND owner = %(owner)s"
)
_POLL_S = 0.5  # how often a waiting run tries again
# Racing inserts on one key can deadlock in InnoDB; the victim just lost this round.
_CONTENDED = {errorcode.ER_LOCK_DEADLOCK, errorcode.ER_LOCK_WAIT_TIMEOUT}


class LeaseLost(RunInProgress):
    """The table lease was taken over or could not be renewed: the run must stop committing."""


class TableLease(Lease):
    """One lease row, held from its own autocommitted connection: the run's transactions never
    hold its row lock, and a rollback of the run's work cannot undo the lease."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings, self.name, self.lease_s = settings, name, settings.run_lock_lease_s
        self.owner = f"{socket.gethostname()[:100]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lost: str | None = None  # why the lease is no longer ours, set by the renewer
        self._valid_until = 0.0  # time.monotonic() at which it surely runs out unrenewed
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._conn = self._open(retry=True)

    def _open(self, retry: bool = False) -> Connection:
        conn = connect(self.settings, retry=retry)
        conn.autocommit = True  # each statement its own short transaction
        return conn

    def _params(self) -> dict[str, Any]:
        return {"name": self.name, "owner": self.owner, "lease": self.lease_s}

    def holder(self) -> tuple[str, Any] | None:
        rows = query(
            self._conn, "SELECT owner, expires_at FROM run_locks WHERE name = %s", (self.name,)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def _take(self) -> str | None:
        """One attempt: None if the lease is now ours, else who holds it."""
        sent = time.monotonic()
        try:
            with self._conn.cursor() as cur:
                cur.execute(_TAKE, self._params())
        except mysql.connector.Error as err:
            if err.errno not in _CONTENDED:
                raise
        # re-read rather than trust the affected-rows count, which differs with CLIENT_FOUND_ROWS
        held = self.holder()
        if held and held[0] == self.owner:
            self._valid_until = sent + self.lease_s
            return None
        return f"{held[0]}, until {held[1]:%Y-%m-%d %H:%M:%S} UTC" if held else "unknown"

    def acquire(self, wait_s: float, what: str) -> str | None:
        """Take the lease, waiting up to wait_s seconds; None once ours, else its holder."""
        deadline = time.monotonic() + wait_s
        holder = self._take()
        if holder is not None and wait_s > 0:
            log.warning("%s (held by %s); waiting up to %ss", what, holder, wait_s)
            while holder is not None and time.monotonic() < deadline:
                time.sleep(min(_POLL_S, max(deadline - time.monotonic(), 0)))
                holder = self._take()
        if holder is None:
            self._renewer = threading.Thread(target=self._keep, name=self.name, daemon=True)
            self._renewer.start()
        return holder

    def _keep(self) -> None:
        """Renew every lease/3 s, so that two renewals in a row can fail before it runs out;
        after a failure, retry within 2 s on a new connection: check() stops the run once less
        than lease/3 s are left, so a short network blip must not wait out a whole interval."""
        delay = self.lease_s / 3
        while not self._stop.wait(delay) and not self.lost:
            try:
                self._renew()
                delay = self.lease_s / 3
            except (mysql.connector.Error, EvpipeError) as err:
                text = mask(str(err), self.settings)
                log.warning("%s: renewing the lease failed (%s); retrying", self.name, text)
                self._reconnect()
                delay = min(2.0, self.lease_s / 3)
        if self.lost:
            log.error("%s: lease lost: %s", self.name, self.lost)

    def _renew(self) -> None:
        sent = time.monotonic()
        with self._conn.cursor() as cur:
            cur.execute(_RENEW, self._params())
        held = self.holder()
        if held is None or held[0] != self.owner:
            self.lost = f"taken over by {held[0]}" if held else "its row was deleted"
            return
        self._valid_until = sent + self.lease_s

    def _reconnect(self) -> None:
        with contextlib.suppress(mysql.connector.Error):
            self._conn.close()
        # if this fails too the next round tries again; check() notices a lease running out
        with contextlib.suppress(mysql.connector.Error, EvpipeError):
            self._conn = self._open()

    def check(self) -> None:
        """Ours, and surely for a while: a commit that starts with under lease/3 s left could end
        after another run took over. There is no fencing beyond this: a commit that stalls for
        longer than that can still land after the lease ran out."""
        left = self._valid_until - time.monotonic()
        if self.lost or left < self.lease_s / 3:
            reason = self.lost or f"not renewed for {self.lease_s - left:.0f}s"
            raise LeaseLost(
                f"lost the lock {self.name} ({reason}); stopped before committing more work; "
                "re-run to continue (committed work is kept)"
            )

    def guard(self, conn: Connection) -> Connection:
        return _Guarded(conn, self)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=15)
            if self._renewer.is_alive():  # stuck on a dead connection: leave the lease to expire
                log.warning("%s: not released; it expires in %ss", self.name, self.lease_s)
                return
        # only our row (after a takeover it is another run's); if this fails, the lease expires
        with contextlib.suppress(mysql.connector.Error), self._conn.cursor() as cur:
            cur.execute(
                "DELETE FROM run_locks WHERE name = %s AND owner = %s", (self.name, self.owner)
            )
        with contextlib.suppress(mysql.connector.Error):
            self._conn.close()


class _Guarded:
    """The run's work connection, checking the lease before each commit, so that a run which
    lost its lease stops before committing more: ingest chunks, the transform's commits, the
    run record. DDL commits implicitly without passing here (the transform's table swap is
    checked only by the commit just before it)."""

    def __init__(self, conn: Connection, lease: Lease) -> None:
        self._conn, self._lease = conn, lease

    def commit(self) -> None:
        self._lease.check()
        self._conn.commit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@contextmanager
def leased(
    settings: Settings, name: str, wait_s: float, what: str, busy: type[EvpipeError] = RunInProgress
) -> Iterator[TableLease]:
    """Hold the lease row `name` for the block. what: what its being held means, for messages
    ("another evpipe run is in progress"); busy: the error raised if it stays held."""
    lease = TableLease(settings, name)
    try:
        holder = lease.acquire(wait_s, what)
        if holder is not None:
            waited = f" after waiting {wait_s}s" if wait_s > 0 else ""
            raise busy(
                f"{what} on {settings.db_name}{waited} (held by {holder}); "
                + ("try again later" if waited else "try again when it has finished")
            )
        yield lease
    finally:
        lease.release()


def wrap_db_errors(settings: Settings, err: mysql.connector.Error) -> EvpipeError:
    if is_unreachable(err):
        return DatabaseUnavailable(describe_error(err, settings) + " (connection lost)")
    return EvpipeError(describe_error(err, settings))
