"""`evpipe report --out DIR`: the KPIs and the five classic charts as files to share.

Writes kpis.json, kpis.png and one PNG per chart (sessions by location, average energy by
location, charger type distribution, energy by day of week, average cost by charger type), with
matplotlib's Agg backend (no display needed). The numbers come from the same queries as the
dashboard's overview (dashboard.data), over all the data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: render to files, never open a window

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from dashboard import data
from evpipe.db import connect
from evpipe.errors import EvpipeError
from evpipe.settings import Settings

log = logging.getLogger(__name__)
# "Mon", "Tue"... parse as dates, which makes matplotlib log a hint about categorical units
logging.getLogger("matplotlib.category").setLevel(logging.WARNING)

TEAL, BLUE, INK, MUTED, GRID = "#0f766e", "#2563eb", "#1f2937", "#6b7280", "#e5e7eb"
CHARGER_COLORS = {"Level 1": "#93c5fd", "Level 2": "#2563eb", "DC Fast Charger": "#d97706"}
CHART_FILES = (
    "sessions_by_location.png",
    "avg_energy_by_location.png",
    "charger_type_distribution.png",
    "energy_by_day_of_week.png",
    "avg_cost_by_charger_type.png",
)


def render_report(settings: Settings, out_dir: Path) -> list[Path]:
    """Render kpis.json, kpis.png and the five charts into out_dir; return the paths written.

    Raises EvpipeError (one-line message) when the database is unreachable or holds no data.
    """
    conn = connect(settings, retry=False)
    try:
        conn.autocommit = True
        opts = data.fetch_options(conn)
        if opts.empty:
            raise EvpipeError(
                "no sessions in the marts yet: drop CSV exports into data/incoming and run "
                "`make reload` (natively: `evpipe run`), then `evpipe report` again"
            )
        segments = data.fetch_segments(conn, data.Filters(), opts)
    finally:
        conn.close()
    ov = data.overview_from_segments(segments)
    out_dir.mkdir(parents=True, exist_ok=True)
    period = f"{opts.first_date} to {opts.last_date}"
    kpis: dict[str, Any] = {
        **ov.kpis,
        "first_session_date": str(opts.first_date),
        "last_session_date": str(opts.last_date),
        "generated_at_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    paths = [out_dir / "kpis.json"]
    paths[0].write_text(json.dumps(kpis, indent=2) + "\n", encoding="utf-8")

    charts: list[tuple[str, Figure]] = [
        ("kpis.png", _kpi_card(ov.kpis, period)),
        (
            CHART_FILES[0],
            _bars(
                list(ov.by_location["location"]),
                list(ov.by_location["sessions"]),
                "Sessions by location",
                "sessions",
                TEAL,
                "{:,.0f}",
            ),
        ),
        (
            CHART_FILES[1],
            _bars(
                list(ov.by_location["location"]),
                _clean(ov.by_location["avg_energy_kwh"]),
                "Average energy per session by location",
                "kWh per session",
                BLUE,
                "{:,.1f}",
            ),
        ),
        (
            CHART_FILES[2],
            _donut(list(ov.by_charger_type["charger_type"]), list(ov.by_charger_type["sessions"])),
        ),
        (
            CHART_FILES[3],
            _bars(
                [d[:3] for d in ov.by_day_of_week["day"]],
                list(ov.by_day_of_week["energy_kwh"]),
                "Energy delivered by day of week",
                "kWh",
                TEAL,
                "{:,.0f}",
            ),
        ),
        (
            CHART_FILES[4],
            _bars(
                list(ov.by_charger_type["charger_type"]),
                _clean(ov.by_charger_type["avg_cost_usd"]),
                "Average cost per session by charger type",
                "USD per session",
                [CHARGER_COLORS.get(c, TEAL) for c in ov.by_charger_type["charger_type"]],
                "${:,.2f}",
            ),
        ),
    ]
    for name, fig in charts:
        for ax in fig.axes:
            ax.set_title(period, loc="right", fontsize=8, color=MUTED, pad=12)
        path = out_dir / name
        fig.savefig(path, dpi=150)
        plt.close(fig)
        paths.append(path)
    log.info("report: wrote %d files to %s", len(paths), out_dir)
    return paths


def _clean(values: Any) -> list[float]:
    return [0.0 if v is None or v != v else float(v) for v in values]


def _axes(title: str, size: tuple[float, float] = (7.0, 4.2)) -> tuple[Figure, Any]:
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    ax.set_title(title, loc="left", fontsize=12, color=INK, pad=10)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(GRID)
    ax.tick_params(colors=INK, length=0)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _bars(
    labels: list[str], values: list[float], title: str, ylabel: str, color: Any, fmt: str
) -> Figure:
    fig, ax = _axes(title)
    bars = ax.bar(labels, values, color=color, width=0.65)
    ax.set_ylabel(ylabel, color=MUTED)
    ax.bar_label(bars, labels=[fmt.format(v) for v in values], padding=3, fontsize=8, color=MUTED)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}" if v >= 10 else f"{v:g}"))
    ax.margins(y=0.12)
    return fig


def _donut(labels: list[str], values: list[float]) -> Figure:
    fig, ax = plt.subplots(figsize=(6.0, 4.2), layout="constrained")
    ax.set_title("Sessions by charger type", loc="left", fontsize=12, color=INK, pad=10)
    colors = [CHARGER_COLORS.get(c, TEAL) for c in labels]
    ax.pie(
        values,
        labels=labels,
        colors=colors,
        autopct="%1.1f%%",
        startangle=90,
        counterclock=False,
        pctdistance=0.78,
        wedgeprops={"width": 0.42, "edgecolor": "white"},
        textprops={"color": INK, "fontsize": 9},
    )
    ax.set_aspect("equal")
    return fig


def _or_missing(value: Any, fmt: str) -> str:
    """What the loaded exports lack is "not in this data", never 0."""
    return "not in this data" if value is None else fmt.format(value)


def _kpi_card(k: dict[str, Any], period: str) -> Figure:
    fig = plt.figure(figsize=(9.0, 2.2))
    fig.text(0.98, 0.88, period, fontsize=8, color=MUTED, ha="right")
    items = [
        ("Sessions", f"{k['sessions']:,}"),
        ("Energy", f"{k['energy_kwh']:,.0f} kWh"),
        ("Revenue", _or_missing(k["revenue_usd"], "${:,.2f}")),
        ("Cost per kWh", _or_missing(k["cost_per_kwh"], "${:.3f}")),
        ("kWh per session", _or_missing(k["energy_per_session"], "{:.1f}")),
    ]
    fig.text(0.02, 0.88, "EV charging KPIs", fontsize=13, color=INK, weight="bold")
    for i, (label, value) in enumerate(items):
        x = 0.02 + i * 0.196
        fig.text(x, 0.55, label.upper(), fontsize=8, color=MUTED)
        fig.text(x, 0.32, value, fontsize=13, color=INK, weight="bold")
    return fig
