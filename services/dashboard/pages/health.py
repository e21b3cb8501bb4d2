"""Pipeline health: recent runs, freshness, quarantined rows by rule with examples, warnings."""

from __future__ import annotations

import math
import warnings
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, callback, dash_table, html

from dashboard import data, figures, ui
from dashboard.data import Health

TITLE = "Pipeline health"
RUN_COLUMNS = (
    ("run_id", "Run"), ("command", "Command"), ("status", "Status"),
    ("started_at", "Started (UTC)"),
    ("duration", "Duration"), ("files", "Files loaded / seen"), ("rows_inserted", "Rows inserted"),
    ("rows_already_present", "Already present"), ("rows_quarantined", "Quarantined"),
    ("error_message", "Error"),
)  # fmt: skip
EXAMPLE_COLUMNS = (
    ("rule", "Rule"), ("source_file", "File"), ("line_number", "Line"), ("message", "Message"),
    ("raw_line", "Raw line"),
)  # fmt: skip
FORMAT_COLUMNS = (
    ("profile", "Export format"), ("files", "Files"), ("rows_read", "Rows read"),
    ("files_refused", "Files refused"), ("last_seen", "Last read (UTC)"),
)  # fmt: skip
FRESHNESS = (
    ("health-newest-session", "Newest session start"),
    ("health-last-success", "Last successful run"),
    ("health-last-run", "Last run"),
    ("health-quarantined", "Rows in quarantine"),
)


def _table(table_id: str, columns: tuple[tuple[str, str], ...], **extra: Any) -> Any:
    with warnings.catch_warnings():  # DataTable's "will be removed in a future major version"
        warnings.simplefilter("ignore", DeprecationWarning)
        return dash_table.DataTable(  # type: ignore[attr-defined]
            id=table_id,
            columns=[{"id": c, "name": n} for c, n in columns],
            data=[],
            style_as_list_view=True,
            style_table={"overflowX": "auto"},
            style_header={
                "fontWeight": "600",
                "backgroundColor": "#f8fafc",
                "borderBottom": "1px solid #e5e7eb",
            },
            style_cell={
                "fontFamily": "inherit",
                "fontSize": "13px",
                "padding": "7px 10px",
                "border": "none",
                "borderBottom": "1px solid #f1f5f9",
                "textAlign": "left",
                "maxWidth": "420px",
                "overflow": "hidden",
                "textOverflow": "ellipsis",
            },
            tooltip_delay=300,
            tooltip_duration=None,
            **extra,
        )


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            html.H1(TITLE, className="page-title"),
            html.P("The filters above do not apply to this page.", className="muted"),
            html.Div(id="health-notice"),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(label, className="kpi-label"),
                            html.Div("–", id=cid, className="kpi-value"),
                            html.Div("", id=f"{cid}-note", className="kpi-hint"),
                        ],
                        className="kpi",
                    )
                    for cid, label in FRESHNESS
                ]
                + [
                    html.Div(
                        [
                            html.Div("Read from", className="kpi-label"),
                            html.Div("–", id="health-read-from", className="kpi-value"),
                            html.Div("", id="health-read-from-note", className="kpi-hint"),
                        ],
                        className="kpi",
                    )
                ],
                className="kpis",
            ),
            ui.card(
                html.H2("Recent runs", className="card-title"),
                _table(
                    "health-runs-table",
                    RUN_COLUMNS,
                    page_size=20,
                    style_data_conditional=[
                        {
                            "if": {"filter_query": '{status} = "failed"', "column_id": "status"},
                            "color": "#b91c1c",
                            "fontWeight": "600",
                        },
                        {
                            "if": {"filter_query": '{status} = "partial"', "column_id": "status"},
                            "color": "#b45309",
                            "fontWeight": "600",
                        },
                        {
                            "if": {"filter_query": '{status} = "success"', "column_id": "status"},
                            "color": "#047857",
                            "fontWeight": "600",
                        },
                    ],
                ),
            ),
            html.Div(
                [
                    ui.card(ui.graph("health-quarantine-chart", 300)),
                    ui.card(
                        ui.graph("health-warnings-chart", 300),
                        html.P(id="health-warnings-note", className="chart-note"),
                    ),
                ],
                className="grid grid-2",
            ),
            ui.card(
                html.H2("Input files by export format", className="card-title"),
                _table("health-formats-table", FORMAT_COLUMNS, page_size=15),
                html.P(
                    "Each file is read with the profile its header matches (`evpipe profiles` "
                    "lists them; `evpipe inspect FILE` shows the match). Files no profile reads "
                    "are listed as refused, with the reason in the run's error.",
                    className="chart-note",
                ),
            ),
            ui.card(
                html.H2("Quarantined rows: latest examples per rule", className="card-title"),
                _table("health-examples-table", EXAMPLE_COLUMNS, page_size=15),
            ),
        ]
    )


def _clean(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, int | float | str):
        return v
    return str(v)


def ago(now: Any, then: Any) -> str:
    """'3.2 h ago'; sample data dated after today says so instead of a negative age."""
    seconds = Health.age_seconds(now, then)
    if seconds is None:
        return ""
    if seconds < 0:
        return f"{ui.fmt_age(-seconds)} in the future"
    return f"{ui.fmt_age(seconds)} ago"


def run_records(h: Health) -> list[dict[str, Any]]:
    out = []
    for r in h.runs.to_dict("records"):
        dur = r.get("duration_s")
        out.append(
            {
                "run_id": r["run_id"],
                "command": r["command"],
                "status": r["status"],
                "started_at": _clean(r["started_at"]),
                "duration": "running"
                if r.get("finished_at") is None and r["status"] == "running"
                else (
                    "–"
                    if dur is None or (isinstance(dur, float) and math.isnan(dur))
                    else f"{dur:,.1f} s"
                ),
                "files": f"{r['files_loaded']} / {r['files_seen']}",
                "rows_inserted": int(r["rows_inserted"]),
                "rows_already_present": int(r["rows_already_present"]),
                "rows_quarantined": int(r["rows_quarantined"]),
                "error_message": _clean(r["error_message"]) or "",
            }
        )
    return out


def _fallback(message: str, kind: str) -> tuple[Any, ...]:
    return (
        ui.notice(message, kind),
        *["–"] * len(FRESHNESS),
        *[""] * len(FRESHNESS),
        [],
        figures.placeholder("Quarantined rows by rule", "No data to show"),
        figures.placeholder("Warnings by rule", "No data to show"),
        "",
        [],
        [],
    )


def format_records(h: Health) -> list[dict[str, Any]]:
    return [
        {
            "profile": r["profile"] or "(not recognised)",
            "files": int(r["files"]),
            "rows_read": int(r["rows_read"]),
            "files_refused": int(r["files_refused"] or 0),
            "last_seen": _clean(r["last_seen"]),
        }
        for r in h.formats.to_dict("records")
    ]


def update_health(_runs_version: Any = None) -> tuple[Any, ...]:
    """Callback body: (notice, 4 freshness values, 4 notes, runs rows, quarantine figure,
    warnings figure, warnings note, example rows, rows of files per export format)."""

    def build() -> tuple[Any, ...]:
        h = data.source.health()
        now = h.now_utc
        last = h.runs.iloc[0] if len(h.runs) else None
        message = None
        if last is None:
            message = (
                "No pipeline runs recorded yet. Drop CSV exports into data/incoming and run "
                "`make reload` (natively: `evpipe run`)."
            )
        elif last["status"] in ("failed", "partial"):
            err = _clean(last["error_message"]) or "see `make logs`"
            message = f"The last run (#{last['run_id']}) ended **{last['status']}**: {err}"
        quarantined = int(h.quarantine["rows"].sum()) if len(h.quarantine) else 0
        values = (
            ui.fmt_when(h.newest_session),
            ui.fmt_when(h.last_success_at),
            "–" if last is None else f"#{last['run_id']} {last['status']}",
            f"{quarantined:,}",
        )
        notes = (
            ago(now, h.newest_session),
            f"run #{h.last_success_run_id}, {ago(now, h.last_success_at)}"
            if h.last_success_at
            else "no successful run yet",
            f"started {ago(now, last['started_at'])}" if last is not None else "",
            f"{len(h.quarantine)} rules",
        )
        wnote = (
            f"Summed over the {h.warnings_runs} most recent runs that recorded warnings; rows "
            "with a warning are loaded."
            if h.warnings_runs
            else "No warnings recorded."
        )
        examples = [{k: _clean(v) for k, v in r.items()} for r in h.examples.to_dict("records")]
        return (
            ui.notice(message, "error" if last is not None and message else "info"),
            *values,
            *notes,
            run_records(h),
            figures.rule_counts(h.quarantine, "Quarantined rows by rule"),
            figures.rule_counts(h.warnings, "Warnings by rule", color=figures.BLUE),
            wnote,
            examples,
            format_records(h),
        )

    return ui.guarded(build, _fallback, "pipeline health")


def update_replication(_n: Any = None, _runs_version: Any = None) -> tuple[str, str]:
    """Callback body, on page load and every refresh: where the dashboard reads and, on a
    replica, its lag behind the primary (the age of the primary's heartbeat there)."""
    try:
        r = data.source.replication()
    except data.DataUnavailable:
        return "–", "database not reachable"
    if not r.on_replica:
        return r.read_from, "replica not reachable" if r.notice else "no read replica"
    if r.lag_s is None:
        return r.read_from, "replica; lag unknown (no heartbeat from the primary yet)"
    lag = f"{r.lag_s:.1f} s" if r.lag_s < 10 else ui.fmt_age(r.lag_s)
    return r.read_from, f"replica, {lag} behind the primary"


def register() -> None:
    dash.register_page(
        __name__,
        path="/health",
        name=TITLE,
        title="EV charging · Pipeline health",
        order=3,
        layout=layout,
    )
    callback(
        Output("health-notice", "children"),
        *[Output(cid, "children") for cid, _ in FRESHNESS],
        *[Output(f"{cid}-note", "children") for cid, _ in FRESHNESS],
        Output("health-runs-table", "data"),
        Output("health-quarantine-chart", "figure"),
        Output("health-warnings-chart", "figure"),
        Output("health-warnings-note", "children"),
        Output("health-examples-table", "data"),
        Output("health-formats-table", "data"),
        ui.RUNS_VERSION,
    )(update_health)
    callback(
        Output("health-read-from", "children"),
        Output("health-read-from-note", "children"),
        Input("refresh-interval", "n_intervals"),
        ui.RUNS_VERSION,
    )(update_replication)
