"""Overview: KPI cards and the five charts of the original pipeline."""

from __future__ import annotations

from typing import Any

import dash
from dash import Output, callback, html

from dashboard import data, figures, ui
from dashboard.data import Filters

TITLE = "Overview"
CHARTS = (
    ("chart-sessions-by-location", "Sessions by location"),
    ("chart-energy-by-location", "Average energy per session by location"),
    ("chart-charger-types", "Sessions by charger type"),
    ("chart-energy-by-weekday", "Energy delivered by day of week"),
    ("chart-cost-by-charger-type", "Average cost per session by charger type"),
)
KPIS = (
    ("kpi-sessions", "Sessions", "charging sessions"),
    ("kpi-energy", "Energy delivered", "total"),
    ("kpi-revenue", "Revenue", "charging cost paid"),
    ("kpi-cost-per-kwh", "Average cost per kWh", "revenue / energy"),
    ("kpi-energy-per-session", "Average energy per session", "energy / sessions"),
)


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            html.H1(TITLE, className="page-title"),
            html.Div(id="overview-notice"),
            html.Div([ui.kpi_card(*k) for k in KPIS], className="kpis"),
            html.Div(
                [ui.card(ui.graph(CHARTS[0][0])), ui.card(ui.graph(CHARTS[1][0]))],
                className="grid grid-2",
            ),
            html.Div([ui.card(ui.graph(cid)) for cid, _ in CHARTS[2:]], className="grid grid-3"),
        ]
    )


def _fallback(message: str, kind: str) -> tuple[Any, ...]:
    return (
        ui.notice(message, kind),
        *["–"] * len(KPIS),
        *[figures.placeholder(title, "No data to show") for _, title in CHARTS],
    )


def update_overview(
    start_date: Any = None,
    end_date: Any = None,
    locations: Any = None,
    charger_types: Any = None,
    user_types: Any = None,
    _data_version: Any = None,
) -> tuple[Any, ...]:
    """Callback body: (notice, 5 KPI texts, 5 figures) for the global filters."""
    f = Filters.from_inputs(start_date, end_date, locations, charger_types, user_types)

    def build() -> tuple[Any, ...]:
        ui.require_data()
        ov = data.source.overview(f)
        k = ov.kpis
        message = None if k["sessions"] else "No sessions match these filters."
        return (
            ui.notice(message),
            ui.fmt_int(k["sessions"]),
            ui.fmt_energy(k["energy_kwh"]),
            ui.or_not_in_data(k["revenue_usd"], ui.fmt_usd, k["sessions"]),
            ui.or_not_in_data(k["cost_per_kwh"], ui.fmt_usd_per_kwh, k["sessions"]),
            ui.or_not_in_data(k["energy_per_session"], ui.fmt_kwh, k["sessions"]),
            figures.sessions_by_location(ov.by_location),
            figures.avg_energy_by_location(ov.by_location),
            figures.charger_type_distribution(ov.by_charger_type),
            figures.energy_by_day_of_week(ov.by_day_of_week),
            figures.avg_cost_by_charger_type(ov.by_charger_type),
        )

    return ui.guarded(build, _fallback, "overview")


def register() -> None:
    dash.register_page(
        __name__, path="/", name=TITLE, title="EV charging · Overview", order=0, layout=layout
    )
    callback(
        Output("overview-notice", "children"),
        *[Output(kid, "children") for kid, _, _ in KPIS],
        *[Output(cid, "figure") for cid, _ in CHARTS],
        *ui.FILTER_INPUTS,
        ui.DATA_VERSION,
    )(update_overview)
