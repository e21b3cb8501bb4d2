"""`evpipe status`: recent runs, watermark, freshness and row counts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from evpipe.db import Connection, query, scalar

COUNTED = (
    "raw_data", "rejected_rows", "ingested_files", "processed_daily_rollup",
    "processed_station_metrics", "processed_energy_demand", "processed_cost_efficiency",
)  # fmt: skip


def collect(conn: Connection, limit: int = 5) -> dict[str, Any]:
    now = scalar(conn, "SELECT UTC_TIMESTAMP()")
    meta = query(
        conn,
        "SELECT dataset_name, last_loaded_start_time, last_run, last_success_run_id, "
        "last_success_at FROM pipeline_metadata ORDER BY dataset_name",
    )
    runs = query(
        conn,
        "SELECT run_id, command, status, started_at, finished_at, files_seen, files_loaded, "
        "files_skipped, files_failed, rows_read, rows_inserted, rows_already_present, "
        "rows_quarantined, error_message FROM pipeline_runs ORDER BY run_id DESC LIMIT %s",
        (limit,),
    )
    counts = {t: int(scalar(conn, f"SELECT COUNT(*) FROM `{t}`")) for t in COUNTED}
    newest = scalar(conn, "SELECT MAX(charging_start_time) FROM raw_data")
    run_cols = (
        "run_id", "command", "status", "started_at", "finished_at", "files_seen", "files_loaded",
        "files_skipped", "files_failed", "rows_read", "rows_inserted", "rows_already_present",
        "rows_quarantined", "error_message",
    )  # fmt: skip
    datasets = [
        dict(
            zip(
                (
                    "dataset_name",
                    "last_loaded_start_time",
                    "last_run",
                    "last_success_run_id",
                    "last_success_at",
                ),
                m,
                strict=True,
            )
        )
        for m in meta
    ]
    last_success = max(
        (d["last_success_at"] for d in datasets if d["last_success_at"]), default=None
    )
    return {
        "now_utc": now,
        "datasets": datasets,
        "newest_session_start": newest,
        "seconds_since_last_success": (now - last_success).total_seconds()
        if last_success
        else None,
        "row_counts": counts,
        "recent_runs": [dict(zip(run_cols, r, strict=True)) for r in runs],
    }


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def to_json(info: dict[str, Any]) -> str:
    return json.dumps(info, default=_default, indent=2)


def to_text(info: dict[str, Any]) -> str:
    lines = []
    for d in info["datasets"] or [
        {
            "dataset_name": "(no data loaded yet)",
            "last_loaded_start_time": None,
            "last_success_at": None,
        }
    ]:
        lines.append(
            f"dataset {d['dataset_name']}: "
            f"newest start loaded {d['last_loaded_start_time'] or '-'}, "
            f"last successful run {d['last_success_at'] or '-'} UTC"
        )
    age = info["seconds_since_last_success"]
    lines.append(
        f"freshness: last success {_age(age)} ago"
        if age is not None
        else "freshness: no successful run yet"
    )
    lines.append("rows: " + ", ".join(f"{k}={v}" for k, v in info["row_counts"].items()))
    lines.append("recent runs:")
    for r in info["recent_runs"]:
        took = (r["finished_at"] - r["started_at"]).total_seconds() if r["finished_at"] else None
        lines.append(
            f"  #{r['run_id']} {r['command']:<9} {r['status']:<8} "
            f"{r['started_at']:%Y-%m-%d %H:%M:%S} "
            f"files {r['files_loaded']}/{r['files_seen']} loaded, rows +{r['rows_inserted']} "
            f"(present {r['rows_already_present']}, quarantined {r['rows_quarantined']})"
            + (f" in {took:.1f}s" if took is not None else "")
            + (f" - {r['error_message']}" if r["error_message"] else "")
        )
    if not info["recent_runs"]:
        lines.append("  (none)")
    return "\n".join(lines)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
