"""Per-file timestamp layout: detected once from the data, then applied to the whole file.

A slash date such as 05/06/24 means 5 June to a European spreadsheet and May 6 to an American
one. evpipe never guesses: a file is day-first only if some value has a first field above 12,
month-first only if some value has a second field above 12, and is refused when the data cannot
tell (every value <= 12 in both fields) or contradicts itself. EVPIPE_DATE_FORMAT / --date-format
overrides the detection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evpipe.errors import FileRefused

# strptime layouts tried in order for each kind; a value must match one of them exactly.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "iso": ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"),
    # two-digit years first: %Y would read "24" as the year 24
    "dayfirst": ("%d/%m/%y %H:%M", "%d/%m/%y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"),
    "monthfirst": ("%m/%d/%y %H:%M", "%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M"),
}
EXAMPLES = {
    "iso": "2024-01-13 10:00:00",
    "dayfirst": "13/01/24 10:00",
    "monthfirst": "01/13/24 10:00",
}
# The day-of-month field of each kind: strptime rolls 2024-02-30 over to 2024-03-01, so the
# parsed day is checked against the written one.
_DAY = {
    "iso": r"^\d{4}-\d{1,2}-(?P<d>\d{1,2})",
    "dayfirst": r"^(?P<d>\d{1,2})/",
    "monthfirst": r"^\d{1,2}/(?P<d>\d{1,2})/",
}
_ISO = r"^\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(:\d{2})?$"
_SLASH = r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?:\d{2}|\d{4}) \d{1,2}:\d{2}(?::\d{2})?$"


@dataclass(frozen=True)
class Detection:
    kind: str
    reason: str


def options_hint() -> str:
    shown = "; ".join(f"{k} ({v})" for k, v in EXAMPLES.items())
    return f"options: {shown}; set --date-format or EVPIPE_DATE_FORMAT"


def detect(values: pa.Array | pa.ChunkedArray, file_label: str) -> Detection:
    """Decide iso / dayfirst / monthfirst from every timestamp string of the file's first chunk."""
    values = pc.utf8_trim_whitespace(values)
    iso = pc.sum(pc.match_substring_regex(values, _ISO)).as_py() or 0
    slash_mask = pc.match_substring_regex(values, _SLASH)
    slash = pc.sum(slash_mask).as_py() or 0
    if iso == 0 and slash == 0:
        raise FileRefused(
            f"{file_label}: cannot recognise any timestamp layout in the start/end columns; "
            + options_hint()
        )
    if iso >= slash:
        return Detection("iso", f"{iso} ISO timestamps")
    parts = pc.extract_regex(pc.filter(values, slash_mask), _SLASH)
    first = pc.cast(pc.struct_field(parts, "a"), pa.int32())
    second = pc.cast(pc.struct_field(parts, "b"), pa.int32())
    day_first = (pc.max(first).as_py() or 0) > 12
    month_first = (pc.max(second).as_py() or 0) > 12
    if day_first and month_first:
        raise FileRefused(
            f"{file_label}: slash dates contradict each other (some have a first field above 12, "
            "others a second field above 12); " + options_hint()
        )
    if day_first:
        return Detection("dayfirst", "a first field above 12 (e.g. 13/01)")
    if month_first:
        return Detection("monthfirst", "a second field above 12 (e.g. 01/13)")
    raise FileRefused(
        f"{file_label}: ambiguous slash dates (every day and month is 12 or below, so 05/06 could "
        "be 5 June or May 6); " + options_hint()
    )


def parse(values: pa.Array | pa.ChunkedArray, kind: str) -> pa.Array:
    """Parse strings with the file's layout; anything that does not match exactly becomes null."""
    values = pc.utf8_trim_whitespace(values)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    result: pa.Array | None = None
    for layout in LAYOUTS[kind]:
        parsed = pc.strptime(values, format=layout, unit="s", error_is_null=True)
        result = parsed if result is None else pc.coalesce(result, parsed)
        if result.null_count == 0:
            break
    assert result is not None
    return _drop_rolled_over(values, result, kind)


def _drop_rolled_over(values: pa.Array, parsed: pa.Array, kind: str) -> pa.Array:
    """Null out values such as 30 February that strptime silently moved into the next month."""
    suspect = pc.fill_null(pc.less_equal(pc.day(parsed), 3), False)
    if not pc.any(suspect).as_py():
        return parsed
    written = pc.struct_field(pc.extract_regex(pc.filter(values, suspect), _DAY[kind]), "d")
    same = pc.equal(pc.cast(written, pa.int64()), pc.day(pc.filter(parsed, suspect)))
    ok = pc.replace_with_mask(
        pa.array(np.ones(len(parsed), dtype=bool)), suspect, pc.fill_null(same, False)
    )
    return pc.if_else(ok, parsed, pa.scalar(None, parsed.type))


# --------------------------------------------------------------------------------------------
# explicit layouts from a profile (strptime), with optional UTC offsets

# A trailing UTC offset after a clock time: +02:00, -0700, +05, Z, GMT, UTC.
_TRAILING_OFFSET = (
    r"^(?P<wall>.*?\d{1,2}:\d{2}(?::\d{2})?)(?:[.,]\d+)?"
    r"\s*(?P<off>[Zz]|GMT|UTC|(?:UTC|GMT)?[+-]\d{1,2}(?::?\d{2})?)?$"
)
_FRACTION = r"^(?P<wall>.*?\d{1,2}:\d{2}:\d{2})[.,]\d+$"
_DIRECTIVES = {
    "d": r"(?P<d>\d{1,2})", "m": r"\d{1,2}", "Y": r"\d{4}", "y": r"\d{2}", "H": r"\d{1,2}",
    "I": r"\d{1,2}", "M": r"\d{1,2}", "S": r"\d{1,2}", "p": r"[AaPp]\.?[Mm]\.?", "a": r"[A-Za-z]+",
    "A": r"[A-Za-z]+", "b": r"[A-Za-z]+", "B": r"[A-Za-z]+", "j": r"\d{1,3}", "%": "%",
}  # fmt: skip


def layout_regex(layout: str) -> str:
    """A regular expression for values of a strptime layout, with the day of month as group d."""
    out, i = [], 0
    while i < len(layout):
        ch = layout[i]
        if ch == "%" and i + 1 < len(layout):
            out.append(_DIRECTIVES.get(layout[i + 1], ".+?"))
            i += 2
            continue
        out.append(r"\s+" if ch.isspace() else re.escape(ch))
        i += 1
    return "^" + "".join(out) + "$"


def split_offset(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(wall-clock text without fractional seconds, offset text or null) of each value."""
    parts = pc.extract_regex(values, _TRAILING_OFFSET)
    wall = pc.coalesce(pc.struct_field(parts, "wall"), values)
    off = pc.struct_field(parts, "off")
    off = pc.if_else(pc.equal(off, ""), pa.scalar(None, pa.string()), off)
    return wall, off


def strip_fraction(values: pa.Array) -> pa.Array:
    parts = pc.extract_regex(values, _FRACTION)
    return pc.coalesce(pc.struct_field(parts, "wall"), values)


def parse_layouts(values: pa.Array, layouts: tuple[str, ...]) -> pa.Array:
    """Parse with the first layout each value matches exactly; others become null. A date that
    strptime rolled over (30 February -> 1 March) is null too."""
    result: pa.Array | None = None
    days: pa.Array | None = None
    for layout in layouts:
        layout = layout.removesuffix("%z").rstrip()
        parsed = pc.strptime(values, format=layout, unit="s", error_is_null=True)
        if "%d" in layout:
            written = pc.struct_field(pc.extract_regex(values, layout_regex(layout)), "d")
            day = pc.cast(written, pa.int64())
        else:
            day = pc.day(parsed)
        fresh = pc.and_(pc.is_valid(parsed), pc.invert(pc.is_valid(result))) if result else None
        result = parsed if result is None else pc.coalesce(result, parsed)
        days = day if days is None else pc.if_else(fresh, day, days)
        if result.null_count == 0:
            break
    assert result is not None and days is not None
    same = pc.fill_null(pc.equal(pc.day(result), days), False)
    return pc.if_else(same, result, pa.scalar(None, result.type))
