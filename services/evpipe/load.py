"""Writes validated chunks into MySQL inside the caller's transaction."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from functools import cache

import pyarrow as pa
import pyarrow.csv as pacsv

from evpipe.db import Connection
from evpipe.profile import Profile
from evpipe.schema import db_dir
from evpipe.validate import Rejection

# Strings always quoted, NULL unquoted: LOAD DATA reads an unquoted NULL as SQL NULL and a quoted
# "NULL" as the text NULL (db/load/raw_data.sql).
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, null_string="NULL", quoting_style="needed")


@cache
def load_statement() -> str:
    text = (db_dir() / "load" / "raw_data.sql").read_text(encoding="utf-8")
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("--"))


def keyed_in_key_order(table: pa.Table) -> pa.Table:
    """The rows with their session key (MD5 of key_text, as hex in key_text's place), sorted by
    it: the unique index on session_key then takes a chunk's keys in order, which makes the
    server's load about 8 % faster at 1M sessions than in file order. The sort is stable, so of
    two rows with the same key the earlier line still comes first and wins."""
    digests = [
        hashlib.md5(k.encode("utf-8"), usedforsecurity=False).digest()
        for k in table.column("key_text").to_pylist()
    ]
    order = sorted(range(len(digests)), key=digests.__getitem__)
    keys = pa.array([digests[i].hex() for i in order], pa.string())
    at = table.schema.get_field_index("key_text")
    return table.take(pa.array(order, pa.int64())).set_column(at, "key_text", keys)


def write_chunk_csv(table: pa.Table) -> str | None:
    """The validated rows as a CSV file for LOAD DATA; None when there is nothing to load."""
    if table.num_rows == 0:
        return None
    table = keyed_in_key_order(table)
    fd, path = tempfile.mkstemp(prefix="evpipe-chunk-", suffix=".csv")
    try:
        with os.fdopen(fd, "wb") as out:
            pacsv.write_csv(table, out, write_options=_CSV_OPTIONS)
    except BaseException:
        os.unlink(path)
        raise
    return path


def discard(path: str | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def load_csv(
    conn: Connection, path: str | None, source_file: str, run_id: int, profile: Profile
) -> int:
    """LOAD DATA LOCAL INFILE of a chunk file; returns rows inserted (known sessions skipped)."""
    if path is None:
        return 0
    plug_out_known = 0 if profile.derives_end else 1
    with conn.cursor() as cur:
        cur.execute(load_statement(), (path, plug_out_known, source_file, run_id))
        return int(cur.rowcount)


def quarantine(conn: Connection, rejections: list[Rejection], source_file: str, run_id: int) -> int:
    """Store rejected rows once each (keyed by the hash of their text); returns rows new here."""
    if not rejections:
        return 0
    rows = [
        (
            hashlib.md5(r.raw_line.encode("utf-8"), usedforsecurity=False).digest(),
            run_id,
            source_file,
            r.line,
            r.rule,
            r.message,
            r.raw_line,
        )
        for r in rejections
    ]
    added = 0
    with conn.cursor() as cur:
        for start in range(0, len(rows), 1000):
            batch = rows[start : start + 1000]
            cur.executemany(
                "INSERT IGNORE INTO rejected_rows "
                "(row_hash, run_id, source_file, line_number, rule, message, raw_line) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                batch,
            )
            added += max(int(cur.rowcount), 0)
    return added
