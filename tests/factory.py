"""Builds small CSV exports in the input format for tests (the generator is tested separately)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

HEADER = [
    "User ID", "Vehicle Model", "Battery Capacity (kWh)", "Charging Station ID",
    "Charging Station Location", "Charging Start Time", "Charging End Time",
    "Energy Consumed (kWh)", "Charging Duration (hours)", "Charging Rate (kW)",
    "Charging Cost (USD)", "Time of Day", "Day of Week", "State of Charge (Start %)",
    "State of Charge (End %)", "Distance Driven (since last charge) (km)", "Temperature (°C)",
    "Vehicle Age (years)", "Charger Type", "User Type",
]  # fmt: skip
BUCKETS = {
    **{h: "Morning" for h in range(5, 12)},
    **{h: "Afternoon" for h in range(12, 17)},
    **{h: "Evening" for h in range(17, 21)},
    **{h: "Night" for h in (21, 22, 23, 0, 1, 2, 3, 4)},
}
LOCATIONS = ["Houston", "Chicago", "New York"]
CHARGERS = ["Level 1", "Level 2", "DC Fast Charger"]


def session(
    i: int, start: dt.datetime | None = None, fmt: str = "%Y-%m-%d %H:%M:%S", **override: Any
) -> dict[str, str]:
    """A consistent, valid session; i makes it unique. Keyword overrides use header names
    with spaces replaced by underscores and symbols dropped (e.g. Energy_Consumed_kWh)."""
    start = start or dt.datetime(2024, 1, 1) + dt.timedelta(hours=i)
    hours = 1.5
    end = start + dt.timedelta(hours=hours)
    energy = 30.0 + (i % 7)
    row = {
        "User ID": f"User_{i}",
        "Vehicle Model": "Nissan Leaf",
        "Battery Capacity (kWh)": "75.0",
        "Charging Station ID": f"Station_{i % 5}",
        "Charging Station Location": LOCATIONS[i % 3],
        "Charging Start Time": start.strftime(fmt),
        "Charging End Time": end.strftime(fmt),
        "Energy Consumed (kWh)": f"{energy}",
        "Charging Duration (hours)": f"{hours}",
        "Charging Rate (kW)": f"{energy / hours:.3f}",
        "Charging Cost (USD)": f"{energy * 0.25:.2f}",
        "Time of Day": BUCKETS[start.hour],
        "Day of Week": start.strftime("%A"),
        "State of Charge (Start %)": "20.0",
        "State of Charge (End %)": "80.0",
        "Distance Driven (since last charge) (km)": "120.5",
        "Temperature (°C)": "12.5",
        "Vehicle Age (years)": "2.0",
        "Charger Type": CHARGERS[i % 3],
        "User Type": "Commuter",
    }
    for key, value in override.items():
        header = _header_for(key)
        row[header] = value
    return row


def _header_for(key: str) -> str:
    def norm(s: str) -> str:
        return "".join(ch for ch in s.lower() if ch.isalnum())

    for h in HEADER:
        if norm(h) == norm(key):
            return h
    raise KeyError(key)


def csv_text(
    rows: list[dict[str, str]], header: list[str] | None = None, newline: str = "\n"
) -> str:
    out = io.StringIO()
    w = csv.DictWriter(
        out, fieldnames=header or HEADER, lineterminator=newline, extrasaction="ignore"
    )
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def write(path: Path, rows: list[dict[str, str]], **kw: Any) -> Path:
    path.write_text(csv_text(rows, **kw), encoding="utf-8", newline="")
    return path


def append(path: Path, rows: list[dict[str, str]]) -> None:
    text = csv_text(rows).split("\n", 1)[1]
    with path.open("a", encoding="utf-8", newline="") as f:
        f.write(text)
