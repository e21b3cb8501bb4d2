"""Issue 12: the dashboard reads a registered read replica, says so when it cannot, and comes
back to it by itself. Two real servers: the test server is the primary, a second private
server (behind a TCP proxy, to take it down and bring it back) holds the replica's copy, with
one session more than the primary so that every number shows which one was read. Replication
itself is tested end to end with the stack's images (tests/e2e/test_stack.sh, section 9)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from dashboard import data, shell
from dashboard.data import DashboardData, DatabaseDown, Filters
from dashboard.pages import health
from evpipe.settings import Settings
from tests.conftest import Server
from tests.test_dashboard_support import (
    TOTAL_SESSIONS,
    Session,
    TcpProxy,
    add_sessions_and_transform,
    seed_known,
)

LATE = Session(
    "U9", "S9", "Denver", "Level 2", "Commuter",
    dt.datetime(2024, 3, 2, 9), dt.datetime(2024, 3, 2, 10), 11.0, 3.0, 1.0,
)  # fmt: skip


@pytest.fixture(scope="module")
def second_server() -> Iterator[Server]:
    from tests.mysqld_server import PrivateServer

    private = PrivateServer.launch()
    try:
        yield Server(private.host, private.port, private.user, private.password, private)
    finally:
        private.destroy()


@pytest.fixture
def primary(settings: Settings) -> Settings:
    seed_known(settings)
    return settings


@pytest.fixture
def replica(primary: Settings, second_server: Server) -> Iterator[tuple[Settings, TcpProxy]]:
    """The replica's copy (the primary's sessions plus LATE), reachable through a proxy."""
    conn = second_server.admin()
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{primary.db_name}` CHARACTER SET utf8mb4")
        # as on a real replica, the primary's accounts exist there too
        cur.execute(
            "CREATE USER IF NOT EXISTS %s@'%' IDENTIFIED BY %s",
            (primary.db_user, primary.db_password),
        )
        cur.execute(f"GRANT ALL ON *.* TO '{primary.db_user}'@'%'")
    on_replica = replace(primary, db_host=second_server.host, db_port=second_server.port)
    seed_known(on_replica)
    add_sessions_and_transform(on_replica, [LATE], run_id=3)
    heartbeat(on_replica, seconds_ago=0)  # what the primary's heartbeat event keeps current
    proxy = TcpProxy(second_server.host, second_server.port)
    proxy.start()
    try:
        yield on_replica, proxy
    finally:
        proxy.stop()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{primary.db_name}`")
        conn.close()


def register(db, host: str, port: int) -> None:
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO read_replicas (host, port, registered_at) "
            "VALUES (%s, %s, UTC_TIMESTAMP())",
            (host, port),
        )


def heartbeat(s: Settings, seconds_ago: int) -> None:
    with second_admin(s) as cur:
        cur.execute(
            "REPLACE INTO replication_heartbeat (id, beat_at) "
            "VALUES (1, UTC_TIMESTAMP(6) - INTERVAL %s SECOND)",
            (seconds_ago,),
        )


def source(monkeypatch, settings: Settings, **kw) -> DashboardData:
    """The web app's data source (which the callbacks use), for this test."""
    src = DashboardData(settings, version_ttl=0, ttl=0, **kw)
    monkeypatch.setattr(data, "source", src)
    return src


def sessions(src: DashboardData) -> int:
    return int(src.overview(Filters()).kpis["sessions"] or 0)


def test_without_replicas_the_dashboard_reads_the_primary_and_says_nothing(primary, monkeypatch):
    src = source(monkeypatch, primary)
    assert sessions(src) == TOTAL_SESSIONS
    route = src.read_route()
    assert route.replica is None and route.notice is None
    assert src.replication().on_replica is False
    assert health.update_replication() == (f"{primary.db_host} (primary)", "no read replica")
    assert shell.read_notice() is None


def test_reads_the_replica_falls_back_when_it_dies_and_returns(primary, replica, db, monkeypatch):
    on_replica, proxy = replica
    register(db, "127.0.0.1", proxy.port)
    src = source(monkeypatch, primary, route_check_s=0)
    assert sessions(src) == TOTAL_SESSIONS + 1  # read on the replica
    assert src.read_route().replica == f"127.0.0.1:{proxy.port}"
    assert src.read_route().notice is None and shell.read_notice() is None

    heartbeat(on_replica, seconds_ago=4)  # the primary's last beat arrived 4 s ago
    lag = src.replication().lag_s
    assert lag is not None and 4.0 <= lag < 30
    where, note = health.update_replication(1, "runs-v")  # as Dash calls it: two inputs
    assert where == f"127.0.0.1:{proxy.port}" and note.startswith("replica, 4.")

    proxy.stop()  # the replica dies: its open connections drop, new ones are refused
    assert sessions(src) == TOTAL_SESSIONS  # read on the primary, without an error
    route = src.read_route()
    assert route.replica is None
    assert route.notice and "127.0.0.1" in route.notice and "not reachable" in route.notice
    assert "not reachable" in str(shell.read_notice())
    assert health.update_replication()[1] == "replica not reachable"

    proxy.start()  # back: the next check reads the replica again, and the notice goes away
    assert sessions(src) == TOTAL_SESSIONS + 1
    assert src.read_route().notice is None


def test_a_replica_that_never_answers_reads_the_primary_with_a_notice(primary, db):
    register(db, "127.0.0.1", TcpProxy("127.0.0.1", 9).port)  # nothing listens there
    src = DashboardData(primary, version_ttl=0, ttl=0)
    assert sessions(src) == TOTAL_SESSIONS
    assert "not reachable" in (src.read_route().notice or "")


def test_primary_down_reads_a_known_replica_with_a_notice(primary, replica, server):
    _on_replica, replica_proxy = replica
    primary_proxy = TcpProxy(server.host, server.port)
    primary_proxy.start()
    admin = server.admin(primary.db_name)
    register(admin, "127.0.0.1", replica_proxy.port)
    admin.close()
    via_proxy = replace(primary, db_host="127.0.0.1", db_port=primary_proxy.port)
    src = DashboardData(via_proxy, version_ttl=0, ttl=0, route_check_s=0)
    assert sessions(src) == TOTAL_SESSIONS + 1
    primary_proxy.stop()
    assert sessions(src) == TOTAL_SESSIONS + 1  # still served, from the replica
    assert "primary database" in (src.read_route().notice or "")
    replica_proxy.stop()  # both down: the usual "not reachable" page state
    with pytest.raises(DatabaseDown):
        src.overview(Filters(locations=(uuid.uuid4().hex,)))


class second_admin:
    def __init__(self, s: Settings) -> None:
        import mysql.connector

        self.conn = mysql.connector.connect(
            host=s.db_host, port=s.db_port, user=s.db_user, password=s.db_password,
            database=s.db_name, autocommit=True,
        )  # fmt: skip

    def __enter__(self):
        self.cur = self.conn.cursor()
        return self.cur

    def __exit__(self, *exc):
        self.cur.close()
        self.conn.close()


def test_a_replica_far_behind_is_not_read(primary, replica, db, monkeypatch):
    on_replica, proxy = replica
    register(db, "127.0.0.1", proxy.port)
    src = source(monkeypatch, primary, route_check_s=0)
    assert sessions(src) == TOTAL_SESSIONS + 1
    first = src.read_route()
    assert src.read_route() is first  # nothing changed: same route, connections kept

    heartbeat(on_replica, seconds_ago=300)  # replication stalled five minutes ago
    assert sessions(src) == TOTAL_SESSIONS  # the primary's current data instead
    notice = src.read_route().notice or ""
    assert "127.0.0.1 is 300 s behind the primary" in notice, notice

    heartbeat(on_replica, seconds_ago=0)  # caught up
    assert sessions(src) == TOTAL_SESSIONS + 1 and src.read_route().notice is None
