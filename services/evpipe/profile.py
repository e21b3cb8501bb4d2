"""Export profiles: how one exporter's CSV maps onto evpipe's canonical session model.

A profile is data (services/evpipe/profiles/*.toml), never code: header names, delimiter, decimal
mark, missing-value markers, timestamp layouts and zones, units, and the session key. This module
loads and checks profile files and matches a file's header against a profile; evpipe.detect picks
the profile for a file, evpipe.validate applies it to the rows.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from evpipe.errors import ConfigError
from evpipe.rules import MAX_SESSION_HOURS

# Canonical column order of the 20 columns users of the original pipeline know.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "user_id", "vehicle_model", "battery_capacity_kwh", "charging_station_id",
    "charging_station_location", "charging_start_time", "charging_end_time",
    "energy_consumed_kwh", "charging_duration_hours", "charging_rate_kw", "cost_usd",
    "time_of_day", "day_of_week", "soc_start_pct", "soc_end_pct",
    "distance_since_last_charge_km", "temperature_c", "vehicle_age_years", "charger_type",
    "user_type",
)  # fmt: skip

# The session model beside them (db/init/004_session_model.sql). start_utc / end_utc are the
# UTC instants of charging_start_time / charging_end_time, which hold local wall-clock time.
# The export format of a session is its file's (ingested_files.profile; the sessions view).
MODEL_COLUMNS: tuple[str, ...] = (
    "source_session_id", "port_id", "time_zone", "start_utc", "end_utc", "fee", "currency",
    "plug_out_known",
)  # fmt: skip

# Every field a profile may map, with its kind and (for text) the stored maximum length.
#   text: stored trimmed; number: float with a unit; duration: hours from a unit or a clock
#   layout; timestamp: local wall clock (+ UTC when the zone is known); zone: IANA name or offset.
# charging_start_time / charging_end_time are the session's interval at the charger: plug-in
# and plug-out where the export records them. charging_done_time (when charging stopped) is
# not stored: it gives charging_duration_hours where an export has no duration column.
FIELD_KINDS: dict[str, tuple[str, int | None]] = {
    "source_session_id": ("text", 128),
    "user_id": ("text", 64),
    "vehicle_model": ("text", 100),
    "battery_capacity_kwh": ("number", None),
    "charging_station_id": ("text", 64),
    "port_id": ("text", 64),
    "charging_station_location": ("text", 100),
    "charging_start_time": ("timestamp", None),
    "charging_end_time": ("timestamp", None),
    "charging_done_time": ("timestamp", None),
    "energy_consumed_kwh": ("number", None),
    "charging_duration_hours": ("duration", None),
    "charging_rate_kw": ("number", None),
    "cost_usd": ("number", None),
    "fee": ("number", None),
    "currency": ("text", 3),
    "time_of_day": ("text", 20),
    "day_of_week": ("text", 20),
    "soc_start_pct": ("number", None),
    "soc_end_pct": ("number", None),
    "distance_since_last_charge_km": ("number", None),
    "temperature_c": ("number", None),
    "vehicle_age_years": ("number", None),
    "charger_type": ("text", 40),
    "user_type": ("text", 40),
    "time_zone": ("zone", 64),
}

# Units a number or duration may be given in, as factors into the canonical unit.
UNITS: dict[str, dict[str, float]] = {
    "energy": {"kwh": 1.0, "wh": 0.001, "mwh": 1000.0},
    "power": {"kw": 1.0, "w": 0.001},
    "distance": {"km": 1.0, "mi": 1.609344, "m": 0.001},
    "duration": {"hours": 1.0, "minutes": 1 / 60, "seconds": 1 / 3600},
}
UNIT_FAMILY = {
    "energy_consumed_kwh": "energy",
    "battery_capacity_kwh": "energy",
    "charging_rate_kw": "power",
    "distance_since_last_charge_km": "distance",
    "charging_duration_hours": "duration",
}
# Duration layouts written as clock text rather than a number.
CLOCK_UNITS = ("hh:mm:ss", "hh:mm", "1h2m3s")  # the last: Go's duration text (evcc)
DATE_FAMILIES = ("auto", "iso", "dayfirst", "monthfirst")
DELIMITERS = {",": ",", ";": ";", "\\t": "\t", "\t": "\t", "|": "|", "auto": "auto"}


class ProfileError(ConfigError):
    """A profile file that does not follow the mapping language (a bug in the profile)."""


def norm_header(h: str) -> str:
    """Header names match case-insensitively, ignoring a BOM and runs of whitespace."""
    return " ".join(h.replace("\ufeff", "").split()).casefold()


@dataclass(frozen=True)
class FieldSpec:
    """How one canonical field is read: from one column (one of `names`), from several
    columns combined, or a constant."""

    name: str
    kind: str
    sources: tuple[tuple[str, ...], ...] = ()  # per source column: accepted header spellings
    combine: str = "join"  # join (text / timestamps) | difference | sum (numbers)
    join: str = " "
    required: bool = False
    value: str | None = None  # a constant
    formats: tuple[str, ...] = ("auto",)  # timestamps: strptime layouts or date families
    offset_sources: tuple[str, ...] = ()  # timestamps: a column of UTC offsets / zone abbrevs
    factor: float = 1.0  # numbers and durations: into the canonical unit
    clock: str | None = None  # durations written as hh:mm:ss / hh:mm
    max_length: int | None = None
    values: tuple[tuple[str, str], ...] = ()  # text: recoding of values (case-insensitive)
    extract: tuple[str | None, ...] = ()  # per source column: a regex whose group is the value
    offset: str | None = None  # timestamps: the UTC offset every value is written in
    derive: str | None = None  # charging_end_time = "start + charging_duration_hours"

    @property
    def headers(self) -> tuple[str, ...]:
        """The first spelling of every source column (for messages)."""
        return tuple(names[0] for names in self.sources)

    @property
    def with_offset(self) -> bool:
        return any(f.endswith("%z") for f in self.formats)

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(f for f in self.formats if f in DATE_FAMILIES)


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    origin: str
    gives: str
    dataset: str
    delimiter: str
    decimal: str
    missing: tuple[str, ...]
    zone: str | None  # IANA zone of the export's local times, when the exporter documents it
    zone_abbreviations: tuple[tuple[str, str], ...]
    currency: str | None
    key: tuple[str, ...]  # canonical fields whose values identify a session
    key_namespace: str  # prefix of the key text, so two formats' ids never collide
    fields: tuple[FieldSpec, ...]
    accept_canonical_headers: bool = False
    duration_is_interval: bool = False  # the duration column should equal end - start
    max_session_hours: float = MAX_SESSION_HOURS
    path: str = ""

    @property
    def derives_end(self) -> bool:
        """No plug-out in the export: the end is start + charging time."""
        end = self.field("charging_end_time")
        return bool(end and end.derive)

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def required_headers(self) -> tuple[str, ...]:
        return tuple(h for f in self.fields if f.required for h in f.headers)

    def all_headers(self) -> tuple[tuple[str, ...], ...]:
        """Every column the profile reads, as tuples of accepted spellings."""
        out = []
        for f in self.fields:
            out += list(f.sources)
            if f.offset_sources:
                out.append(f.offset_sources)
        return tuple(out)

    def split_with(self, sniffed: str) -> str:
        """The delimiter this profile reads a file with whose header sniffed as `sniffed`."""
        return sniffed if self.delimiter == "auto" else self.delimiter

    def resolve(self, header: list[str], delimiter: str | None = None) -> HeaderMatch:
        """Where each source column of this profile sits in the header (case-insensitive)."""
        delimiter = delimiter or self.split_with(",")
        decimal = self.decimal
        if decimal == "auto":  # the European spreadsheet convention
            decimal = "," if delimiter == ";" else "."
        positions: dict[str, int] = {}
        for i, h in enumerate(header):
            positions.setdefault(norm_header(h), i)
        seen = Counter(norm_header(h) for h in header)

        def find(names: tuple[str, ...], canonical: str | None) -> int | None:
            for n in names:
                pos = positions.get(norm_header(n))
                if pos is not None:
                    return pos
            if canonical and self.accept_canonical_headers:
                return positions.get(canonical)
            return None

        columns: dict[str, tuple[int, ...]] = {}
        offsets: dict[str, int] = {}
        missing: list[str] = []
        found = 0
        wanted: set[str] = set()
        for f in self.fields:
            if f.value is not None or f.derive:
                continue
            pos = []
            for names in f.sources:
                wanted.update(norm_header(n) for n in names)
                p = find(names, f.name if len(f.sources) == 1 else None)
                if p is not None:
                    pos.append(p)
                    found += 1
            if len(pos) == len(f.sources):
                columns[f.name] = tuple(pos)
            elif f.required:
                missing += [names[0] for names in f.sources if find(names, f.name) is None]
            if f.offset_sources:
                wanted.update(norm_header(n) for n in f.offset_sources)
                p = find(f.offset_sources, None)
                if p is not None:
                    offsets[f.name] = p
                    found += 1
                elif f.required and f.name in columns:
                    missing.append(f.offset_sources[0])
        twice = sorted({h for h in header if seen[norm_header(h)] > 1 and norm_header(h) in wanted})
        return HeaderMatch(self, columns, offsets, missing, found, twice, delimiter, decimal)


@dataclass(frozen=True)
class HeaderMatch:
    profile: Profile
    columns: dict[str, tuple[int, ...]]  # field -> header positions of its source columns
    offsets: dict[str, int]  # timestamp field -> position of its offset column
    missing: list[str]  # required columns not in the header
    found: int  # source columns found (the match's score)
    twice: list[str] = field(default_factory=list)  # wanted columns that appear twice
    delimiter: str = ","  # what the file is read with
    decimal: str = "."

    @property
    def ok(self) -> bool:
        return not self.missing


# --------------------------------------------------------------------------------------------
# loading


def _names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) and value.strip():
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise ProfileError(f"{where}: expected a header name or a list of spellings, got {value!r}")


def _field(name: str, spec: Any, profile: str) -> FieldSpec:
    where = f"profile {profile}: field {name}"
    if name not in FIELD_KINDS:
        raise ProfileError(f"{where}: not a canonical field (one of {', '.join(FIELD_KINDS)})")
    kind, max_length = FIELD_KINDS[name]
    if isinstance(spec, str | list):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        raise ProfileError(f"{where}: expected a header name or a table")
    known = {
        "column", "columns", "combine", "join", "required", "value", "format", "offset_column",
        "unit", "scale", "max_length", "values", "type", "extract", "offset", "derive",
    }  # fmt: skip
    unknown = set(spec) - known
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if (
        "type" in spec
        and spec["type"] != kind
        and not (spec["type"] == "number" and kind in ("duration",))
    ):
        raise ProfileError(f"{where}: is a {kind}, not a {spec['type']}")
    given = [k for k in ("column", "columns", "value", "derive") if k in spec]
    if len(given) != 1:
        raise ProfileError(f"{where}: give exactly one of column, columns, value, derive")
    derive = spec.get("derive")
    if derive is not None and (name, derive) != (
        "charging_end_time",
        "start + charging_duration_hours",
    ):
        raise ProfileError(
            f"{where}: derive supports only charging_end_time = 'start + charging_duration_hours'"
        )
    sources: tuple[tuple[str, ...], ...] = ()
    if "column" in spec:
        sources = (_names(spec["column"], where),)
    elif "columns" in spec:
        cols = spec["columns"]
        if not isinstance(cols, list) or len(cols) < 2:
            raise ProfileError(f"{where}: columns needs a list of at least two columns")
        sources = tuple(_names(c, where) for c in cols)
    combine = spec.get("combine", "join")
    if combine not in ("join", "difference", "sum"):
        raise ProfileError(f"{where}: combine must be join, difference or sum")
    if combine != "join" and kind not in ("number", "duration"):
        raise ProfileError(f"{where}: combine = {combine} needs a number field")
    formats = spec.get("format", "auto")
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    if kind == "timestamp":
        for f in formats:
            if f not in DATE_FAMILIES and "%" not in f:
                raise ProfileError(
                    f"{where}: format {f!r} is neither a strptime layout nor one of "
                    + ", ".join(DATE_FAMILIES)
                )
    factor, clock = float(spec.get("scale", 1.0)), None
    if "unit" in spec:
        unit = str(spec["unit"])
        family = UNIT_FAMILY.get(name)
        if kind == "duration" and unit in CLOCK_UNITS:
            clock = unit
        elif family and unit.lower() in UNITS[family]:
            factor *= UNITS[family][unit.lower()]
        elif family:
            choices = list(UNITS[family]) + (list(CLOCK_UNITS) if kind == "duration" else [])
            raise ProfileError(f"{where}: unit {unit!r} unknown (one of {', '.join(choices)})")
        else:
            raise ProfileError(f"{where}: unit {unit!r}: this field has no units")
    values = spec.get("values", {})
    if not isinstance(values, dict):
        raise ProfileError(f"{where}: values must be a table of 'as written' = 'as stored'")
    offset = spec.get("offset_column")
    if offset is not None and kind != "timestamp":
        raise ProfileError(f"{where}: offset_column is for timestamps")
    fixed = spec.get("offset")
    if fixed is not None:
        from evpipe.zones import parse_offset

        if kind != "timestamp" or parse_offset(str(fixed)) is None:
            raise ProfileError(f"{where}: offset must be a UTC offset such as 'UTC' or '+01:00'")
    extract = spec.get("extract", [])
    extract = [extract] if isinstance(extract, str) else list(extract)
    if extract and len(extract) != len(sources):
        raise ProfileError(f"{where}: extract needs one pattern per source column")
    for pattern in extract:
        try:
            groups = re.compile(pattern).groups
        except re.error as err:
            raise ProfileError(f"{where}: extract {pattern!r}: {err}") from None
        if groups != 1:
            raise ProfileError(f"{where}: extract {pattern!r} needs exactly one (group)")
    return FieldSpec(
        name=name,
        kind=kind,
        sources=sources,
        combine=combine,
        join=str(spec.get("join", " ")),
        required=bool(spec.get("required", False)),
        value=str(spec["value"]) if "value" in spec else None,
        formats=formats,
        offset_sources=_names(offset, where) if offset is not None else (),
        factor=factor,
        clock=clock,
        max_length=int(spec.get("max_length", max_length or 0)) or None,
        values=tuple((str(k).casefold(), str(v)) for k, v in values.items()),
        extract=tuple(extract),
        offset=str(fixed) if fixed is not None else None,
        derive=derive,
    )


def parse_profile(text: str, origin_path: str = "") -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(f"{origin_path}: not valid TOML: {err}") from None
    name = data.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise ProfileError(f"{origin_path}: name must be a short identifier")
    csv_opts = data.get("csv", {})
    time_opts = data.get("time", {})
    key_opts = data.get("key", {})
    delimiter = DELIMITERS.get(str(csv_opts.get("delimiter", ",")))
    if delimiter is None:
        raise ProfileError(f"profile {name}: csv.delimiter must be one of , ; \\t | auto")
    decimal = str(csv_opts.get("decimal", "."))
    if decimal not in (".", ",", "auto"):
        raise ProfileError(f"profile {name}: csv.decimal must be '.', ',' or auto")
    if decimal == delimiter != "auto":
        raise ProfileError(f"profile {name}: the decimal mark cannot be the delimiter")
    fields = tuple(_field(k, v, name) for k, v in data.get("fields", {}).items())
    by_name = {f.name: f for f in fields}
    for needed in ("charging_start_time", "charging_end_time"):
        spec = by_name.get(needed)
        if spec is None or not (spec.required or spec.derive):
            raise ProfileError(f"profile {name}: field {needed} must be mapped and required")
    end = by_name["charging_end_time"]
    if end.derive and "charging_duration_hours" not in by_name:
        raise ProfileError(f"profile {name}: a derived end needs charging_duration_hours")
    key = tuple(key_opts.get("fields", ()))
    if not key:
        raise ProfileError(f"profile {name}: key.fields must list the fields of the session key")
    for k in key:
        if k not in by_name:
            raise ProfileError(f"profile {name}: key field {k} is not mapped")
        if by_name[k].kind not in ("text", "timestamp"):
            raise ProfileError(f"profile {name}: key field {k} must be text or a timestamp")
    zone = time_opts.get("zone")
    if zone is not None:
        from evpipe.zones import check_zone

        if not check_zone(str(zone)):
            raise ProfileError(f"profile {name}: time.zone {zone!r} is not an IANA time zone")
    abbreviations = time_opts.get("abbreviations", {})
    currency = data.get("currency")
    if currency is not None and not (isinstance(currency, str) and len(currency) == 3):
        raise ProfileError(f"profile {name}: currency must be an ISO 4217 code such as USD")
    return Profile(
        name=name,
        title=str(data.get("title", name)),
        origin=str(data.get("origin", "")),
        gives=str(data.get("gives", "")),
        dataset=str(data.get("dataset", name)),
        delimiter=delimiter,
        decimal=decimal,
        missing=tuple(str(m) for m in csv_opts.get("missing", [""])),
        zone=str(zone) if zone else None,
        zone_abbreviations=tuple((str(k).casefold(), str(v)) for k, v in abbreviations.items()),
        currency=currency,
        key=key,
        key_namespace=str(key_opts.get("namespace", name)),
        fields=fields,
        accept_canonical_headers=bool(data.get("accept_canonical_headers", False)),
        duration_is_interval=bool(data.get("duration_is_interval", False)),
        max_session_hours=float(data.get("max_session_hours", MAX_SESSION_HOURS)),
        path=origin_path,
    )


@cache
def all_profiles() -> tuple[Profile, ...]:
    """Every profile shipped in services/evpipe/profiles, by name."""
    folder = resources.files("evpipe.profiles")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out.append(parse_profile(entry.read_text("utf-8"), f"profiles/{entry.name}"))
    names = Counter(p.name for p in out)
    dup = [n for n, c in names.items() if c > 1]
    if dup:
        raise ProfileError(f"two profiles are named {', '.join(dup)}")
    return tuple(out)


def load_profile(name: str = "ev_charging_patterns") -> Profile:
    for p in all_profiles():
        if p.name == name:
            return p
    raise KeyError(name)


def profile_names() -> tuple[str, ...]:
    return tuple(p.name for p in all_profiles())
