"""Issue 12: SQL that distributed MySQL-compatible engines also run (docs/scale-out.md).

Static checks over every SQL statement evpipe ships; the transforms' results are covered by
tests/test_transform_fold.py, which compares every table with a full rebuild."""

from __future__ import annotations

import re
from pathlib import Path

from evpipe.db import split_statements

DB = Path(__file__).resolve().parents[1] / "db"


def statements() -> list[tuple[str, str]]:
    out = []
    for path in sorted(
        [*DB.glob("init/*.sql"), *DB.glob("transforms/*.sql"), *DB.glob("load/*.sql")]
    ):
        out += [(path.name, s) for s in split_statements(path.read_text(encoding="utf-8"))]
    return out


def test_statements_are_found():
    names = {name for name, _ in statements()}
    assert {"31_dash_hourly.sql", "32_dash_load.sql", "001_core_tables.sql"} <= names


def test_no_create_table_as_select():
    """TiDB has no CREATE TABLE … SELECT (nor does MySQL 8.0 < 8.0.21 with GTIDs): tables are
    created first and filled by INSERT … SELECT."""
    create = re.compile(r"^\s*CREATE\s+(TEMPORARY\s+)?TABLE\b", re.I)
    offenders = [
        name
        for name, sql in statements()
        if create.match(sql) and re.search(r"\bSELECT\b", sql, re.I)
    ]
    assert offenders == []


def test_no_mysql_only_insert_alias():
    """`INSERT … AS new ON DUPLICATE KEY UPDATE` is MySQL 8.0.19+ only; VALUES() runs everywhere."""
    alias = re.compile(r"\)\s+AS\s+\w+\s+ON\s+DUPLICATE\s+KEY", re.I)
    assert [name for name, sql in statements() if alias.search(sql)] == []
