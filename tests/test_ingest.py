"""Issue 2: exactly-once incremental ingest, validation with quarantine, run records."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil

from tests import factory
from tests.conftest import fetch, one, run_cli


def counts(db) -> tuple[int, int]:
    return one(db, "SELECT COUNT(*) FROM raw_data"), one(db, "SELECT COUNT(*) FROM rejected_rows")


def last_run(db) -> dict:
    with db.cursor(dictionary=True) as cur:
        cur.execute("SELECT * FROM pipeline_runs ORDER BY run_id DESC LIMIT 1")
        return cur.fetchone()


def test_shared_dataset_accounted_then_rerun_and_copy_load_nothing(settings, db, shared_csv):
    shutil.copy2(shared_csv, settings.input_dir / "sessions.csv")
    res = run_cli(settings, "run")
    assert res.returncode == 0, res.stderr
    raw, rejected = counts(db)
    assert raw + rejected == 1320
    assert rejected > 0  # the dataset has SoC above 100 %
    assert one(db, "SELECT COUNT(*) FROM rejected_rows WHERE rule = 'out_of_range'") == rejected
    run = last_run(db)
    assert (run["status"], run["rows_read"], run["rows_inserted"], run["rows_quarantined"]) == (
        "success",
        1320,
        raw,
        rejected,
    )
    warnings = json.loads(run["warnings_json"])
    assert warnings["day_of_week_mismatch"] > 0 and warnings["missing_energy"] > 0

    assert run_cli(settings, "run").returncode == 0
    assert counts(db) == (raw, rejected)
    assert last_run(db)["rows_read"] == 0

    shutil.copy2(shared_csv, settings.input_dir / "sessions-copy.csv")
    assert run_cli(settings, "run").returncode == 0
    assert counts(db) == (raw, rejected)
    status = fetch(
        db, "SELECT status, message FROM ingested_files WHERE file_path = 'sessions-copy.csv'"
    )
    assert status == [("duplicate", "same content as sessions.csv")]


def test_overlapping_exports_and_repeated_rows_store_each_session_once(settings, db):
    rows = [factory.session(i) for i in range(10)]
    factory.write(settings.input_dir / "a.csv", [*rows[:6], rows[2]])  # row 2 repeated inside a.csv
    factory.write(settings.input_dir / "b.csv", rows[4:])  # overlaps a.csv on 4 and 5
    assert run_cli(settings, "ingest").returncode == 0
    assert counts(db) == (10, 0)
    assert one(db, "SELECT COUNT(DISTINCT session_key) FROM raw_data") == 10
    run = last_run(db)
    assert (run["rows_read"], run["rows_inserted"], run["rows_already_present"]) == (13, 10, 3)
    # lineage: the first delivery wins and is recorded
    assert fetch(db, "SELECT source_file, source_line FROM raw_data WHERE user_id = 'User_4'") == [
        ("a.csv", 6)
    ]


def test_late_rows_and_rows_tied_with_the_watermark_load(settings, db):
    base = dt.datetime(2024, 3, 1, 12, 0)
    factory.write(settings.input_dir / "first.csv", [factory.session(1, base)])
    assert run_cli(settings, "ingest").returncode == 0
    assert one(db, "SELECT last_loaded_start_time FROM pipeline_metadata") == base
    tied = factory.session(2, base)  # another user at exactly the watermark
    late = factory.session(3, base - dt.timedelta(days=30))
    factory.write(settings.input_dir / "second.csv", [tied, late])
    assert run_cli(settings, "ingest").returncode == 0
    assert counts(db) == (3, 0)
    assert one(db, "SELECT last_loaded_start_time FROM pipeline_metadata") == base


def test_appended_rows_are_read_alone_and_changed_files_reconciled(settings, db):
    path = settings.input_dir / "grow.csv"
    factory.write(path, [factory.session(i) for i in range(200)])
    assert run_cli(settings, "ingest").returncode == 0
    factory.append(path, [factory.session(i) for i in range(200, 250)])
    assert run_cli(settings, "ingest").returncode == 0
    run = last_run(db)
    assert (run["rows_read"], run["rows_inserted"]) == (50, 50)
    assert counts(db) == (250, 0)
    assert fetch(
        db,
        "SELECT MIN(source_line), MAX(source_line) FROM raw_data WHERE run_id = %s",
        (run["run_id"],),
    ) == [(202, 251)]
    # unchanged: nothing read
    assert run_cli(settings, "ingest").returncode == 0
    assert last_run(db)["rows_read"] == 0 and last_run(db)["files_skipped"] == 1
    # rewritten (first row edited, 5 new rows): re-read whole, only the new sessions stored
    rows = [factory.session(i) for i in range(255)]
    rows[0]["Charging Cost (USD)"] = "99.99"
    factory.write(path, rows)
    assert run_cli(settings, "ingest").returncode == 0
    run = last_run(db)
    assert (run["rows_read"], run["rows_inserted"], run["rows_already_present"]) == (255, 5, 250)
    assert counts(db) == (255, 0)


def test_reject_rules_quarantine_once_with_file_line_and_reason(settings, db):
    good = [factory.session(i) for i in range(3)]
    bad = [
        factory.session(10, Charging_End_Time="2023-12-31 00:00:00"),  # end before start
        factory.session(11, Charging_Station_ID=""),
        factory.session(12, Charging_Cost_USD="n/a"),
        factory.session(13, Energy_Consumed_kWh="-5"),
        factory.session(14, State_of_Charge_End="140"),
        factory.session(15, Charging_Rate_kW="inf"),
        factory.session(16, Charging_Start_Time="yesterday"),
        factory.session(17, Charging_Start_Time=""),
        factory.session(18, Temperature_C="NaN"),
    ]
    factory.write(settings.input_dir / "mixed.csv", good + bad)
    res = run_cli(settings, "ingest")
    assert res.returncode == 0, res.stderr
    got = dict(fetch(db, "SELECT line_number, rule FROM rejected_rows"))
    assert got == {
        5: "end_before_start",
        6: "missing_key",
        7: "non_numeric",
        8: "negative_value",
        9: "out_of_range",
        10: "non_finite",
        11: "bad_timestamp",
        12: "missing_timestamp",
        13: "non_finite",
    }
    msg = one(db, "SELECT message FROM rejected_rows WHERE line_number = 7")
    assert "cost_usd='n/a' is not a number" in msg
    raw = one(db, "SELECT raw_line FROM rejected_rows WHERE line_number = 7")
    assert raw.startswith("User_12,") and "n/a" in raw
    assert one(db, "SELECT COUNT(DISTINCT source_file) FROM rejected_rows") == 1
    assert counts(db) == (3, 9)
    # the same bad rows delivered again under another name are not quarantined twice
    shutil.copy(settings.input_dir / "mixed.csv", settings.input_dir / "mixed-again.csv")
    with (settings.input_dir / "mixed-again.csv").open("a") as f:
        f.write(factory.csv_text([factory.session(99)]).split("\n", 1)[1])
    assert run_cli(settings, "ingest").returncode == 0
    assert counts(db) == (4, 9)
    assert last_run(db)["rows_quarantined"] == 0


def test_warn_rules_keep_the_row_and_count(settings, db):
    rows = [
        factory.session(1, Energy_Consumed_kWh=""),
        factory.session(2, Charging_Rate_kW=""),
        factory.session(3, Charging_Duration_hours="5.0"),
        factory.session(
            4,
            Day_of_Week="Sunday"
            if dt.datetime(2024, 1, 1, 4).strftime("%A") != "Sunday"
            else "Monday",
        ),
        factory.session(5, Time_of_Day="Evening"),  # 05:00 is Morning
        factory.session(6, Energy_Consumed_kWh="90", Battery_Capacity_kWh="60"),
    ]
    factory.write(settings.input_dir / "warn.csv", rows)
    assert run_cli(settings, "ingest").returncode == 0
    assert counts(db) == (6, 0)
    warnings = json.loads(last_run(db)["warnings_json"])
    for rule in (
        "missing_energy",
        "missing_rate",
        "duration_mismatch",
        "day_of_week_mismatch",
        "time_of_day_mismatch",
        "energy_above_capacity",
    ):
        assert warnings.get(rule, 0) >= 1, rule
    assert one(db, "SELECT energy_consumed_kwh FROM raw_data WHERE user_id = 'User_1'") is None


def test_day_first_copy_loads_with_correct_dates(settings, db, shared_csv, tmp_path):
    import csv

    with shared_csv.open(encoding="utf-8") as src:
        rows = list(csv.reader(src))
    for r in rows[1:]:
        for i in (5, 6):
            r[i] = dt.datetime.strptime(r[i], "%Y-%m-%d %H:%M:%S").strftime("%d/%m/%y %H:%M")
    out = settings.input_dir / "resaved.csv"
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    res = run_cli(settings, "ingest")
    assert res.returncode == 0, res.stderr
    assert "dayfirst" in res.stderr
    got = dict(fetch(db, "SELECT user_id, charging_start_time FROM raw_data"))
    with shared_csv.open(encoding="utf-8") as src:
        expected = {
            r["User ID"]: dt.datetime.strptime(r["Charging Start Time"], "%Y-%m-%d %H:%M:%S")
            for r in csv.DictReader(src)
        }
    assert got and all(expected[u] == t for u, t in got.items())
    assert one(db, "SELECT date_format FROM ingested_files") == "dayfirst"


def test_ambiguous_dates_refuse_the_file_whole_unless_overridden(settings, db):
    rows = [
        factory.session(i, dt.datetime(2024, 3, 5, 1) + dt.timedelta(hours=i), fmt="%d/%m/%Y %H:%M")
        for i in range(5)
    ]  # all on 05/03: day and month both <= 12
    factory.write(settings.input_dir / "ambiguous.csv", rows)
    factory.write(settings.input_dir / "fine.csv", [factory.session(100)])
    res = run_cli(settings, "run")
    assert res.returncode != 0
    assert "ambiguous.csv" in res.stderr and "dayfirst" in res.stderr and "monthfirst" in res.stderr
    assert "Traceback" not in res.stderr
    assert counts(db) == (1, 0)  # fine.csv loaded, nothing of ambiguous.csv
    assert last_run(db)["status"] == "partial"
    res = run_cli(settings, "ingest", "--date-format", "dayfirst")
    assert res.returncode == 0, res.stderr
    assert one(
        db, "SELECT MIN(charging_start_time) FROM raw_data WHERE user_id = 'User_0'"
    ) == dt.datetime(2024, 3, 5, 1)


def test_date_format_from_environment(settings, db):
    rows = [
        factory.session(i, dt.datetime(2024, 3, 5, 1) + dt.timedelta(hours=i), fmt="%m/%d/%Y %H:%M")
        for i in range(3)
    ]
    factory.write(settings.input_dir / "us.csv", rows)
    res = run_cli(settings, "ingest", EVPIPE_DATE_FORMAT="monthfirst")
    assert res.returncode == 0, res.stderr
    assert one(db, "SELECT MIN(charging_start_time) FROM raw_data") == dt.datetime(2024, 3, 5, 1)


def test_input_variants_and_bad_files_do_not_stop_good_ones(settings, db):
    d = settings.input_dir
    rows = [factory.session(i) for i in range(4)]
    rows[1]["Vehicle Model"] = 'Tesla "Model 3", long range\nedition'
    rows[2]["Vehicle Model"] = "Škoda Enyaq – ünïcödé"
    text = factory.csv_text(rows, newline="\r\n")
    (d / "bom_crlf.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    with gzip.open(d / "zipped.csv.gz", "wt", encoding="utf-8", newline="") as f:
        f.write(factory.csv_text([factory.session(i) for i in range(10, 15)]))
    (d / "garbage.csv").write_bytes(bytes(range(256)) * 10)
    missing = factory.csv_text([factory.session(20)]).replace("Charging Station ID", "Station")
    (d / "missing_column.csv").write_text(missing, encoding="utf-8")
    res = run_cli(settings, "run")
    assert res.returncode != 0
    assert "garbage.csv" in res.stderr and "missing_column.csv" in res.stderr
    assert "Charging Station ID" in res.stderr and "Traceback" not in res.stderr
    assert counts(db) == (9, 0)
    assert (
        one(db, "SELECT vehicle_model FROM raw_data WHERE user_id = 'User_1'")
        == rows[1]["Vehicle Model"]
    )
    assert (
        one(db, "SELECT vehicle_model FROM raw_data WHERE user_id = 'User_2'")
        == rows[2]["Vehicle Model"]
    )
    assert (
        one(db, "SELECT source_line FROM raw_data WHERE user_id = 'User_2'") == 5
    )  # line 3 holds a newline
    run = last_run(db)
    assert (run["status"], run["files_failed"], run["files_loaded"]) == ("partial", 2, 2)
    # the marts were still built from the files that loaded
    assert one(db, "SELECT SUM(total_sessions) FROM processed_station_metrics") == 9


def test_profile_maps_reordered_and_extra_columns(settings, db):
    header = [*list(reversed(factory.HEADER)), "Operator Notes"]
    rows = [dict(factory.session(i), **{"Operator Notes": "x"}) for i in range(3)]
    factory.write(settings.input_dir / "reordered.csv", rows, header=header)
    assert run_cli(settings, "ingest").returncode == 0
    assert fetch(db, "SELECT COUNT(*), MIN(user_type), MIN(charging_station_id) FROM raw_data") == [
        (3, "Commuter", "Station_0")
    ]


def test_run_lock_makes_a_second_run_wait_or_exit_clearly(settings, server, db):
    factory.write(settings.input_dir / "a.csv", [factory.session(1)])
    holder = server.admin(settings.db_name)
    with holder.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, 0)", (f"evpipe.run.{settings.db_name}",))
        cur.fetchall()
    res = run_cli(settings, "run", EVPIPE_LOCK_TIMEOUT="1")
    assert res.returncode == 4
    assert "another evpipe run is" in res.stderr and "Traceback" not in res.stderr
    holder.close()  # lock released with the connection
    assert run_cli(settings, "run").returncode == 0
    assert counts(db) == (1, 0)


def test_status_reports_runs_watermark_and_counts(settings, db):
    factory.write(settings.input_dir / "a.csv", [factory.session(i) for i in range(5)])
    assert run_cli(settings, "run").returncode == 0
    res = run_cli(settings, "status", "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["row_counts"]["raw_data"] == 5
    assert info["recent_runs"][0]["status"] == "success"
    assert info["datasets"][0]["last_loaded_start_time"].startswith("2024-01-01T04:00")
    text = run_cli(settings, "status").stdout
    assert "raw_data=5" in text and "freshness" in text


def test_bad_config_and_unreachable_database_fail_in_one_line(settings, tmp_path):
    res = run_cli(settings, "run", DB_HOST="", cwd=tmp_path)
    assert res.returncode == 2 and "DB_HOST" in res.stderr and "Traceback" not in res.stderr
    res = run_cli(settings, "run", DB_PORT="notaport", cwd=tmp_path)
    assert res.returncode == 2 and "DB_PORT" in res.stderr
    res = run_cli(
        settings, "run", DB_HOST="127.0.0.1", DB_PORT="1", EVPIPE_CONNECT_TIMEOUT="1", cwd=tmp_path
    )
    assert res.returncode == 3
    assert "127.0.0.1:1" in res.stderr and "Traceback" not in res.stderr
    assert settings.db_password not in res.stderr


def test_empty_input_folder_is_a_successful_run(settings, db):
    res = run_cli(settings, "run")
    assert res.returncode == 0, res.stderr
    assert last_run(db)["status"] == "success"


def test_text_null_and_empty_cells_keep_their_meaning(settings, db):
    rows = [
        factory.session(1, Vehicle_Model="NULL", Temperature_C=""),
        factory.session(2, Vehicle_Model="", Charging_Cost_USD="0"),
    ]
    factory.write(settings.input_dir / "nulls.csv", rows)
    assert run_cli(settings, "ingest").returncode == 0
    got = fetch(
        db, "SELECT user_id, vehicle_model, temperature_c, cost_usd FROM raw_data ORDER BY user_id"
    )
    assert got == [("User_1", "NULL", None, 7.75), ("User_2", None, 12.5, 0.0)]


def test_gzip_export_that_grows_by_a_new_member_is_resumed(settings, db):
    path = settings.input_dir / "export.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        f.write(factory.csv_text([factory.session(i) for i in range(30)]))
    assert run_cli(settings, "ingest").returncode == 0
    with gzip.open(path, "at", encoding="utf-8", newline="") as f:  # a second gzip member
        f.write(factory.csv_text([factory.session(i) for i in range(30, 40)]).split("\n", 1)[1])
    assert run_cli(settings, "ingest").returncode == 0
    assert (last_run(db)["rows_read"], counts(db)) == (10, (40, 0))


def test_a_run_closes_its_connection_instead_of_leaving_the_server_an_aborted_one(settings, db):
    # the worker runs once per `make reload`: each unclosed connection is a warning in the
    # database's log ("Aborted connection ... Got an error reading communication packets")
    factory.write(settings.input_dir / "a.csv", [factory.session(i) for i in range(3)])

    def aborted() -> int:
        return int(fetch(db, "SHOW GLOBAL STATUS LIKE 'Aborted_clients'")[0][1])

    before = aborted()
    assert run_cli(settings, "run").returncode == 0
    assert run_cli(settings, "status").returncode == 0
    assert aborted() == before
