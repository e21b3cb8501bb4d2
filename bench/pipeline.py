"""Steps 3-7: `evpipe` as users run it (a subprocess), on one throw-away database.

ingest on an empty database -> transform --full -> run with nothing changed (no-op) ->
0.1 % more sessions appended to the same file -> run -> 1 % more -> run (the database is then
left loaded for the dashboard steps); and a separate ingest + full transform of the large file
for peak RSS and scaling. Stage times come from the run record (pipeline_runs.stage_seconds_json),
each transform step's seconds and rows read/written from pipeline_runs.transform_json.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.database import Target
from bench.proc import Measured, run_measured


def evpipe(
    target: Target, db: str, input_dir: Path, *args: str, log_dir: Path, name: str
) -> Measured:
    return run_measured(
        [sys.executable, "-m", "evpipe", *args],
        env=target.env(db, EVPIPE_INPUT_DIR=str(input_dir)),
        cwd=input_dir.parent,
        log_dir=log_dir,
        name=name,
    ).check(f"evpipe {' '.join(args)}")


def last_run(target: Target, db: str) -> dict[str, Any]:
    conn = target.connect(db)
    with conn.cursor(dictionary=True) as cur:
        cur.execute(
            "SELECT run_id, status, rows_read, rows_inserted, rows_already_present, "
            "rows_quarantined, stage_seconds_json, transform_json FROM pipeline_runs "
            "ORDER BY run_id DESC LIMIT 1"
        )
        row = cur.fetchone()
    conn.close()
    row["stage_seconds"] = json.loads(row.pop("stage_seconds_json") or "{}")
    # per step: seconds and the rows the server read and wrote (its handler counters)
    transform = json.loads(row.pop("transform_json") or "null")
    if transform:
        row["transform"] = transform
    return {k: (int(v) if k.startswith("rows_") else v) for k, v in row.items()}


def _step(
    target: Target, db: str, input_dir: Path, log_dir: Path, name: str, *args: str
) -> dict[str, Any]:
    m = evpipe(target, db, input_dir, *args, log_dir=log_dir, name=name)
    return {"seconds": m.seconds, "peak_rss_mb": m.peak_rss_mb, **last_run(target, db)}


@dataclass
class Evpipe:
    """Steps 3, 6 (full), 4 and 5, each its own call so that one failing keeps the others."""

    target: Target
    db: str
    input_dir: Path
    log_dir: Path

    def _run(self, name: str, *args: str) -> dict[str, Any]:
        return _step(self.target, self.db, self.input_dir, self.log_dir, name, *args)

    def ingest(self, rows: int) -> dict[str, Any]:
        out = self._run("ingest", "ingest")
        out["rows_per_s"] = rows / out["seconds"]
        return out

    def transform_full(self) -> dict[str, Any]:
        return self._run("transform-full", "transform", "--full")

    def noop_run(self) -> dict[str, Any]:
        return self._run("noop-run", "run")

    def append_run(
        self, csv: Path, append_rows: int, seed: int, name: str = "append-run"
    ) -> dict[str, Any]:
        from evpipe.generate import write_csv

        write_csv(csv, append_rows, seed, append=True)
        out = self._run(name, "run")
        out["rows_appended"] = append_rows
        out["ingest_s"] = out["stage_seconds"].get("ingest")
        out["transform_s"] = out["stage_seconds"].get("transform")
        return out


def measure_large(
    target: Target, work: Path, rows: int, seed: int, log_dir: Path, append_rows: int
) -> dict[str, Any]:
    """Step 7 at another size: a fresh database and file, `evpipe ingest`, then
    `evpipe transform --full`, then `evpipe run` after appending as many sessions as the
    main size's small append (same new data, larger history); seconds and peak RSS of each."""
    from evpipe.generate import write_csv

    input_dir = work / f"incoming-{rows}"
    input_dir.mkdir(parents=True, exist_ok=True)
    csv = input_dir / "sessions.csv"
    write_csv(csv, rows, seed)
    db = target.fresh_database(f"large_{rows}")
    try:
        out = _step(target, db, input_dir, log_dir, f"ingest-{rows}", "ingest")
        out["rows"] = rows
        out["rows_per_s"] = rows / out["seconds"]
        out["transform_full"] = _step(
            target, db, input_dir, log_dir, f"transform-full-{rows}", "transform", "--full"
        )
        write_csv(csv, append_rows, seed, append=True)
        out["small_append_run"] = _step(
            target, db, input_dir, log_dir, f"small-append-run-{rows}", "run"
        )
        return out
    finally:
        target.drop_database(db)
        csv.unlink(missing_ok=True)
