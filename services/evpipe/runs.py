"""The run record (pipeline_runs) and the dataset record (pipeline_metadata)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from evpipe.db import Connection

COUNTERS = (
    "files_seen", "files_skipped", "files_loaded", "files_failed", "rows_read",
    "rows_inserted", "rows_already_present", "rows_quarantined",
)  # fmt: skip


@dataclass
class Run:
    run_id: int
    command: str
    counts: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    stages: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    transform: dict[str, Any] = field(default_factory=dict)  # per step: seconds, rows read/written

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - t0, 3)

    @contextmanager
    def transaction(self, conn: Connection) -> Iterator[None]:
        """A block whose writes and counter changes stand or fall together: the counters are
        saved and the transaction committed at its end; if anything in it fails, the commit
        included, the counters go back to what they were, so a failure record written later
        never counts rows whose transaction did not commit."""
        counts, warnings = self.counts.copy(), self.warnings.copy()
        try:
            yield
            self.save(conn)
            conn.commit()
        except BaseException:
            self.counts, self.warnings = counts, warnings
            raise

    def save(self, conn: Connection) -> None:
        """Write the counters; called inside each chunk's transaction so they match the data."""
        sets = ", ".join(f"{c} = %s" for c in COUNTERS)
        with conn.cursor() as cur:
            cur.execute(
                f"UPDATE pipeline_runs SET {sets}, warnings_json = %s, stage_seconds_json = %s, "
                "transform_json = %s WHERE run_id = %s",
                (
                    *[self.counts[c] for c in COUNTERS],
                    json.dumps(dict(sorted(self.warnings.items()))),
                    json.dumps(self.stages),
                    json.dumps(self.transform) if self.transform else None,
                    self.run_id,
                ),
            )


def start_run(conn: Connection, command: str, input_dir: str | None) -> Run:
    """Record a new run; any run still marked running was interrupted (we hold the run lock)."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE pipeline_runs SET status = 'failed', finished_at = COALESCE(finished_at, "
            "UTC_TIMESTAMP(3)), error_message = 'interrupted (process or connection died)' "
            "WHERE status = 'running'"
        )
        cur.execute(
            "INSERT INTO pipeline_runs (command, status, started_at, input_dir) "
            "VALUES (%s, 'running', UTC_TIMESTAMP(3), %s)",
            (command, input_dir),
        )
        run_id = int(cur.lastrowid)
    conn.commit()
    return Run(run_id, command)


def finish_run(conn: Connection, run: Run, status: str, error: str | None = None) -> None:
    conn.rollback()  # nothing half-done of a failed chunk may ride along with the final record
    run.save(conn)
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE pipeline_runs SET status = %s, finished_at = UTC_TIMESTAMP(3), "
            "error_message = %s WHERE run_id = %s",
            (status, (error or "")[:2000] or None, run.run_id),
        )
        if status == "success":
            cur.execute(
                "UPDATE pipeline_metadata SET last_success_run_id = %s, "
                "last_success_at = UTC_TIMESTAMP()",
                (run.run_id,),
            )
    conn.commit()


def touch_dataset(conn: Connection, dataset: str, run_id: int, max_start: Any) -> None:
    """Advance last_loaded_start_time (a record, never a filter) and last_run."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO pipeline_metadata (dataset_name, last_loaded_start_time, last_run, "
            "last_run_id) VALUES (%s, %s, UTC_TIMESTAMP(), %s) "
            "ON DUPLICATE KEY UPDATE "
            "last_loaded_start_time = CASE WHEN last_loaded_start_time IS NULL "
            "  OR VALUES(last_loaded_start_time) > last_loaded_start_time "
            "  THEN VALUES(last_loaded_start_time) ELSE last_loaded_start_time END, "
            "last_run = VALUES(last_run), last_run_id = VALUES(last_run_id)",
            (dataset, max_start, run_id),
        )
