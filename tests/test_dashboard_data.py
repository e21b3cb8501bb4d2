"""Issue 4: the dashboard's data access against a real database holding known data.

Every expected number is worked out by hand from tests/test_dashboard_support.KNOWN; a last
test cross-checks the cubes against raw_data itself for random filters on generated data.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import replace

import pytest

from dashboard import data as D
from dashboard.data import DashboardData, DatabaseDown, Filters, split_period
from evpipe.db import connect
from evpipe.schema import ensure_schema
from tests import factory
from tests.conftest import fetch, run_cli
from tests.test_dashboard_support import (
    FIRST_DAY,
    LAST_DAY,
    PERIOD_HOURS,
    TOTAL_COST,
    TOTAL_ENERGY,
    TOTAL_SESSIONS,
    Session,
    TcpProxy,
    add_sessions_and_transform,
    read_only_account,
    seed_known,
)  # fmt: skip

approx = pytest.approx


@pytest.fixture
def known(settings):
    seed_known(settings)
    return settings


@pytest.fixture
def src(known):
    return DashboardData(known, version_ttl=0)


# ---- periods -------------------------------------------------------------------------------


def _expand(parts):
    days = []
    for grain, first, last in parts:
        d = first
        while d <= last:
            end = d if grain == "D" else D._period_end(d, grain)
            days += [d + dt.timedelta(days=i) for i in range((end - d).days + 1)]
            d = end + dt.timedelta(days=1)
    return days


def test_split_period_covers_every_day_exactly_once():
    rng = random.Random(4)
    for _ in range(500):
        start = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 1500))
        end = start + dt.timedelta(days=rng.randint(0, 1200))
        for grains in ("YQMWD", "YQMD", "MD", "D"):
            parts = split_period(start, end, grains)
            days = _expand(parts)
            assert sorted(days) == [
                start + dt.timedelta(days=i) for i in range((end - start).days + 1)
            ]
            assert len(days) == len(set(days))
            assert {g for g, _a, _b in parts} <= set(grains)


def test_split_period_uses_whole_periods_and_few_days():
    parts = split_period(dt.date(2024, 2, 13), dt.date(2026, 9, 19), "YQMWD")
    assert ("Y", dt.date(2025, 1, 1), dt.date(2025, 1, 1)) in parts
    assert ("Q", dt.date(2024, 4, 1), dt.date(2024, 10, 1)) in parts
    assert sum((b - a).days + 1 for g, a, b in parts if g == "D") <= 24  # 12 per edge at most
    assert split_period(dt.date(2024, 1, 1), dt.date(2024, 12, 31), "YQMWD") == [
        ("Y", dt.date(2024, 1, 1), dt.date(2024, 1, 1))
    ]
    assert split_period(dt.date(2024, 3, 2), dt.date(2024, 3, 1)) == []


def test_filters_from_component_values():
    f = Filters.from_inputs("2024-02-01T00:00:00", "2024-01-01", ["b", "a", "a"], "x", None)
    assert f == Filters(dt.date(2024, 1, 1), dt.date(2024, 2, 1), ("a", "b"), ("x",), ())
    assert Filters.from_inputs("not a date", "", [], [], []) == Filters()


# ---- the overview --------------------------------------------------------------------------


def test_options_and_extent(src):
    opts = src.options()
    assert opts.locations == ("Chicago", "Houston")
    assert opts.charger_types == ("DC Fast Charger", "Level 1", "Level 2")
    assert opts.user_types == ("Casual Driver", "Commuter", "Long-Distance Traveler")
    assert (opts.first_date, opts.last_date, opts.sessions) == (FIRST_DAY, LAST_DAY, TOTAL_SESSIONS)


def test_kpis_are_sums_divided_by_counts(src):
    k = src.overview(Filters()).kpis
    assert k["sessions"] == TOTAL_SESSIONS
    assert k["energy_kwh"] == approx(TOTAL_ENERGY)
    assert k["revenue_usd"] == approx(TOTAL_COST)
    assert k["cost_per_kwh"] == approx(56.45 / 145.0)  # energy of the sessions with a cost
    assert k["energy_per_session"] == approx(155.0 / 7)  # U5 has no energy: 7 sessions count


def test_the_five_charts_numbers(src):
    ov = src.overview(Filters())
    loc = ov.by_location.set_index("location")
    assert list(ov.by_location["location"]) == ["Houston", "Chicago"]  # most sessions first
    assert loc.loc["Houston", "sessions"] == 5 and loc.loc["Chicago", "sessions"] == 3
    assert loc.loc["Houston", "avg_energy_kwh"] == approx(137.0 / 5)
    assert loc.loc["Chicago", "avg_energy_kwh"] == approx(18.0 / 2)  # not average of averages
    ct = ov.by_charger_type.set_index("charger_type")
    assert list(ov.by_charger_type["charger_type"]) == ["Level 1", "Level 2", "DC Fast Charger"]
    assert dict(ct["sessions"]) == {"Level 1": 2, "Level 2": 4, "DC Fast Charger": 2}
    assert ct.loc["Level 2", "avg_cost_usd"] == approx(17.6 / 3)  # U6 has no cost
    assert ct.loc["Level 1", "avg_cost_usd"] == approx(3.6 / 2)
    assert ct.loc["DC Fast Charger", "avg_cost_usd"] == approx(35.25 / 2)
    assert ct["share"].sum() == approx(1.0)
    dow = ov.by_day_of_week
    assert list(dow["day"]) == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    assert list(dow["energy_kwh"]) == approx([95.0, 30.0, 8.0, 0.0, 22.0, 0.0, 0.0])
    assert list(dow["sessions"]) == [5, 1, 1, 0, 1, 0, 0]


@pytest.mark.parametrize(
    ("filters", "sessions", "energy"),
    [
        (Filters(locations=("Chicago",)), 3, 18.0),
        (Filters(user_types=("Commuter",)), 4, 80.0),
        (Filters(charger_types=("Level 2",), user_types=("Commuter",)), 2, 42.0),
        (Filters(dt.date(2024, 1, 1), dt.date(2024, 1, 7)), 4, 78.0),
        (Filters(dt.date(2024, 1, 2), dt.date(2024, 2, 29), ("Houston",)), 2, 75.0),
        (Filters(dt.date(2024, 1, 8), None), 4, 77.0),
        (Filters(locations=("Chicago", "Houston")), 8, 155.0),  # every value = no filter
        (Filters(locations=("Nowhere",)), 0, 0.0),
        (Filters(dt.date(2025, 1, 1), dt.date(2025, 2, 1)), 0, 0.0),
    ],
)
def test_filters_restrict_the_kpis(src, filters, sessions, energy):
    k = src.overview(filters).kpis
    assert (k["sessions"], k["energy_kwh"]) == (sessions, approx(energy))


# ---- demand --------------------------------------------------------------------------------


def test_heatmap_counts_sessions_by_start_hour_and_weekday(src):
    h = src.heatmap(Filters())
    assert len(h) == 168 and int(h["sessions"].sum()) == TOTAL_SESSIONS
    cells = {
        (int(r.day_of_week), int(r.hour)): int(r.sessions) for r in h.itertuples() if r.sessions
    }
    assert cells == {
        (0, 8): 1,
        (0, 10): 1,
        (0, 9): 1,
        (0, 12): 1,
        (0, 7): 1,
        (1, 18): 1,
        (2, 22): 1,
        (4, 17): 1,
    }
    energy = h.set_index(["day_of_week", "hour"])["energy_kwh"]
    assert energy[(0, 7)] == approx(45.0) and energy[(0, 9)] == approx(0.0)  # U5: no energy
    assert int(src.heatmap(Filters(locations=("Chicago",)))["sessions"].sum()) == 3


def test_load_curve_spreads_energy_over_the_charging_interval(src):
    one_day = src.load_curve(Filters(dt.date(2024, 1, 1), dt.date(2024, 1, 1), ("Houston",)))
    by_hour = dict(zip(one_day["hour"], one_day["avg_kw"], strict=True))
    # U1 08:00-10:00 20 kWh, U2 10:30-12:30 20 kWh (5 + 10 + 5)
    assert by_hour == approx(
        {**{h: 0.0 for h in range(24)}, 8: 10.0, 9: 10.0, 10: 5.0, 11: 10.0, 12: 5.0}
    )
    assert list(one_day["peak_kw"]) == approx(list(one_day["avg_kw"]))
    two_days = src.load_curve(Filters(dt.date(2024, 1, 1), dt.date(2024, 1, 2), ("Houston",)))
    two = two_days.set_index("hour")
    assert two.loc[18, "avg_kw"] == approx(15.0)  # U3: 30 kWh in 18:00-18:30, over 2 days
    assert two.loc[18, "peak_kw"] == approx(30.0)
    assert two.loc[8, "avg_kw"] == approx(5.0) and two.loc[8, "peak_kw"] == approx(10.0)
    # U4 22:00-02:00 8 kWh crosses midnight: 2 kWh in hours 22, 23, 0 and 1
    night = src.load_curve(Filters(dt.date(2024, 1, 3), dt.date(2024, 1, 4), ("Chicago",)))
    assert dict(zip(night["hour"], night["peak_kw"], strict=True)) == approx(
        {**{h: 0.0 for h in range(24)}, 22: 2.0, 23: 2.0, 0: 2.0, 1: 2.0}
    )
    # several values in a filter: each day's load is summed before the peak is taken
    both = src.load_curve(
        Filters(
            dt.date(2024, 1, 1), dt.date(2024, 1, 1), ("Houston",), ("Level 2", "DC Fast Charger")
        )
    )
    assert both.set_index("hour").loc[11, "peak_kw"] == approx(10.0)
    total = src.load_curve(Filters())
    assert float((total["avg_kw"] * 61).sum()) == approx(TOTAL_ENERGY)


def test_timeseries_fills_empty_days_and_buckets_weeks(src):
    daily = src.timeseries(Filters(), "D")
    assert len(daily) == 61 and int(daily["sessions"].sum()) == TOTAL_SESSIONS
    by_day = dict(zip(daily["period"].dt.date, daily["sessions"], strict=True))
    assert by_day[dt.date(2024, 1, 1)] == 2 and by_day[dt.date(2024, 1, 5)] == 0
    weekly = src.timeseries(Filters(), "W")
    weeks = {p.date(): n for p, n in zip(weekly["period"], weekly["sessions"], strict=True) if n}
    assert weeks == {
        dt.date(2024, 1, 1): 4,
        dt.date(2024, 1, 8): 1,
        dt.date(2024, 1, 15): 1,
        dt.date(2024, 2, 5): 1,
        dt.date(2024, 2, 26): 1,
    }
    assert weekly["partial"].iloc[-1]  # the week of 2024-02-26 is cut at 2024-03-01
    monthly = src.timeseries(Filters(), "auto")
    assert monthly.attrs["freq"] == "D"  # 61 days: daily
    m = src.timeseries(Filters(), "M")
    assert list(m["sessions"]) == [6, 1, 1]
    assert list(m["energy_kwh"]) == approx([88.0, 45.0, 22.0])


# ---- stations ------------------------------------------------------------------------------


def test_stations_sums_cost_per_kwh_and_utilisation(src):
    st = src.stations(Filters()).set_index("station_id")
    assert set(st.index) == {"S1", "S2", "S3", "S4"}
    s1 = st.loc["S1"]
    assert (s1["location"], s1["sessions"]) == ("Houston", 3)
    assert s1["energy_kwh"] == approx(62.0) and s1["revenue_usd"] == approx(17.6)
    assert s1["cost_per_kwh"] == approx(17.6 / 62.0)
    assert s1["charging_hours"] == approx(6.0)
    assert s1["utilisation"] == approx(6.0 / PERIOD_HOURS)
    assert s1["idle_share"] == approx(1 - 5.5 / 6.0)  # reported 2 + 1.5 + 2 h of 6 h plugged in
    assert s1["charger_type"] == "Level 2"
    assert st.loc["S3", "avg_energy_kwh"] == approx(8.0)  # one of its two sessions has energy
    assert math.isnan(st.loc["S4", "cost_per_kwh"])  # no session of S4 has a cost


def test_station_utilisation_uses_the_selected_period(src):
    st = src.stations(Filters(dt.date(2024, 1, 1), dt.date(2024, 1, 2))).set_index("station_id")
    assert set(st.index) == {"S1", "S2"}
    assert st.attrs["period_hours"] == 48
    assert st.loc["S1", "utilisation"] == approx(4.0 / 48)
    assert st.loc["S2", "utilisation"] == approx(0.5 / 48)
    assert st.loc["S1", "idle_share"] == approx(1 - 3.5 / 4.0)
    # a filter on user type reads the (charger type, user type) cube and the daily rollup
    commuters = src.stations(
        Filters(dt.date(2024, 1, 1), dt.date(2024, 3, 1), user_types=("Commuter",))
    ).set_index("station_id")
    assert dict(commuters["sessions"]) == {"S1": 2, "S2": 1, "S3": 1}


# ---- empty database, cache and data version, outage, privileges ----------------------------


def test_empty_database_says_where_to_drop_files(settings):
    ensure_schema(connect(settings))
    src = DashboardData(settings, version_ttl=0)
    opts = src.options()
    assert opts.empty and opts.built
    assert "data/incoming" in opts.empty_message and "make reload" in opts.empty_message
    assert src.overview(Filters()).kpis["sessions"] == 0
    assert src.stations(Filters()).empty
    assert int(src.heatmap(Filters())["sessions"].sum()) == 0


def test_loaded_but_not_transformed_says_run_a_transform(settings):
    conn = connect(settings)
    ensure_schema(conn)
    with conn.cursor() as cur:  # rollups filled, dashboard cubes not (yet)
        cur.execute(
            "INSERT INTO processed_daily_rollup (session_date, dim_id, charging_station_id, "
            "port_id, location, charger_type, user_type, seg_id, sessions, energy_kwh, "
            "energy_sessions, cost_usd, cost_sessions, cost_energy_kwh, duration_hours, "
            "duration_sessions, charging_hours, temperature_c, temperature_sessions, idle_hours, "
            "idle_plugged_hours, idle_sessions) VALUES ('2024-01-01', 1, 'S', '', 'L', 'C', 'U', "
            "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1)"
        )
    conn.commit()
    opts = DashboardData(settings, version_ttl=0).options()
    assert opts.empty and not opts.built and "transform" in opts.empty_message


def test_a_reload_shows_without_restart(src, known):
    assert src.overview(Filters()).kpis["sessions"] == TOTAL_SESSIONS
    before = src.version()
    late = Session(
        "U9",
        "S9",
        "Denver",
        "Level 2",
        "Commuter",
        dt.datetime(2024, 3, 2, 9),
        dt.datetime(2024, 3, 2, 10),
        11.0,
        3.0,
        1.0,
    )
    add_sessions_and_transform(known, [late], run_id=3)
    assert src.version() != before
    assert src.overview(Filters()).kpis["sessions"] == TOTAL_SESSIONS + 1  # no cache clear
    assert "Denver" in src.options().locations


def test_results_are_cached_per_filters(src, monkeypatch):
    calls = []
    real = D.fetch_segments
    monkeypatch.setattr(D, "fetch_segments", lambda *a: calls.append(a) or real(*a))
    for _ in range(3):
        src.overview(Filters())
    src.overview(Filters(locations=("Chicago",)))
    assert len(calls) == 2


def test_unreachable_database_then_recovery(known, server):
    proxy = TcpProxy(server.host, server.port)
    proxy.start()
    src = DashboardData(
        replace(known, db_host="127.0.0.1", db_port=proxy.port), version_ttl=0, ttl=0
    )
    assert src.overview(Filters()).kpis["sessions"] == TOTAL_SESSIONS
    proxy.stop()
    with pytest.raises(DatabaseDown) as err:
        src.overview(Filters())
    assert "not reachable" in str(err.value)
    assert known.db_password not in str(err.value) and "Traceback" not in str(err.value)
    proxy.start()  # the database is back: the next request reconnects by itself
    assert src.overview(Filters()).kpis["sessions"] == TOTAL_SESSIONS
    proxy.stop()


def test_read_only_user_can_serve_every_page(known, server):
    with read_only_account(server, known) as ro:
        src = DashboardData(ro, version_ttl=0)
        f = Filters(
            dt.date(2024, 1, 1), dt.date(2024, 2, 10), ("Houston",), user_types=("Commuter",)
        )
        assert src.overview(f).kpis["sessions"] == 2
        assert len(src.stations(f)) == 2
        assert int(src.heatmap(f)["sessions"].sum()) == 2
        assert float(src.load_curve(f)["peak_kw"].max()) == approx(30.0)
        assert int(src.timeseries(f)["sessions"].sum()) == 2
        h = src.health()
        assert list(h.runs["run_id"]) == [2, 1]


def test_health_runs_freshness_quarantine_warnings(src):
    h = src.health()
    assert list(h.runs["status"]) == ["failed", "success"]
    assert h.runs.loc[h.runs["run_id"] == 1, "duration_s"].iloc[0] == approx(12.5)
    assert h.newest_session == dt.datetime(2024, 3, 1, 17, 0)
    assert h.last_success_run_id == 1
    assert dict(zip(h.quarantine["rule"], h.quarantine["rows"], strict=True)) == {
        "end_before_start": 3,
        "non_numeric": 1,
    }
    assert len(h.examples) == 4 and set(h.examples["rule"]) == {"end_before_start", "non_numeric"}
    warnings = dict(zip(h.warnings["rule"], h.warnings["rows"], strict=True))
    assert warnings == {"missing_energy": 4, "duration_mismatch": 2}
    assert (
        dict(zip(h.warnings["rule"], h.warnings["latest_run"], strict=True))["missing_energy"] == 3
    )


# ---- the cubes agree with raw_data, whatever the filters ----------------------------------


def test_cubes_match_raw_data_for_random_filters(settings, db):
    """Loaded through the real `evpipe run`; every number checked against raw_data itself."""
    rows = []
    start = dt.datetime(2024, 1, 29, 5)
    for i in range(400):  # ~ 5 months, 3 locations, 3 charger types, 2 user types
        rows.append(
            factory.session(
                i,
                start + dt.timedelta(hours=9 * i + (i % 7)),
                User_Type="Commuter" if i % 3 else "Casual Driver",
                Charging_Station_ID=f"Station_{i % 11}",
            )
        )
    factory.write(settings.input_dir / "gen.csv", rows)
    assert run_cli(settings, "run").returncode == 0
    conn = connect(settings)
    conn.autocommit = True
    opts = D.fetch_options(conn)
    rng = random.Random(11)
    for _ in range(25):
        lo = opts.first_date + dt.timedelta(days=rng.randint(0, 140))
        hi = lo + dt.timedelta(days=rng.randint(0, 160))
        f = Filters(
            lo,
            hi,
            tuple(rng.sample(opts.locations, rng.randint(1, 2))) if rng.random() < 0.6 else (),
            tuple(rng.sample(opts.charger_types, rng.randint(1, 2))) if rng.random() < 0.6 else (),
            tuple(rng.sample(opts.user_types, 1)) if rng.random() < 0.5 else (),
        )
        terms, params = ["DATE(charging_start_time) BETWEEN %s AND %s"], [lo, hi]
        for col, values in (
            ("charging_station_location", f.locations),
            ("charger_type", f.charger_types),
            ("user_type", f.user_types),
        ):
            if values:
                terms.append(f"{col} IN ({', '.join(['%s'] * len(values))})")
                params += list(values)
        where = " AND ".join(terms)
        n, energy, cost = fetch(
            db,
            "SELECT COUNT(*), COALESCE(SUM(energy_consumed_kwh), 0), SUM(cost_usd) "
            f"FROM raw_data WHERE {where}",
            params,
        )[0]
        k = D.kpis(D.fetch_segments(conn, f, opts))
        # no session with a cost: revenue is "not in this data" (None), never 0
        assert (k["sessions"], k["energy_kwh"], k["revenue_usd"]) == (
            n,
            approx(energy),
            None if cost is None else approx(cost),
        )
        assert int(D.fetch_heatmap(conn, f, opts)["sessions"].sum()) == n
        assert int(D.fetch_timeseries(conn, f, opts, rng.choice("DWM"))["sessions"].sum()) == n
        truth = {
            (s, loc): (c, e)
            for s, loc, c, e in fetch(
                db,
                "SELECT charging_station_id, charging_station_location, COUNT(*), "
                f"SUM(energy_consumed_kwh) FROM raw_data WHERE {where} GROUP BY 1, 2",
                params,
            )
        }
        got = {
            (r.station_id, r.location): (r.sessions, approx(r.energy_kwh))
            for r in D.fetch_stations(conn, f, opts).itertuples()
        }
        assert got == truth
    conn.close()
