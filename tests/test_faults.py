"""Issue 6: faults against a real server, through the real CLI in subprocesses (no mocks).

- kill -9 of `evpipe` at seeded-random moments of a 200k-session load, then re-runs;
- the database restarted (crash or clean shutdown) in the middle of a run;
- two runs started at the same moment;
- the database unreachable at start (bounded retries with backoff), or coming up late;
- the dashboard's data layer while the database is down, and its recovery.

After every fault the database must hold every row of the file exactly once (raw_data +
rejected_rows), and what is committed must always agree with itself: the manifest's consumed
rows, the run records' counters and the stored rows commit in the same transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mysql.connector
import numpy as np
import pytest

from evpipe.db import connect, is_unreachable, scalar, wrap_db_errors
from evpipe.errors import DatabaseUnavailable
from evpipe.generate import flaw_kinds, write_csv
from evpipe.schema import ensure_schema
from tests.conftest import Server, env_for, fetch, one, run_cli

BIG_ROWS = 200_000
MID_ROWS = 50_000
REJECTED_FLAWS = (3, 4, 6)  # evpipe.generate: SoC above 100, end before start, cost "n/a"
SMALL_CHUNKS = {"EVPIPE_CHUNK_BYTES": "2000000"}  # ~13k rows: many commits per file
SMALL_CHUNKS_KW: dict[str, Any] = SMALL_CHUNKS  # for run_cli(**...), whose cwd is a Path
MARTS = (
    "processed_station_metrics",
    "processed_energy_demand",
    "processed_cost_efficiency",
    "processed_daily_rollup",
)


@pytest.fixture(scope="session")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "sessions_200k.csv"
    write_csv(path, BIG_ROWS, 6)
    return path


@pytest.fixture(scope="session")
def mid_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "sessions_50k.csv"
    write_csv(path, MID_ROWS, 7)
    return path


def expected_split(rows: int) -> tuple[int, int]:
    """(stored, quarantined) for a generated file: the generator's flaws are deterministic."""
    rejected = int(np.isin(flaw_kinds(rows), REJECTED_FLAWS).sum())
    return rows - rejected, rejected


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    err_path: Path

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float = 300) -> int:
        return self.popen.wait(timeout=timeout)


def start_cli(settings: Any, tmp_path: Path, *args: str, **env: str) -> Proc:
    """`evpipe ARGS` in the background, as the worker container starts it."""
    n = len(list(tmp_path.glob("cli-*.err")))
    err = tmp_path / f"cli-{n}.err"
    with err.open("wb") as fh:
        popen = subprocess.Popen(
            [sys.executable, "-m", "evpipe", *args],
            env=env_for(settings, **env),
            stdout=subprocess.DEVNULL,
            stderr=fh,
            cwd=settings.input_dir.parent,
        )
    return Proc(popen, err)


def wait_for(predicate: Any, timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


@dataclass(frozen=True)
class State:
    raw: int
    distinct_keys: int
    rejected: int
    consumed: int  # rows the manifest says were consumed from the input files
    run_inserted: int  # sum of the run records' counters
    run_quarantined: int
    running: int  # runs still marked running


def snapshot(server: Server, db_name: str) -> State:
    """One consistent read of everything that must agree after a crash."""
    for _ in range(20):
        try:
            return _snapshot(server, db_name)
        except mysql.connector.Error as err:
            if err.errno != 1412:  # a table was (re)created by the run since the snapshot began
                raise
            time.sleep(0.1)
    raise AssertionError("no consistent snapshot in 20 attempts")


def _snapshot(server: Server, db_name: str) -> State:
    conn = server.admin(db_name)
    try:
        tables = {r[0] for r in fetch(conn, "SHOW TABLES")}
        if not {"raw_data", "rejected_rows", "ingested_files", "pipeline_runs"} <= tables:
            return State(0, 0, 0, 0, 0, 0, 0)  # killed before the schema existed
        fetch(conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
        raw, distinct = fetch(conn, "SELECT COUNT(*), COUNT(DISTINCT session_key) FROM raw_data")[0]
        runs = fetch(
            conn,
            "SELECT COALESCE(SUM(rows_inserted), 0), "
            "COALESCE(SUM(rows_quarantined), 0), "
            "COALESCE(SUM(status = 'running'), 0) FROM pipeline_runs",
        )[0]
        state = State(
            raw=int(raw),
            distinct_keys=int(distinct),
            rejected=int(one(conn, "SELECT COUNT(*) FROM rejected_rows")),
            consumed=int(one(conn, "SELECT COALESCE(SUM(rows_consumed), 0) FROM ingested_files")),
            run_inserted=int(runs[0]),
            run_quarantined=int(runs[1]),
            running=int(runs[2]),
        )
        fetch(conn, "COMMIT")
        return state
    finally:
        conn.close()


def assert_consistent(s: State) -> None:
    """What a crash may leave: fewer rows, never duplicates, never rows the records disagree on."""
    assert s.distinct_keys == s.raw, s
    assert s.raw + s.rejected == s.consumed, s  # rows and manifest committed together
    assert (s.run_inserted, s.run_quarantined) == (s.raw, s.rejected), s  # and the run counters


def assert_marts_match(server: Server, db_name: str) -> None:
    conn = server.admin(db_name)
    try:
        raw = one(conn, "SELECT COUNT(*) FROM raw_data")
        energy = one(conn, "SELECT SUM(energy_consumed_kwh) FROM raw_data")
        assert one(conn, "SELECT SUM(total_sessions) FROM processed_station_metrics") == raw
        assert one(conn, "SELECT SUM(total_sessions) FROM processed_energy_demand") == raw
        assert one(conn, "SELECT SUM(sessions) FROM processed_daily_rollup") == raw
        mart_energy = one(conn, "SELECT SUM(total_energy_kwh) FROM processed_energy_demand")
        assert abs(float(mart_energy) - float(energy)) <= 1e-6 * float(energy)
        leftovers = [r[0] for r in fetch(conn, "SHOW TABLES") if r[0].endswith(("__new", "__old"))]
        assert leftovers == []
    finally:
        conn.close()


def one_line_error(stderr: str) -> str:
    """The failure message: the last line, the only `evpipe: error` line, no traceback."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("evpipe: error")]
    assert len(errors) == 1 and errors[0] == lines[-1], stderr[-3000:]
    return lines[-1]


# --- kill -9 -----------------------------------------------------------------------------------


def test_kill9_at_random_moments_then_rerun_exactly_once(settings, server, big_csv, tmp_path):
    shutil.copy(big_csv, settings.input_dir / big_csv.name)
    chunk_dir = tmp_path / "tmp"
    chunk_dir.mkdir()
    env = {**SMALL_CHUNKS, "TMPDIR": str(chunk_dir)}
    rng = random.Random(20240601)
    # One kill during start-up (schema creation, lock, pre-pass), then five at seeded-random
    # points of the load: each kill lands once the committed rows pass a random target in its
    # own fifth of the file, so the kills hit a load in progress however fast the machine is.
    startup_delay = rng.uniform(0.3, 1.0)
    targets = [int(BIG_ROWS * rng.uniform(lo, lo + 0.15)) for lo in (0.0, 0.2, 0.4, 0.55, 0.7)]
    hits, progress = [], []
    watcher = server.admin(settings.db_name)

    def committed() -> int:
        try:
            rows = fetch(watcher, "SELECT COALESCE(SUM(rows_consumed), 0) FROM ingested_files")
        except mysql.connector.ProgrammingError:  # the first run has not created the schema yet
            return 0
        return int(rows[0][0]) if rows else 0

    for target in [None, *targets]:
        proc = start_cli(settings, tmp_path, "ingest", "--no-progress", **env)
        if target is None:
            time.sleep(startup_delay)
        else:
            wait_for(
                lambda p=proc, t=target: committed() >= t or p.popen.poll() is not None,
                120,
                f"{target} rows to be committed",
                step=0.01,
            )
        alive = proc.popen.poll() is None
        if alive:
            os.kill(proc.popen.pid, signal.SIGKILL)
        proc.wait(60)
        assert "Traceback" not in proc.stderr
        state = snapshot(server, settings.db_name)
        assert_consistent(state)
        hits.append(alive)
        progress.append(state.raw + state.rejected)
    watcher.close()
    assert hits[0] and progress[0] == 0, (hits, progress)
    assert sum(hits[1:]) >= 4, (targets, hits, progress)  # kills that hit a load in progress
    assert progress == sorted(progress), progress  # a re-run resumes, it never goes back
    assert sum(0 < p < BIG_ROWS for p in progress) >= 2, progress

    # one more kill -9, while `evpipe run` rebuilds the marts
    proc = start_cli(settings, tmp_path, "run", "--no-progress", **env)
    wait_for(
        lambda: "transform: " in proc.stderr or proc.popen.poll() is not None,
        180,
        "the transform to start",
    )
    time.sleep(rng.uniform(0.2, 2.0))
    transform_hit = proc.popen.poll() is None
    if transform_hit:
        os.kill(proc.popen.pid, signal.SIGKILL)
    proc.wait(60)
    conn = server.admin(settings.db_name)
    tables = {r[0] for r in fetch(conn, "SHOW TABLES")}
    conn.close()
    assert set(MARTS) <= tables  # readers never lose a mart, whenever the transform dies
    leftover_chunks = len(list(chunk_dir.glob("evpipe-chunk-*")))

    final = run_cli(settings, "run", "--no-progress", TMPDIR=str(chunk_dir), **SMALL_CHUNKS_KW)
    assert final.returncode == 0, final.stderr[-3000:]
    state = snapshot(server, settings.db_name)
    assert_consistent(state)
    assert (state.raw, state.rejected) == expected_split(BIG_ROWS)
    assert state.raw + state.rejected == BIG_ROWS and state.running == 0
    conn = server.admin(settings.db_name)
    runs = fetch(conn, "SELECT status, error_message FROM pipeline_runs ORDER BY run_id")
    conn.close()
    killed = sum(hits) + transform_hit
    assert runs[-1] == ("success", None)
    interrupted = [r for r in runs[:-1] if r[0] == "failed"]
    assert 1 <= len(interrupted) <= killed  # a kill during start-up precedes the run record
    assert all("interrupted" in (msg or "") for _, msg in interrupted)
    assert all(status in ("failed", "success") for status, _ in runs)
    assert_marts_match(server, settings.db_name)
    # temporary chunk files: per kill at most the one being loaded, the one queued and the one
    # the prefetch thread has just written (a kill -9 cannot clean up; the OS tmp cleaner does)
    assert leftover_chunks <= 3 * killed
    assert len(list(chunk_dir.glob("evpipe-chunk-*"))) == leftover_chunks  # none from a success
    print(
        f"\nkill -9: {killed} kills (start-up at {startup_delay:.2f}s; {sum(hits[1:])} during "
        f"the load, at committed-row targets {targets}; rows committed after each {progress}; "
        f"transform hit: {transform_hit}); {leftover_chunks} temp chunk files left"
    )


# --- database restarted mid-run ------------------------------------------------------------------


def _restart(server: Server, *, crash: bool) -> None:
    server.private.stop(kill=crash)
    time.sleep(0.5)
    server.private.start()


@pytest.mark.parametrize(
    ("phase", "crash"),
    [("ingest", True), ("ingest", False), ("transform", True)],
    ids=["crash-during-ingest", "shutdown-during-ingest", "crash-during-transform"],
)
def test_database_restart_mid_run_then_rerun_converges(
    settings, server, big_csv, mid_csv, tmp_path, phase, crash
):
    if server.private is None:
        pytest.skip("TEST_DB_HOST points at an external server: the test cannot restart it")
    source = big_csv if phase == "ingest" else mid_csv
    rows = BIG_ROWS if phase == "ingest" else MID_ROWS
    shutil.copy(source, settings.input_dir / source.name)
    rng = random.Random(f"{phase}-{crash}")
    command = "ingest" if phase == "ingest" else "run"  # marts are checked when they are built
    chunk_dir = tmp_path / "tmp"
    chunk_dir.mkdir()
    proc = start_cli(
        settings, tmp_path, command, "--no-progress", TMPDIR=str(chunk_dir), **SMALL_CHUNKS
    )
    if phase == "ingest":

        def first_chunk_committed() -> bool:
            return snapshot(server, settings.db_name).raw > 0

        wait_for(first_chunk_committed, 60, "the first chunk to commit", step=0.1)
    else:
        wait_for(lambda: "transform: " in proc.stderr, 120, "the transform to start")
    time.sleep(rng.uniform(0.0, 1.0))
    assert proc.popen.poll() is None, "the run ended before the database went away"
    _restart(server, crash=crash)
    rc = proc.wait(120)
    stderr = proc.stderr
    assert rc in (0, 3), stderr[-3000:]  # 3: the database is unavailable
    if rc != 0:  # a clear one-line error naming the server, or (if it got through) success
        line = one_line_error(stderr)
        assert "connection lost" in line, line
        assert f"{server.host}:{server.port}" in line, line
        assert server.password not in stderr
    state = snapshot(server, settings.db_name)
    assert_consistent(state)

    assert list(chunk_dir.iterdir()) == []  # a failed run removes its temporary chunk files
    again = run_cli(settings, command, "--no-progress", **SMALL_CHUNKS_KW)
    assert again.returncode == 0, again.stderr[-3000:]
    state = snapshot(server, settings.db_name)
    assert_consistent(state)
    assert (state.raw, state.rejected) == expected_split(rows) and state.running == 0
    if command == "run":
        assert_marts_match(server, settings.db_name)
    conn = server.admin(settings.db_name)
    statuses = [r[0] for r in fetch(conn, "SELECT status FROM pipeline_runs ORDER BY run_id")]
    conn.close()
    assert statuses[-1] == "success" and (rc == 0 or statuses[0] == "failed")
    print(
        f"\nrestart ({phase}, {'crash' if crash else 'shutdown'}): first run exit {rc}: "
        f"{stderr.strip().splitlines()[-1]}"
    )


# --- two runs at once ----------------------------------------------------------------------------


def test_two_runs_at_once_the_second_waits_for_the_lock(settings, server, mid_csv, tmp_path):
    shutil.copy(mid_csv, settings.input_dir / mid_csv.name)
    env = {**SMALL_CHUNKS, "EVPIPE_LOCK_TIMEOUT": "300"}
    procs = [start_cli(settings, tmp_path, "run", "--no-progress", **env) for _ in range(2)]
    # `evpipe status` does not take the lock: it answers while a run holds it
    wait_for(lambda: snapshot(server, settings.db_name).running == 1, 60, "a run to start")
    status = run_cli(settings, "status")
    assert status.returncode == 0 and " running " in status.stdout, status.stdout
    codes = [p.wait() for p in procs]
    assert codes == [0, 0], [p.stderr[-2000:] for p in procs]
    for p in procs:
        assert "Traceback" not in p.stderr
    waited = [p for p in procs if "another evpipe run is in progress" in p.stderr]
    assert len(waited) == 1, [p.stderr[-2000:] for p in procs]
    state = snapshot(server, settings.db_name)
    assert_consistent(state)
    assert (state.raw, state.rejected) == expected_split(MID_ROWS)
    conn = server.admin(settings.db_name)
    runs = fetch(
        conn, "SELECT status, rows_inserted, files_skipped FROM pipeline_runs ORDER BY run_id"
    )
    conn.close()
    assert runs == [("success", state.raw, 0), ("success", 0, 1)]  # the second found it done
    assert_marts_match(server, settings.db_name)


def test_two_runs_at_once_the_second_exits_clearly_without_waiting(
    settings, server, mid_csv, tmp_path
):
    shutil.copy(mid_csv, settings.input_dir / mid_csv.name)
    env = {**SMALL_CHUNKS, "EVPIPE_LOCK_TIMEOUT": "0"}
    procs = [start_cli(settings, tmp_path, "run", "--no-progress", **env) for _ in range(2)]
    codes = sorted(p.wait() for p in procs)
    assert codes == [0, 4], [p.stderr[-2000:] for p in procs]
    loser = next(p for p in procs if p.popen.returncode == 4)
    line = one_line_error(loser.stderr)
    assert "another evpipe run is in progress" in line and settings.db_name in line
    state = snapshot(server, settings.db_name)
    assert_consistent(state)
    assert (state.raw, state.rejected) == expected_split(MID_ROWS)
    conn = server.admin(settings.db_name)
    assert fetch(conn, "SELECT status FROM pipeline_runs") == [("success",)]  # no stray record
    conn.close()


# --- database unreachable at start ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_chunk_that_fails_after_being_counted_is_not_in_the_run_record(
    settings, server, db, mid_csv
):
    """The run's counters move with each chunk's transaction. When a chunk fails after its rows
    were counted (here a trigger refuses its manifest update; for real, the database died at its
    commit), the failure record written afterwards must not count them."""
    conn = connect(settings)
    ensure_schema(conn)
    conn.close()
    with db.cursor() as cur:
        for event in ("INSERT", "UPDATE"):
            cur.execute(
                f"CREATE TRIGGER fail_second_chunk_{event.lower()} BEFORE {event} "
                "ON ingested_files FOR EACH ROW IF NEW.rows_consumed > 20000 THEN "
                "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected: second chunk fails'; "
                "END IF"
            )
    shutil.copy(mid_csv, settings.input_dir / mid_csv.name)
    res = run_cli(settings, "ingest", "--no-progress", **SMALL_CHUNKS_KW)
    assert res.returncode == 1, res.stderr[-2000:]
    assert "injected: second chunk fails" in res.stderr and "Traceback" not in res.stderr
    s = snapshot(server, settings.db_name)
    assert 0 < s.raw < MID_ROWS, s  # the first chunk (about 13k rows) committed
    assert_consistent(s)
    with db.cursor() as cur:
        cur.execute("DROP TRIGGER fail_second_chunk_insert")
        cur.execute("DROP TRIGGER fail_second_chunk_update")
    assert run_cli(settings, "ingest", "--no-progress", **SMALL_CHUNKS_KW).returncode == 0
    s = snapshot(server, settings.db_name)
    assert_consistent(s)
    assert s.raw + s.rejected == MID_ROWS, s


def test_a_connection_cut_under_evpipe_counts_as_the_database_going_away(settings, db):
    """A connection killed or cut while idle fails on its next use with mysql-connector's
    "MySQL Connection not available" and no errno. It must mean "database unavailable" (exit 3,
    re-run when it is back) like any lost connection, not a generic error (exit 1): the
    database-restart test saw exactly that now and then."""
    conn = connect(settings, retry=False)
    with db.cursor() as cur:
        cur.execute(f"KILL CONNECTION {int(conn.connection_id)}")
    with pytest.raises(mysql.connector.Error) as raised:
        scalar(conn, "SELECT 1")
    assert is_unreachable(raised.value), repr(raised.value)
    wrapped = wrap_db_errors(settings, raised.value)
    assert isinstance(wrapped, DatabaseUnavailable) and wrapped.exit_code == 3
    assert not is_unreachable(mysql.connector.ProgrammingError("syntax", errno=1064))


PASSWORD = "Pw-5f3a9-distinctive"


@pytest.mark.parametrize("command", ["run", "status"])
def test_unreachable_database_bounded_retries_then_one_line_error(settings, tmp_path, command):
    port, budget = free_port(), 6
    t0 = time.monotonic()
    res = run_cli(
        settings,
        command,
        DB_HOST="127.0.0.1",
        DB_PORT=str(port),
        DB_PASSWORD=PASSWORD,
        EVPIPE_CONNECT_TIMEOUT=str(budget),
        cwd=tmp_path,
    )
    took = time.monotonic() - t0
    assert res.returncode == 3, res.stderr
    line = one_line_error(res.stderr)
    assert f"127.0.0.1:{port}" in line and f"after {budget}s" in line, line
    assert budget <= took < 60, took  # the whole budget is used, and it ends well within 2 min
    waits = [float(w) for w in re.findall(r"retrying in ([0-9.]+)s", res.stderr)]
    assert len(waits) >= 3 and waits[:3] == [0.5, 1.0, 2.0], waits  # exponential backoff
    assert sum(waits) <= budget + 0.1
    assert PASSWORD not in res.stderr + res.stdout


class Forwarder:
    """A TCP port that forwards to the database once opened: a database that comes up late."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.listener: socket.socket | None = None
        self.threads: list[threading.Thread] = []

    def open(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self._spawn(self._accept)

    def _spawn(self, fn: Any, *args: Any) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept(self) -> None:
        assert self.listener is not None
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()


@pytest.fixture
def late_database(server: Server) -> Iterator[Forwarder]:
    fwd = Forwarder(free_port(), (server.host, server.port))
    yield fwd
    fwd.close()


def test_database_coming_up_within_the_budget_is_used(settings, tmp_path, late_database):
    from tests import factory

    factory.write(settings.input_dir / "a.csv", [factory.session(i) for i in range(5)])
    proc = start_cli(
        settings,
        tmp_path,
        "run",
        "--no-progress",
        DB_HOST="127.0.0.1",
        DB_PORT=str(late_database.port),
        EVPIPE_CONNECT_TIMEOUT="30",
    )
    time.sleep(2.5)
    assert proc.popen.poll() is None
    late_database.open()
    assert proc.wait(120) == 0, proc.stderr[-3000:]
    assert "not reachable yet" in proc.stderr and "Traceback" not in proc.stderr


# --- the dashboard's data layer while the database is down ---------------------------------------


def test_dashboard_data_layer_friendly_while_database_down_and_recovers(settings, server):
    data = pytest.importorskip("dashboard.data")
    if server.private is None:
        pytest.skip("TEST_DB_HOST points at an external server: the test cannot stop it")
    from tests import factory

    factory.write(settings.input_dir / "a.csv", [factory.session(i) for i in range(20)])
    assert run_cli(settings, "run").returncode == 0
    source = data.DashboardData(settings=settings, version_ttl=0)
    before = source.health()
    assert before is not None
    server.private.stop()
    try:
        for read in (source.health, source.options, source.version):
            with pytest.raises(data.DataUnavailable) as info:
                read()
            text = str(info.value)
            assert text == data.UNREACHABLE_MESSAGE  # friendly, no host, no password, no trace
            assert settings.db_password not in text and str(server.port) not in text
    finally:
        server.private.start()
    assert source.health() is not None  # the same object recovers, no restart needed
    assert source.options() is not None


# --- kill -9 during a real export format --------------------------------------------------------

NORWAY_HEADER = (
    "session_ID;Garage_ID;User_ID;User_type;Shared_ID;Start_plugin;Start_plugin_hour;"
    "End_plugout;End_plugout_hour;El_kWh;Duration_hours;month_plugin;weekdays_plugin\n"
)


def norway_export(path: Path, rows: int) -> tuple[int, int]:
    """A large file in the Trondheim residential format (profile norway_residential): ';',
    decimal commas, dd.mm.yyyy, a session every 37 minutes from 2019 on. Quarantined: every 97th
    row (an impossible date) and the rows that start or end in the hour Oslo's clocks skip.
    Returns (stored, quarantined)."""
    base = np.datetime64("2019-01-01T00:00")
    bad = 0
    oslo = zoneinfo.ZoneInfo("Europe/Oslo")

    def skipped(t: np.datetime64) -> bool:
        local = t.astype(dt.datetime)
        there_and_back = local.replace(tzinfo=oslo).astimezone(dt.UTC).astimezone(oslo)
        return there_and_back.replace(tzinfo=None) != local

    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(NORWAY_HEADER)
        for i in range(rows):
            start = base + np.timedelta64(i * 37, "m")
            end = start + np.timedelta64(45 + i % 600, "m")
            s, e = (str(t).replace("T", " ")[:16] for t in (start, end))
            fmt = "{2}.{1}.{0} {3}"
            s = fmt.format(*s[:10].split("-"), s[11:])
            e = fmt.format(*e[:10].split("-"), e[11:])
            if i % 97 == 5:
                s, bad = "31.02.2019 10:00", bad + 1
            elif skipped(start) or skipped(end):
                bad += 1
            kwh = f"{(i % 400) / 10:.1f}".replace(".", ",")
            out.write(
                f"{i + 1};G{i % 13};G{i % 13}-{i % 7};Private;NA;{s};0;{e};0;{kwh};1,0;Jan;Monday\n"
            )
    return rows - bad, bad


def test_kill9_during_a_semicolon_decimal_comma_export_then_rerun_exactly_once(
    settings, server, tmp_path
):
    rows = 60_000
    stored, bad = norway_export(settings.input_dir / "reports.csv", rows)
    env = {"EVPIPE_CHUNK_BYTES": "300000"}  # ~4,500 rows a chunk: a dozen commits
    watcher = server.admin(settings.db_name)

    def committed() -> int:
        try:
            got = fetch(watcher, "SELECT COALESCE(SUM(rows_consumed), 0) FROM ingested_files")
        except mysql.connector.ProgrammingError:
            return 0
        return int(got[0][0]) if got else 0

    progress = []
    for target in (rows // 4, rows // 2):
        proc = start_cli(settings, tmp_path, "ingest", "--no-progress", **env)
        wait_for(
            lambda p=proc, t=target: committed() >= t or p.popen.poll() is not None,
            120,
            f"{target} rows to be committed",
            step=0.01,
        )
        assert proc.popen.poll() is None, "the load finished before the kill"
        os.kill(proc.popen.pid, signal.SIGKILL)
        proc.wait(60)
        state = snapshot(server, settings.db_name)
        assert_consistent(state)
        progress.append(state.raw + state.rejected)
    watcher.close()
    assert 0 < progress[0] <= progress[1] < rows, progress
    final = run_cli(settings, "run", "--no-progress", **env)
    assert final.returncode == 0, final.stderr[-3000:]
    state = snapshot(server, settings.db_name)
    assert_consistent(state)
    assert (state.raw, state.rejected) == (stored, bad) and state.running == 0
    assert_marts_match(server, settings.db_name)
    conn = server.admin(settings.db_name)
    # nothing mis-dated: session i started at 2019-01-01 + 37 i minutes, Oslo time
    sample = fetch(
        conn, "SELECT source_session_id, charging_start_time, start_utc FROM raw_data "
        "WHERE source_session_id IN ('1', '5000', '59999')",
    )  # fmt: skip
    conn.close()
    oslo = zoneinfo.ZoneInfo("Europe/Oslo")
    for sid, local, utc in sample:
        expect = dt.datetime(2019, 1, 1) + dt.timedelta(minutes=37 * (int(sid) - 1))
        assert local == expect
        assert utc == expect.replace(tzinfo=oslo).astimezone(dt.UTC).replace(tzinfo=None)
