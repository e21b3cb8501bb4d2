"""Smoke test of the benchmark (bench/): every step runs and reports numbers, at a tiny size.

No timing is asserted anywhere: the numbers are only checked to exist and be numeric.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from bench import dash_load

from tests.conftest import ROOT, Server

STEP_FIELDS = {
    "ceiling": ("seconds", "rows_per_s"),
    "naive_load": ("seconds", "peak_rss_mb", "rows_per_s"),
    "naive_reread": ("seconds", "peak_rss_mb"),
    "naive_transform": ("seconds", "limit_s"),
    "ingest": ("seconds", "rows_per_s", "peak_rss_mb", "rows_inserted"),
    "transform_full": ("seconds", "peak_rss_mb"),
    "noop_run": ("seconds", "peak_rss_mb"),
    "small_append_run": ("seconds", "rows_inserted", "transform_s", "ingest_s"),
    "append_run": ("seconds", "rows_inserted", "transform_s", "ingest_s"),
    "ingest_large": ("seconds", "peak_rss_mb", "rows"),
    "dash_callbacks": ("p95_ms_max",),
    "dash_load": ("requests", "errors", "p95_ms"),
}


def numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def bench_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = f"{ROOT / 'services'}:{ROOT}"
    return env


def test_bench_run_reports_every_step(server: Server, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    naive = all(importlib.util.find_spec(m) for m in ("pymysql", "sqlalchemy"))
    dashboard = (ROOT / "services" / "dashboard" / "app.py").is_file()
    cmd = [
        sys.executable, "-m", "bench.run", "--rows", "3000", "--rows-large", "4000",
        "--naive-limit", "3", "--dash-iterations", "3", "--load-clients", "3",
        "--load-seconds", "2", "--load-workers", "1", "--ceiling-runs", "1",
        "--json-out", str(out), "--work-dir", str(tmp_path / "work"),
        "--db-host", server.host, "--db-port", str(server.port),
        "--db-user", server.user, "--db-password", server.password,
        *([] if naive else ["--skip-naive"]),
    ]  # fmt: skip
    proc = subprocess.run(
        cmd, cwd=ROOT, env=bench_env(), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    assert "targets:" in proc.stdout and "transform steps" in proc.stdout
    result = json.loads(out.read_text())
    steps = result["steps"]
    assert set(steps) == set(STEP_FIELDS)
    for step, fields in STEP_FIELDS.items():
        data = steps[step]
        assert "error" not in data, (step, data)
        if (step.startswith("naive") and not naive) or (step.startswith("dash") and not dashboard):
            assert data.get("skipped"), (step, data)
            continue
        for field in fields:
            assert numeric(data.get(field)), (step, field, data)
    assert steps["ingest"]["rows_inserted"] + steps["ingest"]["rows_quarantined"] == 3000
    assert steps["noop_run"]["rows_inserted"] == 0
    assert steps["small_append_run"]["rows_read"] == 3
    assert steps["append_run"]["rows_read"] == 30
    # every transform step reports the rows the server read and wrote
    for step in ("transform_full", "small_append_run", "append_run"):
        costs = steps[step]["transform"]["steps"]
        assert costs and all(numeric(c["rows_read"]) for c in costs.values()), (step, costs)
    assert steps["small_append_run"]["transform"]["mode"] == "incremental"
    assert steps["ingest_large"]["rows"] == 4000
    assert numeric(steps["ingest_large"]["transform_full"]["seconds"])
    assert "scaling:" in proc.stdout
    assert {t["verdict"] for t in result["targets"]} <= {"PASS", "FAIL", "n/a"}
    assert result["meta"]["server"]["version"]
    assert "db_password" not in result["meta"]["args"]


FAKE_APP = """
import dash
from dash import Dash, Input, Output, State, callback, dcc, html

app = Dash(__name__, use_pages=True, pages_folder="")
dash.register_page("home", path="/", layout=lambda **kw: html.Div(
    [html.Div(id="kpi-sessions"), dcc.Graph(id="chart")]))
dash.register_page("stations", path="/stations", layout=lambda **kw: html.Div(
    [html.Button("CSV", id="download-button"), dcc.Download(id="download"),
     html.Div(id="table")]))
app.layout = html.Div([
    dcc.DatePickerRange(id="filter-date-range", min_date_allowed="2024-01-01",
                        max_date_allowed="2024-12-31", start_date="2024-01-01",
                        end_date="2024-12-31"),
    dcc.Dropdown(id="filter-location", multi=True),
    dash.page_container,
])


@callback(Output("filter-location", "options"), Input("filter-date-range", "start_date"))
def options(_):
    return ["Houston", "Chicago", "New York"]


@callback(Output("kpi-sessions", "children"), Output("chart", "figure"),
          Input("filter-date-range", "start_date"), Input("filter-date-range", "end_date"),
          Input("filter-location", "value"))
def overview(start, end, locations):
    assert locations is None or set(locations) <= {"Houston", "Chicago", "New York"}
    return f"{start}..{end}", {"data": [{"x": [1, 2], "y": [3, 4]}]}


@callback(Output("table", "children"), Input("filter-location", "value"))
def table(locations):
    return str(locations)


@callback(Output("download", "data"), Input("download-button", "n_clicks"),
          State("filter-location", "value"), prevent_initial_call=True)
def download(n_clicks, locations):
    return {"content": "a,b\\n1,2\\n", "filename": "stations.csv"}


server = app.server
"""


def test_dash_probe_and_load_on_a_tiny_app(tmp_path: Path) -> None:
    """Callback discovery, timing and the gunicorn load test, without the real dashboard."""
    pytest.importorskip("dash")
    pytest.importorskip("gunicorn")
    pkg = tmp_path / "fakeboard"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "app.py").write_text(textwrap.dedent(FAKE_APP))
    env = bench_env()
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    plan_file = tmp_path / "plan.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.dash_probe", "--module", "fakeboard.app",
         "--out", str(plan_file), "--iterations", "4"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(plan_file.read_text())
    plan, result = data["plan"], data["result"]
    names = {path: {c["name"] for c in calls} for path, calls in plan["pages"].items()}
    assert "..kpi-sessions.children...chart.figure.." in names["/"]
    assert "table.children" not in names["/"]  # its output is on the other page only
    assert {"table.children", "download.data"} <= names["/stations"]
    kinds = {f["id"]: f["kind"] for f in plan["filters"]}
    assert kinds == {"filter-date-range": "dates", "filter-location": "options"}
    assert result["errors"] == 0
    for page in ("/", "/stations"):
        assert numeric(result["pages"][page]["p95_ms"])
        assert result["pages"][page]["n"] == 4 * len(plan["pages"][page])

    load = dash_load.measure(env, plan, clients=3, seconds=2, workers=1, threads=2,
                             log_dir=tmp_path, module="fakeboard.app")  # fmt: skip
    assert load["errors"] == 0, (tmp_path / "gunicorn.log").read_text()[-2000:]
    assert load["requests"] > 0 and numeric(load["p95_ms"])
