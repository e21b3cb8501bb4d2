"""Issue 6: a hostile and malformed input corpus, generated here, loaded by the real CLI.

Every case is one (or a few) files in the same input folder, so each case also proves that good
files beside bad ones still load. For every case the documented outcome is asserted: loaded
correctly, rows quarantined with a reason, the file refused with a message naming it, or the
entry ignored. Across the whole corpus: no traceback, no row of a refused file committed, no
mis-dated row, and a second run changes nothing. CORPUS is also the outcome table of
docs/guarantees.md (test_outcome_table_lists_every_case keeps the two in sync).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import factory
from tests.conftest import ROOT, env_for, fetch, one

ISO = "%Y-%m-%d %H:%M:%S"
BASE = dt.datetime(2024, 1, 1)
SQL_TEXT = "x'); DROP TABLE raw_data;--"
SQL_FILE = "x'); DROP TABLE raw_data;--.csv"
NON_UTF8_NAME = b"caf\xe9.csv"
SHOWN_NON_UTF8 = "caf\ufffd.csv"


class Corpus:
    """Builds rows with unique users and remembers when each session really started."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "incoming"
        self.outside = root / "outside"
        self.outside.mkdir()
        self.expected: dict[str, tuple[dt.datetime, dt.datetime]] = {}
        self.next_i = 0

    def row(self, start: dt.datetime | None = None, fmt: str = ISO, **over: str) -> dict[str, str]:
        i = self.next_i
        self.next_i += 1
        start = start or BASE + dt.timedelta(hours=i)
        r = factory.session(i, start, fmt=fmt, **over)
        self.expected[r["User ID"]] = (start, start + dt.timedelta(hours=1.5))
        return r

    def rows(self, n: int, **kw: Any) -> list[dict[str, str]]:
        return [self.row(**kw) for _ in range(n)]

    def write(self, name: str, rows: list[dict[str, str]], **kw: Any) -> Path:
        return factory.write(self.dir / name, rows, **kw)


@dataclass
class Outcome:
    """What the run left behind, per file."""

    db: Any
    stderr: str
    returncode: int
    warnings: dict[str, int] = field(default_factory=dict)

    def loaded(self, name: str) -> int:
        return int(one(self.db, "SELECT COUNT(*) FROM raw_data WHERE source_file = %s", (name,)))

    def rejected(self, name: str) -> dict[int, str]:
        return dict(
            fetch(
                self.db,
                "SELECT line_number, rule FROM rejected_rows WHERE source_file = %s",
                (name,),
            )
        )

    def value(self, column: str, user: str) -> Any:
        rows = fetch(self.db, f"SELECT {column} FROM raw_data WHERE user_id = %s", (user,))
        assert len(rows) == 1, (user, rows)
        return rows[0][0]

    def manifest(self, name: str) -> tuple[str, str | None] | None:
        rows = fetch(
            self.db, "SELECT status, message FROM ingested_files WHERE file_path = %s", (name,)
        )
        return rows[0] if rows else None

    def refused(self, name: str, *words: str) -> None:
        """Refused with a message naming the file; nothing of it committed."""
        line = self.stderr.strip().splitlines()[-1]
        assert f"{name}: " in line, (name, line)
        for w in words:
            assert w in line, (w, line)
        assert self.loaded(name) == 0 and self.rejected(name) == {}

    def ignored(self, name: str) -> None:
        assert name not in self.stderr
        assert self.manifest(name) is None and self.loaded(name) == 0


@dataclass(frozen=True)
class Case:
    id: str
    input: str  # what the entry holds (docs table)
    outcome: str  # loaded | quarantined | refused | ignored (docs table)
    detail: str  # the documented outcome (docs table)
    build: Callable[[Corpus], None]
    check: Callable[[Outcome, Corpus], None]


def _build_empty(c: Corpus) -> None:
    (c.dir / "empty.csv").write_bytes(b"")


def _build_header_only(c: Corpus) -> None:
    c.write("header_only.csv", [])


def _check_header_only(o: Outcome, c: Corpus) -> None:
    assert o.manifest("header_only.csv") == ("loaded", None)
    assert o.loaded("header_only.csv") == 0 and "header_only.csv" not in o.stderr.splitlines()[-1]


def _build_bom_only(c: Corpus) -> None:
    (c.dir / "bom_only.csv").write_bytes(b"\xef\xbb\xbf\r\n")


def _build_missing_column(c: Corpus) -> None:
    header = [h for h in factory.HEADER if h != "Charging Start Time"]
    c.write("missing_column.csv", c.rows(3), header=header)


def _build_semicolons(c: Corpus) -> None:
    text = factory.csv_text(c.rows(3)).replace(",", ";")
    (c.dir / "semicolons.csv").write_text(text, encoding="utf-8")


def _build_extra_columns(c: Corpus) -> None:
    header = ["Export Row", *factory.HEADER, "Operator Notes"]
    rows = c.rows(5)
    for n, r in enumerate(rows):
        r["Export Row"] = str(n)
        r["Operator Notes"] = "N" * 100_000 if n == 0 else "free, text"
    c.write("extra_columns.csv", rows, header=header)


def _check_extra_columns(o: Outcome, c: Corpus) -> None:
    assert o.loaded("extra_columns.csv") == 5 and o.rejected("extra_columns.csv") == {}


def _build_garbage(c: Corpus) -> None:
    rnd = random.Random(6)
    (c.dir / "garbage.csv").write_bytes(bytes(rnd.randrange(256) for _ in range(50_000)))
    # no NUL byte, no quote: looks like text to the NUL check, but is no CSV of this format
    high = bytes(rnd.randrange(0x80, 0x100) for _ in range(20_000)).replace(b"\x85", b"\n")
    (c.dir / "garbage_no_nul.csv").write_bytes(high)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
    (c.dir / "image.png.csv").write_bytes(png)


def _check_garbage(o: Outcome, c: Corpus) -> None:
    o.refused("garbage.csv", "binary content")
    o.refused("garbage_no_nul.csv", "required column(s) missing")
    o.refused("image.png.csv", "binary content")


def _build_latin1(c: Corpus) -> None:
    rows = c.rows(4)
    rows[0]["Vehicle Model"] = "Citroën ë-C4"
    rows[1]["Charging Station Location"] = "Zürich"
    rows[2]["User Type"] = "Pendler (Süd)"
    (c.dir / "latin1.csv").write_bytes(factory.csv_text(rows).encode("latin-1"))


def _check_latin1(o: Outcome, c: Corpus) -> None:
    assert o.loaded("latin1.csv") == 4
    got = {
        r[0]
        for r in fetch(o.db, "SELECT vehicle_model FROM raw_data WHERE source_file = 'latin1.csv'")
    }
    assert "Citroën ë-C4" in got, got
    assert (
        one(
            o.db,
            "SELECT COUNT(*) FROM raw_data WHERE charging_station_location = 'Zürich' "
            "AND source_file = 'latin1.csv'",
        )
        == 1
    )
    assert o.warnings.get("not_utf8", 0) >= 4


def _build_bom_crlf(c: Corpus) -> None:
    rows = c.rows(30)
    rows[7]["Vehicle Model"] = "two\r\nlines"
    text = factory.csv_text(rows, newline="\r\n")
    (c.dir / "bom_crlf.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))


def _check_bom_crlf(o: Outcome, c: Corpus) -> None:
    assert o.loaded("bom_crlf.csv") == 30
    assert fetch(
        o.db, "SELECT DISTINCT user_type FROM raw_data WHERE source_file = 'bom_crlf.csv'"
    ) == [("Commuter",)]  # no stray \r in the last column
    assert (
        one(
            o.db,
            "SELECT COUNT(*) FROM raw_data WHERE source_file = 'bom_crlf.csv' "
            "AND vehicle_model = %s",
            ("two\r\nlines",),
        )
        == 1
    )


QUOTED = ['Tesla "Model 3", long range\nedition', "a,b,,c", '"', "multi\n\nline\n", "'single'"]


def _build_quoted(c: Corpus) -> None:
    rows = c.rows(300)  # spans many 4 kB chunks: records with newlines cross chunk boundaries
    for n, r in enumerate(rows):
        if n % 3 == 0:
            r["Vehicle Model"] = QUOTED[n % len(QUOTED)]
    c.write("quoted.csv", rows)
    line, lines = 2, {}
    for r in rows:
        lines[r["User ID"]] = line
        line += 1 + sum(v.count("\n") for v in r.values())
    c.quoted_lines = lines  # type: ignore[attr-defined]
    c.quoted_rows = rows  # type: ignore[attr-defined]


def _check_quoted(o: Outcome, c: Corpus) -> None:
    assert o.loaded("quoted.csv") == 300
    got = {
        u: (m, ln)
        for u, m, ln in fetch(
            o.db,
            "SELECT user_id, vehicle_model, source_line FROM raw_data "
            "WHERE source_file = 'quoted.csv'",
        )
    }
    lines = c.quoted_lines  # type: ignore[attr-defined]
    for r in c.quoted_rows:  # type: ignore[attr-defined]
        # verbatim, except that text values are trimmed of surrounding whitespace (by design)
        assert got[r["User ID"]] == (r["Vehicle Model"].strip(), lines[r["User ID"]])


UNICODE = ["充電ステーション 🚗⚡", "محطة شحن", "e\u0301le\u0301ctrique", "Zoë\u200dX", "🚗" * 100]


def _build_unicode(c: Corpus) -> None:
    rows = c.rows(len(UNICODE) + 1)
    for r, text in zip(rows, UNICODE, strict=False):
        r["Vehicle Model"] = text  # the last one is exactly 100 characters (400 bytes)
    rows[-1]["Vehicle Model"] = "🚗" * 101
    c.write("unicode.csv", rows)


def _check_unicode(o: Outcome, c: Corpus) -> None:
    got = {
        r[0]
        for r in fetch(o.db, "SELECT vehicle_model FROM raw_data WHERE source_file = 'unicode.csv'")
    }
    assert got == set(UNICODE)
    assert list(o.rejected("unicode.csv").values()) == ["text_too_long"]


def _build_big_field(c: Corpus) -> None:
    rows = c.rows(6)
    rows[0]["Vehicle Model"] = "V" * 100_000  # first record, longer than a whole chunk
    rows[3]["User ID"] = "U" * 100_000
    c.write("big_field.csv", rows)


def _check_big_field(o: Outcome, c: Corpus) -> None:
    assert o.loaded("big_field.csv") == 4
    assert o.rejected("big_field.csv") == {2: "text_too_long", 5: "text_too_long"}
    assert (
        one(
            o.db,
            "SELECT MAX(LENGTH(raw_line)) FROM rejected_rows WHERE source_file = 'big_field.csv'",
        )
        > 100_000
    )


NUMBERS = [  # column, text, rule or None when the row loads (value then checked)
    ("Charging Cost (USD)", "n/a", "non_numeric"),
    ("Charging Cost (USD)", "NaN", "non_finite"),  # same column as n/a: still non_finite
    ("Charging Cost (USD)", "1,5", "non_numeric"),
    ("Charging Cost (USD)", "1; DROP TABLE rejected_rows", "non_numeric"),
    ("Charging Rate (kW)", "-Infinity", "non_finite"),
    ("Temperature (°C)", "1e999", "non_finite"),
    ("Energy Consumed (kWh)", "0x10", "non_numeric"),
    ("Energy Consumed (kWh)", "12 kWh", "non_numeric"),
    ("State of Charge (Start %)", "--5", "non_numeric"),
    ("State of Charge (End %)", "inf", "non_finite"),
    ("Distance Driven (since last charge) (km)", "  42.5  ", None),
    ("Charging Cost (USD)", "+3.5e1", None),
    ("Battery Capacity (kWh)", "", None),
]


def _build_numbers(c: Corpus) -> None:
    rows = []
    for column, text, _ in NUMBERS:
        r = c.row()
        r[column] = text
        rows.append(r)
    c.numbers_rows = rows  # type: ignore[attr-defined]
    c.write("numbers.csv", rows)


def _check_numbers(o: Outcome, c: Corpus) -> None:
    expected = {n + 2: rule for n, (_, _, rule) in enumerate(NUMBERS) if rule}
    assert o.rejected("numbers.csv") == expected
    users = [r["User ID"] for r in c.numbers_rows]  # type: ignore[attr-defined]
    assert o.value("distance_since_last_charge_km", users[10]) == 42.5
    assert o.value("cost_usd", users[11]) == 35.0
    assert o.value("battery_capacity_kwh", users[12]) is None


def _build_end_before_start(c: Corpus) -> None:
    r = c.row()
    start = c.expected[r["User ID"]][0]
    r["Charging End Time"] = (start - dt.timedelta(hours=1)).strftime(ISO)
    c.write("end_before_start.csv", [*c.rows(2), r])


def _check_end_before_start(o: Outcome, c: Corpus) -> None:
    assert o.rejected("end_before_start.csv") == {4: "end_before_start"}
    assert o.loaded("end_before_start.csv") == 2


def _build_repeated(c: Corpus) -> None:
    good, bad = c.row(), c.row(Charging_Cost_USD="n/a")
    c.write("repeated.csv", [good, bad, good, *c.rows(2), good, bad])


def _check_repeated(o: Outcome, c: Corpus) -> None:
    assert o.loaded("repeated.csv") == 3
    assert o.rejected("repeated.csv") == {3: "non_numeric"}  # the first copy, once
    assert (
        one(
            o.db,
            "SELECT source_line FROM raw_data WHERE source_file = 'repeated.csv' "
            "ORDER BY source_line LIMIT 1",
        )
        == 2
    )


SQL_VALUES = {
    "User ID": "Robert'); DROP TABLE raw_data;--",
    "Vehicle Model": SQL_TEXT,
    "Charging Station ID": "1' OR '1'='1",
    "Charging Station Location": "\\'; SHUTDOWN; --",
    "Charger Type": '"; DELETE FROM raw_data; --',
    "User Type": "$(rm -rf /) ${DB_PASSWORD} `id`",
}


def _build_sql(c: Corpus) -> None:
    over: dict[str, Any] = {k.replace(" ", "_"): v for k, v in SQL_VALUES.items()}
    r = c.row(**over)
    bad = c.row(Vehicle_Model=SQL_TEXT, Charging_Cost_USD="0); DROP TABLE rejected_rows;--")
    c.write("sql_text.csv", [r, bad])
    c.write(SQL_FILE, c.rows(2))


def _check_sql(o: Outcome, c: Corpus) -> None:
    got = fetch(
        o.db,
        "SELECT user_id, vehicle_model, charging_station_id, "
        "charging_station_location, charger_type, user_type FROM raw_data "
        "WHERE source_file = 'sql_text.csv'",
    )
    assert got == [tuple(SQL_VALUES.values())]
    raw = one(o.db, "SELECT raw_line FROM rejected_rows WHERE source_file = 'sql_text.csv'")
    assert "0); DROP TABLE rejected_rows;--" in raw and SQL_TEXT in raw
    assert o.loaded(SQL_FILE) == 2
    tables = {r[0] for r in fetch(o.db, "SHOW TABLES")}
    assert {"raw_data", "rejected_rows", "pipeline_runs", "ingested_files"} <= tables


def _build_gzip(c: Corpus) -> None:
    text = factory.csv_text(c.rows(40)).encode("utf-8")
    (c.dir / "export.csv.gz").write_bytes(gzip.compress(text))
    whole = gzip.compress(factory.csv_text(c.rows(2000)).encode("utf-8"))
    (c.dir / "truncated.csv.gz").write_bytes(whole[: len(whole) // 2])
    (c.dir / "not_gzip.csv.gz").write_text(factory.csv_text(c.rows(2)), encoding="utf-8")
    # 256 MB of one byte in ~250 kB: the header line would be longer than any record
    bomb = gzip.compress(b"a" * (256 << 20), compresslevel=9)
    (c.dir / "bomb.csv.gz").write_bytes(bomb)


def _check_gzip(o: Outcome, c: Corpus) -> None:
    assert o.loaded("export.csv.gz") == 40
    o.refused("truncated.csv.gz", "cannot read")
    o.refused("not_gzip.csv.gz", "cannot read")
    o.refused("bomb.csv.gz", "header is not a CSV record")


def _build_symlinks(c: Corpus) -> None:
    secret = c.outside / "secret.csv"
    factory.write(
        secret,
        [factory.session(i, User_ID=f"Outside_{i}", Vehicle_Model="OUTSIDE") for i in range(3)],
    )
    (c.dir / "outside_link.csv").symlink_to(secret)
    (c.dir / "dev_zero.csv").symlink_to("/dev/zero")
    c.write("target_inside.csv", c.rows(3))
    (c.dir / "zz_inside_link.csv").symlink_to(c.dir / "target_inside.csv")


def _check_symlinks(o: Outcome, c: Corpus) -> None:
    o.refused("outside_link.csv", "symlink points outside the input folder")
    o.refused("dev_zero.csv", "symlink points outside the input folder")
    assert one(o.db, "SELECT COUNT(*) FROM raw_data WHERE vehicle_model = 'OUTSIDE'") == 0
    assert o.loaded("target_inside.csv") == 3 and o.loaded("zz_inside_link.csv") == 0
    assert o.manifest("zz_inside_link.csv") == ("duplicate", "same content as target_inside.csv")


def _build_names(c: Corpus) -> None:
    text = factory.csv_text(c.rows(2)).encode("utf-8")
    with open(os.path.join(os.fsencode(c.dir), NON_UTF8_NAME), "wb") as f:
        f.write(text)
    (c.dir / "two\nlines.csv").write_bytes(factory.csv_text(c.rows(2)).encode("utf-8"))
    c.write("UPPER.CSV", c.rows(2))


def _check_names(o: Outcome, c: Corpus) -> None:
    line = o.stderr.strip().splitlines()[-1]
    assert f"{SHOWN_NON_UTF8}: name is not printable UTF-8" in line
    assert "two\\nlines.csv: name is not printable UTF-8" in line
    assert (
        one(
            o.db,
            "SELECT COUNT(*) FROM raw_data WHERE source_file LIKE 'caf%' "
            "OR source_file LIKE 'two%'",
        )
        == 0
    )
    assert o.loaded("UPPER.CSV") == 2


def _build_ignored(c: Corpus) -> None:
    c.write("notes.txt", c.rows(2))
    c.write(".hidden.csv", c.rows(2))
    (c.dir / "folder.csv").mkdir()
    os.mkfifo(c.dir / "fifo.csv")  # opening it would block forever


def _check_ignored(o: Outcome, c: Corpus) -> None:
    for name in ("notes.txt", ".hidden.csv", "folder.csv", "fifo.csv"):
        o.ignored(name)


def _build_broken_csv(c: Corpus) -> None:
    rows = c.rows(3)
    text = factory.csv_text(rows).replace("Nissan Leaf", 'Nissan "Leaf', 1)
    (c.dir / "unbalanced_quote.csv").write_text(text, encoding="utf-8")
    rows = c.rows(3)
    text = factory.csv_text(rows)
    lines = text.split("\n")
    lines[2] += ",extra,fields"
    lines[3] = ",".join(lines[3].split(",")[:5])
    (c.dir / "field_count.csv").write_text("\n".join(lines), encoding="utf-8")
    h = ",".join(factory.HEADER)
    dup = factory.csv_text(c.rows(1)).replace(h, h.replace("User Type", "User ID"), 1)
    (c.dir / "duplicate_column.csv").write_text(dup, encoding="utf-8")
    cr = factory.csv_text(c.rows(5), newline="\r")
    (c.dir / "cr_only.csv").write_text(cr, encoding="utf-8")


def _check_broken_csv(o: Outcome, c: Corpus) -> None:
    o.refused("unbalanced_quote.csv", "unbalanced double quotes")
    assert o.rejected("field_count.csv") == {3: "wrong_field_count", 4: "wrong_field_count"}
    assert o.loaded("field_count.csv") == 1
    o.refused("duplicate_column.csv", "appear twice: User ID")
    o.refused("cr_only.csv", "CR only")


def _build_layout(c: Corpus) -> None:
    c.write("blank_lines.csv", c.rows(4))
    text = (c.dir / "blank_lines.csv").read_text(encoding="utf-8")
    head, *body = text.split("\n")
    spaced = "\n".join([head.replace(",", " , "), "", *(b + "\n" for b in body if b)])
    (c.dir / "blank_lines.csv").write_text(spaced, encoding="utf-8")
    text = factory.csv_text(c.rows(3)).rstrip("\n")
    (c.dir / "no_final_newline.csv").write_text(text, encoding="utf-8")
    # a finished export: its unterminated last line is read once the file has settled
    # (a file modified seconds ago may be mid-write; see test_file_caught_mid_write_...)
    settled = time.time() - 3600
    os.utime(c.dir / "no_final_newline.csv", (settled, settled))


def _check_layout(o: Outcome, c: Corpus) -> None:
    assert o.loaded("blank_lines.csv") == 4 and o.rejected("blank_lines.csv") == {}
    assert o.loaded("no_final_newline.csv") == 3


def _build_dates(c: Corpus) -> None:
    jan13 = dt.datetime(2024, 1, 13, 7)
    c.write(
        "dayfirst.csv",
        [c.row(jan13 + dt.timedelta(hours=5 * n), fmt="%d/%m/%y %H:%M") for n in range(6)],
    )
    c.write(
        "monthfirst.csv",
        [c.row(jan13 + dt.timedelta(hours=5 * n), fmt="%m/%d/%Y %H:%M") for n in range(6)],
    )
    mar5 = dt.datetime(2024, 3, 5, 1)
    c.write(
        "ambiguous_dates.csv",
        [c.row(mar5 + dt.timedelta(hours=n), fmt="%d/%m/%Y %H:%M") for n in range(4)],
    )
    iso = c.rows(5)
    slash = [
        c.row(dt.datetime(2024, 2, 3, 10) + dt.timedelta(days=n), fmt="%d/%m/%Y %H:%M")
        for n in range(2)
    ]
    c.write("mixed_layouts.csv", [*iso, *slash])
    impossible = [
        c.row(Charging_Start_Time=t)
        for t in ("2024-02-30 10:00:00", "2023-02-29 10:00:00", "2024-01-01 25:00:00")
    ]
    c.write("impossible_dates.csv", [*c.rows(1), *impossible])
    tz = [c.row() for _ in range(3)]
    for r in tz:
        r["Charging Start Time"] = r["Charging Start Time"].replace(" ", "T") + "+02:00"
        r["Charging End Time"] = r["Charging End Time"].replace(" ", "T") + "Z"
    c.write("timezone.csv", tz)


def _check_dates(o: Outcome, c: Corpus) -> None:
    assert o.loaded("dayfirst.csv") == 6 and o.loaded("monthfirst.csv") == 6
    o.refused("ambiguous_dates.csv", "ambiguous slash dates", "dayfirst", "monthfirst")
    assert o.loaded("mixed_layouts.csv") == 5
    assert o.rejected("mixed_layouts.csv") == {7: "bad_timestamp", 8: "bad_timestamp"}
    assert o.rejected("impossible_dates.csv") == {
        3: "bad_timestamp",
        4: "bad_timestamp",
        5: "bad_timestamp",
    }
    o.refused("timezone.csv", "cannot recognise any timestamp layout")


CORPUS: tuple[Case, ...] = (
    Case(
        "empty",
        "0-byte file",
        "refused",
        "`empty file (no header line)`",
        _build_empty,
        lambda o, c: o.refused("empty.csv", "empty file"),
    ),
    Case(
        "header_only",
        "header line, no rows",
        "loaded",
        "accepted, 0 rows; not an error",
        _build_header_only,
        _check_header_only,
    ),
    Case(
        "bom_only",
        "a UTF-8 BOM and a line end",
        "refused",
        "`line 1: empty header`",
        _build_bom_only,
        lambda o, c: o.refused("bom_only.csv", "empty header"),
    ),
    Case(
        "missing_column",
        "`Charging Start Time` column absent",
        "refused",
        "`required column(s) missing: Charging Start Time`",
        _build_missing_column,
        lambda o, c: o.refused(
            "missing_column.csv", "required column(s) missing", "Charging Start Time"
        ),
    ),
    Case(
        "semicolons",
        "semicolon-separated export (European Excel)",
        "refused",
        "`required column(s) missing: User ID, ...` (one column seen)",
        _build_semicolons,
        lambda o, c: o.refused("semicolons.csv", "required column(s) missing"),
    ),
    Case(
        "extra_columns",
        "unknown columns before and after, one holding 100 kB",
        "loaded",
        "loaded; unknown columns ignored",
        _build_extra_columns,
        _check_extra_columns,
    ),
    Case(
        "garbage",
        "random bytes, random high bytes without NUL, a PNG, named .csv",
        "refused",
        "`binary content (NUL bytes)` / `required column(s) missing`",
        _build_garbage,
        _check_garbage,
    ),
    Case(
        "latin1",
        "Latin-1 text (header `°`, `Citroën`, `Zürich`)",
        "loaded",
        "loaded, decoded as Latin-1; warning `not_utf8` counted per row",
        _build_latin1,
        _check_latin1,
    ),
    Case(
        "bom_crlf",
        "UTF-8 BOM, CRLF line ends, a CRLF inside a quoted field",
        "loaded",
        "loaded; no stray CR in values; quoted CRLF kept",
        _build_bom_crlf,
        _check_bom_crlf,
    ),
    Case(
        "quoted",
        "quoted commas, quotes and newlines across chunk boundaries",
        "loaded",
        "loaded verbatim (surrounding whitespace trimmed); `source_line` is the physical line",
        _build_quoted,
        _check_quoted,
    ),
    Case(
        "unicode",
        "CJK, Arabic, emoji, combining marks, ZWJ; 100 and 101 emoji",
        "loaded / quarantined",
        "loaded verbatim (utf8mb4); the 101-character value quarantined `text_too_long`",
        _build_unicode,
        _check_unicode,
    ),
    Case(
        "big_field",
        "a 100 kB model name and a 100 kB user id",
        "quarantined / loaded",
        "those rows quarantined `text_too_long` with the full raw line; others loaded",
        _build_big_field,
        _check_big_field,
    ),
    Case(
        "numbers",
        "`n/a`, `NaN`, `inf`, `-Infinity`, `1e999`, `1,5`, `0x10`, `12 kWh`, "
        "`--5`; padded, signed and empty numbers",
        "quarantined / loaded",
        "`non_numeric` / `non_finite` (same rule whatever else the column holds); padded and "
        "signed numbers load; empty = NULL",
        _build_numbers,
        _check_numbers,
    ),
    Case(
        "end_before_start",
        "end one hour before start",
        "quarantined",
        "`end_before_start`",
        _build_end_before_start,
        _check_end_before_start,
    ),
    Case(
        "repeated",
        "a valid row three times and a bad row twice in one file",
        "loaded / quarantined",
        "valid row stored once (first line), bad row quarantined once",
        _build_repeated,
        _check_repeated,
    ),
    Case(
        "sql_text",
        "`x'); DROP TABLE raw_data;--` and other SQL/shell text in every text "
        "column, a numeric column and the file name",
        "loaded",
        "stored verbatim as data; every table intact",
        _build_sql,
        _check_sql,
    ),
    Case(
        "gzip",
        "`.csv.gz` export; truncated gzip; plain text named `.gz`; a 256 MB gzip bomb "
        "without line ends",
        "loaded / refused",
        "the export loads; the others are refused "
        "(`cannot read: ...`, `header is not a CSV record`) before any row is committed",
        _build_gzip,
        _check_gzip,
    ),
    Case(
        "symlinks",
        "symlinks to a file outside the folder and to `/dev/zero`; one to a file inside",
        "refused / loaded once",
        "outside: `symlink points outside the input folder; not read`; "
        "inside: read once (`duplicate`)",
        _build_symlinks,
        _check_symlinks,
    ),
    Case(
        "names",
        "a non-UTF-8 file name, a name with a newline, `UPPER.CSV`",
        "refused / loaded",
        "`name is not printable UTF-8; rename it`; upper-case extension loads",
        _build_names,
        _check_names,
    ),
    Case(
        "ignored",
        "`notes.txt`, `.hidden.csv`, a directory and a FIFO named `.csv`",
        "ignored",
        "not read, not reported (only regular `.csv`/`.csv.gz` files are inputs)",
        _build_ignored,
        _check_ignored,
    ),
    Case(
        "broken_csv",
        "unbalanced quote; rows with too many/few fields; a column named twice; CR-only line ends",
        "refused / quarantined",
        "`unbalanced double quotes`, `column(s) appear twice`, `CR only` refused; bad field "
        "counts quarantined `wrong_field_count`",
        _build_broken_csv,
        _check_broken_csv,
    ),
    Case(
        "layout",
        "blank lines, spaces around header names, no final newline",
        "loaded",
        "loaded; blank lines skipped",
        _build_layout,
        _check_layout,
    ),
    Case(
        "dates",
        "day-first, month-first, ambiguous, mixed ISO/slash, 30 February, 25:00, timezone suffixes",
        "loaded / refused / quarantined",
        "day/month-first load with correct dates; ambiguous and unrecognised layouts refused "
        "naming the options; rows not in the file's layout quarantined `bad_timestamp`",
        _build_dates,
        _check_dates,
    ),
)


def _run(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evpipe", *args],
        env=env_for(settings, EVPIPE_CHUNK_BYTES="4096"),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=settings.input_dir.parent,
        timeout=600,
    )


def _last_run(db: Any) -> dict[str, Any]:
    with db.cursor(dictionary=True) as cur:
        cur.execute("SELECT * FROM pipeline_runs ORDER BY run_id DESC LIMIT 1")
        return dict(cur.fetchone())


@pytest.fixture
def corpus_run(settings: Any, db: Any, tmp_path: Path) -> tuple[Corpus, Outcome, Any]:
    c = Corpus(tmp_path)
    assert c.dir == settings.input_dir
    for case in CORPUS:
        case.build(c)
    res = _run(settings, "run", "--no-progress")
    run = _last_run(db)
    out = Outcome(db, res.stderr, res.returncode, json.loads(run["warnings_json"] or "{}"))
    return c, out, run


def test_corpus_outcomes(corpus_run: tuple[Corpus, Outcome, Any]) -> None:
    c, out, run = corpus_run
    assert "Traceback" not in out.stderr
    assert out.returncode == 1, out.stderr[-2000:]  # partial: some files refused
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("evpipe: error")]
    assert len(errors) == 1 and errors[0] == out.stderr.strip().splitlines()[-1]
    assert run["status"] == "partial"
    failures = []
    for case in CORPUS:
        try:
            case.check(out, c)
        except AssertionError as err:
            failures.append(f"{case.id}: {err}")
    assert not failures, "\n".join(failures)


def test_corpus_invariants_and_rerun(
    corpus_run: tuple[Corpus, Outcome, Any], settings: Any, db: Any
) -> None:
    c, out, run = corpus_run
    raw, rejected = (
        one(db, "SELECT COUNT(*) FROM raw_data"),
        one(db, "SELECT COUNT(*) FROM rejected_rows"),
    )
    # every row read is accounted: stored, already present (repeats) or quarantined
    assert run["rows_read"] == raw + rejected + run["rows_already_present"] + 1  # +1: repeated bad
    assert run["rows_inserted"] == raw and run["rows_quarantined"] == rejected
    assert one(db, "SELECT COUNT(DISTINCT session_key) FROM raw_data") == raw
    # never a mis-dated row: every stored session starts and ends when the file says it does
    stored = fetch(db, "SELECT user_id, charging_start_time, charging_end_time FROM raw_data")
    wrong = [(u, s, e, c.expected.get(u)) for u, s, e in stored if c.expected.get(u) != (s, e)]
    assert not wrong, wrong[:5]
    # no row of a refused file committed
    refused = [
        r[0] for r in fetch(db, "SELECT file_path FROM ingested_files WHERE status = 'refused'")
    ]
    assert len(refused) >= 10
    for name in refused:
        assert one(db, "SELECT COUNT(*) FROM raw_data WHERE source_file = %s", (name,)) == 0
        assert one(db, "SELECT COUNT(*) FROM rejected_rows WHERE source_file = %s", (name,)) == 0
    # marts were built from what loaded
    assert one(db, "SELECT SUM(total_sessions) FROM processed_station_metrics") == raw
    # a second run over the same folder changes nothing and refuses the same files again
    again = _run(settings, "run", "--no-progress")
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert again.stderr.strip().splitlines()[-1].split(": ", 1)[1].count("|") == (
        out.stderr.strip().splitlines()[-1].split(": ", 1)[1].count("|")
    )
    assert (
        one(db, "SELECT COUNT(*) FROM raw_data"),
        one(db, "SELECT COUNT(*) FROM rejected_rows"),
    ) == (raw, rejected)
    assert _last_run(db)["rows_inserted"] == 0 and _last_run(db)["rows_quarantined"] == 0


def test_outcome_table_lists_every_case() -> None:
    """docs/guarantees.md holds the table this corpus proves (regenerate it with
    `python -m tests.test_hostile_input`)."""
    doc = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    assert outcome_table() in doc


def test_file_caught_mid_write_never_stores_a_truncated_row(settings: Any, db: Any) -> None:
    path = settings.input_dir / "growing.csv"
    text = factory.csv_text([factory.session(i) for i in range(3)])
    path.write_text(text[:-5], encoding="utf-8")  # the exporter has not finished the last line
    assert _run(settings, "ingest").returncode == 0
    with path.open("a", encoding="utf-8") as f:
        f.write(text[-5:])
    assert _run(settings, "ingest").returncode == 0
    assert fetch(db, "SELECT DISTINCT user_type FROM raw_data") == [("Commuter",)]
    assert one(db, "SELECT COUNT(*) FROM rejected_rows") == 0


def outcome_table() -> str:
    lines = ["| Case | Input | Outcome | Details |", "|---|---|---|---|"]
    for case in CORPUS:
        lines.append(f"| `{case.id}` | {case.input} | {case.outcome} | {case.detail} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(outcome_table())
