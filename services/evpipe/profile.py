"""Input profiles: how one exporter's CSV header maps onto the canonical raw_data columns."""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from importlib import resources

from evpipe.errors import FileRefused

# Canonical column order of raw_data (the names users of the original pipeline know).
CANONICAL_COLUMNS: tuple[str, ...] = (
    "user_id", "vehicle_model", "battery_capacity_kwh", "charging_station_id",
    "charging_station_location", "charging_start_time", "charging_end_time",
    "energy_consumed_kwh", "charging_duration_hours", "charging_rate_kw", "cost_usd",
    "time_of_day", "day_of_week", "soc_start_pct", "soc_end_pct",
    "distance_since_last_charge_km", "temperature_c", "vehicle_age_years", "charger_type",
    "user_type",
)  # fmt: skip


@dataclass(frozen=True)
class Column:
    name: str
    header: str
    type: str
    required: bool = False
    max_length: int | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class Profile:
    name: str
    dataset: str
    timestamp_formats: tuple[str, ...]
    columns: tuple[Column, ...]

    def of_type(self, kind: str) -> list[Column]:
        return [c for c in self.columns if c.type == kind]

    def map_header(self, header: list[str], file_label: str) -> dict[str, int]:
        """Canonical column -> position in the file; refuse the file if a required one is
        missing."""

        def norm(h: str) -> str:
            return " ".join(h.replace("\ufeff", "").split()).casefold()

        positions = {norm(h): i for i, h in enumerate(header)}
        seen = Counter(norm(h) for h in header)
        wanted = {norm(c.header) for c in self.columns} | {norm(c.name) for c in self.columns}
        twice = sorted({h for h in header if seen[norm(h)] > 1 and norm(h) in wanted})
        if twice:  # which of the two columns holds the data cannot be decided
            raise FileRefused(f"{file_label}: line 1: column(s) appear twice: {', '.join(twice)}")
        mapping: dict[str, int] = {}
        missing = []
        for col in self.columns:
            pos = positions.get(norm(col.header))
            if pos is None:
                pos = positions.get(norm(col.name))  # canonical snake_case headers also accepted
            if pos is None:
                if col.required:
                    missing.append(col.header)
                continue
            mapping[col.name] = pos
        if missing:
            raise FileRefused(
                f"{file_label}: line 1: required column(s) missing: {', '.join(missing)} "
                f"(profile {self.name})"
            )
        return mapping


def load_profile(name: str = "ev_charging_patterns") -> Profile:
    text = resources.files("evpipe.profiles").joinpath(f"{name}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    cols = []
    for col_name, spec in data["columns"].items():
        if col_name not in CANONICAL_COLUMNS:
            raise ValueError(f"profile {name}: unknown canonical column {col_name}")
        cols.append(
            Column(
                name=col_name,
                header=spec["header"],
                type=spec["type"],
                required=bool(spec.get("required", False)),
                max_length=spec.get("max_length"),
                scale=float(spec.get("scale", 1.0)),
            )
        )
    return Profile(
        name=data["name"],
        dataset=data["dataset"],
        timestamp_formats=tuple(data["timestamp_formats"]),
        columns=tuple(cols),
    )
