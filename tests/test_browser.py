"""Issue 4: the dashboard in headless Chromium, served by gunicorn as in the stack.

Uses the Debian package `chromium` (/usr/bin/chromium, or CHROMIUM_PATH) through Playwright's
executable_path: nothing downloads a browser. Skipped only when that browser is absent.
Screenshots go to $EVPIPE_ARTIFACTS (default ./artifacts).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evpipe.db import connect
from evpipe.schema import ensure_schema
from evpipe.settings import Settings
from tests.conftest import ROOT
from tests.test_dashboard_support import read_only_account, seed_known

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("EVPIPE_ARTIFACTS", ROOT / "artifacts"))

if not Path(CHROMIUM).is_file():
    pytest.skip(
        f"chromium not installed at {CHROMIUM} (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DASH_"))}
    env.update(
        DB_HOST=settings.db_host,
        DB_PORT=str(settings.db_port),
        DB_NAME=settings.db_name,
        DB_USER=settings.db_user,
        DB_PASSWORD=settings.db_password,
    )
    return env


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """serve(settings) -> base URL of `gunicorn dashboard.app:server` on that database."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(settings: Settings) -> str:
        port = _free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--timeout",
                "60",
                "dashboard.app:server",
            ],
            env=_env(settings),
            cwd=tmp_path,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    if r.status == 200:
                        return f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"gunicorn did not start: {log.read_text()[-2000:]}")

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.on(
            "console",
            lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.set_default_timeout(30_000)
        yield page, problems
        browser.close()


def _settled(page: Any) -> None:
    """Wait until Dash has no callback in flight."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=30_000
    )


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def test_dashboard_in_chromium(settings, server, serve, browser_page):
    seed_known(settings)
    page, problems = browser_page
    with read_only_account(server, settings) as ro:
        base = serve(ro)
        page.goto(base + "/")
        page.wait_for_function("() => document.querySelector('#kpi-sessions')?.innerText === '8'")
        _settled(page)
        # the five charts are drawn: plotly put an SVG with bars / a pie into each
        page.wait_for_function(
            "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5"
        )
        assert (
            page.locator(".js-plotly-plot g.point path, .js-plotly-plot g.slice path").count() > 10
        )
        assert page.inner_text("#kpi-energy") == "155.0 kWh"
        assert page.inner_text("#kpi-revenue") == "$56.45"
        assert page.inner_text("#kpi-cost-per-kwh") == "$0.389/kWh"
        _shot(page, "overview")

        # a filter: Chicago only
        page.click("#filter-location")
        page.get_by_role("option", name="Chicago").click()
        page.keyboard.press("Escape")
        page.wait_for_function("() => document.querySelector('#kpi-sessions').innerText === '3'")
        _settled(page)
        assert page.inner_text("#kpi-energy") == "18.0 kWh"
        _shot(page, "overview-chicago")

        # the filter stays while moving around; every page renders
        page.click("#nav-demand")
        page.wait_for_function(
            "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4"
        )
        _settled(page)
        _shot(page, "demand")
        page.click("#nav-stations")
        page.wait_for_selector("#stations-table td")
        _settled(page)
        assert "Chicago" in page.inner_text("#stations-table")
        assert "Houston" not in page.inner_text("#stations-table")
        _shot(page, "stations")

        page.click("#nav-health")
        page.wait_for_function(
            "() => document.querySelector('#health-last-run')?.innerText === '#2 failed'"
        )
        _settled(page)
        page.wait_for_function(
            "() => document.querySelector('#health-notice').innerText"
            ".includes('not a readable CSV')"
        )
        assert page.inner_text("#health-quarantined") == "4"
        assert "end_before_start" in page.inner_text("#health-examples-table")
        _shot(page, "health")
    assert not problems, problems


def test_empty_database_page_in_chromium(settings, serve, browser_page):
    ensure_schema(connect(settings))
    page, problems = browser_page
    page.goto(serve(settings) + "/")
    page.wait_for_function(
        "() => document.querySelector('#overview-notice')?.innerText.includes('data/incoming')"
    )
    _settled(page)
    text = page.inner_text("#overview-notice")
    assert "data/incoming" in text and "make reload" in text
    assert page.inner_text("#kpi-sessions") == "–"
    _shot(page, "empty")
    assert not problems, problems


def test_dashboard_over_every_export_format_in_chromium(settings, server, serve, browser_page):
    """Issue 10: the folder of every real export format (tests/test_exports.py) loaded by one
    `evpipe run`, then the dashboard over it: numbers add up, what a format lacks reads "not in
    this data", the stations page shows ports and idle time."""
    from tests.conftest import fetch, run_cli
    from tests.test_exports import FILES, put

    put(settings, *FILES)
    shutil.copy2(ROOT / "data" / "incoming" / "sample_sessions.csv", settings.input_dir)
    res = run_cli(settings, "run", "--no-progress")
    assert res.returncode == 0, res.stderr[-2000:]
    conn = server.admin(settings.db_name)
    raw = fetch(conn, "SELECT COUNT(*) FROM raw_data")[0][0]
    conn.close()
    page, problems = browser_page
    with read_only_account(server, settings) as ro:
        base = serve(ro)
        page.goto(base + "/")
        page.wait_for_function(
            f"() => document.querySelector('#kpi-sessions')?.innerText === '{raw:,}'"
        )
        _settled(page)
        page.wait_for_function(
            "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5"
        )
        assert page.inner_text("#kpi-revenue").startswith("$")
        _shot(page, "formats-overview")

        # the stations page: one row per station and port, idle time where it is known
        page.click("#nav-stations")
        page.wait_for_selector("#stations-table td")
        _settled(page)
        page.fill("#stations-table input[placeholder='filter…'] >> nth=0", "HIGH")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#stations-table tbody tr')]"
            ".filter(r => r.innerText.includes('HIGH #4')).length === 2"
        )
        rows = page.locator("#stations-table tbody tr").all_inner_texts()
        ports = sorted(r.split("\t")[1].strip() for r in rows if "HIGH #4" in r)
        assert ports == ["1", "2"], rows
        _shot(page, "formats-stations")

        page.click("#nav-health")
        page.wait_for_selector("#health-formats-table td")
        _settled(page)
        formats = page.inner_text("#health-formats-table")
        for profile in {v[0] for v in FILES.values()} | {"ev_charging_patterns"}:
            assert profile in formats
        _shot(page, "formats-health")

        # a Trondheim garage: no fees and no charger types in that export
        page.click("#nav-overview")
        page.click("#filter-location")
        page.get_by_role("option", name="AdO3").click()
        page.keyboard.press("Escape")
        page.wait_for_function(
            "() => document.querySelector('#kpi-revenue')?.innerText === 'not in this data'"
        )
        _settled(page)
        assert page.inner_text("#kpi-cost-per-kwh") == "not in this data"
        assert page.inner_text("#kpi-sessions") == "4"  # sessions 1, 6, 16 and 539
        page.wait_for_function(
            "() => document.body.innerText.includes('Charger type is not in this data')"
        )
        _shot(page, "formats-trondheim")
    assert not problems, problems
