"""The frame around every page: header and navigation, the global filters, the version stores
that refresh the pages after a reload, and the callbacks that keep them current."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import dash
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from dashboard import data, ui
from dashboard.data import DataUnavailable, Options

log = logging.getLogger(__name__)

REFRESH_MS = 20_000  # how often an open page checks for a new data version (and a DB back up)
NAV = (
    ("/", "Overview"),
    ("/demand", "Demand"),
    ("/stations", "Stations"),
    ("/health", "Pipeline health"),
)
UNAVAILABLE = "unavailable"


def _options() -> tuple[Options, str, str]:
    """Filter options and both versions; empty options while the database is unreachable."""
    try:
        return data.source.options(), data.source.version(), data.source.runs_version()
    except DataUnavailable:
        return Options(), UNAVAILABLE, UNAVAILABLE
    except Exception:
        log.exception("dashboard: reading the filter options failed")
        return Options(), UNAVAILABLE, UNAVAILABLE


def read_from_text() -> str:
    """Where the numbers come from, e.g. 'read from db-replica:3306' (the status tooltip)."""
    try:
        return f"read from {data.source.read_route().label}"
    except DataUnavailable:
        return ""


def read_notice(_n: Any = None) -> Any:
    """The banner above every page when the dashboard cannot read where it should (a read
    replica is down, so it reads the primary; or the primary is down, so it reads a replica)."""
    try:
        return ui.notice(data.source.read_route().notice, "error")
    except DataUnavailable:
        return None  # the pages say that the database is unreachable
    except Exception:
        log.exception("dashboard: checking where to read failed")
        return None


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _choices(values: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"label": v, "value": v} for v in values]


def status_text(opts: Options) -> str:
    if opts.empty:
        return "no data yet"
    return f"{opts.sessions:,} sessions · {opts.first_date} → {opts.last_date}"


def _dropdown(component_id: str, label: str, values: tuple[str, ...], placeholder: str) -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=component_id, className="filter-label"),
            dcc.Dropdown(
                id=component_id,
                options=_choices(values),
                value=[],
                multi=True,
                placeholder=placeholder,
                persistence=True,
                persistence_type="session",
            ),
        ],
        className="filter",
    )


def layout() -> html.Div:
    """The app layout, computed per page load so the filters offer the current values."""
    opts, version, runs_version = _options()
    return html.Div(
        [
            dcc.Location(id="url"),
            html.Header(
                [
                    html.Div(
                        [
                            html.Span("⚡", className="brand-mark"),
                            html.Span("EV charging analytics", className="brand-name"),
                        ],
                        className="brand",
                    ),
                    html.Nav(
                        [
                            dcc.Link(
                                name,
                                href=path,
                                id=f"nav-{path.strip('/') or 'overview'}",
                                className="nav-link",
                            )
                            for path, name in NAV
                        ],
                        className="nav",
                    ),
                    html.Div(
                        status_text(opts),
                        id="data-status",
                        className="data-status",
                        title=read_from_text(),
                    ),
                ],
                className="topbar",
            ),
            html.Section(
                [
                    html.Div(
                        [
                            html.Label(
                                "Dates", htmlFor="filter-date-range", className="filter-label"
                            ),
                            dcc.DatePickerRange(
                                id="filter-date-range",
                                min_date_allowed=_iso(opts.first_date),
                                max_date_allowed=_iso(opts.last_date),
                                initial_visible_month=_iso(opts.last_date),
                                start_date_placeholder_text="First session",
                                end_date_placeholder_text="Last session",
                                clearable=True,
                                first_day_of_week=1,
                                persistence=True,
                                persistence_type="session",
                            ),
                        ],
                        className="filter filter-dates",
                    ),
                    _dropdown("filter-location", "Locations", opts.locations, "All locations"),
                    _dropdown(
                        "filter-charger-type",
                        "Charger types",
                        opts.charger_types,
                        "All charger types",
                    ),
                    _dropdown("filter-user-type", "User types", opts.user_types, "All user types"),
                ],
                className="filters",
                id="filters",
            ),
            dcc.Store(id="data-version", data=version),
            dcc.Store(id="runs-version", data=runs_version),
            dcc.Interval(id="refresh-interval", interval=REFRESH_MS),
            html.Div(read_notice(), id="read-notice", className="read-notice"),
            html.Main(dash.page_container, className="page"),
            html.Footer(
                "Numbers come from the marts built by evpipe transform; averages are sums "
                "divided by counts. Session dates and hours are local time at the charger; "
                "pipeline run times are UTC.",
                className="footer",
            ),
        ],
        className="app",
    )


# ---- callbacks (bodies are plain functions so that they can be timed and tested) ------------


def poll_versions(
    _n: Any = None, data_version: Any = None, runs_version: Any = None
) -> tuple[Any, Any]:
    """Every REFRESH_MS: new versions when a run changed something or the database came back,
    which makes the open page reload its data; dash.no_update otherwise."""
    try:
        new_data, new_runs = data.source.version(), data.source.runs_version()
    except DataUnavailable:
        new_data = new_runs = UNAVAILABLE
    except Exception:
        log.exception("dashboard: polling the data version failed")
        return dash.no_update, dash.no_update
    return (
        new_data if new_data != data_version else dash.no_update,
        new_runs if new_runs != runs_version else dash.no_update,
    )


def refresh_filter_options(_version: Any = None) -> tuple[Any, ...]:
    """After a new data version: the filters' choices, the allowed dates and the status line."""
    opts, _v, _r = _options()
    return (
        _choices(opts.locations),
        _choices(opts.charger_types),
        _choices(opts.user_types),
        opts.first_date,
        opts.last_date,
        status_text(opts),
    )


def register() -> None:
    callback(
        Output("read-notice", "children"),
        Input("refresh-interval", "n_intervals"),
        prevent_initial_call=True,
    )(read_notice)
    callback(
        Output("data-version", "data"),
        Output("runs-version", "data"),
        Input("refresh-interval", "n_intervals"),
        State("data-version", "data"),
        State("runs-version", "data"),
        prevent_initial_call=True,
    )(poll_versions)
    callback(
        Output("filter-location", "options"),
        Output("filter-charger-type", "options"),
        Output("filter-user-type", "options"),
        Output("filter-date-range", "min_date_allowed"),
        Output("filter-date-range", "max_date_allowed"),
        Output("data-status", "children"),
        Input("data-version", "data"),
        prevent_initial_call=True,
    )(refresh_filter_options)
    paths = [p for p, _ in NAV]
    clientside_callback(
        "function(path) { var p = path || '/'; return " + repr(paths) + ".map(function(n) {"
        " var on = n === '/' ? (p === '/' || p === '') : p.indexOf(n) === 0;"
        " return on ? 'nav-link active' : 'nav-link'; }); }",
        [Output(f"nav-{p.strip('/') or 'overview'}", "className") for p in paths],
        Input("url", "pathname"),
    )
