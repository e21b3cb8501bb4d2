"""Issue 10: real exports (tests/fixtures/exports, cut from public copies; SOURCE.md in each
folder) loaded through the real `evpipe run` against a real server.

Every expectation below was worked out by hand from the fixture rows: instants in local time and
UTC (daylight-saving nights included), energy in kWh, durations, idle time, session counts and
what is quarantined; then exactly once on re-run, re-delivery, overlap and growth.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from dashboard import data as D
from evpipe.detect import detect_profile
from evpipe.errors import FileRefused
from evpipe.profile import ProfileError, all_profiles, parse_profile
from tests.conftest import ROOT, fetch, one, run_cli

FIX = ROOT / "tests" / "fixtures" / "exports"
T = dt.datetime

# fixture -> (profile, rows read, rows stored, {rule: rows quarantined})
FILES: dict[str, tuple[str, int, int, dict[str, int]]] = {
    "chargepoint/palo_alto.csv": ("chargepoint", 23, 23, {}),
    "chargepoint/boulder_2021.csv": ("boulder_arcgis", 21, 21, {}),
    "boulder_legacy/boulder_2018.csv": ("boulder_legacy", 19, 16, {"missing_timestamp": 3}),
    "norway_trondheim/ev_charging_reports.csv": ("norway_residential", 25, 25, {}),
    "uk_council/perth_kinross_style.csv": (
        "uk_council", 12, 10, {"bad_timestamp": 1, "missing_timestamp": 1},
    ),
    "uk_council/dundee_style_12h.csv": ("uk_council", 6, 6, {}),
    "acn_data/acndata_sessions_caltech_2018.csv": ("acn_data", 21, 21, {}),
    "acn_data/acndata_sessions_caltech_2021_flattened.csv": ("acn_data", 21, 21, {}),
    "evcc/session-2023-10_en.csv": ("evcc", 13, 12, {"missing_timestamp": 1}),
    "evcc/session-2024-03_de.csv": ("evcc", 11, 11, {}),
    "steve_ocpp/transactions.csv": (
        "steve_ocpp", 17, 14, {"missing_timestamp": 2, "negative_value": 1},
    ),
}  # fmt: skip
ROW = (
    "charging_start_time, charging_end_time, start_utc, end_utc, time_zone, "
    "energy_consumed_kwh, charging_duration_hours, port_id, fee, currency, cost_usd, "
    "plug_out_known, charging_station_id, charging_station_location, user_id"
)


def put(settings: Any, *fixtures: str) -> list[Path]:
    """Copy fixtures into the input folder (names made unique: folder_file)."""
    out = []
    for name in fixtures:
        target = settings.input_dir / name.replace("/", "_")
        shutil.copy2(FIX / name, target)
        out.append(target)
    return out


def run_ok(settings: Any, *args: str, **env: str) -> Any:
    res = run_cli(settings, "run", "--no-progress", *args, **env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    return res


def row(db: Any, where: str, *params: Any) -> dict[str, Any]:
    with db.cursor(dictionary=True) as cur:
        cur.execute(f"SELECT {ROW} FROM raw_data WHERE {where}", params)
        rows = cur.fetchall()
    assert len(rows) == 1, (where, params, rows)
    return rows[0]


def idle(db: Any, where: str, *params: Any) -> float | None:
    got = fetch(db, f"SELECT idle_hours FROM sessions WHERE {where}", params)
    assert len(got) == 1
    return None if got[0][0] is None else float(got[0][0])


def last_run(db: Any) -> dict[str, Any]:
    with db.cursor(dictionary=True) as cur:
        cur.execute("SELECT * FROM pipeline_runs ORDER BY run_id DESC LIMIT 1")
        return dict(cur.fetchone())


def quarantined(db: Any) -> dict[str, int]:
    return {r: int(n) for r, n in fetch(db, "SELECT rule, COUNT(*) FROM rejected_rows GROUP BY 1")}


def hours(h: int = 0, m: int = 0, s: int = 0) -> float:
    return h + m / 60 + s / 3600


# --- one format at a time, by hand ---------------------------------------------------------------


def test_chargepoint_palo_alto_zone_abbreviations_idle_time_and_ports(settings, db):
    put(settings, "chargepoint/palo_alto.csv")
    run_ok(settings)
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 23
    r = row(
        db, "charging_station_id = %s AND source_session_id = '3'", "PALO ALTO CA / HAMILTON #1"
    )
    assert (r["charging_start_time"], r["charging_end_time"]) == (
        T(2011, 7, 29, 20, 17), T(2011, 7, 29, 23, 20),
    )  # fmt: skip
    assert (r["start_utc"], r["end_utc"]) == (T(2011, 7, 30, 3, 17), T(2011, 7, 30, 6, 20))  # PDT
    assert r["time_zone"] == "America/Los_Angeles" and r["port_id"] == "2"
    assert r["energy_consumed_kwh"] == pytest.approx(6.249457)
    assert r["charging_duration_hours"] == pytest.approx(hours(1, 54, 3))
    assert (r["fee"], r["currency"], r["cost_usd"]) == (0.0, "USD", 0.0)
    # plugged 20:17-23:20 = 3.05 h, charging 1:54:03
    assert idle(db, "source_session_id = '3' AND station_id LIKE %s", "%HAMILTON #1") == (
        pytest.approx(3.05 - hours(1, 54, 3))
    )
    # the night clocks went forward: plugged in 00:52 PST, out "2:57 PDT" = 01:57 PST: 65 min
    r = row(db, "source_session_id = '2422'")
    assert (r["start_utc"], r["end_utc"]) == (T(2013, 3, 10, 8, 52), T(2013, 3, 10, 9, 57))
    assert (r["charging_start_time"], r["charging_end_time"]) == (
        T(2013, 3, 10, 0, 52), T(2013, 3, 10, 1, 57),
    )  # fmt: skip
    assert idle(db, "source_session_id = '2422'") == pytest.approx(hours(1, 5) - hours(1, 4, 39))
    # no currency in the row: the fee is kept, but it is not a USD cost
    r = row(db, "source_session_id = '8' AND charging_station_id LIKE %s", "%HAMILTON #1")
    assert (r["fee"], r["currency"], r["cost_usd"]) == (0.0, None, None)
    # plug-in event ids count per station: both #1 and #2 have id 8, two sessions
    assert one(db, "SELECT COUNT(*) FROM raw_data WHERE source_session_id = '8'") == 2
    # one station, two ports
    assert fetch(
        db,
        "SELECT port_id, COUNT(*) FROM raw_data WHERE charging_station_id LIKE %s GROUP BY 1 "
        "ORDER BY 1",
        ("%HIGH #4",),
    ) == [("1", 1), ("2", 1)]


def test_boulder_arcgis_writes_utc_and_its_older_export_local_time(settings, db):
    put(settings, "boulder_legacy/boulder_2018.csv", "chargepoint/boulder_2021.csv")
    res = run_ok(settings)
    # The same session, JUNCTION ST1, in both exports: the older one says 17:49 local
    # (Transaction_Date 2018/01/01 + 17:49), the newer one 2018/01/02 00:49 labelled MST but UTC.
    r = row(db, "charging_station_id = 'BOULDER / JUNCTION ST1' AND start_utc = %s",
            T(2018, 1, 2, 0, 49))  # fmt: skip
    assert r["charging_start_time"] == T(2018, 1, 1, 17, 49)
    assert r["time_zone"] == "America/Denver"
    # boulder_2018.csv is read first: its copy wins; it has no plug-out (end = start + 123 min)
    assert (r["plug_out_known"], r["charging_end_time"]) == (0, T(2018, 1, 1, 19, 52))
    assert r["energy_consumed_kwh"] == 6.5
    assert idle(db, "station_id = 'BOULDER / JUNCTION ST1' AND plug_in_utc = %s",
                T(2018, 1, 2, 0, 49)) is None  # fmt: skip
    # three sessions are in both exports (JUNCTION ST1, 1-2 January): stored once
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 16 + 21 - 3
    assert last_run(db)["rows_already_present"] == 3
    assert "3 already present" in res.stderr
    # ObjectId 7 (newer export only): plugged 95 h over a weekend, charging 2:14:10
    r = row(db, "source_session_id = '7'")
    assert (r["start_utc"], r["charging_start_time"]) == (
        T(2018, 1, 4, 16, 29), T(2018, 1, 4, 9, 29),
    )  # fmt: skip
    assert idle(db, "source_session_id = '7'") == pytest.approx(
        (T(2018, 1, 8, 15, 35) - T(2018, 1, 4, 16, 29)).total_seconds() / 3600 - hours(2, 14, 10)
    )
    # a missing duration is a padded dash: the end cannot be derived, the row is quarantined
    assert quarantined(db) == {"missing_timestamp": 3}
    msg = one(db, "SELECT message FROM rejected_rows WHERE line_number = 4")
    assert "charging_duration_hours is missing" in msg


def test_norway_semicolons_decimal_commas_and_clock_changes(settings, db):
    put(settings, "norway_trondheim/ev_charging_reports.csv")
    run_ok(settings)
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 25 and quarantined(db) == {}
    r = row(db, "source_session_id = '1'")
    assert r["energy_consumed_kwh"] == pytest.approx(0.3)  # "0,3"
    assert (r["charging_station_id"], r["charging_station_location"], r["user_id"]) == (
        None, "AdO3", "AdO3-4",
    )  # fmt: skip
    assert (r["start_utc"], r["time_zone"]) == (T(2018, 12, 21, 9, 20), "Europe/Oslo")  # CET
    # 30 March 14:51 -> 31 March 16:51 across the spring change: 25 h, not 26
    r = row(db, "source_session_id = '539'")
    assert (r["start_utc"], r["end_utc"]) == (T(2019, 3, 30, 13, 51), T(2019, 3, 31, 14, 51))
    assert one(db, "SELECT plugged_hours FROM sessions WHERE source_session_id = '539'") == 25
    # 26 Oct 18:43 CEST -> 27 Oct 12:08 CET across the autumn change: 18 h 25 min
    r = row(db, "source_session_id = '3209'")
    assert (r["start_utc"], r["end_utc"]) == (T(2019, 10, 26, 16, 43), T(2019, 10, 27, 11, 8))
    # plugged in for eight days in a home garage (within the profile's 720 h)
    r = row(db, "source_session_id = '69'")
    assert r["charging_end_time"] == T(2019, 1, 29, 11, 31)
    # no charging time in this export: idle time is not in this data
    assert one(db, "SELECT COUNT(idle_hours) FROM sessions") == 0


def test_uk_council_date_and_time_columns_12_hour_clock_and_clock_changes(settings, db):
    put(settings, "uk_council/perth_kinross_style.csv", "uk_council/dundee_style_12h.csv")
    run_ok(settings)
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 16
    assert quarantined(db) == {"bad_timestamp": 1, "missing_timestamp": 1}
    # 01:30 on 25 March 2018 never happened in the UK: never guessed
    msg = one(db, "SELECT message FROM rejected_rows WHERE rule = 'bad_timestamp'")
    assert "does not exist in Europe/London" in msg
    # 00:52 GMT -> 03:10 BST: 1 h 18 min
    r = row(db, "charging_station_id = '50241' AND charging_start_time = %s",
            T(2018, 3, 25, 0, 52))  # fmt: skip
    assert (r["start_utc"], r["end_utc"], r["port_id"]) == (
        T(2018, 3, 25, 0, 52), T(2018, 3, 25, 2, 10), "1",
    )  # fmt: skip
    # 28 October: 01:35 and 01:20 happened twice; the first (BST) is taken and counted
    r = row(db, "charging_station_id = '50263' AND port_id = '1' AND charging_start_time = %s",
            T(2018, 10, 28, 0, 40))  # fmt: skip
    assert r["end_utc"] == T(2018, 10, 28, 0, 35)
    warnings = json.loads(last_run(db)["warnings_json"])
    assert warnings["ambiguous_local_time"] == 2
    # 12-hour clock: 11:49 PM -> 12:21 AM the next day; 12:00 PM is noon; 12:05 AM past midnight
    r = row(db, "charging_station_id = '51502' AND charging_start_time = %s",
            T(2018, 1, 5, 23, 49))  # fmt: skip
    assert r["charging_end_time"] == T(2018, 1, 6, 0, 21)
    assert one(db, "SELECT COUNT(*) FROM raw_data WHERE charging_start_time = %s",
               (T(2018, 1, 6, 12, 0),)) == 1  # fmt: skip
    assert one(db, "SELECT COUNT(*) FROM raw_data WHERE charging_start_time = %s",
               (T(2018, 1, 13, 0, 5),)) == 1  # fmt: skip
    # charge point 50239 has three connectors: ports
    assert fetch(
        db, "SELECT DISTINCT port_id FROM raw_data WHERE charging_station_id = '50239' ORDER BY 1"
    ) == [("1",), ("2",), ("3",)]


def test_acn_data_gmt_timestamps_site_zone_and_charging_done_time(settings, db):
    put(settings, "acn_data/acndata_sessions_caltech_2018.csv",
        "acn_data/acndata_sessions_caltech_2021_flattened.csv")  # fmt: skip
    run_ok(settings)
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 42
    r = row(db, "source_session_id = %s", "2_39_78_362_2018-04-25 11:08:04.400812")
    assert (r["start_utc"], r["end_utc"]) == (T(2018, 4, 25, 11, 8, 4), T(2018, 4, 25, 13, 20, 10))
    assert (r["charging_start_time"], r["charging_end_time"]) == (
        T(2018, 4, 25, 4, 8, 4),
        T(2018, 4, 25, 6, 20, 10),
    )  # fmt: skip  (PDT)
    assert r["charging_station_location"] == "Caltech"  # siteID 0002
    assert (r["port_id"], r["energy_consumed_kwh"]) == ("CA-496", 7.932)
    # done 13:21:10: charging 2:13:06, a minute past the disconnect: idle 0, not negative
    assert r["charging_duration_hours"] == pytest.approx(hours(2, 13, 6))
    assert idle(db, "source_session_id = %s", "2_39_78_362_2018-04-25 11:08:04.400812") == 0
    # across the spring change: Sat 10:40:04 PST -> Sun 15:11:57 PDT, charging until 13:48:33
    r = row(db, "source_session_id = %s", "2_39_91_437_2021-03-13 18:39:55.123542")
    assert (r["charging_start_time"], r["charging_end_time"]) == (
        T(2021, 3, 13, 10, 40, 4), T(2021, 3, 14, 15, 11, 57),
    )  # fmt: skip
    plugged = (T(2021, 3, 14, 22, 11, 57) - T(2021, 3, 13, 18, 40, 4)).total_seconds() / 3600
    assert r["charging_duration_hours"] == pytest.approx(hours(3, 8, 29))
    done = fetch(
        db,
        "SELECT charging_end_local, charging_end_utc FROM sessions WHERE source_session_id = %s",
        ("2_39_91_437_2021-03-13 18:39:55.123542",),
    )
    assert done == [(T(2021, 3, 13, 13, 48, 33), T(2021, 3, 13, 21, 48, 33))]  # doneChargingTime
    assert idle(db, "source_session_id = %s", "2_39_91_437_2021-03-13 18:39:55.123542") == (
        pytest.approx(plugged - hours(3, 8, 29))
    )
    # siteID written 0002 and 2: one location
    assert fetch(db, "SELECT DISTINCT charging_station_location FROM raw_data") == [("Caltech",)]
    # no doneChargingTime: no charging time, so no idle time (not 0)
    assert one(db, "SELECT COUNT(*) FROM sessions WHERE charging_hours IS NULL") >= 1
    assert one(db, "SELECT COUNT(*) FROM sessions WHERE charging_hours IS NULL "
               "AND idle_hours IS NOT NULL") == 0  # fmt: skip


def test_evcc_english_and_german_go_durations_and_a_zone_from_the_user(settings, db):
    put(settings, "evcc/session-2023-10_en.csv", "evcc/session-2024-03_de.csv")
    run_ok(settings)
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 23
    # no zone in the file: local time as written, UTC unknown (never guessed)
    r = row(db, "charging_station_id = 'Carport' AND charging_start_time = %s",
            T(2023, 10, 30, 7, 58, 31))  # fmt: skip
    assert (r["start_utc"], r["time_zone"]) == (None, None)
    assert r["charging_duration_hours"] == pytest.approx(hours(3, 4, 51))  # "3h4m51s"
    # a price in a currency the file does not name: kept as a fee, not a USD cost
    assert (r["fee"], r["currency"], r["cost_usd"]) == (0.909, None, None)
    # German: semicolons and decimal commas; "14,556" kWh, "2h45m9s"
    r = row(db, "charging_station_id = 'Wallbox' AND charging_start_time = %s",
            T(2024, 3, 31, 17, 12, 40))  # fmt: skip
    assert r["energy_consumed_kwh"] == pytest.approx(14.556)
    assert r["charging_duration_hours"] == pytest.approx(hours(2, 45, 9))
    # a session still in progress (no Finished) waits for an export that has its end
    msg = one(db, "SELECT message FROM rejected_rows")
    assert "still in progress" in msg


def test_evcc_with_evpipe_timezone_places_the_autumn_night(settings, db):
    put(settings, "evcc/session-2023-10_en.csv")
    run_ok(settings, EVPIPE_TIMEZONE="Europe/Berlin")
    # 23:50:02 CEST -> 02:31:07 in the repeated hour: the first (CEST) one, counted
    r = row(db, "charging_start_time = %s", T(2023, 10, 28, 23, 50, 2))
    assert (r["start_utc"], r["end_utc"], r["time_zone"]) == (
        T(2023, 10, 28, 21, 50, 2), T(2023, 10, 29, 0, 31, 7), "Europe/Berlin",
    )  # fmt: skip
    assert json.loads(last_run(db)["warnings_json"])["ambiguous_local_time"] == 1
    # 21:05:33 CEST -> 07:12:48 CET: plugged 11 h 7 min 15 s (the clock says 10 h 7 min)
    plugged = one(db, "SELECT plugged_hours FROM sessions WHERE plug_in_local = %s",
                  (T(2023, 10, 28, 21, 5, 33),))  # fmt: skip
    assert float(plugged) == pytest.approx(hours(11, 7, 15))


def test_steve_ocpp_meter_readings_in_wh_and_utc(settings, db):
    put(settings, "steve_ocpp/transactions.csv")
    run_ok(settings)
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 14
    assert quarantined(db) == {"missing_timestamp": 2, "negative_value": 1}
    r = row(db, "source_session_id = '1189'")
    assert r["energy_consumed_kwh"] == pytest.approx((2231530 - 2210884) / 1000)  # Wh -> kWh
    assert (r["start_utc"], r["end_utc"]) == (T(2024, 4, 1, 16, 22, 5), T(2024, 4, 1, 18, 40, 12))
    # UTC with no zone: local time is UTC, and the row says so
    assert (r["charging_start_time"], r["time_zone"]) == (T(2024, 4, 1, 16, 22, 5), "+00:00")
    assert (r["charging_station_id"], r["port_id"], r["user_id"]) == (
        "CP-ABB-0001", "2", "0457B3E2C41F90",
    )  # fmt: skip
    # a meter reset (stop below start) is not a negative session
    msg = one(db, "SELECT message FROM rejected_rows WHERE rule = 'negative_value'")
    assert "1260 - 452877" in msg


def test_steve_ocpp_local_time_from_evpipe_timezone(settings, db):
    put(settings, "steve_ocpp/transactions.csv")
    run_ok(settings, EVPIPE_TIMEZONE="Europe/Berlin")
    # 00:05:44Z = 01:05 CET; 04:31:02Z = 06:31 CEST (clocks went forward at 01:00Z)
    r = row(db, "source_session_id = '1187'")
    assert (r["charging_start_time"], r["charging_end_time"], r["time_zone"]) == (
        T(2024, 3, 31, 1, 5, 44), T(2024, 3, 31, 6, 31, 2), "Europe/Berlin",
    )  # fmt: skip


# --- every format: counts, exactly once, growth ---------------------------------------------------


@pytest.mark.parametrize("name", list(FILES))
def test_every_export_loads_exactly_once_and_grows_from_its_tail(settings, db, name):
    profile, read, stored, rules = FILES[name]
    src = FIX / name
    path = settings.input_dir / src.name
    lines = src.read_bytes().splitlines(keepends=True)
    half = 1 + (len(lines) - 1) // 2
    path.write_bytes(b"".join(lines[:half]))
    run_ok(settings)
    first = last_run(db)["rows_read"]
    assert first == half - 1
    path.write_bytes(b"".join(lines))  # the export grew: only its tail is read
    run_ok(settings)
    run = last_run(db)
    assert (run["rows_read"], run["rows_quarantined"] + run["rows_inserted"]) == (
        read - first, run["rows_read"],
    )  # fmt: skip
    assert one(db, "SELECT COUNT(*) FROM raw_data") == stored
    assert one(db, "SELECT COUNT(DISTINCT session_key) FROM raw_data") == stored
    assert quarantined(db) == rules
    assert one(db, "SELECT profile FROM ingested_files") == profile
    assert one(db, "SELECT COUNT(*) FROM sessions WHERE source_format = %s", (profile,)) == stored
    # re-run: nothing read; re-delivered under another name: a duplicate; an overlapping
    # export (the second half again): every session already present
    run_ok(settings)
    assert last_run(db)["rows_read"] == 0
    shutil.copy2(path, settings.input_dir / f"copy-{src.name}")
    (settings.input_dir / f"overlap-{src.name}").write_bytes(lines[0] + b"".join(lines[half:]))
    run_ok(settings)
    assert one(db, "SELECT COUNT(*) FROM raw_data") == stored
    assert quarantined(db) == rules  # a bad row is quarantined once, however often delivered
    assert one(db, "SELECT status FROM ingested_files WHERE file_path LIKE 'copy-%%'") == (
        "duplicate"
    )
    # the marts count what raw_data holds
    assert one(db, "SELECT SUM(sessions) FROM processed_daily_rollup") == stored
    assert one(db, "SELECT SUM(total_sessions) FROM processed_station_metrics") == stored


def test_mixed_folder_every_format_in_one_run(settings, db):
    """All formats plus the original one in one folder: one run; marts add up; what a format
    lacks is "not in this data" in the dashboard's numbers."""
    put(settings, *FILES)
    shutil.copy2(ROOT / "data" / "incoming" / "sample_sessions.csv", settings.input_dir)
    res = run_ok(settings)
    run = last_run(db)
    assert (run["status"], run["files_loaded"], run["files_failed"]) == (
        "success", len(FILES) + 1, 0,
    )  # fmt: skip
    profiles = dict(fetch(db, "SELECT file_path, profile FROM ingested_files"))
    assert profiles["sample_sessions.csv"] == "ev_charging_patterns"
    for name, (profile, *_rest) in FILES.items():
        assert profiles[name.replace("/", "_")] == profile, name
    for p in {v[0] for v in FILES.values()}:
        assert f"profile {p}" in res.stderr
    raw = one(db, "SELECT COUNT(*) FROM raw_data")
    assert (
        raw
        == 3000
        - one(db, "SELECT COUNT(*) FROM rejected_rows WHERE source_file = 'sample_sessions.csv'")
        + sum(v[2] for v in FILES.values())
        - 3
    )
    assert one(db, "SELECT SUM(sessions) FROM processed_daily_rollup") == raw
    assert one(db, "SELECT SUM(total_sessions) FROM processed_energy_demand") == raw
    # revenue counts USD fees only; cost per kWh divides by their sessions' energy only
    usd, usd_energy = fetch(
        db, "SELECT SUM(cost_usd), SUM(IF(cost_usd IS NULL, NULL, energy_consumed_kwh)) "
        "FROM raw_data",
    )[0]  # fmt: skip
    conn = D.connect(settings)
    try:
        opts = D.fetch_options(conn)
        k = D.kpis(D.fetch_segments(conn, D.Filters(), opts))
        assert k["sessions"] == raw
        assert k["revenue_usd"] == pytest.approx(float(usd))
        assert k["cost_per_kwh"] == pytest.approx(float(usd) / float(usd_energy))
        # data without fees: revenue is not in this data (None), never 0
        norway = D.Filters(locations=("AdO1", "AdO3", "Bl2"))
        assert D.kpis(D.fetch_segments(conn, norway, opts))["revenue_usd"] is None
        # stations: idle time per port where the export has plug-out and charging time
        st = D.fetch_stations(conn, D.Filters(), opts)
        high4 = st[st["station_id"] == "PALO ALTO CA / HIGH #4"].set_index("port_id")
        assert high4.loc["1", "avg_idle_hours"] == pytest.approx(hours(0, 34) - hours(0, 32, 54))
        assert high4.loc["2", "avg_idle_hours"] == pytest.approx(hours(3, 29) - hours(3, 28, 42))
        trondheim = st[st["location"] == "AdO3"]
        assert len(trondheim) and trondheim["idle_share"].isna().all()
        assert trondheim["revenue_usd"].isna().all()
        # hour-of-day is local time: the Palo Alto 20:17 PDT plug-in counts at 20h on a Friday
        heat = D.fetch_heatmap(conn, D.Filters(start=dt.date(2011, 7, 29),
                                               end=dt.date(2011, 7, 29)), opts)  # fmt: skip
        friday = heat[(heat["day_of_week"] == 4) & (heat["sessions"] > 0)]
        assert list(friday["hour"]) == [20]
    finally:
        conn.close()


# --- detection ----------------------------------------------------------------------------------


def test_a_file_no_profile_matches_is_refused_naming_the_closest(settings, db):
    put(settings, "steve_ocpp/transactions.csv")
    text = (FIX / "chargepoint/palo_alto.csv").read_text(encoding="utf-8")
    (settings.input_dir / "renamed.csv").write_text(
        text.replace("Plug In Event Id", "Event").replace("Start Date", "Begin"), encoding="utf-8"
    )
    res = run_cli(settings, "run", "--no-progress")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    line = res.stderr.strip().splitlines()[-1]
    assert "renamed.csv: line 1: no export profile matches this header" in line
    assert "closest: chargepoint (required column(s) missing: Plug In Event Id, Start Date)" in line
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 14  # the other file loaded
    assert one(db, "SELECT status FROM ingested_files WHERE file_path = 'renamed.csv'") == (
        "refused"
    )


def test_forcing_a_profile(settings, db):
    put(settings, "chargepoint/palo_alto.csv")
    res = run_cli(settings, "run", "--no-progress", EVPIPE_PROFILE="uk_council")
    assert res.returncode == 1
    assert "required column(s) missing: CP ID" in res.stderr
    assert "chosen by EVPIPE_PROFILE" in res.stderr
    res = run_cli(settings, "run", "--no-progress", "--profile", "chargepoint")
    assert res.returncode == 0, res.stderr[-2000:]
    assert one(db, "SELECT COUNT(*) FROM raw_data") == 23
    res = run_cli(settings, "run", EVPIPE_PROFILE="nonsense")
    assert res.returncode == 2 and "EVPIPE_PROFILE must be one of" in res.stderr
    res = run_cli(settings, "run", EVPIPE_TIMEZONE="Mars/Olympus")
    assert res.returncode == 2 and "EVPIPE_TIMEZONE must be an IANA time zone" in res.stderr


def test_two_profiles_matching_equally_refuse_the_file():
    head = b"Station,Begin,Finish,kWh\n"
    twins = tuple(
        parse_profile(
            f"""
name = "{n}"
[key]
fields = ["charging_station_id", "charging_start_time"]
[fields]
charging_station_id = {{ column = "Station", required = true }}
charging_start_time = {{ column = "Begin", required = true }}
charging_end_time = {{ column = "Finish", required = true }}
energy_consumed_kwh = "kWh"
"""
        )
        for n in ("one", "two")
    )
    with pytest.raises(FileRefused, match="matches profiles one and two equally well"):
        detect_profile(head, "x.csv", profiles=twins)
    assert detect_profile(head, "x.csv", forced="two", profiles=twins).profile.name == "two"


GOOD = """
[key]
fields = ["charging_station_id", "charging_start_time"]
[fields]
charging_station_id = { column = "Station", required = true }
charging_start_time = { column = "Begin", required = true }
charging_end_time = { column = "Finish", required = true }
"""


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('name = "p"\n[key]\nfields = ["user_id"]\n[fields]\nuser_id = "U"',
         "field charging_start_time must be mapped and required"),
        ('name = "p"\n[fields]\ncharging_start_time = { column = "S", required = true }\n'
         'charging_end_time = { column = "E", required = true }', "key.fields must list"),
        ('name = "p"\n[fields]\nbattery = "B"', "field battery: not a canonical field"),
        ('name = "p"\n[fields]\nenergy_consumed_kwh = { column = "E", unit = "joules" }',
         "unit 'joules' unknown (one of kwh, wh, mwh)"),
        ('name = "p"\n[time]\nzone = "Europe/Nowhere"\n' + GOOD,
         "time.zone 'Europe/Nowhere' is not an IANA time zone"),
        ('name = "p"\n[csv]\ndelimiter = ","\ndecimal = ","' + GOOD,
         "the decimal mark cannot be the delimiter"),
        ('name = "p"\n' + GOOD.replace('required = true }\ncharging_end', 'format = "%d/%m",'
         ' offset = "Mars" }\ncharging_end'), "offset must be a UTC offset"),
    ],
)  # fmt: skip
def test_a_broken_profile_file_says_what_is_wrong(text, error):
    with pytest.raises(ProfileError, match=re.escape(error)):
        parse_profile(text, "test.toml")
    assert parse_profile('name = "p"\n' + GOOD).name == "p"


def test_every_shipped_profile_has_a_fixture_that_it_reads():
    shipped = {p.name for p in all_profiles()}
    assert shipped - {"ev_charging_patterns"} == {v[0] for v in FILES.values()}


def test_profiles_and_inspect_commands(settings, tmp_path):
    res = run_cli(settings, "profiles", cwd=tmp_path)
    assert res.returncode == 0
    for p in all_profiles():
        assert f"{p.name}: {p.title}" in res.stdout
    res = run_cli(settings, "inspect", str(FIX / "norway_trondheim/ev_charging_reports.csv"),
                  "--rows", "1", cwd=tmp_path, DB_HOST="")  # no database needed  # fmt: skip
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "profile:   norway_residential" in out and "semicolon-separated" in out
    assert "charging_start_time          <- 'Start_plugin'  [%d.%m.%Y %H:%M]" in out
    assert "start_utc                      2018-12-21 09:20:00" in out
    assert "time_zone                      Europe/Oslo" in out
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    res = run_cli(settings, "inspect", str(unknown), cwd=tmp_path)
    assert res.returncode == 1 and "REFUSED:   unknown.csv: line 1: no export profile" in res.stdout
