"""Issue 2: SQL transforms - totals, derived calendar columns, incremental == full, atomic swap."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from evpipe.db import connect
from evpipe.transform import run_transforms
from tests import factory
from tests.conftest import fetch, one, run_cli

MARTS = ("processed_station_metrics", "processed_energy_demand", "processed_cost_efficiency")


def mart_snapshot(db) -> dict[str, list]:
    out = {}
    for table in (*MARTS, "processed_daily_rollup", "processed_dash_hourly", "processed_dash_load"):
        rows = fetch(db, f"SELECT * FROM {table}")
        out[table] = sorted(
            tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in rows
        )
    return out


def test_mart_totals_equal_raw_data_totals(settings, db, shared_csv):
    shutil.copy2(shared_csv, settings.input_dir / "s.csv")
    assert run_cli(settings, "run").returncode == 0
    raw_n, raw_e, raw_c = fetch(
        db, "SELECT COUNT(*), SUM(energy_consumed_kwh), SUM(cost_usd) FROM raw_data"
    )[0]
    assert one(db, "SELECT SUM(total_sessions) FROM processed_station_metrics") == raw_n
    assert one(db, "SELECT SUM(total_sessions) FROM processed_energy_demand") == raw_n
    assert one(db, "SELECT SUM(total_sessions) FROM processed_cost_efficiency") == raw_n
    assert one(db, "SELECT SUM(total_energy_kwh) FROM processed_energy_demand") == pytest.approx(
        raw_e
    )
    assert one(db, "SELECT SUM(total_cost_usd) FROM processed_station_metrics") == pytest.approx(
        raw_c
    )
    hours = " + ".join(f"h{h:02d}" for h in range(24))
    assert one(
        db, f"SELECT SUM({hours}) FROM processed_dash_load WHERE location <> '*' AND "
        "charger_type <> '*' AND user_type <> '*'",
    ) == pytest.approx(raw_e)  # fmt: skip
    # averages are sum/count over sessions, not averages of averages
    for charger, avg in fetch(
        db, "SELECT charger_type, avg_energy_kwh FROM processed_cost_efficiency"
    ):
        expected = one(
            db, "SELECT AVG(energy_consumed_kwh) FROM raw_data WHERE charger_type = %s", (charger,)
        )
        assert avg == pytest.approx(expected)
    assert not fetch(db, "SHOW TABLES LIKE '%%\\_\\_new'") and not fetch(
        db, "SHOW TABLES LIKE '%%\\_\\_old'"
    )


def test_calendar_columns_come_from_the_start_time(settings, db):
    start = dt.datetime(2024, 1, 3, 18, 30)  # a Wednesday evening
    factory.write(
        settings.input_dir / "a.csv",
        [factory.session(1, start, Day_of_Week="Monday", Time_of_Day="Morning")],
    )
    assert run_cli(settings, "run").returncode == 0
    assert fetch(
        db, "SELECT day_of_week, time_of_day, total_sessions FROM processed_energy_demand"
    ) == [("Wednesday", "Evening", 1)]


def test_station_metrics_most_common_charger_and_averages(settings, db):
    rows = [
        factory.session(
            i,
            Charging_Station_ID="S1",
            Charging_Station_Location="Houston",
            Charger_Type=ct,
            Energy_Consumed_kWh=str(e),
            Charging_Cost_USD=str(c),
        )
        for i, (ct, e, c) in enumerate([("Level 2", 10, 3), ("Level 2", 20, 5), ("Level 1", 30, 7)])
    ]
    factory.write(settings.input_dir / "a.csv", rows)
    assert run_cli(settings, "run").returncode == 0
    row = fetch(
        db,
        "SELECT total_sessions, avg_energy_kwh, avg_cost_usd, most_common_charger_type "
        "FROM processed_station_metrics WHERE station_id = 'S1'",
    )[0]
    assert row[0] == 3 and row[1] == pytest.approx(20.0) and row[2] == pytest.approx(5.0)
    assert row[3] == "Level 2"


def test_load_curve_spreads_energy_over_the_charging_interval(settings, db):
    start = dt.datetime(2024, 1, 1, 10, 30)
    row = factory.session(1, start, Energy_Consumed_kWh="30")  # 10:30 -> 12:00, 1.5 h
    factory.write(settings.input_dir / "a.csv", [row])
    assert run_cli(settings, "run").returncode == 0
    cols = ", ".join(f"h{h:02d}" for h in range(24))
    row = fetch(db, f"SELECT {cols} FROM processed_dash_load WHERE location = '*' AND "
                "charger_type = '*' AND user_type = '*'")[0]  # fmt: skip
    got = {h: round(e, 6) for h, e in enumerate(row) if e}
    assert got == {10: 10.0, 11: 20.0}


def test_incremental_transform_equals_full_rebuild(settings, db):
    path = settings.input_dir / "a.csv"
    factory.write(path, [factory.session(i) for i in range(400)])
    assert run_cli(settings, "run").returncode == 0
    late = factory.session(1000, dt.datetime(2023, 6, 1, 9))
    factory.append(path, [factory.session(i) for i in range(400, 420)] + [late])
    assert run_cli(settings, "run").returncode == 0
    conn = connect(settings)
    assert one(db, "SELECT rolled_up_to_id FROM transform_state") == one(
        db, "SELECT MAX(id) FROM raw_data"
    )
    incremental = mart_snapshot(db)
    assert one(db, "SELECT SUM(sessions) FROM processed_daily_rollup") == 421
    result = run_transforms(conn, full=True)
    assert result.mode == "full"
    assert mart_snapshot(db) == incremental
    conn.close()


def test_second_transform_with_nothing_new_is_a_no_op(settings, db):
    factory.write(settings.input_dir / "a.csv", [factory.session(i) for i in range(5)])
    assert run_cli(settings, "run").returncode == 0
    conn = connect(settings)
    assert run_transforms(conn).mode == "unchanged"
    conn.close()
