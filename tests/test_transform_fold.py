"""Issue 11: a transform after a load folds only the new sessions into every rollup, mart and
dashboard cube, and what it leaves equals a full rebuild, row by row, in every table: after
appends, late sessions, re-delivered and overlapping files, a kill -9 in the middle of the
fold's transaction, and the upgrade of a database from before the fold. Real server, real
`evpipe` in subprocesses."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import signal
import time
from dataclasses import replace
from typing import Any

from evpipe.generate import write_csv
from evpipe.transform import transform_files
from tests import factory
from tests.conftest import ROOT, fetch, one, run_cli
from tests.test_faults import start_cli, wait_for

TABLES = tuple(tf.builds for tf in transform_files())
BASE_ROWS = 20_000


def snapshot(db: Any, *, codes: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every table the transforms build, rows sorted by their text; without the integer codes
    (dim_id, seg_id: numbered in the order they were met) if not `codes`."""
    out = {}
    for t in TABLES:
        columns = [
            c
            for (c,) in fetch(
                db,
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                "DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                (t,),
            )
            if codes or c not in ("dim_id", "seg_id")
        ]
        rows = fetch(db, f"SELECT {', '.join(f'`{c}`' for c in columns)} FROM `{t}`")
        out[t] = sorted(rows, key=lambda r: tuple(str(v) for v in r))
    return out


def assert_same(a: dict[str, list[tuple[Any, ...]]], b: dict[str, list[tuple[Any, ...]]]) -> None:
    """Equal row by row; sums of doubles added in another order may differ in the last bits."""
    for t in TABLES:
        assert len(a[t]) == len(b[t]), (t, len(a[t]), len(b[t]))
        for ra, rb in zip(a[t], b[t], strict=True):
            for va, vb in zip(ra, rb, strict=True):
                if isinstance(va, float) and isinstance(vb, float):
                    assert math.isclose(va, vb, rel_tol=1e-9, abs_tol=1e-9), (t, ra, rb)
                else:
                    assert va == vb, (t, ra, rb)


def last_run(db: Any) -> dict[str, Any]:
    with db.cursor(dictionary=True) as cur:
        cur.execute("SELECT * FROM pipeline_runs ORDER BY run_id DESC LIMIT 1")
        return dict(cur.fetchone())


def transform_of(db: Any) -> dict[str, Any]:
    return json.loads(last_run(db)["transform_json"])


def run_ok(settings: Any, *args: str) -> None:
    res = run_cli(settings, *args)
    assert res.returncode == 0, res.stderr[-3000:]


def fold_equals_rebuild(settings: Any, db: Any) -> dict[str, list[tuple[Any, ...]]]:
    """The tables as the fold left them equal a full rebuild of the same raw_data."""
    folded = snapshot(db)
    run_ok(settings, "transform", "--full")
    assert transform_of(db)["mode"] == "full"
    rebuilt = snapshot(db)
    assert_same(folded, rebuilt)
    return rebuilt


def test_fold_equals_full_rebuild_after_appends_late_rows_and_redeliveries(settings, db):
    path = settings.input_dir / "sessions.csv"
    write_csv(path, BASE_ROWS, 11)
    run_ok(settings, "run")
    assert transform_of(db)["mode"] == "full"

    # 1 % more sessions, appended to the export
    write_csv(path, BASE_ROWS // 100, 11, append=True)
    run_ok(settings, "run")
    t = transform_of(db)
    assert (t["mode"], t["rows_folded"]) == ("incremental", one(
        db, "SELECT COUNT(*) FROM raw_data WHERE run_id = %s", (last_run(db)["run_id"],)
    ))  # fmt: skip
    fold_equals_rebuild(settings, db)

    # late sessions: months before everything loaded, one at a time already used, new
    # stations, locations and charger types the cubes have never seen
    late = [
        factory.session(
            i,
            dt.datetime(2023, 6, 1, 7) + dt.timedelta(hours=5 * i),
            Charging_Station_ID=f"Late_{i % 3}",
            Charging_Station_Location=["Houston", "Oslo", "Denver"][i % 3],
            Charger_Type=["Level 2", "Induction"][i % 2],
        )
        for i in range(40)
    ]
    factory.write(settings.input_dir / "late.csv", late)
    run_ok(settings, "run")
    assert transform_of(db)["mode"] == "incremental"
    fold_equals_rebuild(settings, db)

    # a re-delivered copy and an overlapping export: nothing new, nothing changes
    before = snapshot(db)
    shutil.copy2(path, settings.input_dir / "sessions-again.csv")
    factory.write(settings.input_dir / "overlap.csv", late[:20])
    run_ok(settings, "run")
    assert transform_of(db)["mode"] == "unchanged"
    assert_same(snapshot(db), before)

    # a real export in another format: sessions with ports, idle time and no fees
    shutil.copy2(
        ROOT / "tests/fixtures/exports/chargepoint/palo_alto.csv",
        settings.input_dir / "palo_alto.csv",
    )
    run_ok(settings, "run")
    assert transform_of(db)["mode"] == "incremental"
    fold_equals_rebuild(settings, db)


def test_a_small_append_touches_rows_in_proportion_to_it(settings, db):
    path = settings.input_dir / "sessions.csv"
    write_csv(path, BASE_ROWS, 12)
    run_ok(settings, "run")
    full = transform_of(db)["steps"]
    write_csv(path, BASE_ROWS // 1000, 12, append=True)  # 0.1 %
    run_ok(settings, "run")
    t = transform_of(db)
    assert t["mode"] == "incremental" and t["rows_folded"] <= BASE_ROWS // 1000
    touched = sum(s["rows_read"] + s["rows_written"] for s in t["steps"].values())
    rebuilt = sum(s["rows_read"] + s["rows_written"] for s in full.values())
    # a full rebuild reads and writes every table; 20 new sessions touch a few hundred rows of
    # the cubes (each day, month, quarter and year they fall in, for every '*' combination)
    assert touched < rebuilt / 50, (touched, rebuilt)
    for name, step in t["steps"].items():
        assert step["rows_read"] + step["rows_written"] < 20_000, (name, step)


def test_kill9_in_the_middle_of_the_fold_leaves_nothing_half_done(settings, server, db, tmp_path):
    path = settings.input_dir / "sessions.csv"
    write_csv(path, BASE_ROWS, 13)
    run_ok(settings, "run")
    before = snapshot(db)
    state = fetch(db, "SELECT rolled_up_to_id, marts_built_from_id FROM transform_state")
    write_csv(path, BASE_ROWS // 100, 13, append=True)
    run_ok(settings, "ingest")
    # Hold every row of a cube the fold writes late: the transform has folded the rollups and
    # the earlier cubes inside its transaction when it waits here; then kill -9 it.
    holder = server.admin(settings.db_name)
    try:
        holder.autocommit = False
        with holder.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM processed_dash_stations FOR UPDATE")
            cur.fetchall()
        proc = start_cli(settings, tmp_path, "transform", EVPIPE_LOCK_TIMEOUT="5")
        waits = "SELECT trx_rows_modified FROM information_schema.INNODB_TRX WHERE trx_state = %s"

        def waiting() -> bool:
            return bool(fetch(db, waits, ("LOCK WAIT",))) or proc.popen.poll() is not None

        # InnoDB refreshes INNODB_TRX only when it was not read for 0.1 s: poll slower
        wait_for(waiting, 40, "the fold to wait for the held rows", step=0.3)
        assert proc.popen.poll() is None, proc.stderr
        # it was in the middle: the rollups and the earlier cubes are folded, uncommitted
        assert fetch(db, waits, ("LOCK WAIT",))[0][0] > 0
        os.kill(proc.popen.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        holder.rollback()
        holder.close()
    deadline = time.monotonic() + 30  # the server rolls the dead connection's transaction back
    while one(db, "SELECT COUNT(*) FROM information_schema.INNODB_TRX") and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert fetch(db, "SELECT rolled_up_to_id, marts_built_from_id FROM transform_state") == state
    assert_same(snapshot(db), before)  # every table as it was: nothing half done
    run_ok(settings, "run")  # the re-run folds the same rows again, once
    assert transform_of(db)["mode"] == "incremental"
    fold_equals_rebuild(settings, db)
    sessions = one(db, "SELECT COUNT(*) FROM raw_data")
    assert one(db, "SELECT SUM(sessions) FROM processed_daily_rollup") == sessions


def test_a_database_from_before_the_fold_upgrades_to_the_same_tables(settings, server, db):
    """A database whose schema and sessions predate issue 11 (migrations 001-004, sessions
    without dimension codes, the old rollup tables): the next `evpipe run` migrates it, codes
    every session and rebuilds every table, equal to a database loaded from scratch."""
    from evpipe.db import split_statements
    from evpipe.schema import migration_files

    write_csv(settings.input_dir / "sessions.csv", 5_000, 14)
    shutil.copy2(
        ROOT / "tests/fixtures/exports/chargepoint/palo_alto.csv",
        settings.input_dir / "palo_alto.csv",
    )
    run_ok(settings, "run")  # the reference, loaded by this version from scratch
    fresh = snapshot(db, codes=False)

    old = f"{settings.db_name}_old"
    admin = server.admin()
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{old}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{old}`")
            for path in migration_files():
                if path.name[:3] <= "004":
                    for statement in split_statements(path.read_text(encoding="utf-8")):
                        cur.execute(statement)
            cur.execute(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                "AND TABLE_NAME = 'raw_data' ORDER BY ORDINAL_POSITION",
                (old,),
            )
            columns = ", ".join(f"`{c}`" for (c,) in cur.fetchall())
            assert "dim_id" not in columns
            cur.execute(
                f"INSERT INTO `{old}`.raw_data ({columns}) SELECT {columns} "
                f"FROM `{settings.db_name}`.raw_data"
            )
            cur.execute("SHOW TABLES LIKE 'processed_hourly_rollup'")
            assert cur.fetchall()  # the old layout
        upgraded = replace(settings, db_name=old, input_dir=settings.input_dir.parent / "none")
        upgraded.input_dir.mkdir()
        run_ok(upgraded, "run")
        conn = server.admin(old)
        try:
            assert one(conn, "SELECT COUNT(*) FROM raw_data WHERE dim_id = 0") == 0
            assert transform_of(conn)["mode"] == "full"
            assert_same(snapshot(conn, codes=False), fresh)
            assert not fetch(conn, "SHOW TABLES LIKE 'processed_hourly%%'")
        finally:
            conn.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{old}`")
        admin.close()


def test_a_migration_killed_half_way_is_applied_again_by_the_next_run(settings, db):
    """DDL commits statement by statement: a migration killed after its ALTER TABLE is not
    recorded, and its re-run meets the column it already added. The next run must finish it
    (and rebuild), not fail on 'duplicate column' forever."""
    write_csv(settings.input_dir / "sessions.csv", 2_000, 15)
    run_ok(settings, "run")
    expected = snapshot(db)
    # as if killed before recording 005 and 006: every statement of both has taken effect
    db.cursor().execute("DELETE FROM schema_migrations WHERE version IN ('005', '006')")
    run_ok(settings, "run")
    versions = {v for (v,) in fetch(db, "SELECT version FROM schema_migrations")}
    assert {"005", "006"} <= versions
    assert transform_of(db)["mode"] == "full"  # 006 resets the watermark: everything rebuilt
    assert_same(snapshot(db), expected)


def test_a_delta_table_left_by_an_older_schema_does_not_break_the_fold(settings, db):
    """A crash between a full rebuild's swap and its clean-up can leave a delta table made for
    the tables before a migration; the fold makes its delta tables anew every time."""
    path = settings.input_dir / "sessions.csv"
    write_csv(path, 2_000, 16)
    run_ok(settings, "run")
    db.cursor().execute("CREATE TABLE processed_cost_efficiency__delta (charger_type INT)")
    write_csv(path, 20, 16, append=True)
    run_ok(settings, "run")
    assert transform_of(db)["mode"] == "incremental"
    fold_equals_rebuild(settings, db)
