"""Demand: when people charge (hour x weekday), the load curve, and sessions over time."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from dashboard import data, figures, ui
from dashboard.data import Filters

TITLE = "Demand"
FREQUENCIES = (("auto", "Auto"), ("D", "Daily"), ("W", "Weekly"), ("M", "Monthly"))


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            html.H1(TITLE, className="page-title"),
            html.Div(id="demand-notice"),
            html.Div(
                [
                    ui.card(ui.graph("chart-heatmap-sessions", 320)),
                    ui.card(ui.graph("chart-heatmap-energy", 320)),
                ],
                className="grid grid-2",
            ),
            ui.card(
                ui.graph("chart-load-curve", 340),
                html.P(
                    "Each session's energy is spread evenly over its charging interval; a clock "
                    "hour's kWh is its average kW. Average: over every day of the period. Peak: "
                    "the busiest day for that hour.",
                    className="chart-note",
                ),
            ),
            ui.card(
                html.Div(
                    [
                        html.Span("Group by", className="filter-label"),
                        dcc.RadioItems(
                            id="demand-frequency",
                            options=[{"label": label, "value": v} for v, label in FREQUENCIES],
                            value="auto",
                            inline=True,
                            className="radio",
                        ),
                    ],
                    className="toolbar",
                ),
                ui.graph("chart-over-time", 360),
            ),
        ]
    )


def _fallback(message: str, kind: str) -> tuple[Any, ...]:
    return (
        ui.notice(message, kind),
        figures.placeholder("Sessions by start hour and weekday", "No data to show"),
        figures.placeholder("Energy by start hour and weekday", "No data to show"),
        figures.placeholder("Load curve", "No data to show"),
    )


def update_demand(
    start_date: Any = None,
    end_date: Any = None,
    locations: Any = None,
    charger_types: Any = None,
    user_types: Any = None,
    _data_version: Any = None,
) -> tuple[Any, ...]:
    """Callback body: (notice, sessions heatmap, energy heatmap, load curve)."""
    f = Filters.from_inputs(start_date, end_date, locations, charger_types, user_types)

    def build() -> tuple[Any, ...]:
        ui.require_data()
        heat = data.source.heatmap(f)
        load = data.source.load_curve(f)
        message = None if int(heat["sessions"].sum()) else "No sessions match these filters."
        return (
            ui.notice(message),
            figures.weekday_hour_heatmap(heat, "sessions"),
            figures.weekday_hour_heatmap(heat, "energy_kwh"),
            figures.load_curve(load),
        )

    return ui.guarded(build, _fallback, "demand")


def update_over_time(
    start_date: Any = None,
    end_date: Any = None,
    locations: Any = None,
    charger_types: Any = None,
    user_types: Any = None,
    frequency: Any = "auto",
    _data_version: Any = None,
) -> Any:
    """Callback body: the sessions / energy over time figure (daily, weekly or monthly)."""
    f = Filters.from_inputs(start_date, end_date, locations, charger_types, user_types)

    def build() -> Any:
        ui.require_data()
        return figures.sessions_energy_over_time(
            data.source.timeseries(f, str(frequency or "auto"))
        )

    return ui.guarded(
        build,
        lambda _m, _k: figures.placeholder("Sessions and energy over time", "No data to show"),
        "sessions over time",
    )


def register() -> None:
    dash.register_page(
        __name__, path="/demand", name=TITLE, title="EV charging · Demand", order=1, layout=layout
    )
    callback(
        Output("demand-notice", "children"),
        Output("chart-heatmap-sessions", "figure"),
        Output("chart-heatmap-energy", "figure"),
        Output("chart-load-curve", "figure"),
        *ui.FILTER_INPUTS,
        ui.DATA_VERSION,
    )(update_demand)
    callback(
        Output("chart-over-time", "figure"),
        *ui.FILTER_INPUTS,
        Input("demand-frequency", "value"),
        ui.DATA_VERSION,
    )(update_over_time)
