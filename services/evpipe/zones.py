"""Instants: local wall-clock times to UTC and back, per row, with each row's time zone.

A timestamp as written is a wall-clock time, sometimes with a UTC offset (`+02:00`, `Z`, `GMT`)
or an offset / zone abbreviation in a column of its own (`PDT`). A row's time zone is an IANA
name (from a column, the profile, or EVPIPE_TIMEZONE) or only a fixed offset. From these:

- offset known: UTC is exact; local time is the UTC instant in the row's IANA zone, or the
  clock as written (in the start's offset) when only offsets are known;
- no offset, IANA zone known: the wall clock is local time and UTC follows from the zone's
  rules. A time that falls in the hour skipped when clocks go forward does not exist there and
  is rejected; one in the repeated hour when they go back is ambiguous: the first occurrence is
  taken and the row is counted under a warning;
- nothing known: local time is the clock as written and UTC stays unknown (NULL), never guessed.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NAT = np.datetime64("NaT", "s")
_OFFSET = re.compile(r"^(?:UTC|GMT|Z)?\s*(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2})?$", re.I)
_UTC_NAMES = {"z", "utc", "gmt", "ut"}


@cache
def parse_offset(text: str) -> int | None:
    """Seconds east of UTC for '+02:00', '-0700', '+05', 'UTC+1', 'Z', 'UTC', 'GMT'; else None."""
    t = text.strip()
    if t.casefold() in _UTC_NAMES:
        return 0
    m = _OFFSET.match(t)
    if not m:
        return None
    h, mins = int(m["h"]), int(m["m"] or 0)
    if h > 14 or mins > 59:
        return None
    sign = -1 if m["sign"] == "-" else 1
    return sign * (h * 3600 + mins * 60)


def format_offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    h, m = divmod(abs(int(seconds)) // 60, 60)
    return f"{sign}{h:02d}:{m:02d}"


@cache
def check_zone(name: str) -> bool:
    """Whether name is an IANA time zone this machine knows."""
    if not name or ("/" not in name and name.upper() != "UTC"):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def offsets_of(values: pa.Array, abbreviations: dict[str, str]) -> np.ndarray:
    """Seconds east of UTC for each value (NaN where empty or not an offset); values may be
    zone abbreviations listed by the profile (e.g. PDT = -07:00)."""
    unique = pc.unique(values)
    seconds = np.full(len(unique), np.nan)
    for i, v in enumerate(unique.to_pylist()):
        if v is None or v == "":
            continue
        v = abbreviations.get(v.casefold(), v)
        off = parse_offset(v)
        if off is not None:
            seconds[i] = off
    idx = pc.index_in(values, unique).to_numpy(zero_copy_only=False)
    return seconds[np.nan_to_num(idx, nan=0).astype(np.int64)] if len(values) else seconds[:0]


@dataclass
class ZoneResult:
    local: dict[str, np.ndarray]  # field -> datetime64[s] local wall clock (NaT where invalid)
    utc: dict[str, np.ndarray]  # field -> datetime64[s] UTC (NaT where unknown)
    zone: pa.Array  # per row: IANA name, "+hh:mm", or null
    ambiguous: np.ndarray  # a naive time in a repeated hour (first occurrence taken)
    nonexistent: dict[str, np.ndarray] = field(default_factory=dict)  # in a skipped hour
    bad_zone: np.ndarray | None = None  # the row's zone is neither IANA nor an offset


def _to_local(utc: np.ndarray, zone: str) -> np.ndarray:
    import pandas as pd  # only files with time zones need it (keeps `evpipe run` start-up fast)

    idx = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(zone).tz_localize(None)
    return idx.to_numpy().astype("datetime64[s]")


def _localize(wall: np.ndarray, zone: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC of naive local times in zone; (utc, ambiguous, nonexistent)."""
    import pandas as pd

    idx = pd.DatetimeIndex(wall)
    first = idx.tz_localize(zone, ambiguous=np.ones(len(idx), bool), nonexistent="NaT")
    second = idx.tz_localize(zone, ambiguous=np.zeros(len(idx), bool), nonexistent="NaT")
    utc = first.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")
    other = second.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")
    nonexistent = np.isnat(utc) & ~np.isnat(wall)
    ambiguous = ~np.isnat(utc) & (utc != other)
    return utc, ambiguous, nonexistent


def resolve(
    wall: dict[str, np.ndarray],
    offset: dict[str, np.ndarray],
    row_zone: pa.Array | None,
    default_zone: str | None,
    abbreviations: dict[str, str],
    primary: str = "charging_start_time",
) -> ZoneResult:
    """Local and UTC instants of every timestamp field (see the module docstring).

    wall: naive wall clock per field; offset: seconds east of UTC per field (NaN: none given);
    row_zone: the time_zone field's values (null: use default_zone)."""
    n = len(wall[primary])
    names = list(wall)
    # each row's zone as text: its own, else the default
    if row_zone is not None:
        zone_text = pc.fill_null(
            pc.if_else(pc.equal(row_zone, ""), pa.scalar(None, pa.string()), row_zone),
            default_zone or "",
        )
    else:
        zone_text = pa.array(np.full(n, default_zone or "", dtype=object), type=pa.string())
    unique = pc.unique(zone_text).to_pylist()
    codes = pc.index_in(zone_text, pa.array(unique, pa.string())).to_numpy(zero_copy_only=False)
    iana: dict[int, str] = {}
    fixed = np.full(n, np.nan)
    bad_zone = np.zeros(n, dtype=bool)
    for i, z in enumerate(unique):
        rows = codes == i
        if not z:
            continue
        z = abbreviations.get(z.casefold(), z)
        if check_zone(z):
            iana[i] = z
        elif (off := parse_offset(z)) is not None:
            fixed[rows] = off
        else:
            bad_zone |= rows
    # own offsets; a naive time in a row whose zone is a fixed offset takes that offset
    offs = {f: np.where(np.isnan(offset[f]), fixed, offset[f]) for f in names}
    utc: dict[str, np.ndarray] = {}
    local: dict[str, np.ndarray] = {}
    nonexistent: dict[str, np.ndarray] = {}
    ambiguous = np.zeros(n, dtype=bool)
    for f in names:
        w = wall[f]
        known = ~np.isnan(offs[f]) & ~np.isnat(w)
        secs = np.nan_to_num(offs[f], nan=0).astype("timedelta64[s]")
        utc[f] = np.where(known, w - secs, NAT)
        local[f] = w.copy()
        nonexistent[f] = np.zeros(n, dtype=bool)
    start_off = offs[primary]
    for i, z in iana.items():
        rows = codes == i
        for f in names:
            w = wall[f]
            known = rows & ~np.isnan(offs[f]) & ~np.isnat(w)
            if known.any():
                local[f][known] = _to_local(utc[f][known], z)
            naive = rows & np.isnan(offs[f]) & ~np.isnat(w)
            if naive.any():
                u, amb, gap = _localize(w[naive], z)
                utc[f][naive] = u
                ambiguous[naive] |= amb
                nonexistent[f][naive] = gap
    # rows with offsets only: every local time in the start's offset (one clock per row)
    no_iana = ~np.isin(codes, list(iana)) if iana else np.ones(n, dtype=bool)
    shift = no_iana & ~np.isnan(start_off)
    if shift.any():
        secs = np.nan_to_num(start_off, nan=0).astype("timedelta64[s]")
        for f in names:
            if f == primary:
                continue
            has = shift & ~np.isnat(utc[f])
            local[f][has] = utc[f][has] + secs[has]
    # UTC for a row only when it is known for the whole interval
    whole = np.ones(n, dtype=bool)
    for f in (primary, "charging_end_time"):
        if f in utc:
            whole &= ~np.isnat(utc[f])
    for f in names:
        utc[f] = np.where(whole, utc[f], NAT)
    zone_out = np.full(n, None, dtype=object)
    for i, z in iana.items():
        zone_out[codes == i] = z
    with_off = no_iana & ~np.isnan(start_off)
    if with_off.any():
        labels = {o: format_offset(int(o)) for o in np.unique(start_off[with_off])}
        zone_out[with_off] = [labels[o] for o in start_off[with_off]]
    return ZoneResult(
        local=local,
        utc=utc,
        zone=pa.array(zone_out, type=pa.string()),
        ambiguous=ambiguous,
        nonexistent=nonexistent,
        bad_zone=bad_zone,
    )
