"""Step 2, the naive baseline: the simple pipeline that evpipe replaces.

Load: pandas.read_csv of the whole file, keep rows newer than the stored watermark, then
DataFrame.to_sql(method="multi", chunksize=1000) through SQLAlchemy + PyMySQL. Run in a
subprocess (`python -m bench.naive load|reread URL CSV`) so that its time and peak RSS are its own.
Summary: the old marts, with the most common charger type per station found by a correlated
subquery evaluated for every row; stopped with KILL QUERY after a time limit.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.database import Target
from bench.proc import run_measured

RENAME = {
    "User ID": "user_id", "Vehicle Model": "vehicle_model",
    "Battery Capacity (kWh)": "battery_capacity_kwh", "Charging Station ID": "charging_station_id",
    "Charging Station Location": "charging_station_location",
    "Charging Start Time": "charging_start_time", "Charging End Time": "charging_end_time",
    "Energy Consumed (kWh)": "energy_consumed_kwh",
    "Charging Duration (hours)": "charging_duration_hours",
    "Charging Rate (kW)": "charging_rate_kw",
    "Charging Cost (USD)": "cost_usd", "Time of Day": "time_of_day", "Day of Week": "day_of_week",
    "State of Charge (Start %)": "soc_start_pct", "State of Charge (End %)": "soc_end_pct",
    "Distance Driven (since last charge) (km)": "distance_since_last_charge_km",
    "Temperature (°C)": "temperature_c", "Vehicle Age (years)": "vehicle_age_years",
    "Charger Type": "charger_type", "User Type": "user_type",
}  # fmt: skip

SUMMARY = (
    "DROP TABLE IF EXISTS processed_station_metrics",
    """CREATE TABLE processed_station_metrics AS
       SELECT t1.charging_station_id AS station_id,
              MAX(t1.charging_station_location) AS location,
              COUNT(*) AS total_sessions, AVG(t1.energy_consumed_kwh) AS avg_energy_kwh,
              AVG(t1.charging_duration_hours) AS avg_duration_hr, AVG(t1.cost_usd) AS avg_cost_usd,
              AVG(t1.temperature_c) AS avg_temp_c,
              MAX((SELECT t2.charger_type FROM raw t2
                   WHERE t2.charging_station_id = t1.charging_station_id
                   GROUP BY t2.charger_type ORDER BY COUNT(*) DESC LIMIT 1))
                AS most_common_charger_type
       FROM raw t1 GROUP BY t1.charging_station_id""",
    "DROP TABLE IF EXISTS processed_energy_demand",
    """CREATE TABLE processed_energy_demand AS
       SELECT charging_station_location AS location, day_of_week, time_of_day,
              SUM(energy_consumed_kwh) AS total_energy_kwh, COUNT(*) AS total_sessions
       FROM raw GROUP BY charging_station_location, day_of_week, time_of_day""",
    "DROP TABLE IF EXISTS processed_cost_efficiency",
    """CREATE TABLE processed_cost_efficiency AS
       SELECT charger_type, AVG(charging_duration_hours) AS avg_duration_hr,
              AVG(cost_usd) AS avg_cost_usd, AVG(energy_consumed_kwh) AS avg_energy_kwh
       FROM raw GROUP BY charger_type""",
)


# --- the naive pipeline itself (runs in the subprocess) -------------------------------------


def _pipeline(url: str, csv: Path) -> dict[str, Any]:
    import pandas as pd
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS pipeline_metadata ("
                "dataset_name VARCHAR(64) PRIMARY KEY, last_loaded_start_time DATETIME NULL)"
            )
        )
        watermark = conn.execute(text("SELECT MAX(last_loaded_start_time) FROM pipeline_metadata"))
        last = watermark.scalar()
    t0 = time.perf_counter()
    df = pd.read_csv(csv, parse_dates=["Charging Start Time", "Charging End Time"])
    df = df.rename(columns=RENAME)
    read_s = time.perf_counter() - t0
    new = df if last is None else df[df["charging_start_time"] > pd.Timestamp(last)]
    t1 = time.perf_counter()
    if len(new):
        new.to_sql("raw", engine, if_exists="append", index=False, method="multi", chunksize=1000)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM pipeline_metadata"))
            conn.execute(
                text("INSERT INTO pipeline_metadata VALUES ('ev_sessions', :t)"),
                {"t": new["charging_start_time"].max().to_pydatetime()},
            )
    return {
        "rows_read": len(df),
        "rows_inserted": len(new),
        "read_s": read_s,
        "write_s": time.perf_counter() - t1,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.naive")
    p.add_argument("mode", choices=("load", "reread"))
    p.add_argument("url")
    p.add_argument("csv", type=Path)
    args = p.parse_args(argv)
    print(json.dumps(_pipeline(args.url, args.csv)))
    return 0


# --- orchestration (runs in the bench process) ----------------------------------------------


def measure(target: Target, csv: Path, limit_s: float, log_dir: Path) -> dict[str, Any]:
    db = target.fresh_database("naive")
    try:
        out: dict[str, Any] = {}
        for mode, key in (("load", "naive_load"), ("reread", "naive_reread")):
            m = run_measured(
                [sys.executable, "-m", "bench.naive", mode, target.url(db), str(csv)],
                env=target.env(db),
                log_dir=log_dir,
                name=f"naive-{mode}",
            ).check(f"naive {mode}")
            inner = json.loads(m.stdout.strip().splitlines()[-1])
            out[key] = {"seconds": m.seconds, "peak_rss_mb": m.peak_rss_mb, **inner}
        load = out["naive_load"]
        load["rows_per_s"] = load["rows_inserted"] / load["seconds"]
        out["naive_transform"] = summary(target, db, limit_s)
        return out
    finally:
        target.drop_database(db)


def summary(target: Target, db: str, limit_s: float) -> dict[str, Any]:
    """Run the naive summary SQL; KILL QUERY when it is still running after `limit_s`."""
    conn = target.connect(db)
    killer = target.connect()
    conn_id = conn.connection_id
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        with killer.cursor() as cur:
            cur.execute(f"KILL QUERY {int(conn_id)}")

    timer = threading.Timer(limit_s, kill)
    t0 = time.perf_counter()
    timer.start()
    finished = True
    try:
        with conn.cursor() as cur:
            for statement in SUMMARY:
                cur.execute(statement)
    except Exception:
        if not killed.is_set():
            raise
        finished = False
    finally:
        timer.cancel()
        seconds = time.perf_counter() - t0
        conn.close()
        killer.close()
    if killed.is_set():
        finished = False
    return {"seconds": seconds, "finished": finished, "limit_s": limit_s}


if __name__ == "__main__":
    raise SystemExit(main())
