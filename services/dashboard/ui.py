"""Shared pieces of the pages: filter inputs, KPI cards, notices, number formats, error guard."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from typing import Any, TypeVar

from dash import Input, dcc, html

from dashboard import data
from dashboard.data import DataUnavailable, Options

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The global filters every analytics callback listens to (ids are part of the interface).
FILTER_INPUTS = [
    Input("filter-date-range", "start_date"),
    Input("filter-date-range", "end_date"),
    Input("filter-location", "value"),
    Input("filter-charger-type", "value"),
    Input("filter-user-type", "value"),
]
DATA_VERSION = Input("data-version", "data")
RUNS_VERSION = Input("runs-version", "data")

INTERNAL_ERROR = (
    "Something went wrong while preparing this page; the details are in the dashboard's log."
)

GRAPH_CONFIG: Any = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
}


class NoData(Exception):
    """The marts hold no sessions yet; str() says what to do."""


def require_data() -> Options:
    opts = data.source.options()
    if opts.empty:
        raise NoData(opts.empty_message)
    return opts


def guarded(build: Callable[[], T], fallback: Callable[[str, str], T], what: str) -> T:
    """build(), or fallback(message, kind) with a message fit for the browser (never a trace)."""
    try:
        return build()
    except NoData as err:
        return fallback(str(err), "info")
    except DataUnavailable as err:
        return fallback(str(err), "error")
    except Exception:
        log.exception("dashboard: %s failed", what)
        return fallback(INTERNAL_ERROR, "error")


def rich_text(message: str) -> list[Any]:
    """`code` spans and **bold** of a message as components (no Markdown renderer needed)."""
    parts: list[Any] = []
    for i, chunk in enumerate(message.split("`")):
        if i % 2:
            parts.append(html.Code(chunk))
            continue
        for j, piece in enumerate(chunk.split("**")):
            if piece:
                parts.append(html.Strong(piece) if j % 2 else piece)
    return parts


def notice(message: str | None, kind: str = "info") -> Any:
    if not message:
        return None
    return html.Div(
        html.P(rich_text(message), className="notice-text"),
        className=f"notice notice-{kind}",
        role="alert" if kind == "error" else "status",
    )


def kpi_card(card_id: str, label: str, hint: str = "") -> html.Div:
    return html.Div(
        [
            html.Div(label, className="kpi-label"),
            html.Div("–", id=card_id, className="kpi-value"),
            html.Div(hint, className="kpi-hint"),
        ],
        className="kpi",
    )


def graph(graph_id: str, height: int = 340) -> dcc.Graph:
    return dcc.Graph(
        id=graph_id,
        config=GRAPH_CONFIG,
        className="chart",
        style={"height": f"{height}px"},
    )


def card(*children: Any, class_name: str = "") -> html.Div:
    return html.Div(list(children), className=f"card {class_name}".strip())


# ---- formats -------------------------------------------------------------------------------


def _bad(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_int(v: Any) -> str:
    return "–" if _bad(v) else f"{int(v):,}"


def fmt_energy(kwh: Any) -> str:
    if _bad(kwh):
        return "–"
    v = float(kwh)
    if abs(v) >= 10_000_000:
        return f"{v / 1_000_000:,.2f} GWh"
    if abs(v) >= 100_000:
        return f"{v / 1_000:,.1f} MWh"
    return f"{v:,.1f} kWh"


def fmt_usd(v: Any) -> str:
    if _bad(v):
        return "–"
    return f"${float(v):,.0f}" if abs(float(v)) >= 100_000 else f"${float(v):,.2f}"


NOT_IN_DATA = "not in this data"


def or_not_in_data(v: Any, fmt: Callable[[Any], str], sessions: Any = 1) -> str:
    """A measure the selected sessions' exports do not have reads "not in this data", never 0
    (with no sessions at all it is just "–")."""
    if v is None and sessions:
        return NOT_IN_DATA
    return fmt(v)


def fmt_usd_per_kwh(v: Any) -> str:
    return "–" if _bad(v) else f"${float(v):.3f}/kWh"


def fmt_kwh(v: Any) -> str:
    return "–" if _bad(v) else f"{float(v):,.1f} kWh"


def fmt_age(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = max(0.0, seconds)
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} days"


def fmt_when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def period_text(opts: Options, start: dt.date | None, end: dt.date | None) -> str:
    period = data.resolve_period(data.Filters(start, end), opts)
    if period is None:
        return "No days selected"
    days = (period[1] - period[0]).days + 1
    return f"{period[0]:%Y-%m-%d} → {period[1]:%Y-%m-%d} ({days:,} days)"
