"""SQL transforms: db/transforms/*.sql, run in order inside MySQL.

Each file starts with `-- builds: TABLE` and `-- mode: additive|rebuild`; `{target}` in it is the
table to write (a table name chosen here, never user data; values are bound parameters).
- additive files fold raw_data rows with id in (from_id, to_id] into rollups. After a small load
  they run against the live tables in one transaction (only the new rows are read); otherwise
  every rollup is rebuilt into `<table>__new` and all are swapped in by one RENAME TABLE.
- rebuild files derive small marts from the rollups: built into `<table>__new`, then swapped.
Readers never see a missing or half-built table.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from evpipe.db import Connection, query, scalar, split_statements
from evpipe.schema import db_dir

log = logging.getLogger(__name__)

# Incremental folding pays while the new rows are a small share of the table.
INCREMENTAL_MAX_SHARE = 0.2


@dataclass(frozen=True)
class TransformFile:
    path: Path
    builds: str
    mode: str

    def statements(self, target: str) -> list[str]:
        return split_statements(self.path.read_text(encoding="utf-8").replace("{target}", target))


def transform_files() -> list[TransformFile]:
    out = []
    for path in sorted((db_dir() / "transforms").glob("[0-9]*.sql")):
        head = path.read_text(encoding="utf-8")
        builds = re.search(r"^-- builds: (\w+)\s*$", head, re.MULTILINE)
        mode = re.search(r"^-- mode: (additive|rebuild)\s*$", head, re.MULTILINE)
        if not builds or not mode:
            raise ValueError(
                f"{path.name}: needs '-- builds: TABLE' and '-- mode: additive|rebuild'"
            )
        out.append(TransformFile(path, builds.group(1), mode.group(1)))
    return out


@dataclass
class TransformResult:
    mode: str  # "full" | "incremental" | "unchanged"
    rows_folded: int
    tables: list[str]


def _swap(conn: Connection, tables: list[str], extra: tuple[str, ...] = ()) -> None:
    names = [*tables, *extra]
    with conn.cursor() as cur:
        for t in names:
            cur.execute(f"DROP TABLE IF EXISTS `{t}__old`")
        cur.execute(
            "RENAME TABLE " + ", ".join(f"`{t}` TO `{t}__old`, `{t}__new` TO `{t}`" for t in names)
        )
        for t in names:
            cur.execute(f"DROP TABLE `{t}__old`")


def _build_new(conn: Connection, tf: TransformFile, params: dict[str, int]) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS `{tf.builds}__new`")
        cur.execute(f"CREATE TABLE `{tf.builds}__new` LIKE `{tf.builds}`")
        for statement in tf.statements(f"`{tf.builds}__new`"):
            cur.execute(statement, params)
    conn.commit()


# GROUP BY over a million groups spills to disk with MariaDB's 16 MB default; MySQL 8.0's
# TempTable engine already allows 1 GB. Session-scoped, so no server setting is needed.
_SESSION = (
    "SET SESSION tmp_table_size = 268435456, max_heap_table_size = 268435456, "
    "sort_buffer_size = 67108864"
)


def run_transforms(conn: Connection, *, full: bool = False) -> TransformResult:
    files = transform_files()
    with conn.cursor() as cur:
        cur.execute(_SESSION)
    additive = [t for t in files if t.mode == "additive"]
    rebuild = [t for t in files if t.mode == "rebuild"]
    to_id = int(scalar(conn, "SELECT COALESCE(MAX(id), 0) FROM raw_data"))
    rolled, marts_from = query(
        conn, "SELECT rolled_up_to_id, marts_built_from_id FROM transform_state WHERE id = 1"
    )[0]
    rolled, marts_from = int(rolled), int(marts_from)
    conn.commit()  # end the snapshot so the statements below see current data
    new_rows = to_id - rolled
    if to_id < rolled:
        full = True  # raw_data was emptied or replaced: the rollups are from another life
    if not full and new_rows == 0 and marts_from == rolled:
        log.info("transform: nothing new since the last transform")
        return TransformResult("unchanged", 0, [])

    if full or rolled == 0 or new_rows > INCREMENTAL_MAX_SHARE * to_id:
        mode = "full"
        params = {"from_id": 0, "to_id": to_id}
        for tf in additive:
            log.info("transform: building %s (full)", tf.builds)
            _build_new(conn, tf, params)
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS transform_state__new")
            cur.execute("CREATE TABLE transform_state__new LIKE transform_state")
            cur.execute(
                "INSERT INTO transform_state__new (id, rolled_up_to_id, marts_built_from_id, "
                "transformed_at) VALUES (1, %s, 0, UTC_TIMESTAMP())",
                (to_id,),
            )
        _swap(conn, [t.builds for t in additive], ("transform_state",))
        folded = to_id
    elif new_rows > 0:
        mode = "incremental"
        params = {"from_id": rolled, "to_id": to_id}
        with conn.cursor() as cur:
            for tf in additive:
                log.info("transform: folding %d new rows into %s", new_rows, tf.builds)
                for statement in tf.statements(f"`{tf.builds}`"):
                    cur.execute(statement, params)
            cur.execute(
                "UPDATE transform_state SET rolled_up_to_id = %s, transformed_at = UTC_TIMESTAMP() "
                "WHERE id = 1 AND rolled_up_to_id = %s",
                (to_id, rolled),
            )
        conn.commit()
        folded = new_rows
    else:
        mode, folded = "incremental", 0

    for tf in rebuild:
        log.info("transform: rebuilding %s", tf.builds)
        _build_new(conn, tf, {})
    _swap(conn, [t.builds for t in rebuild])
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE transform_state SET marts_built_from_id = rolled_up_to_id, "
            "transformed_at = UTC_TIMESTAMP() WHERE id = 1"
        )
    conn.commit()
    log.info("transform: %s, rollups now cover raw_data ids up to %d, marts rebuilt", mode, to_id)
    return TransformResult(mode, folded, [t.builds for t in files])
