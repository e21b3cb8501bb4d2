"""Vectorised validation of one parsed chunk against a profile and the rule catalogue.

Pure: strings in, a typed table of the session model plus rejections and warning counts out;
no I/O. The profile (evpipe.profile) says where each canonical field comes from; the rules
(evpipe.rules) say what is rejected and what is only counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evpipe import dates, zones
from evpipe.parse import ParsedChunk, format_record
from evpipe.profile import CANONICAL_COLUMNS, MODEL_COLUMNS, FieldSpec, HeaderMatch, Profile
from evpipe.rules import (
    DURATION_TOLERANCE_HOURS,
    NON_NEGATIVE,
    RANGES,
    TIME_OF_DAY,
    WEEKDAYS,
)  # fmt: skip

# Columns of a validated chunk, in the order db/load/raw_data.sql reads them. plug_out_known is
# the same for a whole file (its format has plug-out times or not): the load statement sets it.
PER_FILE_COLUMNS = ("plug_out_known",)
LOAD_COLUMNS: tuple[str, ...] = (
    *CANONICAL_COLUMNS,
    *(c for c in MODEL_COLUMNS if c not in PER_FILE_COLUMNS),
    "key_text",
    "source_line",
)

_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
# Spellings of NaN and infinity that Arrow parses: non_finite, whatever else the column holds.
_NON_FINITE = r"^[-+]?(inf|infinity|nan)$"
_CLOCK = {
    "hh:mm:ss": r"^(?P<h>\d+):(?P<m>[0-5]?\d):(?P<s>[0-5]?\d(?:[.,]\d+)?)$",
    "hh:mm": r"^(?P<h>\d+):(?P<m>[0-5]?\d)$",
    "1h2m3s": r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)s)?(?:(?P<ms>\d+(?:\.\d+)?)ms)?$",
}
_CLOCK_PARTS = {"h": 1, "m": 60, "s": 3600, "ms": 3_600_000}
_NULL_TEXT = pa.scalar(None, pa.string())


@dataclass
class Rejection:
    line: int
    rule: str
    message: str
    raw_line: str


@dataclass
class ValidChunk:
    table: pa.Table  # LOAD_COLUMNS, typed, only rows to load
    rejections: list[Rejection] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    max_start: np.datetime64 | None = None


def _strip(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return pc.utf8_trim_whitespace(arr)


def _empty(text: pa.Array) -> np.ndarray:
    return pc.equal(text, "").to_numpy(zero_copy_only=False)


def _to_float(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values with NaN for empty, non-numeric mask, non-finite mask)."""
    empty = _empty(text)
    nullable = pc.if_else(pc.equal(text, ""), _NULL_TEXT, text)
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
        values = pc.cast(pc.if_else(ok, nullable, _NULL_TEXT), pa.float64())
        bad = ~ok.to_numpy(zero_copy_only=False) & ~empty
    arr = values.to_numpy(zero_copy_only=False).astype(np.float64)
    nonfinite = ~np.isfinite(arr) & ~empty & ~bad
    return arr, bad, nonfinite


def _clock_hours(text: pa.Array, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Hours of clock or duration text ('1:02:03', '1:02', '1h2m3s'): (values with NaN for
    empty, not-a-duration mask)."""
    pattern = _CLOCK[layout]
    parts = pc.extract_regex(pc.replace_substring(text, ",", "."), pattern)
    matched = pc.is_valid(parts).to_numpy(zero_copy_only=False)
    hours = np.zeros(len(text))
    for name, div in _CLOCK_PARTS.items():
        if f"?P<{name}>" not in pattern:
            continue
        group = pc.struct_field(parts, name)
        v = pc.cast(pc.if_else(pc.equal(group, ""), _NULL_TEXT, group), pa.float64())
        hours = hours + np.nan_to_num(v.to_numpy(zero_copy_only=False).astype(np.float64)) / div
    empty = _empty(text)
    hours = np.where(matched & ~empty, hours, np.nan)
    bad = ~matched & ~empty
    return hours, bad


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


def source_text(
    table: pa.Table, positions: tuple[int, ...], spec: FieldSpec, profile: Profile
) -> list[pa.Array]:
    """The field's text per row: trimmed, missing markers as '', several columns joined."""
    parts = [_strip(table.column(str(p))) for p in positions]
    for i, pattern in enumerate(spec.extract):
        if pattern:
            got = pc.struct_field(pc.extract_regex(parts[i], _named_group(pattern)), "v")
            parts[i] = pc.utf8_trim_whitespace(pc.coalesce(got, parts[i]))
    markers = [m for m in profile.missing if m != ""]
    if markers:
        missing = pa.array(markers, pa.string())
        parts = [pc.if_else(pc.is_in(p, value_set=missing), "", p) for p in parts]
    if len(parts) == 1 or spec.combine != "join":
        return parts
    joined = pc.binary_join_element_wise(*parts, spec.join)
    all_empty = np.logical_and.reduce([_empty(p) for p in parts])
    return [pc.if_else(pa.array(all_empty), "", pc.utf8_trim_whitespace(joined))]


def _named_group(pattern: str) -> str:
    """The pattern with its one capturing group named v (what Arrow's extract_regex needs)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "(" and not pattern.startswith("(?", i):
            return "".join(out) + "(?P<v>" + pattern[i + 1 :]
        out.append(ch)
        i += 1
    return pattern


def field_texts(parsed: ParsedChunk, match: HeaderMatch) -> dict[str, list[pa.Array]]:
    """Text of every mapped field (constants repeated), as a list of source columns."""
    n = parsed.table.num_rows
    out: dict[str, list[pa.Array]] = {}
    for spec in match.profile.fields:
        if spec.value is not None:
            out[spec.name] = [pa.array([spec.value] * n, pa.string())]
        elif spec.name in match.columns:
            out[spec.name] = source_text(
                parsed.table, match.columns[spec.name], spec, match.profile
            )
    return out


def validate(
    parsed: ParsedChunk,
    match: HeaderMatch,
    date_kind: str = "iso",
    default_zone: str | None = None,
) -> ValidChunk:
    """date_kind: the layout of fields whose format is detected per file (evpipe.dates);
    default_zone: the zone of rows the profile and the data give none (EVPIPE_TIMEZONE)."""
    profile = match.profile
    table = parsed.table
    n = table.num_rows
    checks = _Checks(n)
    texts = field_texts(parsed, match)
    text: dict[str, pa.Array] = {}  # one text per field, for messages
    numbers: dict[str, np.ndarray] = {}
    columns: dict[str, pa.Array] = {}
    stamps: dict[str, pa.Array] = {}
    specs = {s.name: s for s in profile.fields}

    for name, parts in texts.items():
        spec = specs[name]
        raw = parts[0]
        text[name] = raw
        if spec.kind in ("text", "zone"):
            if spec.values:
                raw = _recode(raw, spec.values)
            columns[name] = pc.if_else(pc.equal(raw, ""), _NULL_TEXT, raw)
            if spec.max_length:
                too_long = pc.greater(pc.utf8_length(raw), spec.max_length).to_numpy(
                    zero_copy_only=False
                )
                checks.rejects(
                    "text_too_long", too_long, f"{name} longer than {spec.max_length} characters"
                )
        elif spec.kind in ("number", "duration"):
            values = _number(name, parts, spec, match.decimal, checks, text)
            numbers[name] = values
            finite = np.isfinite(values)
            if name in NON_NEGATIVE:
                checks.rejects("negative_value", finite & (values < 0), (name, "is negative"))
            if name in RANGES:
                lo, hi = RANGES[name]
                outside = finite & ((values < lo) | (values > hi))
                if name in NON_NEGATIVE:
                    outside &= values >= 0  # negatives are reported as negative_value
                checks.rejects("out_of_range", outside, (name, f"outside {lo:g}..{hi:g}"))
        elif spec.kind == "timestamp":
            stamps[name] = raw

    for key in profile.key:
        if key in text and specs[key].kind == "text":
            checks.rejects("missing_key", _empty(text[key]), f"{key} is missing")

    local, utc, zone_col, ambiguous = _instants(
        table, stamps, numbers, columns, text, match, checks, date_kind, default_zone
    )

    start_np, end_np = local["charging_start_time"], local["charging_end_time"]
    both = ~np.isnat(start_np) & ~np.isnat(end_np)
    has_utc = ~np.isnat(utc["charging_start_time"]) & ~np.isnat(utc["charging_end_time"])
    span = np.where(
        has_utc, utc["charging_end_time"] - utc["charging_start_time"], end_np - start_np
    )
    hours = np.where(both, span.astype("timedelta64[s]").astype(np.float64) / 3600, np.nan)
    checks.rejects(
        "end_before_start", both & (hours < 0), "charging_end_time is before charging_start_time"
    )
    checks.rejects(
        "session_too_long",
        both & (hours > profile.max_session_hours),
        f"end - start exceeds {profile.max_session_hours:g} h",
    )
    if "charging_done_time" in local and "charging_duration_hours" not in numbers:
        done = local["charging_done_time"]
        done_span = np.where(
            has_utc & ~np.isnat(utc["charging_done_time"]),
            utc["charging_done_time"] - utc["charging_start_time"],
            done - start_np,
        )
        done_hours = done_span.astype("timedelta64[s]").astype(np.float64) / 3600
        numbers["charging_duration_hours"] = np.where(np.isnat(done), np.nan, done_hours)

    _warnings(checks, profile, numbers, text, hours, both, start_np, parsed, ambiguous)

    rejected = np.zeros(n, dtype=bool)
    for _, mask, _ in checks.reject:
        rejected |= mask
    result = ValidChunk(table=pa.table({}))
    for rule, mask in checks.warn:
        count = int((mask & ~rejected).sum())
        if count:
            result.warnings[rule] += count
    result.rejections = _rejections(parsed, rejected, checks, text)

    keep = ~rejected
    keep_arr = pa.array(keep)
    out: dict[str, pa.Array] = {}
    fee, currency = _fee(numbers, columns, profile, n)
    numbers["fee"] = fee
    if "cost_usd" not in numbers:
        usd = pc.fill_null(pc.equal(currency, "USD"), False).to_numpy(zero_copy_only=False)
        numbers["cost_usd"] = np.where(usd, fee, np.nan)
    columns["currency"] = currency
    columns["time_zone"] = zone_col
    times = {
        "charging_start_time": start_np,
        "charging_end_time": end_np,
        "start_utc": utc["charging_start_time"],
        "end_utc": utc["charging_end_time"],
    }
    for name in LOAD_COLUMNS[:-2]:
        if name in times:
            out[name] = pa.array(times[name][keep], type=pa.timestamp("s"))
        elif name in numbers:
            v = numbers[name][keep]
            out[name] = pa.array(v, type=pa.float64(), mask=np.isnan(v))
        elif name in columns:
            out[name] = pc.filter(columns[name], keep_arr)
        else:
            out[name] = pa.nulls(int(keep.sum()), type=pa.string())
    out["key_text"] = _key_text(profile, out)
    out["source_line"] = pa.array(parsed.lines[keep], type=pa.int64())
    result.table = pa.table(out)
    if keep.any():
        result.max_start = start_np[keep].max()
    return result


def _instants(
    table: pa.Table,
    stamps: dict[str, pa.Array],
    numbers: dict[str, np.ndarray],
    columns: dict[str, pa.Array],
    text: dict[str, pa.Array],
    match: HeaderMatch,
    checks: _Checks,
    date_kind: str,
    default_zone: str | None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], pa.Array, np.ndarray]:
    """Local and UTC instants of every timestamp field, each row's zone, and which rows had an
    ambiguous local time: wall clocks as written, offsets, a derived end, then evpipe.zones."""
    profile = match.profile
    specs = {s.name: s for s in profile.fields}
    n = table.num_rows
    walls: dict[str, np.ndarray] = {}
    offsets: dict[str, np.ndarray] = {}
    for name, values in stamps.items():
        spec = specs[name]
        walls[name], offsets[name], layout = _wall_clock(values, spec, date_kind)
        if spec.offset:
            offsets[name] = np.full(n, float(zones.parse_offset(spec.offset) or 0))
        missing = _empty(values)
        if name == "charging_end_time":
            checks.rejects(
                "missing_timestamp",
                missing,
                f"{name} is missing (a session still in progress loads once an export has its end)",
            )
        elif name != "charging_done_time":
            checks.rejects("missing_timestamp", missing, f"{name} is missing")
        bad = np.isnat(walls[name]) & ~missing
        checks.rejects("bad_timestamp", bad, (name, f"not a {layout} timestamp"))
        if spec.offset_sources and name in match.offsets:
            col = _strip(table.column(str(match.offsets[name])))
            offsets[name] = zones.offsets_of(col, dict(profile.zone_abbreviations))
            off_text = col
            unknown = np.isnan(offsets[name]) & ~_empty(off_text) & ~np.isnat(walls[name])
            text[f"{name} offset"] = off_text
            checks.rejects("bad_time_zone", unknown, (f"{name} offset", "is not a UTC offset"))
    end_spec = specs["charging_end_time"]
    if end_spec.derive:  # no plug-out in the export: the end is the end of charging
        start_wall = walls["charging_start_time"]
        dur = numbers.get("charging_duration_hours", np.full(n, np.nan))
        secs = np.round(np.nan_to_num(dur, nan=0) * 3600).astype("timedelta64[s]")
        walls["charging_end_time"] = np.where(np.isnan(dur), zones.NAT, start_wall + secs)
        offsets["charging_end_time"] = offsets["charging_start_time"]
        checks.rejects(
            "missing_timestamp",
            np.isnan(dur) & ~np.isnat(start_wall),
            "charging_end_time cannot be derived: charging_duration_hours is missing",
        )
    row_zone = columns.get("time_zone")
    zone_default = profile.zone or default_zone
    needs_zones = (
        row_zone is not None
        or zone_default is not None
        or any(not np.isnan(o).all() for o in offsets.values())
    )
    if needs_zones:
        resolved = zones.resolve(
            walls, offsets, row_zone, zone_default, dict(profile.zone_abbreviations)
        )
        local, utc, zone_col = resolved.local, resolved.utc, resolved.zone
        if resolved.bad_zone is not None and "time_zone" in text:
            checks.rejects(
                "bad_time_zone", resolved.bad_zone, ("time_zone", "is not an IANA time zone")
            )
        elif resolved.bad_zone is not None and resolved.bad_zone.any():
            checks.rejects("bad_time_zone", resolved.bad_zone, "the time zone is unknown")
        for name, gap in resolved.nonexistent.items():
            shown = zone_default or "its time zone"
            checks.rejects(
                "bad_timestamp", gap, (name, f"does not exist in {shown} (clocks went forward)")
            )
        ambiguous = resolved.ambiguous
    else:
        local, utc = walls, {k: np.full(n, zones.NAT) for k in walls}
        zone_col = pa.nulls(n, pa.string())
        ambiguous = np.zeros(n, dtype=bool)

    return local, utc, zone_col, ambiguous


def _recode(raw: pa.Array, values: tuple[tuple[str, str], ...]) -> pa.Array:
    folded = pc.utf8_lower(raw)
    out = raw
    for written, stored in values:
        out = pc.if_else(pc.equal(folded, written.lower()), stored, out)
    return out


def _number(
    name: str,
    parts: list[pa.Array],
    spec: FieldSpec,
    decimal: str,
    checks: _Checks,
    text: dict[str, pa.Array],
) -> np.ndarray:
    """A number or duration field in its canonical unit (NaN where empty)."""
    results = []
    for i, raw in enumerate(parts):
        label = name if len(parts) == 1 else f"{name}[{spec.headers[i]}]"
        text[label] = raw
        if decimal == ",":
            raw = pc.replace_substring(raw, ",", ".")
        if spec.clock:
            values, bad = _clock_hours(raw, spec.clock)
            checks.rejects("non_numeric", bad, (label, f"is not a duration like {spec.clock}"))
        else:
            values, bad, nonfinite = _to_float(raw)
            checks.rejects("non_numeric", bad, (label, "is not a number"))
            checks.rejects("non_finite", nonfinite, (label, "is not finite"))
        results.append(values)
    if len(parts) > 1:  # messages show the whole computation
        text[name] = pc.binary_join_element_wise(
            *parts, " - " if spec.combine == "difference" else " + "
        )
    if spec.combine == "difference":
        values = results[0] - results[1]
    elif spec.combine == "sum":
        values = np.sum(results, axis=0)
    else:
        values = results[0]
    return values * spec.factor if spec.factor != 1.0 else values


def _wall_clock(
    values: pa.Array, spec: FieldSpec, date_kind: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """(naive wall clock, offset seconds or NaN, layout name for messages)."""
    n = len(values)
    no_offset = np.full(n, np.nan)
    families = spec.families
    if families:
        kind = date_kind if "auto" in families or date_kind in families else families[0]
        parsed = dates.parse(values, kind)
        shown = f"{kind} (e.g. {dates.EXAMPLES[kind]})"
        return parsed.to_numpy(zero_copy_only=False).astype("datetime64[s]"), no_offset, shown
    offset = no_offset
    if spec.with_offset:
        values, off_text = dates.split_offset(values)
        offset = zones.offsets_of(pc.fill_null(off_text, ""), {})
    else:
        values = dates.strip_fraction(values)
    parsed = dates.parse_layouts(values, spec.formats)
    shown = " or ".join(repr(f) for f in spec.formats)
    return parsed.to_numpy(zero_copy_only=False).astype("datetime64[s]"), offset, shown


def _warnings(
    checks: _Checks,
    profile: Profile,
    numbers: dict[str, np.ndarray],
    text: dict[str, pa.Array],
    hours: np.ndarray,
    both: np.ndarray,
    start_np: np.ndarray,
    parsed: ParsedChunk,
    ambiguous: np.ndarray,
) -> None:
    """Warnings (on rows that are otherwise kept; counted by the caller)."""
    n = len(start_np)
    if "energy_consumed_kwh" in numbers:
        checks.warns("missing_energy", np.isnan(numbers["energy_consumed_kwh"]))
    if "charging_rate_kw" in text:
        checks.warns("missing_rate", _empty(text["charging_rate_kw"]))
    elif profile.duration_is_interval:
        # the original export always has the column: a copy without it lost it
        checks.warns("missing_rate", np.ones(n, dtype=bool))
    if "charging_duration_hours" in numbers:
        dur = numbers["charging_duration_hours"]
        known = both & np.isfinite(dur)
        if profile.duration_is_interval:
            checks.warns(
                "duration_mismatch", known & (np.abs(dur - hours) > DURATION_TOLERANCE_HOURS)
            )
        else:
            checks.warns(
                "charging_outside_plugged",
                known & ((dur < 0) | (dur > hours + DURATION_TOLERANCE_HOURS)),
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
    if ambiguous.any():
        checks.warns("ambiguous_local_time", ambiguous)
    if parsed.latin1:
        checks.warns("not_utf8", np.ones(n, dtype=bool))


def _fee(
    numbers: dict[str, np.ndarray], columns: dict[str, pa.Array], profile: Profile, n: int
) -> tuple[np.ndarray, pa.Array]:
    """(fee, currency): the fee column, else the legacy USD cost; a currency only with a fee."""
    if "fee" in numbers:
        fee = numbers["fee"]
        default = pa.array([profile.currency] * n, pa.string())
        currency = columns.get("currency")
        currency = default if currency is None else pc.coalesce(currency, default)
    elif "cost_usd" in numbers:
        fee = numbers["cost_usd"]
        currency = pa.array(["USD"] * n, pa.string())
    else:
        return np.full(n, np.nan), pa.nulls(n, pa.string())
    currency = pc.utf8_upper(currency)
    has_fee = pa.array(~np.isnan(fee))
    return fee, pc.if_else(has_fee, currency, _NULL_TEXT)


def _key_text(profile: Profile, out: dict[str, pa.Array]) -> pa.Array:
    """The session key's text (db/load/raw_data.sql hashes it): the profile's namespace and its
    key fields, '|'-separated. The original format keeps its key exactly:
    user_id|charging_station_id|start, so databases loaded before profiles existed stay valid."""
    parts = []
    for k in profile.key:
        col = out[k]
        if pa.types.is_timestamp(col.type):  # 'YYYY-MM-DD HH:MM:SS', as LOAD DATA used to see it
            col = pc.cast(col, pa.string())
        parts.append(pc.fill_null(col, ""))
    if profile.key_namespace:
        parts.insert(0, pa.array([profile.key_namespace] * len(parts[0]), pa.string()))
    return pc.binary_join_element_wise(*parts, "|")


def _rejections(
    parsed: ParsedChunk,
    rejected: np.ndarray,
    checks: _Checks,
    text: dict[str, pa.Array],
) -> list[Rejection]:
    out = [
        Rejection(
            b.line,
            "wrong_field_count",
            f"wrong number of fields: {b.reason}",
            format_record(b.fields, parsed.delimiter),
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
                value = text[col][int(i)].as_py() if col in text else ""
                shown = value if len(value) <= 40 else value[:37] + "..."
                reasons.append(f"{col}={shown!r} {what}")
            else:
                reasons.append(str(message))
        fields = [raw_rows[pos][str(k)] for k in range(parsed.table.num_columns)]
        out.append(
            Rejection(
                int(parsed.lines[i]),
                rule,
                "; ".join(reasons)[:1000],
                format_record(fields, parsed.delimiter),
            )
        )
    return out
