"""Issue 4: the callback bodies (plain functions, as the benchmark times them) and the app served
through Flask's test client: known numbers in, formatted KPIs and figures out; empty and
unreachable databases give a message, never a stack trace."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace

import dash
import pytest

from dashboard import data, shell
from dashboard.app import app, env_flag, server
from dashboard.pages import demand, health, overview, stations
from evpipe.db import connect
from evpipe.schema import ensure_schema
from tests.test_dashboard_support import TOTAL_SESSIONS, read_only_account, seed_known

FILTERS_NONE = (None, None, None, None, None)


@pytest.fixture
def source():
    """The app's data source, pointed at each test's database and reset afterwards."""
    yield data.source
    data.source.version_ttl = 2.0
    data.configure(None)


@pytest.fixture
def known_app(settings, server, source):
    seed_known(settings)
    with read_only_account(server, settings) as ro:  # as in the stack: SELECT only
        data.configure(ro)
        source.version_ttl = 0
        yield ro


def texts(outputs):
    return [o for o in outputs if isinstance(o, str)]


def notice_text(component) -> str:
    return json.dumps(component.to_plotly_json(), default=str) if component is not None else ""


def test_overview_kpis_and_charts(known_app):
    out = overview.update_overview(*FILTERS_NONE)
    assert out[0] is None  # no notice
    assert out[1:6] == ("8", "155.0 kWh", "$56.45", "$0.389/kWh", "22.1 kWh")
    sessions_fig = out[6]
    assert list(sessions_fig.data[0]["y"]) == [5, 3]
    chicago = overview.update_overview(None, None, ["Chicago"], None, None)
    assert chicago[1] == "3" and chicago[2] == "18.0 kWh"
    week = overview.update_overview("2024-01-01", "2024-01-07", None, None, ["Commuter"])
    assert week[1] == "3"  # U1, U3, U4


def test_overview_no_match_and_no_data(settings, source):
    ensure_schema(connect(settings))
    data.configure(settings)
    out = overview.update_overview(*FILTERS_NONE)
    text = notice_text(out[0])
    assert "data/incoming" in text and "make reload" in text
    assert out[1:6] == ("–",) * 5
    assert all(not fig.data for fig in out[6:])


def test_filters_matching_nothing_say_so(known_app):
    out = overview.update_overview(None, None, ["Nowhere"], None, None)
    assert out[1] == "0" and "No sessions match" in notice_text(out[0])


def test_unreachable_database_gives_a_friendly_message(settings, source):
    data.configure(replace(settings, db_port=1))
    for out in (
        overview.update_overview(*FILTERS_NONE),
        demand.update_demand(*FILTERS_NONE),
        stations.update_stations(*FILTERS_NONE),
        health.update_health(),
    ):
        text = notice_text(out[0])
        assert "not reachable" in text and "retrying" in text
        assert "Traceback" not in text and settings.db_password not in text
    assert shell.poll_versions(1, "v1", "r1") == (shell.UNAVAILABLE, shell.UNAVAILABLE)
    assert shell.refresh_filter_options("x")[:3] == ([], [], [])


def test_an_unexpected_error_is_logged_not_shown(known_app, monkeypatch, caplog):
    def boom(*_a):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(data.source, "overview", boom)
    out = overview.update_overview(*FILTERS_NONE)
    assert "went wrong" in notice_text(out[0]) and "secret internals" not in notice_text(out[0])
    assert "secret internals" in caplog.text


def test_demand_callbacks(known_app):
    notice, heat_sessions, heat_energy, load = demand.update_demand(*FILTERS_NONE)
    assert notice is None
    assert sum(map(sum, heat_sessions.data[0]["z"])) == TOTAL_SESSIONS
    assert sum(map(sum, heat_energy.data[0]["z"])) == pytest.approx(155.0)
    assert max(load.data[0]["y"]) == pytest.approx(45.0)  # U7: 45 kWh in 07:00-07:45
    weekly = demand.update_over_time(*FILTERS_NONE, "W")
    assert sum(weekly.data[0]["y"]) == TOTAL_SESSIONS and "week" in weekly.layout.title.text


def test_stations_table_and_csv(known_app):
    notice, period, rows = stations.update_stations("2024-01-01", "2024-01-02", None, None, None)
    assert notice is None and "48 hours" in period and "2 stations" in period
    s1 = next(r for r in rows if r["station_id"] == "S1")
    assert s1["sessions"] == 2 and s1["utilisation"] == pytest.approx(4 / 48)
    assert s1["charger_type"] == "Level 2"
    json.dumps(rows)  # JSON-safe: no NaN, no numpy types
    assert stations.download_stations_csv(0) is dash.no_update
    sent = stations.download_stations_csv(1, None, None, ["Houston"], None, None)
    assert sent["filename"] == "stations_first_last.csv"
    table = list(csv.DictReader(io.StringIO(sent["content"])))
    assert {r["Station"]: int(r["Sessions"]) for r in table} == {"S1": 3, "S2": 2}
    assert float(next(r for r in table if r["Station"] == "S1")["Revenue (USD)"]) == 17.6


def test_health_callback(known_app):
    out = health.update_health()
    text = notice_text(out[0])
    assert "#2" in text and "failed" in text and "not a readable CSV" in text
    newest, _last_success, last_run, quarantined = out[1:5]
    assert newest == "2024-03-01 17:00" and last_run == "#2 failed" and quarantined == "4"
    runs = out[9]
    assert [r["status"] for r in runs] == ["failed", "success"] and runs[1]["duration"] == "12.5 s"
    assert dict(zip(out[10].data[0]["y"], out[10].data[0]["x"], strict=True)) == {
        "end_before_start": 3,
        "non_numeric": 1,
    }
    assert len(out[13]) == 4  # example rows


def test_versions_poll_and_refresh(known_app):
    v, r = data.source.version(), data.source.runs_version()
    assert shell.poll_versions(1, v, r) == (dash.no_update, dash.no_update)
    assert shell.poll_versions(1, "old", r) == (v, dash.no_update)
    locs, _cts, _uts, first, last, status = shell.refresh_filter_options(v)
    assert [o["value"] for o in locs] == ["Chicago", "Houston"]
    assert str(first) == "2024-01-01" and str(last) == "2024-03-01"
    assert status.startswith("8 sessions")


def test_app_serves_pages_and_callbacks(known_app):
    client = server.test_client()
    page = client.get("/")
    assert page.status_code == 200 and b"EV charging analytics" in page.data
    layout = json.dumps(client.get("/_dash-layout").get_json())
    for cid in (
        "filter-date-range",
        "filter-location",
        "filter-charger-type",
        "filter-user-type",
        "data-version",
        "refresh-interval",
    ):
        assert f'"{cid}"' in layout
    assert {p["path"] for p in dash.page_registry.values()} == {
        "/",
        "/demand",
        "/stations",
        "/health",
    }
    deps = client.get("/_dash-dependencies").get_json()
    overview_cb = next(d for d in deps if "kpi-sessions.children" in d["output"])
    body = {
        "output": overview_cb["output"],
        "outputs": [
            {"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]}
            for o in overview_cb["output"].strip(".").split("...")
        ],
        "inputs": [
            {**i, "value": ["Chicago"] if i["id"] == "filter-location" else None}
            for i in overview_cb["inputs"]
        ],
        "changedPropIds": ["filter-location.value"],
    }
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200
    assert resp.get_json()["response"]["kpi-sessions"]["children"] == "3"


def test_layout_ids_are_kebab_case_and_debug_is_off(known_app, monkeypatch):
    trees = [shell.layout(), overview.layout(), demand.layout(), stations.layout(), health.layout()]
    ids = {
        c.id
        for tree in trees
        for c in [tree, *tree._traverse()]
        if isinstance(getattr(c, "id", None), str) and not c.id.startswith("_pages")
    }
    assert {
        "kpi-sessions",
        "kpi-energy",
        "kpi-revenue",
        "kpi-cost-per-kwh",
        "stations-table",
        "filter-date-range",
        "filter-user-type",
    } <= ids
    assert ids and all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids), ids
    assert not server.debug and not app._dev_tools.get("ui")
    monkeypatch.setenv("DASH_DEBUG", "false")
    assert not env_flag("DASH_DEBUG")
    monkeypatch.setenv("DASH_DEBUG", "1")
    assert env_flag("DASH_DEBUG")


def test_callbacks_are_wired_at_import_so_concurrent_first_requests_cannot_race():
    # Dash copies the registered callbacks into callback_map on its first request, after it has
    # already flagged itself as set up; with gunicorn threads a concurrent first request then
    # got "Callback function not found" (HTTP 500). app.py does that first request at import.
    from dashboard.app import app

    outputs = " ".join(app.callback_map)
    assert "kpi-sessions.children" in outputs and "data-version.data" in outputs
