"""Issue 4: the figure functions put the data's numbers into valid plotly figures."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import data as D
from dashboard import figures as F

approx = pytest.approx


def segments() -> pd.DataFrame:
    rows = [  # location, charger type, weekday, then the sums of data.SUMS
        ("Houston", "Level 2", 0, 2, 40.0, 2, 11.0, 2, 40.0, 3.5, 2, 4.0, 0.5, 4.0, 2),
        ("Houston", "DC Fast Charger", 1, 1, 30.0, 1, 15.0, 1, 30.0, 0.5, 1, 0.5, 0.0, 0.5, 1),
        ("Chicago", "Level 1", 2, 2, 8.0, 1, 3.6, 2, 8.0, 5.0, 2, 5.0, 0.0, 5.0, 2),
    ]
    return pd.DataFrame(rows, columns=["location", "charger_type", "day_of_week", *D.SUMS])


def valid(fig: go.Figure) -> go.Figure:
    """Re-build with full validation: the pages skip it for speed, the tests do not."""
    return go.Figure(fig.to_dict())


def test_five_overview_charts_carry_the_numbers():
    ov = D.overview_from_segments(segments())
    fig = valid(F.sessions_by_location(ov.by_location))
    assert list(fig.data[0].x) == ["Houston", "Chicago"] and list(fig.data[0].y) == [3, 2]
    fig = valid(F.avg_energy_by_location(ov.by_location))
    assert dict(zip(fig.data[0].x, fig.data[0].y, strict=True)) == approx(
        {"Houston": 70.0 / 3, "Chicago": 8.0}
    )
    fig = valid(F.charger_type_distribution(ov.by_charger_type))
    assert dict(zip(fig.data[0].labels, fig.data[0].values, strict=True)) == {
        "Level 1": 2,
        "Level 2": 2,
        "DC Fast Charger": 1,
    }
    fig = valid(F.energy_by_day_of_week(ov.by_day_of_week))
    assert list(fig.data[0].x) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert list(fig.data[0].y) == approx([40.0, 30.0, 8.0, 0.0, 0.0, 0.0, 0.0])
    fig = valid(F.avg_cost_by_charger_type(ov.by_charger_type))
    assert dict(zip(fig.data[0].x, fig.data[0].y, strict=True)) == approx(
        {"Level 1": 1.8, "Level 2": 5.5, "DC Fast Charger": 15.0}
    )
    assert list(fig.data[0].customdata) == approx([3.6 / 8.0, 11.0 / 40.0, 0.5])


def test_heatmap_is_weekdays_by_hours():
    grid = pd.DataFrame(
        {
            "day_of_week": [d for d in range(7) for _ in range(24)],
            "hour": list(range(24)) * 7,
            "sessions": [0] * 168,
            "energy_kwh": [0.0] * 168,
        }
    )
    grid.loc[(grid.day_of_week == 4) & (grid.hour == 17), ["sessions", "energy_kwh"]] = [3, 42.0]
    fig = valid(F.weekday_hour_heatmap(grid, "sessions"))
    z = fig.data[0].z
    assert len(z) == 7 and all(len(row) == 24 for row in z)
    assert z[4][17] == 3 and sum(map(sum, z)) == 3
    assert next(iter(fig.data[0].y)) == "Mon"
    assert valid(F.weekday_hour_heatmap(grid, "energy_kwh")).data[0].z[4][17] == 42.0


def test_load_curve_has_average_and_peak():
    df = pd.DataFrame({"hour": range(24), "avg_kw": [1.0] * 24, "peak_kw": [2.0] * 24})
    fig = valid(F.load_curve(df))
    names = {t.name: list(t.y) for t in fig.data}
    assert names == {"peak (busiest day)": [2.0] * 24, "average day": [1.0] * 24}
    assert fig.data[0].x[0] == "00:00" and fig.data[0].x[-1] == "23:00"


def test_over_time_marks_partial_periods():
    df = pd.DataFrame(
        {
            "period": pd.to_datetime(["2024-01-01", "2024-01-08"]),
            "sessions": [5, 2],
            "energy_kwh": [50.0, 20.0],
            "partial": [False, True],
        }
    )
    df.attrs["freq"] = "W"
    fig = valid(F.sessions_energy_over_time(df))
    assert fig.layout.title.text == "Sessions and energy per week"
    bars, line = fig.data
    assert list(bars.y) == [5, 2] and list(line.y) == [50.0, 20.0]
    assert bars.marker.color[0] != bars.marker.color[1]
    assert "part of the period" in bars.customdata[1]


@pytest.mark.parametrize(
    "build",
    [
        lambda e: F.sessions_by_location(D.by_location(e)),
        lambda e: F.avg_energy_by_location(D.by_location(e)),
        lambda e: F.charger_type_distribution(D.by_charger_type(e)),
        lambda e: F.energy_by_day_of_week(D.by_day_of_week(e)),
        lambda e: F.avg_cost_by_charger_type(D.by_charger_type(e)),
        lambda e: F.rule_counts(pd.DataFrame(columns=["rule", "rows"]), "Warnings by rule"),
    ],
)
def test_empty_data_gives_a_labelled_placeholder(build):
    empty = segments().iloc[0:0]
    fig = valid(build(empty))
    assert not fig.data
    assert fig.layout.annotations and fig.layout.annotations[0].text


def test_rule_counts_horizontal_bars():
    df = pd.DataFrame({"rule": ["a", "b"], "rows": [3, 1]})
    fig = valid(F.rule_counts(df, "Quarantined rows by rule"))
    assert dict(zip(fig.data[0].y, fig.data[0].x, strict=True)) == {"a": 3, "b": 1}


def test_by_day_of_week_fills_missing_days():
    dow = D.by_day_of_week(segments())
    assert list(dow["sessions"]) == [2, 1, 2, 0, 0, 0, 0]
    assert dt.date(2024, 1, 1).weekday() == 0  # WEEKDAY(): Monday is 0, as in the cubes
