"""Stations: a sortable table per station port with utilisation and idle time, and its CSV
download."""

from __future__ import annotations

import math
import warnings
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, callback, dash_table, dcc, html
from dash.dash_table.Format import Format, Group, Scheme

from dashboard import data, ui
from dashboard.data import Filters

TITLE = "Stations"

# (column id, header, kind): kind picks the number format
COLUMNS = (
    ("station_id", "Station", "text"),
    ("port_id", "Port", "text"),
    ("location", "Location", "text"),
    ("charger_type", "Main charger type", "text"),
    ("sessions", "Sessions", "int"),
    ("energy_kwh", "Energy (kWh)", "num1"),
    ("revenue_usd", "Revenue (USD)", "usd"),
    ("cost_per_kwh", "Cost per kWh (USD)", "usd3"),
    ("avg_energy_kwh", "kWh per session", "num1"),
    ("charging_hours", "Plugged-in hours", "num1"),
    ("utilisation", "Utilisation", "pct"),
    ("idle_share", "Idle share", "pct"),
    ("avg_idle_hours", "Idle hours per session", "num2"),
)
_FORMATS = {
    "int": Format(group=Group.yes, precision=0, scheme=Scheme.fixed),
    "num1": Format(group=Group.yes, precision=1, scheme=Scheme.fixed),
    "num2": Format(group=Group.yes, precision=2, scheme=Scheme.fixed),
    "usd": Format(group=Group.yes, precision=2, scheme=Scheme.fixed),
    "usd3": Format(precision=3, scheme=Scheme.fixed),
    "pct": Format(precision=1, scheme=Scheme.percentage),
}
CSV_COLUMNS = {cid: header for cid, header, _ in COLUMNS}


def _columns() -> list[dict[str, Any]]:
    out = []
    for cid, header, kind in COLUMNS:
        col: dict[str, Any] = {"id": cid, "name": header}
        if kind != "text":
            col.update(type="numeric", format=_FORMATS[kind])
        out.append(col)
    return out


def _table() -> Any:
    with warnings.catch_warnings():  # DataTable's "will be removed in a future major version"
        warnings.simplefilter("ignore", DeprecationWarning)
        return dash_table.DataTable(  # type: ignore[attr-defined]
            id="stations-table",
            columns=_columns(),
            data=[],
            sort_action="native",
            sort_by=[{"column_id": "sessions", "direction": "desc"}],
            filter_action="native",
            filter_options={"case": "insensitive", "placeholder_text": "filter…"},
            page_action="native",
            page_size=25,
            style_as_list_view=True,
            style_table={"overflowX": "auto"},
            style_header={
                "fontWeight": "600",
                "backgroundColor": "#f8fafc",
                "borderBottom": "1px solid #e5e7eb",
                "whiteSpace": "normal",
            },
            style_cell={
                "fontFamily": "inherit",
                "fontSize": "13px",
                "padding": "8px 10px",
                "border": "none",
                "borderBottom": "1px solid #f1f5f9",
            },
            style_cell_conditional=[
                {"if": {"column_id": c}, "textAlign": "left"}
                for c in ("station_id", "port_id", "location", "charger_type")
            ],
            style_data_conditional=[{"if": {"row_index": "odd"}, "backgroundColor": "#fafafa"}],
        )


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            html.H1(TITLE, className="page-title"),
            html.Div(id="stations-notice"),
            ui.card(
                html.Div(
                    [
                        html.Div(id="stations-period", className="muted"),
                        html.Button(
                            "Download CSV",
                            id="stations-download-button",
                            className="button",
                            n_clicks=0,
                        ),
                        dcc.Download(id="stations-download"),
                    ],
                    className="toolbar toolbar-split",
                ),
                _table(),
                html.P(
                    "One row per station and port (Port is empty where the export has no port "
                    "number). Utilisation = plugged-in hours (plug-in to plug-out) / hours in "
                    "the selected period. Idle time = plugged-in minus charging time, over the "
                    "sessions whose export records both; idle share = idle hours / their "
                    "plugged-in hours. Cells left empty are not in this data: revenue where the "
                    "export has no fee in USD, idle time where it has no charging time or no "
                    "plug-out time.",
                    className="chart-note",
                ),
            ),
        ]
    )


def table_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows (NaN becomes null) for the DataTable."""
    keep = [c for c, _, _ in COLUMNS]
    columns = [df[c].tolist() for c in keep]
    return [
        {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in zip(keep, vals, strict=True)
        }
        for vals in zip(*columns, strict=True)
    ]


def update_stations(
    start_date: Any = None,
    end_date: Any = None,
    locations: Any = None,
    charger_types: Any = None,
    user_types: Any = None,
    _data_version: Any = None,
) -> tuple[Any, ...]:
    """Callback body: (notice, period text, table rows)."""
    f = Filters.from_inputs(start_date, end_date, locations, charger_types, user_types)

    def build() -> tuple[Any, ...]:
        opts = ui.require_data()
        df = data.source.stations(f)
        hours = df.attrs.get("period_hours", 0)
        stations = df[["station_id", "location"]].drop_duplicates().shape[0] if len(df) else 0
        text = (
            f"{stations:,} stations, {len(df):,} rows · "
            f"{ui.period_text(opts, f.start, f.end)} · {hours:,} hours"
        )
        message = None if len(df) else "No sessions match these filters."
        return ui.notice(message), text, table_records(df)

    return ui.guarded(build, lambda m, k: (ui.notice(m, k), "", []), "stations")


def download_stations_csv(
    n_clicks: Any,
    start_date: Any = None,
    end_date: Any = None,
    locations: Any = None,
    charger_types: Any = None,
    user_types: Any = None,
) -> Any:
    """Callback body: the stations table for the current filters as a CSV download."""
    if not n_clicks:
        return dash.no_update
    f = Filters.from_inputs(start_date, end_date, locations, charger_types, user_types)

    def build() -> Any:
        ui.require_data()
        df = data.source.stations(f)[list(CSV_COLUMNS)].round(6).rename(columns=CSV_COLUMNS)
        name = f"stations_{f.start or 'first'}_{f.end or 'last'}.csv"
        return dcc.send_data_frame(df.to_csv, name, index=False)

    return ui.guarded(build, lambda _m, _k: dash.no_update, "stations CSV")


def register() -> None:
    dash.register_page(
        __name__,
        path="/stations",
        name=TITLE,
        title="EV charging · Stations",
        order=2,
        layout=layout,
    )
    callback(
        Output("stations-notice", "children"),
        Output("stations-period", "children"),
        Output("stations-table", "data"),
        *ui.FILTER_INPUTS,
        ui.DATA_VERSION,
    )(update_stations)
    callback(
        Output("stations-download", "data"),
        Input("stations-download-button", "n_clicks"),
        *[State(i.component_id, i.component_property) for i in ui.FILTER_INPUTS],
        prevent_initial_call=True,
    )(download_stations_csv)
