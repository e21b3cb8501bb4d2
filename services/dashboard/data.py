"""The dashboard's one data-access module.

It reads only the dashboard cubes (processed_dash_*, db/init/003_dashboard.sql), the rollups and
the pipeline tables, never raw_data, so a request costs the same at 1k or 1M sessions. Filters are
bound parameters only. In the cubes '*' in location / charger_type / user_type means "all values":
a query picks the coarsest combination that still answers it, and covers a date range with whole
months, whole weeks and single days (``split_period``).

Two layers:
- ``fetch_*`` functions take an open connection and return DataFrames or small dataclasses; the
  static report (evpipe.report) uses them directly.
- ``DashboardData`` adds what a web server needs: one connection per thread, re-opened after a
  failure (so the app recovers by itself when the database is back), errors turned into messages
  safe for a browser, and a brief cache keyed by (query, filters, data version).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import mysql.connector
import numpy as np
import pandas as pd
from mysql.connector import errorcode

from dashboard.routing import CHECK_S, Route, Router, heartbeat_lag
from evpipe.db import Connection, connect
from evpipe.errors import ConfigError, DatabaseUnavailable, EvpipeError
from evpipe.settings import Settings, load_dotenv_file

log = logging.getLogger(__name__)

T = TypeVar("T")

ALL = "*"  # the cubes' "all values" marker
DIMS = ("location", "charger_type", "user_type")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOURS = tuple(range(24))
# Measures of the cubes. charging_hours is plugged-in time (plug-in to plug-out); duration_* is
# the charging time exports report; idle_* covers sessions with both (idle = plugged - charging).
SUMS = (
    "sessions", "energy_kwh", "energy_sessions", "cost_usd", "cost_sessions", "cost_energy_kwh",
    "duration_hours", "duration_sessions", "charging_hours", "idle_hours", "idle_plugged_hours",
    "idle_sessions",
)  # fmt: skip
COUNT_COLUMNS = (
    "sessions", "energy_sessions", "cost_sessions", "duration_sessions", "idle_sessions",
)  # fmt: skip
# A category for sessions whose export lacks the column (db/transforms: COALESCE(..., 'Unknown')).
UNKNOWN = "Unknown"

NO_DATA_MESSAGE = (
    "No charging sessions yet. Drop CSV exports into data/incoming and run `make reload` "
    "(natively: `evpipe run`); this page picks them up on its next refresh."
)
NOT_BUILT_MESSAGE = (
    "Sessions are loaded but the dashboard tables are not built yet. Run `make reload` "
    "(natively: `evpipe transform --full`)."
)
UNREACHABLE_MESSAGE = (
    "The database is not reachable right now. The dashboard keeps retrying and shows the data "
    "again as soon as the database is back."
)


# --------------------------------------------------------------------------------------------
# errors


class DataUnavailable(EvpipeError):
    """The data cannot be read; str() is a message safe to show in a browser."""


class DatabaseDown(DataUnavailable):
    exit_code = DatabaseUnavailable.exit_code


# --------------------------------------------------------------------------------------------
# filters and periods


def _parse_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _values(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    values = [value] if isinstance(value, str) else value
    # "*" is the cubes' "all values" marker, never a value one can pick
    return tuple(sorted({str(v) for v in values if v is not None and str(v) not in ("", ALL)}))


@dataclass(frozen=True)
class Filters:
    """The global filters. Empty tuples and None dates mean "no restriction"."""

    start: dt.date | None = None
    end: dt.date | None = None
    locations: tuple[str, ...] = ()
    charger_types: tuple[str, ...] = ()
    user_types: tuple[str, ...] = ()

    @classmethod
    def from_inputs(
        cls,
        start_date: Any = None,
        end_date: Any = None,
        locations: Any = None,
        charger_types: Any = None,
        user_types: Any = None,
    ) -> Filters:
        """Build from the filter components' values (ISO date strings, lists or None)."""
        start, end = _parse_date(start_date), _parse_date(end_date)
        if start and end and start > end:
            start, end = end, start
        return cls(start, end, _values(locations), _values(charger_types), _values(user_types))

    def selected(self, dim: str) -> tuple[str, ...]:
        return {
            "location": self.locations,
            "charger_type": self.charger_types,
            "user_type": self.user_types,
        }[dim]


@dataclass(frozen=True)
class Options:
    """What the filters can offer, and the extent of the data."""

    locations: tuple[str, ...] = ()
    charger_types: tuple[str, ...] = ()
    user_types: tuple[str, ...] = ()
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    sessions: int = 0
    built: bool = True  # False: raw sessions exist but the dashboard cubes are still empty

    @property
    def empty(self) -> bool:
        return self.sessions == 0 or self.first_date is None or self.last_date is None

    @property
    def empty_message(self) -> str:
        return NO_DATA_MESSAGE if self.built else NOT_BUILT_MESSAGE

    def values(self, dim: str) -> tuple[str, ...]:
        return {
            "location": self.locations,
            "charger_type": self.charger_types,
            "user_type": self.user_types,
        }[dim]


def resolve_period(f: Filters, opts: Options) -> tuple[dt.date, dt.date] | None:
    """The selected dates; an open end is the data's first or last day. None: nothing to show."""
    start = f.start or opts.first_date
    end = f.end or opts.last_date
    if start is None or end is None or start > end:
        return None
    return start, end


def _whole_periods(a: dt.date, b: dt.date, grain: str) -> tuple[dt.date, dt.date] | None:
    """The first and last start of the whole years / quarters / months / weeks in [a, b]."""
    one = dt.timedelta(days=1)
    if grain == "Y":
        first = a if (a.month, a.day) == (1, 1) else dt.date(a.year + 1, 1, 1)
        last_end = b if (b.month, b.day) == (12, 31) else dt.date(b.year - 1, 12, 31)
        last = dt.date(last_end.year, 1, 1)
    elif grain == "Q":
        q_start = dt.date(a.year, 3 * ((a.month - 1) // 3) + 1, 1)
        first = a if a == q_start else _period_end(q_start, "Q") + one
        b_start = dt.date(b.year, 3 * ((b.month - 1) // 3) + 1, 1)
        last_end = b if _period_end(b_start, "Q") == b else b_start - one
        last = dt.date(last_end.year, 3 * ((last_end.month - 1) // 3) + 1, 1)
    elif grain == "M":
        first = a if a.day == 1 else (a.replace(day=28) + 4 * one).replace(day=1)
        after = (b.replace(day=28) + 4 * one).replace(day=1)
        last_end = b if after - one == b else b.replace(day=1) - one
        last = last_end.replace(day=1)
    else:  # "W": Monday to Sunday
        first = a + dt.timedelta(days=(7 - a.weekday()) % 7)
        last_end = b - dt.timedelta(days=(b.weekday() + 1) % 7)
        last = last_end - 6 * one
    return (first, last) if first <= last and last_end <= b and first >= a else None


def _period_end(start: dt.date, grain: str) -> dt.date:
    if grain == "Y":
        return dt.date(start.year, 12, 31)
    if grain in ("Q", "M"):
        months = 3 if grain == "Q" else 1
        year, month = divmod(start.month - 1 + months, 12)
        return dt.date(start.year + year, month + 1, 1) - dt.timedelta(days=1)
    return start + dt.timedelta(days=6)


def split_period(
    start: dt.date, end: dt.date, grains: str = "MWD"
) -> list[tuple[str, dt.date, dt.date]]:
    """Cover [start, end] exactly with whole years ('Y'), quarters ('Q'), months ('M'), then
    Monday-to-Sunday weeks ('W'), then days ('D'), using only the grains given (days always).
    Returns (grain, first period start, last period start) ranges."""
    out: list[tuple[str, dt.date, dt.date]] = []
    rest = [(start, end)] if start <= end else []
    one = dt.timedelta(days=1)
    for grain in "YQMW":
        if grain not in grains:
            continue
        remaining = []
        for a, b in rest:
            whole = _whole_periods(a, b, grain)
            if whole is None:
                remaining.append((a, b))
                continue
            out.append((grain, whole[0], whole[1]))
            remaining += [(a, whole[0] - one), (_period_end(whole[1], grain) + one, b)]
        rest = [(a, b) for a, b in remaining if a <= b]
    return out + [("D", a, b) for a, b in rest]


# --------------------------------------------------------------------------------------------
# SQL building blocks (identifiers are constants; every value is a bound parameter)


def _effective(f: Filters, opts: Options) -> dict[str, tuple[str, ...]]:
    """The filters that really restrict: selecting every known value is no restriction."""
    out = {}
    for dim in DIMS:
        sel = f.selected(dim)
        out[dim] = () if not sel or set(opts.values(dim)) <= set(sel) else sel
    return out


def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _cube_dims(
    eff: dict[str, tuple[str, ...]], opts: Options, keep: Iterable[str], dims: Sequence[str] = DIMS
) -> tuple[str, list[Any]] | None:
    """WHERE terms selecting one cube combination: kept dimensions list their values, the
    others are '*'. None when a kept dimension has no value at all (empty result)."""
    terms, params = [], []
    keep = set(keep)
    for dim in dims:
        if dim in keep:
            values = eff[dim] or opts.values(dim)
            if not values:
                return None
            term, p = _in(dim, values)
            terms.append(term)
            params += p
        else:
            terms.append(f"{dim} = %s")
            params.append(ALL)
    return " AND ".join(terms), params


def _periods(
    parts: Sequence[tuple[str, dt.date, dt.date]], column: str = "period_start"
) -> tuple[str, list[Any]]:
    terms, params = [], []
    for grain, first, last in parts:
        terms.append(f"(grain = %s AND {column} BETWEEN %s AND %s)")
        params += [grain, first, last]
    return "(" + " OR ".join(terms) + ")", params


def _days(parts: Sequence[tuple[str, dt.date, dt.date]], column: str) -> tuple[str, list[Any]]:
    terms, params = [], []
    for _grain, first, last in parts:
        terms.append(f"{column} BETWEEN %s AND %s")
        params += [first, last]
    return "(" + " OR ".join(terms) + ")", params


def _rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, tuple(params))
        return list(cur.fetchall())


def _frame(rows: list[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=list(columns))
    for col in df.columns:
        if col in SUMS and df[col].dtype != "float64":
            df[col] = pd.to_numeric(df[col]).fillna(0.0).astype("float64")
    counts = [c for c in COUNT_COLUMNS if c in df.columns]
    if counts:
        df[counts] = df[counts].round().astype("int64")
    return df


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


# --------------------------------------------------------------------------------------------
# queries on an open connection


def fetch_version(conn: Connection) -> str:
    """The data version: changes whenever a transform rebuilt the marts or a run succeeded."""
    try:
        row = _rows(
            conn,
            "SELECT t.rolled_up_to_id, t.marts_built_from_id, t.transformed_at, "
            "(SELECT MAX(last_success_run_id) FROM pipeline_metadata) "
            "FROM transform_state t WHERE t.id = 1",
        )
    except mysql.connector.ProgrammingError as err:
        if err.errno != errorcode.ER_NO_SUCH_TABLE:
            raise
        row = _rows(
            conn, "SELECT MAX(last_success_run_id), MAX(last_success_at) FROM pipeline_metadata"
        )
    return "|".join(str(v) for v in (row[0] if row else ()))


def fetch_runs_version(conn: Connection) -> str:
    """Changes with every run record update (the pipeline health page's cache key)."""
    row = _rows(
        conn,
        "SELECT run_id, status, finished_at, rows_read, rows_quarantined FROM pipeline_runs "
        "ORDER BY run_id DESC LIMIT 1",
    )
    return "|".join(str(v) for v in (row[0] if row else ("none",)))


def fetch_options(conn: Connection) -> Options:
    """Filter choices and the data's extent: three index-only lookups (a few ms at any size)."""
    try:
        extent = _rows(
            conn,
            "SELECT MIN(period_start), MAX(period_start), SUM(sessions) "
            "FROM processed_dash_segments "
            "WHERE location = %s AND charger_type = %s AND user_type = %s AND grain = 'D'",
            (ALL, ALL, ALL),
        )[0]
        locations = _rows(
            conn,
            "SELECT DISTINCT location FROM processed_dash_segments WHERE location <> %s",
            (ALL,),
        )
        # (charger type, user type) pairs: a loose index scan of the stations cube's key
        pairs = _rows(
            conn,
            "SELECT charger_type, user_type FROM processed_dash_stations "
            "GROUP BY charger_type, user_type",
        )
    except mysql.connector.ProgrammingError as err:
        if err.errno != errorcode.ER_NO_SUCH_TABLE:
            raise
        return Options(built=not _has_sessions(conn))
    sessions = int(extent[2] or 0)
    if not sessions:
        return Options(built=not _has_sessions(conn))
    return Options(
        locations=tuple(sorted(str(r[0]) for r in locations)),
        charger_types=tuple(sorted({str(c) for c, _u in pairs} - {ALL})),
        user_types=tuple(sorted({str(u) for _c, u in pairs} - {ALL})),
        first_date=_parse_date(extent[0]),
        last_date=_parse_date(extent[1]),
        sessions=sessions,
    )


def _has_sessions(conn: Connection) -> bool:
    """Whether the rollups hold sessions (to tell "no data" from "cubes not built yet")."""
    try:
        return bool(_rows(conn, "SELECT 1 FROM processed_daily_rollup LIMIT 1"))
    except mysql.connector.ProgrammingError:
        return False


def fetch_segments(conn: Connection, f: Filters, opts: Options) -> pd.DataFrame:
    """Sums by location x charger type x weekday (0 = Monday) for the filters: the overview."""
    columns = ["location", "charger_type", "day_of_week", *SUMS]
    period = resolve_period(f, opts)
    eff = _effective(f, opts)
    keep = {"location", "charger_type"} | {d for d in DIMS if eff[d]}
    where = _cube_dims(eff, opts, keep)
    if period is None or where is None:
        return _frame([], columns)
    per_sql, per_params = _periods(split_period(*period, grains="YQMD"))
    rows = _rows(
        conn,
        f"SELECT location, charger_type, day_of_week, {_sums()} "
        f"FROM processed_dash_segments WHERE {where[0]} AND {per_sql} "
        "GROUP BY location, charger_type, day_of_week",
        where[1] + per_params,
    )
    return _frame(rows, columns)


def auto_frequency(period: tuple[dt.date, dt.date] | None) -> str:
    if period is None:
        return "D"
    days = (period[1] - period[0]).days + 1
    return "D" if days <= 120 else "W" if days <= 1100 else "M"


_BUCKET = {
    "D": "period_start",
    "W": "period_start - INTERVAL day_of_week DAY",
    "M": "period_start - INTERVAL (DAYOFMONTH(period_start) - 1) DAY",
}


def fetch_timeseries(
    conn: Connection, f: Filters, opts: Options, freq: str = "auto"
) -> pd.DataFrame:
    """Sessions and energy per day, week (labelled by its Monday) or month; periods without
    sessions are present with zeros. A partial first or last week or month holds only the
    selected days. df.attrs["freq"] is the frequency used ("D", "W" or "M")."""
    period = resolve_period(f, opts)
    freq = freq if freq in _BUCKET else auto_frequency(period)
    eff = _effective(f, opts)
    where = _cube_dims(eff, opts, {d for d in DIMS if eff[d]})
    rows: list[tuple[Any, ...]] = []
    if period is not None and where is not None:
        rows = _rows(
            conn,
            f"SELECT {_BUCKET[freq]} AS bucket, CAST(SUM(sessions) AS DOUBLE), SUM(energy_kwh) "
            f"FROM processed_dash_segments WHERE {where[0]} AND grain = 'D' "
            "AND period_start BETWEEN %s AND %s GROUP BY bucket ORDER BY bucket",
            [*where[1], period[0], period[1]],
        )
    df = _frame(rows, ["period", "sessions", "energy_kwh"])
    df["period"] = pd.to_datetime(df["period"])
    if period is not None:
        first = pd.Timestamp(period[0])
        if freq == "W":
            first -= pd.Timedelta(days=first.weekday())
        elif freq == "M":
            first = first.replace(day=1)
        step = {"D": "D", "W": "W-MON", "M": "MS"}[freq]
        index = pd.date_range(first, pd.Timestamp(period[1]), freq=step, name="period")
        df = df.set_index("period").reindex(index, fill_value=0).reset_index()
        df["sessions"] = df["sessions"].astype("int64")
    # a first or last bucket that covers only part of its week / month
    df["partial"] = False
    if period is not None and freq != "D" and len(df):
        df.loc[df.index[0], "partial"] = df["period"].iloc[0] < pd.Timestamp(period[0])
        last_end = df["period"].iloc[-1] + (
            pd.DateOffset(weeks=1) if freq == "W" else pd.DateOffset(months=1)
        )
        df.loc[df.index[-1], "partial"] = bool(
            last_end - pd.Timedelta(days=1) > pd.Timestamp(period[1])
        )
    df.attrs["freq"] = freq
    return df


def fetch_heatmap(conn: Connection, f: Filters, opts: Options) -> pd.DataFrame:
    """Sessions and energy by weekday (0 = Monday) x hour of day the charging started:
    always 168 rows, Monday 00h first."""
    sessions = np.zeros((7, 24), dtype=np.int64)
    energy = np.zeros((7, 24), dtype=np.float64)
    period = resolve_period(f, opts)
    eff = _effective(f, opts)
    where = _cube_dims(eff, opts, {d for d in DIMS if eff[d]})
    if period is not None and where is not None:
        per_sql, per_params = _periods(split_period(*period, grains="MD"))
        cols = [f"CAST(SUM(s{h:02d}) AS DOUBLE)" for h in HOURS]
        cols += [f"SUM(e{h:02d})" for h in HOURS]
        rows = _rows(
            conn,
            f"SELECT day_of_week, {', '.join(cols)} FROM processed_dash_hourly "
            f"WHERE {where[0]} AND {per_sql} GROUP BY day_of_week",
            where[1] + per_params,
        )
        for row in rows:
            day = int(row[0])
            sessions[day] = [int(v or 0) for v in row[1:25]]
            energy[day] = [float(v or 0.0) for v in row[25:49]]
    return pd.DataFrame(
        {
            "day_of_week": np.repeat(np.arange(7), 24),
            "hour": np.tile(np.arange(24), 7),
            "sessions": sessions.ravel(),
            "energy_kwh": energy.ravel(),
        }
    )


def fetch_load_curve(conn: Connection, f: Filters, opts: Options) -> pd.DataFrame:
    """Average and peak load (kW) by hour of day. Each session's energy is spread evenly over
    its charging interval (processed_dash_load), so a clock hour's kWh is its average kW.
    avg_kw: mean over every day of the selected period (days without charging count as 0);
    peak_kw: the highest value of that hour on any one day."""
    out = pd.DataFrame({"hour": list(HOURS), "avg_kw": 0.0, "peak_kw": 0.0})
    period = resolve_period(f, opts)
    eff = _effective(f, opts)
    keep = {d for d in DIMS if eff[d]}
    where = _cube_dims(eff, opts, keep)
    if period is None or where is None:
        return out
    days = (period[1] - period[0]).days + 1
    hours = [f"h{h:02d}" for h in HOURS]
    stats = ", ".join(f"SUM({c}), MAX({c})" for c in hours)
    base = f"FROM processed_dash_load WHERE {where[0]} AND load_date BETWEEN %s AND %s"
    params = [*where[1], period[0], period[1]]
    if all(len(eff[d]) == 1 for d in keep):
        sql = f"SELECT {stats} {base}"  # one combination: a row is already a day's total
    else:
        per_day = ", ".join(f"SUM({c}) AS {c}" for c in hours)
        sql = f"SELECT {stats} FROM (SELECT load_date, {per_day} {base} GROUP BY load_date) d"
    row = _rows(conn, sql, params)[0]
    out["avg_kw"] = [float(row[2 * h] or 0.0) / days for h in HOURS]
    out["peak_kw"] = [float(row[2 * h + 1] or 0.0) for h in HOURS]
    return out


STATION_COLUMNS = ("location", "station_id", "port_id", *SUMS)
STATION_OUTPUT = (
    *STATION_COLUMNS, "charger_type", "revenue_usd", "cost_per_kwh", "avg_energy_kwh",
    "utilisation", "idle_share", "avg_idle_hours",
)  # fmt: skip


def _sums(prefix: str = "") -> str:
    """SUM of every measure as DOUBLE (a BIGINT sum would arrive as a slow-to-parse DECIMAL)."""
    return ", ".join(f"CAST(SUM({prefix}{c}) AS DOUBLE) AS {c}" for c in SUMS)


def fetch_stations(
    conn: Connection,
    f: Filters,
    opts: Options,
    charger_types: dict[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """One row per station port (and location) with sessions, energy, revenue, cost per kWh,
    utilisation = plugged-in hours / hours in the selected period, and idle time = plugged-in
    minus charging time over the sessions whose export reports both (idle share = idle hours /
    their plugged-in hours). What an export lacks is None ("not in this data"), never 0.

    Whole years, months and weeks come from processed_dash_stations, the days at the edges of
    the range from processed_daily_rollup; one round trip."""
    period = resolve_period(f, opts)
    eff = _effective(f, opts)
    rows: list[tuple[Any, ...]] = []
    if period is not None:
        filtered = [d for d in ("charger_type", "user_type") if eff[d]]
        parts = split_period(*period, grains="YQMWD")
        loc_sql, loc_params = _in("location", eff["location"]) if eff["location"] else ("1 = 1", [])
        selects, params = [], []
        cube_parts = [p for p in parts if p[0] != "D"]
        # the cube holds each (charger type, user type) pair and ('*', '*'): any filter on
        # either reads the pairs (a station rarely has more than one charger type)
        keep = ("charger_type", "user_type") if filtered else ()
        where = _cube_dims(eff, opts, keep, dims=("charger_type", "user_type"))
        if cube_parts and where is not None:
            per_sql, per_params = _periods(cube_parts)
            selects.append(
                f"SELECT location, charging_station_id, port_id, {_sums()} "
                f"FROM processed_dash_stations WHERE {where[0]} AND {per_sql} AND {loc_sql} "
                "GROUP BY location, charging_station_id, port_id"
            )
            params += where[1] + per_params + loc_params
        day_parts = [p for p in parts if p[0] == "D"]
        if day_parts:
            day_sql, day_params = _days(day_parts, "session_date")
            terms, term_params = [loc_sql], list(loc_params)
            for dim in filtered:
                term, tp = _in(dim, eff[dim])
                terms.append(term)
                term_params += tp
            selects.append(
                f"SELECT location, charging_station_id, port_id, {_sums()} "
                f"FROM processed_daily_rollup WHERE {day_sql} AND {' AND '.join(terms)} "
                "GROUP BY location, charging_station_id, port_id"
            )
            params += day_params + term_params
        if len(selects) == 1:
            rows = _rows(conn, selects[0], params)
        elif selects:
            union = " UNION ALL ".join(f"({q})" for q in selects)
            rows = _rows(
                conn,
                f"SELECT location, charging_station_id, port_id, {_sums()} FROM ({union}) x "
                "GROUP BY location, charging_station_id, port_id",
                params,
            )
    period_hours = ((period[1] - period[0]).days + 1) * 24 if period else 0
    types = charger_types or {}
    records = []
    for row in rows:  # plain Python: a few hundred rows, cheaper than a dozen pandas steps
        m = dict(zip(STATION_COLUMNS, row, strict=True))
        for c in SUMS:
            m[c] = float(m[c] or 0.0)
        if m["sessions"] <= 0:
            continue
        for c in COUNT_COLUMNS:
            m[c] = round(m[c])
        m.update(
            station_id=str(m["station_id"]),
            port_id=str(m["port_id"] or ""),
            location=str(m["location"]),
            charger_type=types.get((str(m["station_id"]), str(m["location"])), ""),
            revenue_usd=m["cost_usd"] if m["cost_sessions"] else None,
            cost_per_kwh=_ratio(m["cost_usd"], m["cost_energy_kwh"]),
            avg_energy_kwh=_ratio(m["energy_kwh"], m["energy_sessions"]),
            utilisation=_ratio(m["charging_hours"], period_hours),
            idle_share=_ratio(m["idle_hours"], m["idle_plugged_hours"])
            if m["idle_sessions"]
            else None,
            avg_idle_hours=_ratio(m["idle_hours"], m["idle_sessions"]),
        )
        records.append(m)
    records.sort(key=lambda r: (-r["sessions"], r["station_id"], r["location"], r["port_id"]))
    df = pd.DataFrame.from_records(records, columns=list(STATION_OUTPUT))
    df.attrs["period"] = period
    df.attrs["period_hours"] = period_hours
    return df


def fetch_station_charger_types(conn: Connection) -> dict[tuple[str, str], str]:
    """Each station's most common charger type (all time), from processed_station_metrics."""
    rows = _rows(
        conn, "SELECT station_id, location, most_common_charger_type FROM processed_station_metrics"
    )
    return {(str(s), str(loc)): str(ct or "") for s, loc, ct in rows}


# --------------------------------------------------------------------------------------------
# summaries of the overview's segments (averages are always sum / count)


def _totals(seg: pd.DataFrame, by: str | None) -> dict[Any, list[float]]:
    """Sums of every measure per value of `by` (plain Python: the frames have <= 105 rows)."""
    keys = seg[by].tolist() if by else [None] * len(seg)
    columns = [seg[c].tolist() for c in SUMS]
    acc: dict[Any, list[float]] = {}
    for i, key in enumerate(keys):
        a = acc.setdefault(key, [0.0] * len(SUMS))
        for j, col in enumerate(columns):
            a[j] += float(col[i])
    return acc


def _summary_rows(by: str, acc: dict[Any, list[float]]) -> pd.DataFrame:
    total = sum(a[0] for a in acc.values())
    rows = []
    for key, a in acc.items():
        m = dict(zip(SUMS, a, strict=True))
        rows.append(
            {
                by: key,
                **{c: (int(m[c]) if c in COUNT_COLUMNS else m[c]) for c in SUMS},
                "avg_energy_kwh": _ratio(m["energy_kwh"], m["energy_sessions"]),
                "avg_cost_usd": _ratio(m["cost_usd"], m["cost_sessions"]),
                "cost_per_kwh": _ratio(m["cost_usd"], m["cost_energy_kwh"])
                if m["cost_sessions"]
                else None,
                "share": m["sessions"] / total if total else 0.0,
            }
        )
    columns = [by, *SUMS, "avg_energy_kwh", "avg_cost_usd", "cost_per_kwh", "share"]
    return pd.DataFrame(rows, columns=columns)


def kpis(seg: pd.DataFrame) -> dict[str, float | int | None]:
    m = dict(zip(SUMS, _totals(seg, None).get(None, [0.0] * len(SUMS)), strict=True))
    return {
        "sessions": int(m["sessions"]),
        "energy_kwh": float(m["energy_kwh"]),
        "revenue_usd": float(m["cost_usd"]) if m["cost_sessions"] else None,
        "cost_per_kwh": _ratio(m["cost_usd"], m["cost_energy_kwh"]) if m["cost_sessions"] else None,
        "energy_per_session": _ratio(m["energy_kwh"], m["energy_sessions"]),
    }


def by_location(seg: pd.DataFrame) -> pd.DataFrame:
    """Per location, most sessions first: sums, avg_energy_kwh, avg_cost_usd, cost_per_kwh."""
    df = _summary_rows("location", _totals(seg, "location"))
    return df.sort_values(["sessions", "location"], ascending=[False, True], ignore_index=True)


CHARGER_ORDER = ("Level 1", "Level 2", "DC Fast Charger")


def by_charger_type(seg: pd.DataFrame) -> pd.DataFrame:
    """Per charger type (Level 1, Level 2, DC Fast Charger, then others alphabetically)."""
    acc = _totals(seg, "charger_type")
    rank = {name: i for i, name in enumerate(CHARGER_ORDER)}
    ordered = dict(sorted(acc.items(), key=lambda kv: (rank.get(kv[0], len(rank)), str(kv[0]))))
    return _summary_rows("charger_type", ordered)


def by_day_of_week(seg: pd.DataFrame) -> pd.DataFrame:
    """All seven weekdays, Monday (0) first, with zeros where there are no sessions."""
    acc = _totals(seg, "day_of_week")
    full = {d: acc.get(d, acc.get(float(d), [0.0] * len(SUMS))) for d in range(7)}
    df = _summary_rows("day_of_week", full)
    df["day"] = list(WEEKDAYS)
    return df


@dataclass(frozen=True)
class Overview:
    kpis: dict[str, float | int | None]
    by_location: pd.DataFrame
    by_charger_type: pd.DataFrame
    by_day_of_week: pd.DataFrame


def overview_from_segments(seg: pd.DataFrame) -> Overview:
    return Overview(kpis(seg), by_location(seg), by_charger_type(seg), by_day_of_week(seg))


# --------------------------------------------------------------------------------------------
# pipeline health


@dataclass(frozen=True)
class Health:
    now_utc: dt.datetime | None
    newest_session: dt.datetime | None
    last_success_at: dt.datetime | None
    last_success_run_id: int | None
    transformed_at: dt.datetime | None
    runs: pd.DataFrame
    quarantine: pd.DataFrame
    examples: pd.DataFrame
    warnings: pd.DataFrame
    warnings_runs: int = 0
    formats: pd.DataFrame = field(default_factory=pd.DataFrame)

    @staticmethod
    def age_seconds(now: dt.datetime | None, then: dt.datetime | None) -> float | None:
        return (now - then).total_seconds() if now and then else None


RUN_COLUMNS = (
    "run_id", "command", "status", "started_at", "finished_at", "files_seen", "files_loaded",
    "files_failed", "rows_read", "rows_inserted", "rows_already_present", "rows_quarantined",
    "error_message",
)  # fmt: skip
WARNING_RUNS = 500  # warnings are summed over this many most recent runs that had any
# input files per export format (profile; '' for files no profile could read)
FORMAT_COLUMNS = ("profile", "files", "rows_read", "files_refused", "last_seen")
EXAMPLES_PER_RULE = 3


def fetch_health(conn: Connection, recent: int = 20) -> Health:
    now = _rows(conn, "SELECT UTC_TIMESTAMP()")[0][0]
    meta = _rows(
        conn,
        "SELECT MAX(last_loaded_start_time), MAX(last_success_at), MAX(last_success_run_id) "
        "FROM pipeline_metadata",
    )[0]
    try:
        transformed = _rows(conn, "SELECT transformed_at FROM transform_state WHERE id = 1")
    except mysql.connector.ProgrammingError:
        transformed = []
    runs = pd.DataFrame.from_records(
        _rows(
            conn,
            f"SELECT {', '.join(RUN_COLUMNS)} FROM pipeline_runs ORDER BY run_id DESC LIMIT %s",
            (recent,),
        ),
        columns=list(RUN_COLUMNS),
    )
    runs["duration_s"] = [
        (fin - st).total_seconds() if fin is not None and st is not None else None
        for st, fin in zip(runs["started_at"], runs["finished_at"], strict=True)
    ]
    quarantine = pd.DataFrame.from_records(
        _rows(conn, "SELECT rule, COUNT(*), MAX(rejected_at) FROM rejected_rows GROUP BY rule"),
        columns=["rule", "rows", "last_seen"],
    )
    quarantine["rows"] = pd.to_numeric(quarantine["rows"]).astype("int64")
    quarantine = quarantine.sort_values(["rows", "rule"], ascending=[False, True]).reset_index(
        drop=True
    )
    example_cols = ["rule", "source_file", "line_number", "message", "raw_line"]
    if len(quarantine):
        parts = " UNION ALL ".join(
            "(SELECT rule, source_file, line_number, message, LEFT(raw_line, 400) "
            "FROM rejected_rows "
            "WHERE rule = %s ORDER BY id DESC LIMIT " + str(EXAMPLES_PER_RULE) + ")"
            for _ in range(len(quarantine))
        )
        examples = pd.DataFrame.from_records(
            _rows(conn, parts, list(quarantine["rule"])), columns=example_cols
        )
    else:
        examples = pd.DataFrame(columns=example_cols)
    counts: dict[str, int] = {}
    latest: dict[str, int] = {}
    warn_rows = _rows(
        conn,
        "SELECT run_id, warnings_json FROM pipeline_runs WHERE warnings_json IS NOT NULL "
        "AND warnings_json NOT IN ('', '{}') ORDER BY run_id DESC LIMIT %s",
        (WARNING_RUNS,),
    )
    for i, (_run_id, text) in enumerate(warn_rows):
        try:
            parsed = json.loads(text)
        except (TypeError, ValueError):
            continue
        if not isinstance(parsed, dict):
            continue
        for rule, n in parsed.items():
            try:
                counts[str(rule)] = counts.get(str(rule), 0) + int(n)
                if i == 0:
                    latest[str(rule)] = int(n)
            except (TypeError, ValueError):
                continue
    warnings = (
        pd.DataFrame(
            [(r, n, latest.get(r, 0)) for r, n in counts.items()],
            columns=["rule", "rows", "latest_run"],
        )
        .sort_values(["rows", "rule"], ascending=[False, True])
        .reset_index(drop=True)
    )
    formats = pd.DataFrame.from_records(
        _rows(
            conn,
            "SELECT COALESCE(profile, ''), COUNT(*), COALESCE(SUM(rows_consumed), 0), "
            "SUM(status = 'refused'), MAX(updated_at) FROM ingested_files "
            "GROUP BY COALESCE(profile, '') ORDER BY 3 DESC",
        ),
        columns=list(FORMAT_COLUMNS),
    )
    return Health(
        now_utc=now,
        newest_session=meta[0],
        last_success_at=meta[1],
        last_success_run_id=int(meta[2]) if meta[2] is not None else None,
        transformed_at=transformed[0][0] if transformed else None,
        runs=runs,
        quarantine=quarantine,
        examples=examples,
        warnings=warnings,
        warnings_runs=len(warn_rows),
        formats=formats,
    )


@dataclass(frozen=True)
class Replication:
    read_from: str  # "db-replica:3306" or "db (primary)"
    on_replica: bool
    lag_s: float | None  # replica only: seconds since the primary's last heartbeat arrived
    notice: str | None  # e.g. the replica is down and the dashboard reads the primary


# --------------------------------------------------------------------------------------------
# the web app's access object: per-thread connections, error mapping, cache


class _TTLCache:
    def __init__(self, ttl: float, max_entries: int) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return False, None
            if hit[0] < time.monotonic():
                del self._items[key]
                return False, None
            self._items.move_to_end(key)
            return True, hit[1]

    def put(self, key: Any, value: Any) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CONNECTION_ERRORS = (mysql.connector.OperationalError, mysql.connector.InterfaceError)
_ACCESS_DENIED = {errorcode.ER_TABLEACCESS_DENIED_ERROR, errorcode.ER_COLUMNACCESS_DENIED_ERROR}


@dataclass
class DashboardData:
    """Everything the pages read, cached by (query, filters, data version).

    ``settings`` may be a Settings, a callable returning one, or None to read DB_* from the
    environment (and .env) on first use. ``ttl`` bounds how long an entry lives; a new data
    version (a successful `make reload`) makes every entry obsolete at once.
    """

    settings: Settings | Callable[[], Settings] | None = None
    ttl: float = 300.0
    version_ttl: float = 2.0
    max_entries: int = 256
    route_check_s: float = CHECK_S  # how often to re-check where to read (dashboard.routing)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _cache: _TTLCache = field(init=False, repr=False)
    _resolved: Settings | None = field(default=None, init=False, repr=False)
    _router: Router = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._cache = _TTLCache(self.ttl, self.max_entries)
        self._router = Router(self.resolved_settings, self.route_check_s)

    # -- plumbing

    def resolved_settings(self) -> Settings:
        if self._resolved is None:
            s = self.settings
            if isinstance(s, Settings):
                self._resolved = s
            else:
                try:
                    if s is None:
                        load_dotenv_file()
                        self._resolved = Settings.from_env()
                    else:
                        self._resolved = s()
                except ConfigError as err:
                    raise DataUnavailable(f"The dashboard is not configured: {err}") from None
        return self._resolved

    def configure(self, settings: Settings | None) -> None:
        """Point at another database (tests, benchmarks); drops connections and cache."""
        self.settings = settings
        self._resolved = None
        self.close()
        self._cache.clear()
        self._router.reset()

    def clear_cache(self) -> None:
        self._cache.clear()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to release
                conn.close()

    def read_route(self) -> Route:
        """Where the dashboard reads now (a replica or the primary), with any notice."""
        try:
            return self._router.route()
        except ConfigError as err:
            raise DataUnavailable(f"The dashboard is not configured: {err}") from None

    def _connection(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        route = self.read_route()
        if conn is not None and getattr(self._local, "route", None) is not route:
            self.close()  # the route changed: read from where it points now
            conn = None
        if conn is not None:
            return conn
        for _attempt in (1, 2):  # a replica that fails here: once more, on the primary
            self._local.route = route
            try:
                conn = connect(route.settings, retry=False)
                conn.autocommit = True  # every query sees the latest committed data
                with conn.cursor() as cur:
                    cur.execute("SET SESSION TRANSACTION READ ONLY")
            except (DatabaseUnavailable, mysql.connector.Error) as err:
                log.warning("dashboard: cannot open a database connection: %s", err)
                if route.replica is None:
                    break
                self._router.replica_failed(route)
                route = self.read_route()
                continue
            self._local.conn = conn
            return conn
        raise DatabaseDown(UNREACHABLE_MESSAGE)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(connection, *args), retried once on a fresh connection if the old one broke."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                return fn(conn, *args)
            except _CONNECTION_ERRORS as err:
                self._router.replica_failed(self._local.route)
                self.close()
                if attempt == 2:
                    log.warning(
                        "dashboard: database connection failed: %s", str(err).splitlines()[0]
                    )
                    raise DatabaseDown(UNREACHABLE_MESSAGE) from None
            except mysql.connector.Error as err:
                self.close()
                log.error("dashboard: query failed: %s", str(err).splitlines()[0])
                if err.errno in _ACCESS_DENIED:
                    raise DataUnavailable(
                        "The dashboard's database user may not read a table it needs; grant it "
                        "SELECT on the schema (db/init/900_dashboard_user.sh)."
                    ) from None
                raise DataUnavailable(
                    "The database answered with an error; the details are in the dashboard's log."
                ) from None
        raise AssertionError("unreachable")

    def _cached(self, key: Any, compute: Callable[[], T]) -> T:
        hit, value = self._cache.get(key)
        if hit:
            return value
        value = compute()
        self._cache.put(key, value)
        return value

    # -- versions

    def _micro_cached(self, name: str, fetch: Callable[[Connection], str]) -> str:
        if self.version_ttl <= 0:
            return self.run(fetch)
        key = (name, int(time.monotonic() / self.version_ttl))
        return self._cached(key, lambda: self.run(fetch))

    def version(self) -> str:
        """The current data version (re-read at most every version_ttl seconds)."""
        return self._micro_cached("version", fetch_version)

    def runs_version(self) -> str:
        """The current state of the run records (the health page's cache key)."""
        return self._micro_cached("runs_version", fetch_runs_version)

    # -- reads

    def options(self) -> Options:
        v = self.version()
        return self._cached(("options", v), lambda: self.run(fetch_options))

    def segments(self, f: Filters) -> pd.DataFrame:
        v, opts = self.version(), self.options()
        return self._cached(("segments", f, v), lambda: self.run(fetch_segments, f, opts))

    def overview(self, f: Filters) -> Overview:
        v = self.version()
        return self._cached(("overview", f, v), lambda: overview_from_segments(self.segments(f)))

    def timeseries(self, f: Filters, freq: str = "auto") -> pd.DataFrame:
        v, opts = self.version(), self.options()
        return self._cached(
            ("timeseries", f, freq, v), lambda: self.run(fetch_timeseries, f, opts, freq)
        )

    def heatmap(self, f: Filters) -> pd.DataFrame:
        v, opts = self.version(), self.options()
        return self._cached(("heatmap", f, v), lambda: self.run(fetch_heatmap, f, opts))

    def load_curve(self, f: Filters) -> pd.DataFrame:
        v, opts = self.version(), self.options()
        return self._cached(("load", f, v), lambda: self.run(fetch_load_curve, f, opts))

    def stations(self, f: Filters) -> pd.DataFrame:
        v, opts = self.version(), self.options()
        types = self._cached(("station_types", v), lambda: self.run(fetch_station_charger_types))
        return self._cached(("stations", f, v), lambda: self.run(fetch_stations, f, opts, types))

    def health(self) -> Health:
        v = self.runs_version()
        return self._cached(("health", v), lambda: self.run(fetch_health))

    def replication(self) -> Replication:
        """Where the dashboard reads and, on a replica, how far behind the primary it is."""
        lag = self.run(heartbeat_lag)
        route: Route = self._local.route  # where run() read, even if it had to fall back
        on_replica = route.replica is not None
        return Replication(route.label, on_replica, lag if on_replica else None, route.notice)


#: The instance the web app uses (DB_* from the environment).
source = DashboardData()


def configure(settings: Settings | None) -> DashboardData:
    """Point the web app's data source at a database, e.g. from a benchmark or test."""
    source.configure(settings)
    return source
