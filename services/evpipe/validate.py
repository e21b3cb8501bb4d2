"""Vectorised validation of one parsed chunk against the rule catalogue (evpipe.rules).

Pure: strings in, a typed canonical table plus rejections and warning counts out; no I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evpipe import dates
from evpipe.parse import ParsedChunk, format_record
from evpipe.profile import CANONICAL_COLUMNS, Profile
from evpipe.rules import (
    DURATION_TOLERANCE_HOURS,
    MAX_SESSION_HOURS,
    NON_NEGATIVE,
    RANGES,
    TIME_OF_DAY,
    WEEKDAYS,
)  # fmt: skip

_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
# Spellings of NaN and infinity that Arrow parses: non_finite, whatever else the column holds.
_NON_FINITE = r"^[-+]?(inf|infinity|nan)$"


@dataclass
class Rejection:
    line: int
    rule: str
    message: str
    raw_line: str


@dataclass
class ValidChunk:
    table: pa.Table  # CANONICAL_COLUMNS + source_line, typed, only rows to load
    rejections: list[Rejection] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    max_start: np.datetime64 | None = None


def _strip(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return pc.utf8_trim_whitespace(arr)


def _to_float(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values with NaN for empty, non-numeric mask, non-finite mask)."""
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    nullable = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    try:
        values = pc.cast(nullable, pa.float64())
        bad = np.zeros(len(text), dtype=bool)
    except pa.ArrowInvalid:
        ok = pc.fill_null(
            pc.or_(
                pc.match_substring_regex(nullable, _NUMBER),
                pc.match_substring_regex(nullable, _NON_FINITE, ignore_case=True),
            ),
            False,
        )
        values = pc.cast(pc.if_else(ok, nullable, pa.scalar(None, pa.string())), pa.float64())
        bad = ~ok.to_numpy(zero_copy_only=False) & ~empty
    arr = values.to_numpy(zero_copy_only=False).astype(np.float64)
    nonfinite = ~np.isfinite(arr) & ~empty & ~bad
    return arr, bad, nonfinite


class _Checks:
    """Collects (rule, mask, message) triples; messages are built only for flagged rows."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reject: list[tuple[str, np.ndarray, object]] = []
        self.warn: list[tuple[str, np.ndarray]] = []

    def rejects(self, rule: str, mask: np.ndarray, message: object) -> None:
        if mask.any():
            self.reject.append((rule, mask, message))

    def warns(self, rule: str, mask: np.ndarray) -> None:
        self.warn.append((rule, mask))


def validate(
    parsed: ParsedChunk, mapping: dict[str, int], profile: Profile, date_kind: str
) -> ValidChunk:
    table = parsed.table
    n = table.num_rows
    checks = _Checks(n)
    text: dict[str, pa.Array] = {}
    numbers: dict[str, np.ndarray] = {}
    columns: dict[str, pa.Array] = {}

    for col in profile.columns:
        if col.name not in mapping:
            continue
        raw = _strip(table.column(str(mapping[col.name])))
        text[col.name] = raw
        if col.type == "text":
            columns[col.name] = pc.if_else(pc.equal(raw, ""), pa.scalar(None, pa.string()), raw)
            if col.max_length:
                too_long = pc.greater(pc.utf8_length(raw), col.max_length).to_numpy(
                    zero_copy_only=False
                )
                checks.rejects(
                    "text_too_long", too_long, f"{col.name} longer than {col.max_length} characters"
                )
        elif col.type == "number":
            values, bad, nonfinite = _to_float(raw)
            values = values * col.scale if col.scale != 1.0 else values
            numbers[col.name] = values
            checks.rejects("non_numeric", bad, (col.name, "is not a number"))
            checks.rejects("non_finite", nonfinite, (col.name, "is not finite"))
            finite = np.isfinite(values)
            if col.name in NON_NEGATIVE:
                checks.rejects("negative_value", finite & (values < 0), (col.name, "is negative"))
            if col.name in RANGES:
                lo, hi = RANGES[col.name]
                outside = finite & ((values < lo) | (values > hi))
                if col.name in NON_NEGATIVE:
                    outside &= values >= 0  # negatives are reported as negative_value
                checks.rejects("out_of_range", outside, (col.name, f"outside {lo:g}..{hi:g}"))

    for key in ("user_id", "charging_station_id"):
        missing = pc.equal(text[key], "").to_numpy(zero_copy_only=False)
        checks.rejects("missing_key", missing, f"{key} is missing")

    start_text, end_text = text["charging_start_time"], text["charging_end_time"]
    start = dates.parse(start_text, date_kind)
    end = dates.parse(end_text, date_kind)
    start_missing = pc.equal(start_text, "").to_numpy(zero_copy_only=False)
    end_missing = pc.equal(end_text, "").to_numpy(zero_copy_only=False)
    checks.rejects("missing_timestamp", start_missing, "charging_start_time is missing")
    checks.rejects("missing_timestamp", end_missing, "charging_end_time is missing")
    start_np = start.to_numpy(zero_copy_only=False).astype("datetime64[s]")
    end_np = end.to_numpy(zero_copy_only=False).astype("datetime64[s]")
    start_bad = np.isnat(start_np) & ~start_missing
    end_bad = np.isnat(end_np) & ~end_missing
    layout = f"not a {date_kind} timestamp (e.g. {dates.EXAMPLES[date_kind]})"
    checks.rejects("bad_timestamp", start_bad, ("charging_start_time", layout))
    checks.rejects("bad_timestamp", end_bad, ("charging_end_time", layout))
    both = ~np.isnat(start_np) & ~np.isnat(end_np)
    hours = np.where(
        both, (end_np - start_np).astype("timedelta64[s]").astype(np.float64) / 3600, np.nan
    )
    checks.rejects(
        "end_before_start", both & (hours < 0), "charging_end_time is before charging_start_time"
    )
    checks.rejects(
        "session_too_long",
        both & (hours > MAX_SESSION_HOURS),
        f"end - start exceeds {MAX_SESSION_HOURS:g} h",
    )

    # warnings (on rows that are otherwise kept; counted below)
    if "energy_consumed_kwh" in numbers:
        checks.warns(
            "missing_energy",
            np.isnan(numbers["energy_consumed_kwh"])
            & (pc.equal(text["energy_consumed_kwh"], "").to_numpy(zero_copy_only=False)),
        )
    if "charging_rate_kw" in numbers:
        checks.warns(
            "missing_rate", pc.equal(text["charging_rate_kw"], "").to_numpy(zero_copy_only=False)
        )
    else:
        checks.warns("missing_rate", np.ones(n, dtype=bool))
    if "charging_duration_hours" in numbers:
        dur = numbers["charging_duration_hours"]
        checks.warns(
            "duration_mismatch",
            both & np.isfinite(dur) & (np.abs(dur - hours) > DURATION_TOLERANCE_HOURS),
        )
    valid_start = ~np.isnat(start_np)
    safe_start = np.where(valid_start, start_np, np.datetime64(0, "s"))
    if "day_of_week" in text:
        weekday = (
            safe_start.astype("datetime64[D]").astype(np.int64) + 3
        ) % 7  # 1970-01-01 was a Thursday
        expected = np.asarray(WEEKDAYS, dtype=object)[weekday]
        given = pc.utf8_lower(text["day_of_week"]).to_numpy(zero_copy_only=False)
        lower_expected = np.char.lower(expected.astype(str))
        checks.warns(
            "day_of_week_mismatch", valid_start & (given != "") & (given != lower_expected)
        )
    if "time_of_day" in text:
        hour = (safe_start.astype(np.int64) // 3600) % 24
        bucket = np.asarray([TIME_OF_DAY[h].lower() for h in range(24)])[hour]
        given = pc.utf8_lower(text["time_of_day"]).to_numpy(zero_copy_only=False)
        checks.warns("time_of_day_mismatch", valid_start & (given != "") & (given != bucket))
    if "energy_consumed_kwh" in numbers and "battery_capacity_kwh" in numbers:
        e, c = numbers["energy_consumed_kwh"], numbers["battery_capacity_kwh"]
        checks.warns("energy_above_capacity", np.isfinite(e) & np.isfinite(c) & (e > c))
    if parsed.latin1:
        checks.warns("not_utf8", np.ones(n, dtype=bool))

    rejected = np.zeros(n, dtype=bool)
    for _, mask, _ in checks.reject:
        rejected |= mask
    result = ValidChunk(table=pa.table({}))
    for rule, mask in checks.warn:
        count = int((mask & ~rejected).sum())
        if count:
            result.warnings[rule] += count
    result.rejections = _rejections(parsed, rejected, checks, text, profile, mapping)

    keep = ~rejected
    out: dict[str, pa.Array] = {}
    for name in CANONICAL_COLUMNS:
        if name in numbers:
            v = numbers[name][keep]
            out[name] = pa.array(v, type=pa.float64(), mask=np.isnan(v))
        elif name == "charging_start_time":
            out[name] = pa.array(start_np[keep], type=pa.timestamp("s"))
        elif name == "charging_end_time":
            out[name] = pa.array(end_np[keep], type=pa.timestamp("s"))
        elif name in columns:
            out[name] = pc.filter(columns[name], pa.array(keep))
        else:
            out[name] = pa.nulls(int(keep.sum()), type=pa.string())
    out["source_line"] = pa.array(parsed.lines[keep], type=pa.int64())
    result.table = pa.table(out)
    if keep.any():
        result.max_start = start_np[keep].max()
    return result


def _rejections(
    parsed: ParsedChunk,
    rejected: np.ndarray,
    checks: _Checks,
    text: dict[str, pa.Array],
    profile: Profile,
    mapping: dict[str, int],
) -> list[Rejection]:
    out = [
        Rejection(
            b.line,
            "wrong_field_count",
            f"wrong number of fields: {b.reason}",
            format_record(b.fields),
        )
        for b in parsed.bad
    ]
    idx = np.flatnonzero(rejected)
    if not len(idx):
        return out
    raw_rows = parsed.table.take(pa.array(idx)).to_pylist()
    for pos, i in enumerate(idx):
        rule, reasons = "", []
        for name, mask, message in checks.reject:
            if not mask[i]:
                continue
            rule = rule or name
            if isinstance(message, tuple):
                col, what = message
                value = text[col][int(i)].as_py()
                shown = value if len(value) <= 40 else value[:37] + "..."
                reasons.append(f"{col}={shown!r} {what}")
            else:
                reasons.append(str(message))
        fields = [raw_rows[pos][str(k)] for k in range(parsed.table.num_columns)]
        out.append(
            Rejection(int(parsed.lines[i]), rule, "; ".join(reasons)[:1000], format_record(fields))
        )
    return out
