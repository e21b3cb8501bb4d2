"""The synthetic session generator: format, determinism, uniqueness, realism, flaws, appends.

Pure tests: no database. The 200k-row file is generated once per module.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evpipe import generate as gen
from tests.conftest import SHARED_CSV

IDENTITY = ["User ID", "Charging Station ID", "Charging Start Time"]
TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def read_text(path: Path) -> pd.DataFrame:
    """Every cell exactly as written (no NaN conversion, no type guessing)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def num(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column])


def ts(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column], format=TS_FORMAT)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, np.ndarray]:
    path = tmp_path_factory.mktemp("gen") / "sessions_200k.csv"
    assert gen.write_csv(path, 200_000, 42) == 200_000
    return path, read_text(path), gen.flaw_kinds(200_000)


@pytest.fixture(scope="module")
def clean(big: tuple[Path, pd.DataFrame, np.ndarray]) -> pd.DataFrame:
    _, frame, kinds = big
    return frame[kinds == 0].reset_index(drop=True)


# --- format -------------------------------------------------------------------------


def test_header_and_row_count(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    assert gen.write_csv(path, 3_000, 1) == 3_000
    lines = path.read_bytes().split(b"\n")
    assert lines[0].decode() == ",".join(gen.COLUMNS)
    assert lines[-1] == b""  # ends with a newline
    assert len(lines) - 2 == 3_000
    assert list(read_text(path).columns) == list(gen.COLUMNS)


@pytest.mark.skipif(not SHARED_CSV.is_file(), reason="public dataset not available")
def test_header_matches_public_dataset() -> None:
    with SHARED_CSV.open(encoding="utf-8") as fh:
        assert tuple(fh.readline().rstrip("\r\n").split(",")) == gen.COLUMNS


def test_zero_rows_writes_header_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    assert gen.write_csv(path, 0, 1) == 0
    assert path.read_text(encoding="utf-8") == ",".join(gen.COLUMNS) + "\n"


def test_numbers_are_compact(big: tuple[Path, pd.DataFrame, np.ndarray]) -> None:
    path, frame, _ = big
    data = path.read_bytes()
    assert len(data) / len(frame) < 200  # bytes per row
    assert re.search(rb"\.\d{5}", data) is None  # at most 4 decimals anywhere
    assert re.search(rb"[eE][+-]?\d", data) is None  # no scientific notation
    assert frame["Charging Start Time"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()


# --- determinism --------------------------------------------------------------------


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    rows = gen.BLOCK_ROWS + 1_234  # crosses a block boundary
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    gen.write_csv(a, rows, 7)
    gen.write_csv(b, rows, 7, workers=2)
    gen.write_csv(c, rows, 8)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_prefix_property(tmp_path: Path) -> None:
    """Row i depends on (seed, i) only: a shorter file is a prefix of a longer one."""
    short, long = tmp_path / "short.csv", tmp_path / "long.csv"
    gen.write_csv(short, 1_000, 3)
    gen.write_csv(long, 5_000, 3)
    assert long.read_bytes().startswith(short.read_bytes())


def test_dataframes_match_csv(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    gen.write_csv(path, 3_500, 5)
    frames = list(gen.generate_sessions(3_500, 5, chunk_rows=1_000))
    assert [len(f) for f in frames] == [1_000, 1_000, 1_000, 500]
    got = pd.concat(frames, ignore_index=True)
    want = pd.read_csv(
        path,
        keep_default_na=False,
        na_values={"Energy Consumed (kWh)": [""], "Charging Rate (kW)": [""]},
    )
    assert list(got.columns) == list(want.columns)
    for column in gen.COLUMNS:
        g, w = got[column], want[column]
        if column in ("Charging Start Time", "Charging End Time"):
            assert (g.dt.strftime(TS_FORMAT) == w).all(), column
        elif column == "Charging Cost (USD)":
            assert ((g == "n/a") == (w == "n/a")).all()
            np.testing.assert_allclose(
                pd.to_numeric(g, errors="coerce"), pd.to_numeric(w, errors="coerce"), atol=1e-9
            )
        elif pd.api.types.is_numeric_dtype(w):
            np.testing.assert_allclose(g.astype(float), w, rtol=0, atol=1e-9, err_msg=column)
        else:
            assert (g.astype(str) == w).all(), column


def test_chunk_size_does_not_change_rows() -> None:
    a = pd.concat(gen.generate_sessions(2_000, 9, chunk_rows=2_000))
    b = pd.concat(gen.generate_sessions(2_000, 9, chunk_rows=333), ignore_index=True)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b)


# --- identity -----------------------------------------------------------------------


def test_identity_unique_200k(big: tuple[Path, pd.DataFrame, np.ndarray]) -> None:
    _, frame, _ = big
    assert len(frame) == 200_000
    assert not frame.duplicated(IDENTITY).any()
    start = ts(frame, "Charging Start Time")
    assert start.is_unique and start.is_monotonic_increasing


# --- realism of the clean rows ------------------------------------------------------


def test_timestamps_duration_and_calendar(clean: pd.DataFrame) -> None:
    start, end = ts(clean, "Charging Start Time"), ts(clean, "Charging End Time")
    hours = num(clean, "Charging Duration (hours)")
    assert (end > start).all()
    assert ((end - start).dt.total_seconds() - hours * 3600).abs().max() < 1.0
    assert (clean["Day of Week"] == start.dt.day_name()).all()
    hour = start.dt.hour
    expected = np.select(
        [(hour >= 5) & (hour < 12), (hour >= 12) & (hour < 17), (hour >= 17) & (hour < 21)],
        ["Morning", "Afternoon", "Evening"],
        "Night",
    )
    assert (clean["Time of Day"] == expected).all()
    assert all(
        gen.time_of_day(h) == e
        for h, e in [
            (4, "Night"),
            (5, "Morning"),
            (11, "Morning"),
            (12, "Afternoon"),
            (16, "Afternoon"),
            (17, "Evening"),
            (20, "Evening"),
            (21, "Night"),
        ]
    )


def test_energy_soc_rate_cost(clean: pd.DataFrame) -> None:
    soc0, soc1 = num(clean, "State of Charge (Start %)"), num(clean, "State of Charge (End %)")
    battery, energy = num(clean, "Battery Capacity (kWh)"), num(clean, "Energy Consumed (kWh)")
    rate, hours = num(clean, "Charging Rate (kW)"), num(clean, "Charging Duration (hours)")
    assert ((soc0 >= 0) & (soc1 <= 100) & (soc1 > soc0)).all()
    assert battery.between(40, 100).all()
    assert (energy <= battery).all() and (energy > 0).all()
    assert (energy - battery * (soc1 - soc0) / 100).abs().max() <= 0.001
    assert ((rate - energy / hours).abs() / rate).max() < 0.01
    for charger, (lo, hi) in gen.CHARGER_RATE_KW.items():
        sel = clean["Charger Type"] == charger
        assert sel.mean() > 0.1, charger
        assert rate[sel].between(lo, hi).all(), charger
    price = num(clean, "Charging Cost (USD)") / energy
    by_type = price.groupby(clean["Charger Type"]).median()
    assert by_type["Level 1"] < by_type["Level 2"] < by_type["DC Fast Charger"]
    assert price.between(0.08, 0.8).all()


def test_labels_and_context(clean: pd.DataFrame) -> None:
    assert set(clean["User Type"]) == set(gen.USER_TYPES)
    assert set(clean["Charging Station Location"]) == set(gen.LOCATIONS)
    assert set(clean["Vehicle Model"]) == set(gen.VEHICLE_MODELS)
    assert set(clean["Charger Type"]) == set(gen.CHARGER_TYPES)
    assert num(clean, "Temperature (°C)").between(-10, 40).all()
    assert num(clean, "Distance Driven (since last charge) (km)").between(1, 1000).all()
    assert num(clean, "Vehicle Age (years)").between(0, 20).all()
    stations = clean.groupby("Charging Station ID")
    assert (stations["Charging Station Location"].nunique() == 1).all()
    assert (stations["Charger Type"].nunique() == 1).all()
    assert 200 <= clean["Charging Station ID"].nunique() <= 500
    users = clean.groupby("User ID")
    assert (users["Vehicle Model"].nunique() == 1).all()
    assert (users["User Type"].nunique() == 1).all()
    # Cold cities are cold in January, warm ones are not.
    start = ts(clean, "Charging Start Time")
    january = clean[start.dt.month == 1]
    temp = num(january, "Temperature (°C)").groupby(january["Charging Station Location"])
    assert temp.mean()["Chicago"] < 5 < temp.mean()["Los Angeles"]


def test_daily_and_weekly_pattern(clean: pd.DataFrame) -> None:
    start = ts(clean, "Charging Start Time")
    share = clean["Time of Day"].value_counts(normalize=True)
    assert share["Night"] < 0.15 and share["Morning"] > share["Night"] * 2
    commuters = clean["User Type"] == "Commuter"
    hours = start[commuters & (start.dt.day_of_week < 5)].dt.hour.value_counts()
    assert hours[8] > 3 * hours[3] and hours[18] > 2 * hours[13]
    weekday_share = (start[commuters].dt.day_of_week < 5).mean()
    assert weekday_share > 0.8
    casual = start[clean["User Type"] == "Casual Driver"].dt.day_of_week
    assert (casual >= 5).mean() > 2 / 7


def test_timeline_spreads_over_weeks(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    gen.write_csv(path, 3_000, 42, start="2024-03-01")
    start = ts(read_text(path), "Charging Start Time")
    assert start.min() >= pd.Timestamp("2024-03-01")
    assert pd.Timedelta(days=28) < start.max() - start.min() < pd.Timedelta(days=70)


# --- flaws --------------------------------------------------------------------------


def test_flaw_share_and_mix(big: tuple[Path, pd.DataFrame, np.ndarray]) -> None:
    _, frame, kinds = big
    assert abs((kinds > 0).mean() - 0.01) < 0.001
    counts = pd.Series(kinds[kinds > 0]).value_counts(normalize=True)
    for code, share in {1: 0.2, 2: 0.2, 3: 0.15, 4: 0.15, 5: 0.15, 6: 0.15}.items():
        assert abs(counts[code] - share) < 0.01, gen.FLAW_KINDS[code]
    # evenly spread: every 100th row
    assert set(np.diff(np.flatnonzero(kinds))) == {100}
    start, end = ts(frame, "Charging Start Time"), ts(frame, "Charging End Time")
    f = {code: frame[kinds == code] for code in gen.FLAW_KINDS}
    assert (f[1]["Energy Consumed (kWh)"] == "").all()
    assert (f[2]["Charging Rate (kW)"] == "").all()
    assert (num(f[3], "State of Charge (End %)") > 100).all()
    assert (end[kinds == 4] < start[kinds == 4]).all()
    assert (f[5]["Day of Week"] != start[kinds == 5].dt.day_name()).all()
    assert (f[6]["Charging Cost (USD)"] == "n/a").all()
    # only the flawed rows carry these defects
    ok = frame[kinds == 0]
    assert (ok["Energy Consumed (kWh)"] != "").all() and (ok["Charging Rate (kW)"] != "").all()
    assert (ok["Charging Cost (USD)"] != "n/a").all()


def test_flawed_share_parameter(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    gen.write_csv(path, 10_000, 2, flawed_share=0.0)
    frame = read_text(path)
    assert (frame["Charging Cost (USD)"] != "n/a").all()
    assert (frame["Energy Consumed (kWh)"] != "").all()
    assert (gen.flaw_kinds(10_000, flawed_share=0.05) > 0).sum() == 500


# --- appends and gzip ---------------------------------------------------------------


def test_append_with_start_offset(tmp_path: Path) -> None:
    """A 1% append after 65,000 rows (crossing a block boundary): new, later sessions."""
    path, whole = tmp_path / "s.csv", tmp_path / "whole.csv"
    gen.write_csv(path, 65_000, 11)
    before = read_text(path)
    assert gen.write_csv(path, 650, 11, append=True, start_offset=65_000) == 650
    after = read_text(path)
    assert len(after) == 65_650  # no second header
    added = after.iloc[65_000:]
    assert ts(added, "Charging Start Time").min() > ts(before, "Charging Start Time").max()
    assert not after.duplicated(IDENTITY).any()
    gen.write_csv(whole, 65_650, 11)
    assert path.read_bytes() == whole.read_bytes()


def test_append_infers_offset(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    gen.write_csv(path, 1_500, 4)
    gen.write_csv(path, 500, 4, append=True)  # start_offset = rows already there
    gen.write_csv(path, 500, 4, append=True)
    frame = read_text(path)
    assert len(frame) == 2_500 and not frame.duplicated(IDENTITY).any()
    assert ts(frame, "Charging Start Time").is_monotonic_increasing


def test_append_to_missing_file_writes_header(tmp_path: Path) -> None:
    path = tmp_path / "new.csv"
    gen.write_csv(path, 10, 4, append=True)
    assert len(read_text(path)) == 10


def test_gzip_output(tmp_path: Path) -> None:
    plain, packed, again = tmp_path / "s.csv", tmp_path / "s.csv.gz", tmp_path / "t.csv.gz"
    gen.write_csv(plain, 5_000, 6)
    gen.write_csv(packed, 5_000, 6)
    gen.write_csv(again, 5_000, 6)
    assert packed.read_bytes() == again.read_bytes()  # no time stamp or name in the header
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    assert len(pd.read_csv(packed)) == 5_000
    gen.write_csv(packed, 100, 6, append=True)  # a second gzip member
    frame = pd.read_csv(packed, dtype=str, keep_default_na=False)
    assert len(frame) == 5_100 and not frame.duplicated(IDENTITY).any()


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    with pytest.raises(ValueError):
        gen.write_csv(path, 10, 1, flawed_share=2.0)
    with pytest.raises(ValueError):
        gen.write_csv(path, -1, 1)
    with pytest.raises(ValueError):
        gen.write_csv(path, 10, 1, start="2024-01-01T00:00:00+02:00")
    assert list(tmp_path.iterdir()) == []
