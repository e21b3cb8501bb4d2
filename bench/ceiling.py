"""Step 1, the ceiling: a bare LOAD DATA LOCAL INFILE of the generated file into a table with
the same columns as raw_data but no key and no index (InnoDB's hidden row id only).

Also, for diagnosis only (no target uses it): the same load into a table with raw_data's
keys, an AUTO_INCREMENT id and a UNIQUE BINARY(16) session key computed by the server as
evpipe's load statement does, i.e. the price of exactly-once without any of evpipe's work.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.database import Target

COLUMNS = """
  user_id VARCHAR(64), vehicle_model VARCHAR(100), battery_capacity_kwh DOUBLE,
  charging_station_id VARCHAR(64), charging_station_location VARCHAR(100),
  charging_start_time DATETIME, charging_end_time DATETIME, energy_consumed_kwh DOUBLE,
  charging_duration_hours DOUBLE, charging_rate_kw DOUBLE, cost_usd DOUBLE,
  time_of_day VARCHAR(20), day_of_week VARCHAR(20), soc_start_pct DOUBLE, soc_end_pct DOUBLE,
  distance_since_last_charge_km DOUBLE, temperature_c DOUBLE, vehicle_age_years DOUBLE,
  charger_type VARCHAR(40), user_type VARCHAR(40)
"""
KEYS = """
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, session_key BINARY(16) NOT NULL,
  UNIQUE KEY uq_session_key (session_key),
"""
NAMES = ", ".join(
    line.split()[0] for line in COLUMNS.replace(",", "\n").split("\n") if line.strip()
)

LOAD = (
    "LOAD DATA LOCAL INFILE %s {ignore} INTO TABLE ceiling CHARACTER SET utf8mb4 "
    "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' "
    "IGNORE 1 LINES"
)
KEYED = (
    f" ({NAMES}) SET session_key = "
    "UNHEX(MD5(CONCAT_WS('|', user_id, charging_station_id, charging_start_time)))"
)


def _load(target: Target, db: str, csv: Path, runs: int, keyed: bool) -> list[float]:
    conn = target.connect(db)
    times = []
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_mode = ''")  # '' cells into DOUBLE: 0 with a warning
            for _ in range(runs):
                cur.execute("DROP TABLE IF EXISTS ceiling")
                columns = (KEYS if keyed else "") + COLUMNS
                cur.execute(f"CREATE TABLE ceiling ({columns}) ENGINE=InnoDB CHARSET=utf8mb4")
                statement = LOAD.format(ignore="IGNORE" if keyed else "") + (KEYED if keyed else "")
                t0 = time.perf_counter()
                cur.execute(statement, (str(csv),))
                times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return times


def measure(target: Target, csv: Path, runs: int = 2) -> dict[str, Any]:
    """Best of `runs` loads (each into a freshly created table); all times are kept."""
    db = target.fresh_database("ceiling")
    try:
        bare = _load(target, db, csv, runs, keyed=False)
        keyed = _load(target, db, csv, 1, keyed=True)
        conn = target.connect(db)
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM ceiling")
            rows = int(cur.fetchone()[0])
        conn.close()
    finally:
        target.drop_database(db)
    best = min(bare)
    return {
        "seconds": best,
        "runs_s": bare,
        "rows": rows,
        "rows_per_s": rows / best,
        "keyed_seconds": keyed[0],
    }
