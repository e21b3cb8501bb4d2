"""Integer codes for what the rollups group by (db/init/006_dimensions.sql).

Each session is stored with the dim_id of its (station, port, location, charger type, user type),
so the transforms group by one integer instead of five strings. Codes are assigned as the ingest
meets new combinations, on a connection of their own that commits at once: an unused code costs
nothing, and a chunk rolled back never leaves a session pointing at a code that does not exist.
The database's collation decides which spellings are the same value (as a GROUP BY did).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evpipe.db import Connection

# (raw_data column, how the rollups write it when it is missing)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("charging_station_id", "Unknown"),
    ("port_id", ""),
    ("charging_station_location", "Unknown"),
    ("charger_type", "Unknown"),
    ("user_type", "Unknown"),
)
_SEP = "\x1f"  # cannot occur in a validated value's key: it joins the five into one
_MATCH = " AND ".join(
    f"d.{c} = t.{c}" for c in ("station_id", "port_id", "location", "charger_type", "user_type")
)


class Dimensions:
    """dim_id of every row of a chunk; new combinations are registered on `connect()`'s
    connection (used only by the thread that prepares chunks)."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect
        self._conn: Connection | None = None
        self._ids: dict[str, int] | None = None  # joined key -> dim_id

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _known(self) -> dict[str, int]:
        if self._ids is None:
            with self._connection().cursor() as cur:
                cur.execute(
                    "SELECT station_id, port_id, location, charger_type, user_type, dim_id "
                    "FROM dimensions"
                )
                self._ids = {_key(tuple(r[:5])): int(r[5]) for r in cur.fetchall()}
            self._connection().commit()
        return self._ids

    def codes(self, table: pa.Table) -> pa.Array:
        """The dim_id of each row of a validated chunk."""
        parts = [pc.fill_null(table.column(c).combine_chunks(), default) for c, default in COLUMNS]
        escaped = [pc.replace_substring(pc.replace_substring(p, "\\", "\\\\"), _SEP, "\\s")
                   for p in parts]  # fmt: skip
        encoded = pc.binary_join_element_wise(*escaped, _SEP).dictionary_encode()
        keys = encoded.dictionary.to_pylist()
        known = self._known()
        if any(k not in known for k in keys):
            combos = pa.table(parts, names=[c for c, _ in COLUMNS])
            unique = combos.group_by([c for c, _ in COLUMNS]).aggregate([]).to_pylist()
            new = [tuple(u[c] for c, _ in COLUMNS) for u in unique]
            new = [t for t in new if _key(t) not in known]
            known.update(self._register(new))
        ids = np.fromiter((known[k] for k in keys), dtype=np.uint32, count=len(keys))
        return pa.array(ids[encoded.indices.to_numpy(zero_copy_only=False)], pa.uint32())

    def _register(self, combos: list[tuple[str, ...]]) -> dict[str, int]:
        conn = self._connection()
        rows = [(i, *c) for i, c in enumerate(combos)]
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS tmp_new_dims (idx INT NOT NULL, "
                "station_id VARCHAR(64) NOT NULL, port_id VARCHAR(64) NOT NULL, "
                "location VARCHAR(100) NOT NULL, charger_type VARCHAR(40) NOT NULL, "
                "user_type VARCHAR(40) NOT NULL) DEFAULT CHARSET=utf8mb4"
            )
            cur.execute("DELETE FROM tmp_new_dims")
            cur.executemany("INSERT INTO tmp_new_dims VALUES (%s, %s, %s, %s, %s, %s)", rows)
            cur.execute(
                "INSERT IGNORE INTO segments (location, charger_type, user_type) "
                "SELECT DISTINCT location, charger_type, user_type FROM tmp_new_dims"
            )
            cur.execute(
                "INSERT IGNORE INTO dimensions (station_id, port_id, location, charger_type, "
                "user_type, seg_id) SELECT t.station_id, t.port_id, t.location, t.charger_type, "
                "t.user_type, s.seg_id FROM tmp_new_dims t JOIN segments s ON "
                "s.location = t.location AND s.charger_type = t.charger_type "
                "AND s.user_type = t.user_type"
            )
            cur.execute(f"SELECT t.idx, d.dim_id FROM tmp_new_dims t JOIN dimensions d ON {_MATCH}")
            found: dict[int, Any] = dict(cur.fetchall())
        conn.commit()
        return {_key(c): int(found[i]) for i, c in enumerate(combos)}


def _key(values: tuple[str, ...]) -> str:
    """The same key codes() builds in Arrow: values escaped, then joined."""
    return _SEP.join(v.replace("\\", "\\\\").replace(_SEP, "\\s") for v in values)
