"""Settings for distributed MySQL-compatible engines, against the real server (no mocks).

- EVPIPE_RUN_LOCK=table: runs serialised by a lease row in run_locks instead of GET_LOCK (which
  Galera lacks and multi-primary Group Replication does not hold cluster-wide): refused or
  waited for while held, taken over once expired (kill -9), renewed while held, deleted after,
  and a run that loses it stops before its next commit;
- EVPIPE_TXN_MAX_BYTES: an ingest transaction writes at most a third of it, same rows as uncapped;
- both validated with one clear line.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from evpipe.db import LeaseLost, connect, lock_name, run_lock
from evpipe.errors import ConfigError, EvpipeError
from evpipe.generate import write_csv
from evpipe.schema import ensure_schema
from evpipe.settings import Settings
from tests import factory
from tests.conftest import Server, env_for, fetch, one, run_cli
from tests.test_faults import (
    assert_consistent,
    assert_marts_match,
    expected_split,
    one_line_error,
    snapshot,
    start_cli,
    wait_for,
)

TABLE = {"EVPIPE_RUN_LOCK": "table"}
MIB = 1 << 20


@pytest.fixture
def table(settings: Settings) -> Settings:
    """Table-mode settings (3 s leases, renewed every second) on a migrated database."""
    table = replace(settings, run_lock="table", run_lock_lease_s=3)
    conn = connect(table)
    try:
        ensure_schema(conn, settings=table)  # the bootstrap: no run_locks table yet
    finally:
        conn.close()
    return table


def lease_row(db: Any, name: str) -> tuple[str, dt.datetime] | None:
    rows = fetch(db, "SELECT owner, expires_at FROM run_locks WHERE name = %s", (name,))
    return (rows[0][0], rows[0][1]) if rows else None


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- settings ------------------------------------------------------------------------------------

BASE = {"DB_HOST": "db", "DB_NAME": "evpipe", "DB_USER": "evpipe", "DB_PASSWORD": ""}


def test_defaults_keep_todays_behaviour_and_values_are_read():
    s = Settings.from_env(BASE)
    assert (s.run_lock, s.run_lock_lease_s, s.txn_max_bytes) == ("named", 60, 0)
    assert s.chunk_bytes == 50_000 * 160
    s = Settings.from_env(
        {**BASE, "EVPIPE_RUN_LOCK": " Table ", "EVPIPE_RUN_LOCK_LEASE": "10",
         "EVPIPE_TXN_MAX_BYTES": str(3 * MIB)}
    )  # fmt: skip
    assert (s.run_lock, s.run_lock_lease_s, s.txn_max_bytes) == ("table", 10, 3 * MIB)
    assert s.chunk_bytes == MIB  # a third of the cap: room for index and row overhead
    # the cap also bounds EVPIPE_CHUNK_BYTES; a smaller chunk size stays as it is
    big = Settings.from_env({**BASE, "EVPIPE_TXN_MAX_BYTES": str(3 * MIB),
                             "EVPIPE_CHUNK_BYTES": str(10 * MIB)})  # fmt: skip
    assert big.chunk_bytes == MIB
    small = Settings.from_env({**BASE, "EVPIPE_TXN_MAX_BYTES": str(3 * MIB),
                               "EVPIPE_CHUNK_BYTES": "4096"})  # fmt: skip
    assert small.chunk_bytes == 4096


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EVPIPE_RUN_LOCK", "x", "EVPIPE_RUN_LOCK must be named or table, got 'x'"),
        ("EVPIPE_RUN_LOCK", "get_lock", "EVPIPE_RUN_LOCK must be named or table, got 'get_lock'"),
        ("EVPIPE_RUN_LOCK_LEASE", "2", "EVPIPE_RUN_LOCK_LEASE must be >= 3, got 2"),
        ("EVPIPE_RUN_LOCK_LEASE", "1m", "EVPIPE_RUN_LOCK_LEASE must be an integer, got '1m'"),
        (
            "EVPIPE_TXN_MAX_BYTES",
            str(MIB - 1),
            "EVPIPE_TXN_MAX_BYTES must be 0 (no cap) or at least 1048576 (1 MiB), got 1048575",
        ),
        ("EVPIPE_TXN_MAX_BYTES", "100MB", "EVPIPE_TXN_MAX_BYTES must be an integer, got '100MB'"),
        ("EVPIPE_TXN_MAX_BYTES", "-1", "EVPIPE_TXN_MAX_BYTES must be >= 0, got -1"),
    ],
)
def test_bad_values_are_config_errors(name, value, message):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**BASE, name: value})
    assert str(info.value) == message


def test_bad_values_stop_the_cli_in_one_line(settings, tmp_path):
    for extra, expected in (
        ({"EVPIPE_RUN_LOCK": "x"}, "EVPIPE_RUN_LOCK must be named or table, got 'x'"),
        ({"EVPIPE_TXN_MAX_BYTES": "1000"}, "EVPIPE_TXN_MAX_BYTES must be 0 (no cap) or at least"),
    ):
        res = run_cli(settings, "run", cwd=tmp_path, **extra)
        assert res.returncode == 2, res.stderr
        assert one_line_error(res.stderr).startswith(f"evpipe: error: {expected}")


# --- EVPIPE_RUN_LOCK=table -----------------------------------------------------------------------


def test_a_second_run_is_refused_naming_the_holder_or_waits_for_it(table, db, tmp_path):
    factory.write(table.input_dir / "a.csv", [factory.session(i) for i in range(5)])
    name = lock_name(table)
    conn = connect(table)
    try:
        with run_lock(conn, table) as lease:
            assert lease_row(db, name)[0] == lease.owner
            assert lease.owner.split(":")[1] == str(os.getpid())
            res = run_cli(table, "run", EVPIPE_LOCK_TIMEOUT="0", **TABLE)
            assert res.returncode == 4, res.stderr
            line = one_line_error(res.stderr)
            assert "another evpipe run is in progress" in line and table.db_name in line
            assert f"held by {lease.owner}" in line
            assert one(db, "SELECT COUNT(*) FROM pipeline_runs") == 0  # refused before starting
            # with time to wait, the second run waits for the lease instead
            waiting = start_cli(table, tmp_path, "run", "--no-progress",
                                EVPIPE_LOCK_TIMEOUT="60", **TABLE)  # fmt: skip
            wait_for(lambda: "waiting up to 60s" in waiting.stderr, 30, "the run to wait")
            assert waiting.popen.poll() is None
            assert one(db, "SELECT COUNT(*) FROM pipeline_runs") == 0
    finally:
        conn.close()
    assert waiting.wait(120) == 0, waiting.stderr[-3000:]
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 5
    assert lease_row(db, name) is None


def test_two_runs_at_once_are_serialised_by_the_lease(table, server, db, tmp_path):
    write_csv(table.input_dir / "sessions.csv", 20_000, 31)
    env = {**TABLE, "EVPIPE_LOCK_TIMEOUT": "120", "EVPIPE_CHUNK_BYTES": "300000"}
    procs = [start_cli(table, tmp_path, "run", "--no-progress", **env) for _ in range(2)]
    assert [p.wait() for p in procs] == [0, 0], [p.stderr[-2000:] for p in procs]
    waited = [p for p in procs if "another evpipe run is in progress (held by" in p.stderr]
    assert len(waited) == 1, [p.stderr[-2000:] for p in procs]
    runs = fetch(
        db, "SELECT started_at, finished_at, rows_inserted FROM pipeline_runs ORDER BY run_id"
    )
    assert len(runs) == 2 and runs[1][0] >= runs[0][1]  # one after the other, never at once
    state = snapshot(server, table.db_name)
    assert_consistent(state)
    assert (state.raw, state.rejected) == expected_split(20_000)
    assert [r[2] for r in runs] == [state.raw, 0]
    assert one(db, "SELECT COUNT(*) FROM run_locks") == 0


def test_a_stale_lease_of_a_dead_holder_is_taken_over(table, db):
    factory.write(table.input_dir / "a.csv", [factory.session(i) for i in range(3)])
    name, dead = lock_name(table), f"gone-host:{dead_pid()}:0badf00d"
    with db.cursor() as cur:  # not yet expired: still refused
        cur.execute(
            "INSERT INTO run_locks VALUES (%s, %s, UTC_TIMESTAMP(6) - INTERVAL 5 MINUTE, "
            "UTC_TIMESTAMP(6) + INTERVAL 1 MINUTE)",
            (name, dead),
        )
    res = run_cli(table, "run", EVPIPE_LOCK_TIMEOUT="0", **TABLE)
    assert res.returncode == 4 and f"held by {dead}" in one_line_error(res.stderr)
    with db.cursor() as cur:  # its holder stopped renewing it a second ago
        cur.execute(
            "UPDATE run_locks SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND "
            "WHERE name = %s",
            (name,),
        )
    res = run_cli(table, "run", EVPIPE_LOCK_TIMEOUT="0", **TABLE)
    assert res.returncode == 0, res.stderr
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 3
    assert lease_row(db, name) is None


def test_after_kill9_the_lease_runs_out_and_the_next_run_loads_exactly_once(
    table, server, db, tmp_path
):
    rows = 30_000
    write_csv(table.input_dir / "sessions.csv", rows, 32)
    env = {**TABLE, "EVPIPE_RUN_LOCK_LEASE": "3", "EVPIPE_CHUNK_BYTES": "100000"}
    proc = start_cli(table, tmp_path, "run", "--no-progress", **env)
    name = lock_name(table)
    wait_for(lambda: one(db, "SELECT COUNT(*) FROM raw_data") > 0, 60, "a chunk to commit")
    assert proc.popen.poll() is None, "the load finished before the kill"
    os.kill(proc.popen.pid, signal.SIGKILL)
    proc.wait(60)
    held = lease_row(db, name)
    assert held is not None and f":{proc.popen.pid}:" in held[0]  # left behind by the kill
    res = run_cli(table, "run", "--no-progress", EVPIPE_LOCK_TIMEOUT="30", **env)
    assert res.returncode == 0, res.stderr[-3000:]
    state = snapshot(server, table.db_name)
    assert_consistent(state)
    assert (state.raw, state.rejected) == expected_split(rows) and state.running == 0
    assert lease_row(db, name) is None


def test_the_lease_is_renewed_on_its_own_connection_while_held(table, db):
    name = lock_name(table)

    def now() -> dt.datetime:
        return one(db, "SELECT UTC_TIMESTAMP(6)")

    conn = connect(table)
    try:
        with run_lock(conn, table) as lease:
            owner, first = lease_row(db, name)
            assert owner == lease.owner
            assert dt.timedelta(seconds=2) < first - now() <= dt.timedelta(seconds=3)
            # the run's transaction stays open meanwhile: it holds nothing the renewals need
            with conn.cursor() as cur:
                cur.execute("INSERT INTO pipeline_metadata (dataset_name) VALUES ('open')")
            wait_for(lambda: lease_row(db, name)[1] > first, 5, "a renewal")
            wait_for(lambda: now() > first, 5, "the first expiry time to pass")
            owner, expires = lease_row(db, name)
            assert owner == lease.owner and expires > now()  # still held, thanks to renewals
            conn.rollback()  # and the lease was never part of the run's transaction
            assert lease_row(db, name)[0] == lease.owner
            lease.check()
    finally:
        conn.close()
    assert lease_row(db, name) is None


def test_a_renewal_that_fails_reconnects_and_keeps_the_lease(table, db):
    """The lease connection killed server-side (a network blip, a failover): the next renewal
    fails, and the one after it, on a new connection, keeps the lease."""
    name = lock_name(table)
    conn = connect(table)
    try:
        with run_lock(conn, table) as lease:
            others = fetch(
                db,
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s "
                "AND ID NOT IN (CONNECTION_ID(), %s)",
                (table.db_name, conn.connection_id),
            )
            assert len(others) == 1  # the lease's own connection
            with db.cursor() as cur:
                cur.execute(f"KILL {int(others[0][0])}")
            killed_at = lease_row(db, name)[1]
            wait_for(lambda: lease_row(db, name)[1] > killed_at, 8, "a renewal after the kill")
            assert lease.lost is None and lease_row(db, name)[0] == lease.owner
            lease.check()
    finally:
        conn.close()
    assert lease_row(db, name) is None


def test_a_run_that_lost_its_lease_commits_nothing_more(table, db):
    name = lock_name(table)
    conn = connect(table)
    try:
        with run_lock(conn, table) as lease:
            work = lease.guard(conn)
            with db.cursor() as cur:  # as if it had expired and another run had taken it over
                cur.execute("UPDATE run_locks SET owner = 'thief:1:x' WHERE name = %s", (name,))
            wait_for(lambda: lease.lost is not None, 5, "the renewal to notice")
            with work.cursor() as cur:
                cur.execute("INSERT INTO pipeline_metadata (dataset_name) VALUES ('late')")
            with pytest.raises(LeaseLost, match="taken over by thief:1:x"):
                work.commit()
            conn.rollback()
    finally:
        conn.close()
    assert one(db, "SELECT COUNT(*) FROM pipeline_metadata WHERE dataset_name = 'late'") == 0
    assert lease_row(db, name)[0] == "thief:1:x"  # not ours to delete


def test_a_cli_run_that_loses_its_lease_stops_and_the_next_run_completes(
    table, server, db, tmp_path
):
    rows = 40_000
    write_csv(table.input_dir / "sessions.csv", rows, 33)
    env = {**TABLE, "EVPIPE_RUN_LOCK_LEASE": "3", "EVPIPE_CHUNK_BYTES": "65536"}
    proc = start_cli(table, tmp_path, "run", "--no-progress", **env)
    wait_for(lambda: one(db, "SELECT COUNT(*) FROM raw_data") > 0, 60, "a chunk to commit")
    with db.cursor() as cur:
        cur.execute("UPDATE run_locks SET owner = 'thief:1:x' WHERE name = %s", (lock_name(table),))
    assert proc.wait(120) == 4, proc.stderr[-3000:]
    line = one_line_error(proc.stderr)
    assert "lost the lock" in line and "taken over by thief:1:x" in line
    state = snapshot(server, table.db_name)
    assert_consistent(state)  # stopped between chunks: what is committed agrees with itself
    assert 0 < state.raw + state.rejected < rows
    assert fetch(db, "SELECT status FROM pipeline_runs") == [("failed",)]
    res = run_cli(table, "run", "--no-progress", EVPIPE_LOCK_TIMEOUT="30", **env)
    assert res.returncode == 0, res.stderr[-3000:]  # once the thief's lease has run out
    state = snapshot(server, table.db_name)
    assert_consistent(state)
    assert (state.raw, state.rejected) == expected_split(rows)


def _hold_named_locks(server: Server, settings: Settings) -> Any:
    holder = server.admin(settings.db_name)
    for name in (lock_name(settings), f"evpipe.schema.{settings.db_name}"[:64]):
        assert one(holder, "SELECT GET_LOCK(%s, 0)", (name,)) == 1
    return holder


def _run(settings: Settings, **extra: str) -> subprocess.CompletedProcess[str]:
    """`evpipe run`, failing fast: a GET_LOCK on the held schema lock would wait 600 s."""
    return subprocess.run(
        [sys.executable, "-m", "evpipe", "run", "--no-progress"],
        env=env_for(settings, EVPIPE_LOCK_TIMEOUT="0", **extra),
        capture_output=True,
        text=True,
        cwd=settings.input_dir.parent,
        timeout=120,
    )


def test_a_table_mode_run_takes_no_named_lock_and_leaves_no_lease(settings, server, db):
    """Both named locks evpipe knows are held by another connection the whole time: a run that
    took either would be refused (or wait on the schema lock and time out)."""
    factory.write(settings.input_dir / "a.csv", [factory.session(i) for i in range(20)])
    holder = _hold_named_locks(server, settings)
    try:
        res = _run(settings, **TABLE)  # bare database: migrations, ingest, transform
        assert res.returncode == 0, res.stderr[-3000:]
        assert one(db, "SELECT COUNT(*) FROM run_locks") == 0
        # a migration pending once run_locks exists: applied under the schema lease
        with db.cursor() as cur:
            cur.execute("DELETE FROM schema_migrations WHERE version = '008'")
        factory.write(settings.input_dir / "b.csv", [factory.session(i) for i in range(20, 30)])
        res = _run(settings, **TABLE)
        assert res.returncode == 0, res.stderr[-3000:]
        assert "applying schema migration 008_run_locks.sql" in res.stderr
        assert one(db, "SELECT COUNT(*) FROM run_locks") == 0
        assert one(db, "SELECT COUNT(*) FROM raw_data") == 30
        assert_marts_match(server, settings.db_name)
        for name in (lock_name(settings), f"evpipe.schema.{settings.db_name}"[:64]):
            assert one(holder, "SELECT IS_USED_LOCK(%s)", (name,)) == holder.connection_id
        # the control: the default mode does take the named lock, and is refused
        res = _run(settings)
        assert res.returncode == 4 and "another evpipe run is in progress" in res.stderr
    finally:
        holder.close()


def test_migrations_in_table_mode_wait_for_the_schema_lease(table, db):
    with db.cursor() as cur:
        cur.execute("DELETE FROM schema_migrations WHERE version = '008'")
        cur.execute(
            "INSERT INTO run_locks VALUES (%s, 'other:1:x', UTC_TIMESTAMP(6), "
            "UTC_TIMESTAMP(6) + INTERVAL 1 MINUTE)",
            (f"evpipe.schema.{table.db_name}"[:64],),
        )
    conn = connect(table)
    try:
        with pytest.raises(EvpipeError, match=r"upgrading the schema .*held by other:1:x"):
            ensure_schema(conn, wait_s=0, settings=table)
        assert one(db, "SELECT COUNT(*) FROM schema_migrations WHERE version = '008'") == 0
        with db.cursor() as cur:
            cur.execute("DELETE FROM run_locks")
        assert ensure_schema(conn, wait_s=0, settings=table) == ["008"]
    finally:
        conn.close()
    assert one(db, "SELECT COUNT(*) FROM run_locks") == 0


# --- EVPIPE_TXN_MAX_BYTES ------------------------------------------------------------------------


@pytest.fixture
def twin(settings: Settings, server: Server) -> Iterator[Settings]:
    """A second empty database for the same input folder."""
    name = f"evpipe_t_{uuid.uuid4().hex[:10]}"
    admin = server.admin()
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield replace(settings, db_name=name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def _log_commits(settings: Settings, server: Server) -> None:
    """Migrate, then log every committed manifest write: one per chunk transaction (a trigger's
    rows roll back with its transaction)."""
    conn = connect(settings)
    ensure_schema(conn)
    conn.close()
    admin = server.admin(settings.db_name)
    with admin.cursor() as cur:
        cur.execute("CREATE TABLE manifest_log (n INT AUTO_INCREMENT PRIMARY KEY, "
                    "consumed BIGINT, status VARCHAR(16))")  # fmt: skip
        for event in ("INSERT", "UPDATE"):
            cur.execute(
                f"CREATE TRIGGER log_{event.lower()} AFTER {event} ON ingested_files FOR EACH ROW "
                "INSERT INTO manifest_log (consumed, status) VALUES "
                "(NEW.bytes_consumed, NEW.status)"
            )
    admin.close()


def _chunks(settings: Settings, server: Server) -> list[int]:
    """Bytes of each committed chunk (the header is in the first)."""
    admin = server.admin(settings.db_name)
    ends = [r[0] for r in fetch(admin, "SELECT consumed FROM manifest_log "
                                       "WHERE status = 'loading' ORDER BY n")]  # fmt: skip
    admin.close()
    return [b - a for a, b in zip([0, *ends], ends, strict=False)]


def _stored(settings: Settings, server: Server) -> tuple[list[tuple[Any, ...]], ...]:
    admin = server.admin(settings.db_name)
    try:
        raw = fetch(
            admin,
            "SELECT HEX(session_key), user_id, charging_station_id, charging_start_time, "
            "charging_end_time, energy_consumed_kwh, cost_usd, source_line FROM raw_data "
            "ORDER BY session_key",
        )
        rejected = fetch(
            admin, "SELECT line_number, rule, HEX(row_hash) FROM rejected_rows ORDER BY line_number"
        )
        return raw, rejected
    finally:
        admin.close()


def test_txn_max_bytes_loads_a_file_in_commits_under_the_cap_with_the_same_rows(
    settings, twin, server, tmp_path
):
    rows = 12_000
    path = settings.input_dir / "sessions.csv"
    write_csv(path, rows, 34)
    size = path.stat().st_size
    assert size > 5 * MIB // 3
    for s in (settings, twin):
        _log_commits(s, server)
    res = run_cli(settings, "ingest", "--no-progress", EVPIPE_TXN_MAX_BYTES=str(MIB))
    assert res.returncode == 0, res.stderr[-3000:]
    capped = _chunks(settings, server)
    assert len(capped) >= 5 and sum(capped) == size
    assert max(capped) <= MIB // 3 + 1000  # a third of the cap, plus the line cut across
    res = run_cli(twin, "ingest", "--no-progress")
    assert res.returncode == 0, res.stderr[-3000:]
    assert _chunks(twin, server) == [size]  # the control: uncapped, the file is one chunk
    raw, rejected = _stored(settings, server)
    assert len(raw) + len(rejected) == rows and len(raw) == expected_split(rows)[0]
    assert (raw, rejected) == _stored(twin, server)


def test_txn_max_bytes_with_run_lock_table_is_a_complete_run(settings, server, db):
    """Both settings together, the way a TiDB or Galera deployment would set them."""
    rows = 6_000
    write_csv(settings.input_dir / "sessions.csv", rows, 35)
    res = run_cli(settings, "run", "--no-progress", EVPIPE_TXN_MAX_BYTES=str(MIB), **TABLE)
    assert res.returncode == 0, res.stderr[-3000:]
    state = snapshot(server, settings.db_name)
    assert_consistent(state)
    assert (state.raw, state.rejected) == expected_split(rows)
    assert_marts_match(server, settings.db_name)
    assert one(db, "SELECT COUNT(*) FROM run_locks") == 0
