"""Plotly figures built by plain functions from the DataFrames of dashboard.data.

No I/O here, so they are cheap to test; each costs a few milliseconds to build.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.data import UNKNOWN, WEEKDAYS

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
TEAL = "#0f766e"
BLUE = "#2563eb"
AMBER = "#d97706"
PALETTE = ("#0f766e", "#2563eb", "#d97706", "#7c3aed", "#db2777", "#059669", "#64748b")
CHARGER_COLORS = {"Level 1": "#93c5fd", "Level 2": "#2563eb", "DC Fast Charger": "#d97706"}
HEAT_SCALE = [[0.0, "#f0fdfa"], [0.35, "#5eead4"], [0.7, "#0d9488"], [1.0, "#134e4a"]]

# The house style, merged into each layout with template "none": an explicit Template costs
# ~8 ms of validation per figure (a named one like "plotly_white" ~50 ms); this costs ~2 ms.
STYLE: dict[str, Any] = {
    "template": "none",
    "font": {
        "family": "Inter, system-ui, -apple-system, Segoe UI, sans-serif",
        "size": 13,
        "color": INK,
    },
    "colorway": list(PALETTE),
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "title": {"font": {"size": 15, "color": INK}, "x": 0.0, "xanchor": "left", "y": 0.97},
    "xaxis": {"gridcolor": GRID, "zeroline": False, "linecolor": GRID, "automargin": True},
    "yaxis": {"gridcolor": GRID, "zeroline": False, "linecolor": GRID, "automargin": True},
    "hoverlabel": {"bgcolor": "white", "font": {"color": INK}},
    "legend": {"orientation": "h", "y": -0.2, "x": 0.0},
    "margin": {"l": 56, "r": 16, "t": 48, "b": 44},
    "showlegend": False,
}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = (
            _merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def _layout(title: str, height: int = 340, **extra: Any) -> dict[str, Any]:
    return _merge(STYLE, {"title": {"text": title}, "height": height, **extra})


def _figure(traces: Any, layout: dict[str, Any]) -> go.Figure:
    """A Figure without property validation: these specs are fixed in this module (and the
    tests re-validate every one of them), and validating costs ~3 ms per figure per request."""
    data = traces if isinstance(traces, list) else [traces]
    return go.Figure(data=data, layout=layout, _validate=False)


def charger_color(name: str, i: int = 0) -> str:
    return CHARGER_COLORS.get(name, PALETTE[i % len(PALETTE)])


def placeholder(title: str, message: str) -> go.Figure:
    """An empty chart that says why it is empty (no data, database down)."""
    return _figure(
        [],
        layout=_layout(
            title,
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[
                {
                    "text": message,
                    "showarrow": False,
                    "x": 0.5,
                    "y": 0.5,
                    "xref": "paper",
                    "yref": "paper",
                    "font": {"size": 14, "color": MUTED},
                }
            ],
        ),
    )


def _count_axis(values: Any, **extra: Any) -> dict[str, Any]:
    """An axis of counts: whole-number ticks even when the counts are small."""
    top = max((float(v) for v in values), default=0.0)
    return {**extra, "dtick": 1} if top <= 8 else extra


def _empty(df: pd.DataFrame, column: str = "sessions") -> bool:
    return df.empty or float(df[column].fillna(0).sum()) == 0


NOT_IN_DATA = "{what} is not in this data"


def _lacks(df: pd.DataFrame, dim: str) -> bool:
    """Every session of the selection comes from exports without this column."""
    return set(df[dim]) <= {UNKNOWN}


# ---- the five original charts (overview) ---------------------------------------------------


def sessions_by_location(df: pd.DataFrame) -> go.Figure:
    """df: dashboard.data.by_location()."""
    title = "Sessions by location"
    if _empty(df):
        return placeholder(title, "No sessions for these filters")
    if _lacks(df, "location"):
        return placeholder(title, NOT_IN_DATA.format(what="Location"))
    return _figure(
        dict(
            type="bar",
            x=list(df["location"]),
            y=list(df["sessions"]),
            marker_color=TEAL,
            hovertemplate="%{x}: %{y:,} sessions<extra></extra>",
        ),
        layout=_layout(title, yaxis=_count_axis(df["sessions"], title={"text": "sessions"})),
    )


def avg_energy_by_location(df: pd.DataFrame) -> go.Figure:
    """df: dashboard.data.by_location(); the average is energy sum / sessions with energy."""
    title = "Average energy per session by location"
    if _empty(df):
        return placeholder(title, "No sessions for these filters")
    if _empty(df, "energy_sessions"):
        return placeholder(title, NOT_IN_DATA.format(what="Energy"))
    d = df.sort_values("avg_energy_kwh", ascending=False)
    return _figure(
        dict(
            type="bar",
            x=list(d["location"]),
            y=[_num(v) for v in d["avg_energy_kwh"]],
            marker_color=BLUE,
            hovertemplate="%{x}: %{y:,.1f} kWh per session<extra></extra>",
        ),
        layout=_layout(title, yaxis={"title": {"text": "kWh per session"}}),
    )


def charger_type_distribution(df: pd.DataFrame) -> go.Figure:
    """df: dashboard.data.by_charger_type(): share of sessions per charger type."""
    title = "Sessions by charger type"
    if _empty(df):
        return placeholder(title, "No sessions for these filters")
    if _lacks(df, "charger_type"):
        return placeholder(title, NOT_IN_DATA.format(what="Charger type"))
    names = list(df["charger_type"])
    return _figure(
        dict(
            type="pie",
            labels=names,
            values=list(df["sessions"]),
            hole=0.55,
            sort=False,
            marker={"colors": [charger_color(n, i) for i, n in enumerate(names)]},
            textinfo="percent",
            hovertemplate="%{label}: %{value:,} sessions (%{percent})<extra></extra>",
        ),
        layout=_layout(
            title, showlegend=True, legend={"orientation": "h", "y": -0.05}, margin={"t": 56}
        ),
    )


def energy_by_day_of_week(df: pd.DataFrame) -> go.Figure:
    """df: dashboard.data.by_day_of_week(): seven rows, Monday first."""
    title = "Energy delivered by day of week"
    if _empty(df, "energy_kwh"):
        return placeholder(title, "No sessions for these filters")
    return _figure(
        dict(
            type="bar",
            x=[d[:3] for d in df["day"]],
            y=list(df["energy_kwh"]),
            marker_color=TEAL,
            customdata=list(df["day"]),
            hovertemplate="%{customdata}: %{y:,.0f} kWh<extra></extra>",
        ),
        layout=_layout(title, yaxis={"title": {"text": "kWh"}}),
    )


def avg_cost_by_charger_type(df: pd.DataFrame) -> go.Figure:
    """df: dashboard.data.by_charger_type(); average cost = cost sum / sessions with a cost."""
    title = "Average cost per session by charger type"
    if _empty(df):
        return placeholder(title, "No sessions for these filters")
    if _empty(df, "cost_sessions"):
        return placeholder(title, NOT_IN_DATA.format(what="A fee in USD"))
    names = list(df["charger_type"])
    return _figure(
        dict(
            type="bar",
            x=names,
            y=[_num(v) for v in df["avg_cost_usd"]],
            marker_color=[charger_color(n, i) for i, n in enumerate(names)],
            customdata=[_num(v) for v in df["cost_per_kwh"]],
            hovertemplate="%{x}: $%{y:,.2f} per session ($%{customdata:.3f}/kWh)<extra></extra>",
        ),
        layout=_layout(title, yaxis={"title": {"text": "USD per session"}, "tickprefix": "$"}),
    )


# ---- demand --------------------------------------------------------------------------------


def weekday_hour_heatmap(df: pd.DataFrame, value: str = "sessions") -> go.Figure:
    """df: dashboard.data.fetch_heatmap() (168 rows); value: "sessions" or "energy_kwh"."""
    is_energy = value == "energy_kwh"
    title = (
        "Energy by start hour and weekday" if is_energy else "Sessions by start hour and weekday"
    )
    if _empty(df, value):
        return placeholder(title, "No sessions for these filters")
    grid = df.pivot(index="day_of_week", columns="hour", values=value).reindex(
        index=range(7), columns=range(24), fill_value=0
    )
    unit = "kWh" if is_energy else "sessions"
    fmt = ",.0f"
    return _figure(
        dict(
            type="heatmap",
            z=grid.to_numpy().tolist(),
            x=[f"{h:02d}" for h in range(24)],
            y=[d[:3] for d in WEEKDAYS],
            colorscale=HEAT_SCALE,
            colorbar={"title": {"text": unit}, "thickness": 12},
            hovertemplate=f"%{{y}} %{{x}}:00: %{{z:{fmt}}} {unit}<extra></extra>",
            xgap=1,
            ygap=1,
        ),
        layout=_layout(
            title,
            height=320,
            xaxis={"title": {"text": "hour of day (start)"}, "gridcolor": "rgba(0,0,0,0)"},
            yaxis={"autorange": "reversed", "gridcolor": "rgba(0,0,0,0)"},
        ),
    )


def load_curve(df: pd.DataFrame) -> go.Figure:
    """df: dashboard.data.fetch_load_curve(): hour, avg_kw, peak_kw."""
    title = "Load curve: average and peak kW by hour of day"
    if df.empty or float(df["peak_kw"].sum()) == 0:
        return placeholder(title, "No charging in this period")
    hours = [f"{h:02d}:00" for h in df["hour"]]
    return _figure(
        [
            dict(
                type="scatter",
                x=hours,
                y=list(df["peak_kw"]),
                name="peak (busiest day)",
                mode="lines",
                line={"color": AMBER, "width": 2, "dash": "dot"},
                hovertemplate="%{x}: peak %{y:,.1f} kW<extra></extra>",
            ),
            dict(
                type="scatter",
                x=hours,
                y=list(df["avg_kw"]),
                name="average day",
                mode="lines",
                fill="tozeroy",
                line={"color": TEAL, "width": 3},
                fillcolor="rgba(15,118,110,0.15)",
                hovertemplate="%{x}: average %{y:,.1f} kW<extra></extra>",
            ),
        ],
        layout=_layout(
            title,
            yaxis={"title": {"text": "kW"}, "rangemode": "tozero"},
            hovermode="x unified",
            showlegend=True,
        ),
    )


FREQ_LABEL = {"D": "day", "W": "week", "M": "month"}


def sessions_energy_over_time(df: pd.DataFrame) -> go.Figure:
    """df: dashboard.data.fetch_timeseries(): period, sessions, energy_kwh (attrs["freq"])."""
    freq = str(df.attrs.get("freq", "D"))
    title = f"Sessions and energy per {FREQ_LABEL.get(freq, 'day')}"
    if _empty(df):
        return placeholder(title, "No sessions for these filters")
    x = [p.strftime("%Y-%m-%d") for p in df["period"]]
    partial = list(df["partial"]) if "partial" in df else [False] * len(df)
    note = [" (part of the period only)" if p else "" for p in partial]
    return _figure(
        [
            dict(
                type="bar",
                x=x,
                y=list(df["sessions"]),
                name="sessions",
                customdata=note,
                marker_color=[
                    "rgba(37,99,235,0.25)" if p else "rgba(37,99,235,0.55)" for p in partial
                ],
                hovertemplate="%{x}: %{y:,} sessions%{customdata}<extra></extra>",
            ),
            dict(
                type="scatter",
                x=x,
                y=list(df["energy_kwh"]),
                name="energy (kWh)",
                yaxis="y2",
                mode="lines",
                line={"color": TEAL, "width": 2},
                hovertemplate="%{x}: %{y:,.0f} kWh<extra></extra>",
            ),
        ],
        layout=_layout(
            title,
            height=360,
            bargap=0.1,
            xaxis={"type": "date"},
            yaxis={"title": {"text": "sessions"}, "rangemode": "tozero"},
            yaxis2={
                "title": {"text": "kWh"},
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "rangemode": "tozero",
            },
            legend={"orientation": "h", "y": 1.1, "x": 1.0, "xanchor": "right"},
            showlegend=True,
            margin={"r": 64},
        ),
    )


# ---- pipeline health -----------------------------------------------------------------------


def rule_counts(df: pd.DataFrame, title: str, color: str = AMBER) -> go.Figure:
    """df: rule, rows (quarantined rows or warnings per rule)."""
    if df.empty or int(df["rows"].sum()) == 0:
        return placeholder(title, "None so far")
    d = df.sort_values("rows")
    height = max(220, 60 + 28 * len(d))
    return _figure(
        dict(
            type="bar",
            x=list(d["rows"]),
            y=list(d["rule"]),
            orientation="h",
            marker_color=color,
            hovertemplate="%{y}: %{x:,} rows<extra></extra>",
        ),
        layout=_layout(
            title,
            height=height,
            margin={"l": 170, "r": 16, "t": 48, "b": 36},
            xaxis=_count_axis(d["rows"]),
        ),
    )


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


__all__: Sequence[str] = (
    "avg_cost_by_charger_type", "avg_energy_by_location", "charger_type_distribution",
    "energy_by_day_of_week", "load_curve", "placeholder", "rule_counts", "sessions_by_location",
    "sessions_energy_over_time", "weekday_hour_heatmap",
)  # fmt: skip
