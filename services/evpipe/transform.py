"""SQL transforms: db/transforms/*.sql, run in order inside MySQL.

Every table a transform builds is a sum over sessions (averages are kept as the sums and counts
they are computed from), so the rows of new sessions fold into what is there:

- `-- mode: rollup` files aggregate raw_data rows with id in (from_id, to_id];
- `-- mode: derived` files aggregate the rows of other built tables, named `{rows:TABLE}`;
- `-- prepares: raw_data` files run first, on the same id range (they give sessions what the
  rollups group by); one that starts with a SELECT runs the rest only if that finds a row.

A transform after a load runs every file over the *new* rows only: each writes its delta into
`TABLE__delta` (derived files read the other tables' deltas), then every delta is added into
its table, the `-- finish` statements recompute what is not a sum (averages, the most common
charger type) for the keys that changed, and the watermark moves: all in one transaction, so a
reader sees all of it or none of it, and a crash leaves the tables as they were. The work is
proportional to the new sessions, not to the history.

A full transform (`--full`, after a schema migration, or when the new rows are a large share)
runs the same files over every row into `TABLE__new` and swaps all of them in with one RENAME.

In a file, `{target}` is the table to write; `{rows:T}` the rows of T to fold (all of T__new in
a full build, T__delta otherwise); in `-- finish` statements `{target}` is the whole table,
`{changed}` its changed rows and `{table:T}` the whole of another table. Columns fold by sum
unless the header lists them under `-- fold-min:`, `-- fold-max:` or `-- fold-keep:` (left to
the finish statements). Table names come from the files, never from data; values are bound.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evpipe.db import Connection, query, scalar, split_statements
from evpipe.schema import db_dir

log = logging.getLogger(__name__)

# A delta pays while the new rows are a small share of the table; past it, rebuild.
INCREMENTAL_MAX_SHARE = 0.2
STATE = "transform_state"
# Session-scoped, so no server setting is needed: GROUP BYs over a million groups would spill
# to disk with MariaDB's 16 MB default (MySQL 8.0's TempTable engine already allows 1 GB).
_SESSION = (
    "SET SESSION tmp_table_size = 268435456, max_heap_table_size = 268435456, "
    "sort_buffer_size = 67108864"
)
_PLACEHOLDER = re.compile(r"\{(target|changed|rows:(\w+)|table:(\w+))\}")
# What the server did, read from its per-session handler counters around each step.
_HANDLERS = (
    "Handler_read_first", "Handler_read_key", "Handler_read_next", "Handler_read_prev",
    "Handler_read_rnd", "Handler_read_rnd_next", "Handler_write", "Handler_update",
    "Handler_delete",
)  # fmt: skip


@dataclass(frozen=True)
class TransformFile:
    path: Path
    builds: str  # the table it builds ("" for a file that prepares raw_data)
    mode: str  # "rollup" | "derived" | "prepare"
    fold_min: tuple[str, ...] = ()
    fold_max: tuple[str, ...] = ()
    fold_keep: tuple[str, ...] = ()

    def _parts(self) -> tuple[str, str]:
        text = self.path.read_text(encoding="utf-8")
        body, _, finish = text.partition("\n-- finish\n")
        return body, finish

    def statements(self, names: dict[str, str]) -> list[str]:
        return split_statements(_resolve(self._parts()[0], names))

    def finish(self, names: dict[str, str]) -> list[str]:
        return split_statements(_resolve(self._parts()[1], names))


def _resolve(sql: str, names: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in names:
            raise ValueError(f"no table for {{{key}}} here")
        return f"`{names[key]}`"

    return _PLACEHOLDER.sub(sub, sql)


def _header_list(head: str, key: str) -> tuple[str, ...]:
    found = re.search(rf"^-- {key}: (.+)$", head, re.MULTILINE)
    return tuple(c.strip() for c in found.group(1).split(",")) if found else ()


def transform_files() -> list[TransformFile]:
    """The files that build tables, in order (see prepare_files for the others)."""
    return [tf for tf in _all_files() if tf.mode != "prepare"]


def prepare_files() -> list[TransformFile]:
    return [tf for tf in _all_files() if tf.mode == "prepare"]


def _all_files() -> list[TransformFile]:
    out = []
    for path in sorted((db_dir() / "transforms").glob("[0-9]*.sql")):
        head = path.read_text(encoding="utf-8")
        if re.search(r"^-- prepares: raw_data\s*$", head, re.MULTILINE):
            out.append(TransformFile(path, "", "prepare"))
            continue
        builds = re.search(r"^-- builds: (\w+)\s*$", head, re.MULTILINE)
        mode = re.search(r"^-- mode: (rollup|derived)\s*$", head, re.MULTILINE)
        if not builds or not mode:
            raise ValueError(f"{path.name}: needs '-- builds: TABLE' and '-- mode: rollup|derived'")
        out.append(
            TransformFile(
                path,
                builds.group(1),
                mode.group(1),
                _header_list(head, "fold-min"),
                _header_list(head, "fold-max"),
                _header_list(head, "fold-keep"),
            )
        )
    return out


@dataclass
class StepCost:
    """Seconds and the server's row operations (handler counters) of one step."""

    seconds: float = 0.0
    rows_read: int = 0
    rows_written: int = 0


@dataclass
class TransformResult:
    mode: str  # "full" | "incremental" | "unchanged"
    rows_folded: int
    tables: list[str]
    steps: dict[str, StepCost] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """What the run record keeps (pipeline_runs.transform_json)."""
        return {
            "mode": self.mode,
            "rows_folded": self.rows_folded,
            "steps": {
                name: {
                    "seconds": round(c.seconds, 3),
                    "rows_read": c.rows_read,
                    "rows_written": c.rows_written,
                }
                for name, c in self.steps.items()
            },
        }

    def log_steps(self) -> None:
        for name, c in self.steps.items():
            log.info(
                "transform: %-32s %7.2f s, %11s rows read, %11s written",
                name,
                c.seconds,
                f"{c.rows_read:,}",
                f"{c.rows_written:,}",
            )


class _Meter:
    """Times each step and reads the session's handler counters before and after it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.steps: dict[str, StepCost] = {}

    def _counters(self) -> dict[str, int]:
        rows = query(self.conn, "SHOW SESSION STATUS LIKE 'Handler\\_%%'")
        return {str(k): int(v) for k, v in rows if k in _HANDLERS}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        before, t0 = self._counters(), time.perf_counter()
        yield
        after = self._counters()
        cost = self.steps.setdefault(name, StepCost())
        cost.seconds += time.perf_counter() - t0
        diff = {k: after.get(k, 0) - before.get(k, 0) for k in _HANDLERS}
        cost.rows_read += sum(v for k, v in diff.items() if "_read_" in k)
        cost.rows_written += diff["Handler_write"] + diff["Handler_update"] + diff["Handler_delete"]


_NUMERIC = {"tinyint", "smallint", "mediumint", "int", "bigint", "double", "float", "decimal"}


def _columns(conn: Connection, table: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(primary key columns, (other column, its type)) of a table, in table order."""
    rows = query(
        conn,
        "SELECT COLUMN_NAME, COLUMN_KEY, DATA_TYPE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
        (table,),
    )
    keys = [str(c) for c, k, _t in rows if k == "PRI"]
    return keys, [(str(c), str(t).lower()) for c, k, t in rows if k != "PRI"]


def _fold_statement(conn: Connection, tf: TransformFile) -> str:
    """INSERT the delta's rows into the table, adding measures to rows that exist."""
    keys, others = _columns(conn, tf.builds)
    listed = ", ".join(f"`{c}`" for c in (*keys, *(c for c, _t in others)))
    sets = []
    for c, kind in others:
        mine = f"`{tf.builds}`.`{c}`"  # the delta has the same column names: qualify
        if c in tf.fold_keep:
            continue
        if kind not in _NUMERIC and c not in (*tf.fold_min, *tf.fold_max):
            raise ValueError(
                f"{tf.path.name}: column {c} of {tf.builds} is not a number: list it under "
                "'-- fold-keep:', '-- fold-min:' or '-- fold-max:'"
            )
        if c in tf.fold_min:
            sets.append(f"{mine} = LEAST(COALESCE({mine}, VALUES(`{c}`)), VALUES(`{c}`))")
        elif c in tf.fold_max:
            sets.append(f"{mine} = GREATEST(COALESCE({mine}, VALUES(`{c}`)), VALUES(`{c}`))")
        else:
            sets.append(f"{mine} = {mine} + VALUES(`{c}`)")
    return (
        f"INSERT INTO `{tf.builds}` ({listed}) SELECT {listed} FROM `{tf.builds}__delta` d "
        f"ON DUPLICATE KEY UPDATE {', '.join(sets)}"
    )


def _execute(conn: Connection, statements: list[str], params: dict[str, int]) -> None:
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement, params if "%(" in statement else ())


def _prepare(conn: Connection, params: dict[str, int]) -> None:
    """The prepare files on the id range; each skipped if its leading SELECT finds nothing
    (a scan is cheaper than three statements that would change nothing)."""
    for tf in prepare_files():
        statements = tf.statements({})
        if statements and statements[0].lstrip().upper().startswith("SELECT"):
            if not query(conn, statements[0], params):
                continue
            statements = statements[1:]
        _execute(conn, statements, params)


def _full(conn: Connection, files: list[TransformFile], to_id: int, meter: _Meter) -> None:
    """Every table rebuilt aside from all of raw_data, then all swapped in at once."""
    new = {tf.builds: f"{tf.builds}__new" for tf in files}
    rows = {f"rows:{t}": n for t, n in new.items()}
    tables = {f"table:{t}": n for t, n in new.items()}
    params = {"from_id": 0, "to_id": to_id}
    with meter.step("dimension codes"):
        _prepare(conn, params)
        conn.commit()
    for tf in files:
        with meter.step(tf.builds):
            log.info("transform: building %s (full)", tf.builds)
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS `{new[tf.builds]}`")
                cur.execute(f"CREATE TABLE `{new[tf.builds]}` LIKE `{tf.builds}`")
            _execute(conn, tf.statements({"target": new[tf.builds], **rows}), params)
            conn.commit()
    for tf in files:
        with meter.step(tf.builds):
            names = {"target": new[tf.builds], "changed": new[tf.builds], **tables}
            _execute(conn, tf.finish(names), params)
            conn.commit()
    with meter.step("swap"), conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {STATE}__new")
        cur.execute(f"CREATE TABLE {STATE}__new LIKE {STATE}")
        cur.execute(
            f"INSERT INTO {STATE}__new (id, rolled_up_to_id, marts_built_from_id, "
            "transformed_at) VALUES (1, %s, %s, UTC_TIMESTAMP())",
            (to_id, to_id),
        )
        swapped = [*new, STATE]
        for t in swapped:
            cur.execute(f"DROP TABLE IF EXISTS `{t}__old`")
        cur.execute(
            "RENAME TABLE "
            + ", ".join(f"`{t}` TO `{t}__old`, `{t}__new` TO `{t}`" for t in swapped)
        )
        for t in swapped:
            cur.execute(f"DROP TABLE `{t}__old`")
            cur.execute(f"DROP TABLE IF EXISTS `{t}__delta`")  # the fold makes them anew
    conn.commit()


def _incremental(
    conn: Connection, files: list[TransformFile], rolled: int, to_id: int, meter: _Meter
) -> bool:
    """The new rows folded into every table in one transaction; False if another transform
    moved the watermark first (nothing is changed then)."""
    delta = {tf.builds: f"{tf.builds}__delta" for tf in files}
    with meter.step("prepare"), conn.cursor() as cur:
        for tf in files:  # DDL commits: done before the transaction starts
            # made anew each time: one left by an older schema would not fit the table
            cur.execute(f"DROP TABLE IF EXISTS `{delta[tf.builds]}`")
            cur.execute(f"CREATE TABLE `{delta[tf.builds]}` LIKE `{tf.builds}`")
    folds = {tf.builds: _fold_statement(conn, tf) for tf in files}
    conn.commit()
    rows = {f"rows:{t}": d for t, d in delta.items()}
    tables = {f"table:{t}": t for t in delta}
    params = {"from_id": rolled, "to_id": to_id}
    try:
        with meter.step("dimension codes"):
            _prepare(conn, params)
        for tf in files:
            with meter.step(tf.builds):
                log.info("transform: folding new rows into %s", tf.builds)
                _execute(conn, tf.statements({"target": delta[tf.builds], **rows}), params)
        for tf in files:
            with meter.step(tf.builds):
                _execute(conn, [folds[tf.builds]], {})
        for tf in files:
            with meter.step(tf.builds):
                names = {"target": tf.builds, "changed": delta[tf.builds], **tables}
                _execute(conn, tf.finish(names), params)
        with meter.step("watermark"), conn.cursor() as cur:
            cur.execute(
                f"UPDATE {STATE} SET rolled_up_to_id = %s, marts_built_from_id = %s, "
                "transformed_at = UTC_TIMESTAMP() WHERE id = 1 AND rolled_up_to_id = %s",
                (to_id, to_id, rolled),
            )
            moved = cur.rowcount == 1
        if not moved:
            conn.rollback()
            return False
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return True


def run_transforms(conn: Connection, *, full: bool = False) -> TransformResult:
    files = transform_files()
    meter = _Meter(conn)
    with conn.cursor() as cur:
        cur.execute(_SESSION)
    to_id = int(scalar(conn, "SELECT COALESCE(MAX(id), 0) FROM raw_data"))
    rolled, marts_from = query(
        conn, f"SELECT rolled_up_to_id, marts_built_from_id FROM {STATE} WHERE id = 1"
    )[0]
    rolled, marts_from = int(rolled), int(marts_from)
    # counted, not to_id - rolled: a bulk load leaves gaps in the ids
    new_rows = int(scalar(conn, "SELECT COUNT(*) FROM raw_data WHERE id > %s", (rolled,)))
    # the sessions folded so far, from the smallest table that counts them all
    folded_before = int(
        scalar(conn, "SELECT COALESCE(SUM(total_sessions), 0) FROM processed_cost_efficiency")
    )
    total = folded_before + new_rows
    conn.commit()  # end the snapshot so the statements below see current data
    if to_id < rolled or marts_from != rolled:
        full = True  # raw_data was emptied or replaced, or an older transform left the marts
    if not full and new_rows == 0:
        log.info("transform: nothing new since the last transform")
        return TransformResult("unchanged", 0, [])
    if full or rolled == 0 or new_rows > INCREMENTAL_MAX_SHARE * total:
        _full(conn, files, to_id, meter)
        mode, folded = "full", total or new_rows
    elif _incremental(conn, files, rolled, to_id, meter):
        mode, folded = "incremental", new_rows
    else:
        log.info("transform: another transform folded these rows first")
        return TransformResult("unchanged", 0, [], meter.steps)
    log.info("transform: %s, tables now cover raw_data ids up to %d", mode, to_id)
    return TransformResult(mode, folded, [t.builds for t in files], meter.steps)
