"""The validation rule catalogue: every rule, its severity and why. README renders this table.

reject: the row goes to rejected_rows with the rule and a message, and is not loaded.
warn:   the row is loaded; the run record counts it under the rule.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str  # "reject" | "warn"
    why: str


CATALOGUE: tuple[Rule, ...] = (
    Rule("wrong_field_count", "reject", "a record with more or fewer fields than the header is misaligned"),
    Rule("missing_key", "reject", "the fields of the profile's session key (user_id, charging_station_id and start in the original format) identify a session; without them it cannot be stored exactly once"),
    Rule("missing_timestamp", "reject", "a session without a start or end time cannot be placed in time"),
    Rule("bad_timestamp", "reject", "the value does not match the file's timestamp layout, or is a local time that does not exist (the hour skipped when clocks go forward); never guessed, so never mis-dated"),
    Rule("bad_time_zone", "reject", "the row's time zone or UTC offset is not one evpipe knows, so its instants cannot be placed"),
    Rule("end_before_start", "reject", "a session cannot end before it starts"),
    Rule("session_too_long", "reject", "a plug-in interval over 72 h (or the profile's max_session_hours, e.g. 720 h for home garages) is a clock or export error"),
    Rule("non_numeric", "reject", "a numeric column holds text such as 'n/a'"),
    Rule("non_finite", "reject", "NaN or infinity is not a measurement"),
    Rule("negative_value", "reject", "energy, cost, duration, rate and capacity cannot be negative"),
    Rule("out_of_range", "reject", "outside the physical range listed for the column"),
    Rule("text_too_long", "reject", "longer than the column allows; truncating would corrupt it"),
    Rule("missing_energy", "warn", "kept: the session happened, but energy totals exclude it"),
    Rule("missing_rate", "warn", "kept: the rate is informational"),
    Rule("duration_mismatch", "warn", "the duration column differs from end - start by more than 15 minutes; marts use the column (formats whose duration should equal end - start)"),
    Rule("charging_outside_plugged", "warn", "the reported charging time is negative or longer than plug-in to plug-out (+15 minutes); kept, but left out of idle time"),
    Rule("day_of_week_mismatch", "warn", "the day-of-week column disagrees with the start time; marts derive it from the start time"),
    Rule("time_of_day_mismatch", "warn", "the time-of-day column disagrees with the start hour; marts derive it from the start time"),
    Rule("energy_above_capacity", "warn", "more energy than the battery holds is suspicious but possible (preconditioning, losses)"),
    Rule("ambiguous_local_time", "warn", "a local time in the hour repeated when clocks go back, with no offset to say which; the first occurrence is taken"),
    Rule("not_utf8", "warn", "the bytes were not UTF-8 and were read as Latin-1"),
)  # fmt: skip

BY_NAME = {r.name: r for r in CATALOGUE}

# Physical ranges (inclusive) for numeric columns; anything outside is rejected as out_of_range.
RANGES: dict[str, tuple[float, float]] = {
    "battery_capacity_kwh": (1.0, 300.0),
    "energy_consumed_kwh": (0.0, 1000.0),
    "charging_duration_hours": (0.0, 72.0),
    "charging_rate_kw": (0.0, 1000.0),
    "cost_usd": (0.0, 10000.0),
    "fee": (0.0, 10000.0),
    "soc_start_pct": (0.0, 100.0),
    "soc_end_pct": (0.0, 100.0),
    "distance_since_last_charge_km": (0.0, 5000.0),
    "temperature_c": (-60.0, 60.0),
    "vehicle_age_years": (0.0, 50.0),
}
NON_NEGATIVE = (
    "energy_consumed_kwh", "cost_usd", "fee", "charging_duration_hours", "charging_rate_kw",
    "battery_capacity_kwh",
)  # fmt: skip
MAX_SESSION_HOURS = 72.0  # unless a profile sets max_session_hours
DURATION_TOLERANCE_HOURS = 0.25

# Time-of-day buckets by start hour (also used by the marts' SQL, db/transforms/21_*.sql).
TIME_OF_DAY = {
    **{h: "Morning" for h in range(5, 12)},
    **{h: "Afternoon" for h in range(12, 17)},
    **{h: "Evening" for h in range(17, 21)},
    **{h: "Night" for h in (21, 22, 23, 0, 1, 2, 3, 4)},
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
