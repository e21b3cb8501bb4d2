"""Issue 4: `evpipe report --out DIR` renders the KPIs and the five classic charts to files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from evpipe.db import connect
from evpipe.errors import EvpipeError
from evpipe.report import CHART_FILES, render_report
from evpipe.schema import ensure_schema
from tests.conftest import run_cli
from tests.test_dashboard_support import (
    COST_ENERGY,
    TOTAL_COST,
    TOTAL_ENERGY,
    read_only_account,
    seed_known,
)

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_writes_kpis_and_five_charts(settings, server, tmp_path: Path):
    seed_known(settings)
    with read_only_account(server, settings) as ro:
        paths = render_report(ro, tmp_path / "out")
    names = [p.name for p in paths]
    assert names == ["kpis.json", "kpis.png", *CHART_FILES]
    for p in paths[1:]:
        assert p.read_bytes()[:8] == PNG and p.stat().st_size > 5_000
    kpis = json.loads((tmp_path / "out" / "kpis.json").read_text())
    assert kpis["sessions"] == 8
    assert kpis["energy_kwh"] == pytest.approx(TOTAL_ENERGY)
    assert kpis["revenue_usd"] == pytest.approx(TOTAL_COST)
    assert kpis["cost_per_kwh"] == pytest.approx(TOTAL_COST / COST_ENERGY)
    assert kpis["energy_per_session"] == pytest.approx(TOTAL_ENERGY / 7)
    assert (kpis["first_session_date"], kpis["last_session_date"]) == ("2024-01-01", "2024-03-01")


def test_report_cli(settings, tmp_path: Path):
    seed_known(settings)
    out = tmp_path / "report"
    res = run_cli(settings, "report", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(["kpis.json", "kpis.png", *CHART_FILES])
    assert "Traceback" not in res.stderr


def test_report_on_an_empty_database_says_what_to_do(settings, tmp_path: Path):
    ensure_schema(connect(settings))
    with pytest.raises(EvpipeError, match="data/incoming"):
        render_report(settings, tmp_path)
    res = run_cli(settings, "report", "--out", str(tmp_path / "r"))
    assert res.returncode != 0 and "make reload" in res.stderr and "Traceback" not in res.stderr


def test_report_database_unreachable_is_one_line(settings, tmp_path: Path):
    res = run_cli(replace(settings, db_port=1), "report", "--out", str(tmp_path / "r"))
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
