"""Where the dashboard reads: a registered read replica when one answers, else the primary.

A replica's seeding registers it in the primary's ``read_replicas`` table (db/replica). The
route is re-checked every ``check_s`` seconds, and at once when a query on a replica loses its
connection: the dashboard then reads the primary and says so, until the replica answers again.
Without registered replicas nothing changes: the dashboard reads DB_HOST as before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import mysql.connector

from evpipe.db import Connection, connect, query
from evpipe.errors import DatabaseUnavailable
from evpipe.settings import Settings

log = logging.getLogger(__name__)

CHECK_S = 10.0  # how often the route is re-checked (per dashboard process)
PROBE_TIMEOUT_S = 2  # a server that does not answer within this is treated as down
MAX_LAG_S = 60.0  # a replica further behind the primary than this is not read
LAG_SQL = (
    "SELECT TIMESTAMPDIFF(MICROSECOND, beat_at, UTC_TIMESTAMP(6)) / 1e6 "
    "FROM replication_heartbeat WHERE id = 1"
)


@dataclass(frozen=True)
class Route:
    settings: Settings  # where to read
    replica: str | None = None  # "host:port" when that is a replica
    notice: str | None = None  # a problem the reader should know about, safe to show

    @property
    def label(self) -> str:
        return self.replica or f"{self.settings.db_host} (primary)"


def registered_replicas(conn: Connection) -> list[tuple[str, int]]:
    """The replicas registered on this server; none on a schema from before migration 007."""
    try:
        rows = query(conn, "SELECT host, port FROM read_replicas ORDER BY host, port")
    except mysql.connector.ProgrammingError:
        return []
    return [(str(h), int(p)) for h, p in rows]


def replica_down_notice(problems: list[str], primary: Settings) -> str:
    """problems: e.g. ['db-replica is not reachable'] -> the banner every page shows."""
    return (
        f"The read replica {'; '.join(problems)}; the dashboard reads the primary database "
        f"({primary.db_host}) until {'it is' if len(problems) == 1 else 'one is'} back and up "
        "to date. The numbers shown are current."
    )


def heartbeat_lag(conn: Connection) -> float | None:
    """Seconds between now and the primary's last heartbeat as seen on this server
    (db/replica/heartbeat.sql); None without one (not seeded, or a schema before 007)."""
    try:
        rows = query(conn, LAG_SQL)
    except mysql.connector.ProgrammingError:
        return None
    return max(0.0, float(rows[0][0])) if rows and rows[0][0] is not None else None


def _lag(settings: Settings) -> float | None:
    conn = connect(settings, retry=False, timeout_s=PROBE_TIMEOUT_S)
    try:
        return heartbeat_lag(conn)
    finally:
        with contextlib.suppress(Exception):
            conn.close()


class Router:
    """Chooses and caches the route; thread-safe, and a slow check never blocks readers."""

    def __init__(self, primary: Callable[[], Settings], check_s: float = CHECK_S) -> None:
        self._primary = primary
        self.check_s = check_s
        self._route: Route | None = None
        self._checked_at = 0.0
        self._known: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def route(self) -> Route:
        current = self._route
        fresh = current is not None and time.monotonic() - self._checked_at < self.check_s
        if fresh and current is not None:
            return current
        # One thread re-checks; the others keep reading the last route meanwhile.
        if not self._lock.acquire(blocking=current is None):
            assert current is not None
            return current
        try:
            if self._route is current or self._route is None:
                new = self._check()
                # the same route keeps its identity: threads keep their connections
                self._route = current if new == current else new
                self._checked_at = time.monotonic()
            assert self._route is not None
            return self._route
        finally:
            self._lock.release()

    def replica_failed(self, route: Route) -> None:
        """A query on route's replica lost its connection: read the primary from now on."""
        if route.replica is None:
            return
        with self._lock:
            if self._route is route:
                primary = self._primary()
                lost = [f"{h} is not reachable" for h, _ in self._known]
                self._route = Route(primary, None, replica_down_notice(lost, primary))
                self._checked_at = time.monotonic()

    def reset(self) -> None:
        with self._lock:
            self._route = None
            self._known = []

    def _check(self) -> Route:
        primary = self._primary()
        primary_down: str | None = None
        try:
            conn = connect(primary, retry=False, timeout_s=PROBE_TIMEOUT_S)
            try:
                self._known = registered_replicas(conn)
            finally:
                with contextlib.suppress(Exception):
                    conn.close()
        except (DatabaseUnavailable, mysql.connector.Error) as err:
            primary_down = str(err)
        problems: list[str] = []
        for host, port in self._known:
            candidate = dataclasses.replace(primary, db_host=host, db_port=port)
            try:
                lag = _lag(candidate)
            except (DatabaseUnavailable, mysql.connector.Error) as err:
                log.warning("dashboard: read replica %s:%s not reachable: %s", host, port, err)
                problems.append(f"{host} is not reachable")
                continue
            if primary_down:  # any copy beats none; say how old it may be
                return Route(candidate, f"{host}:{port}", primary_down_notice(primary, host))
            if lag is None or lag > MAX_LAG_S:
                behind = "has no heartbeat from" if lag is None else f"is {lag:.0f} s behind"
                problems.append(f"{host} {behind} the primary")
                continue
            return Route(candidate, f"{host}:{port}")
        if primary_down or not problems:
            return Route(primary)  # the caller's connection attempt reports a dead primary
        return Route(primary, None, replica_down_notice(problems, primary))


def primary_down_notice(primary: Settings, replica: str) -> str:
    return (
        f"The primary database ({primary.db_host}) is not reachable; the dashboard shows the "
        f"read replica {replica}, which may miss the newest data."
    )
