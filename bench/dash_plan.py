"""Request plans for the dashboard: the callbacks each page fires, and random filter choices.

A plan (JSON, written by bench.dash_probe) is
    {"pages": {path: [{"name": output_key, "payload": <_dash-update-component body>}, ...]},
     "filters": [{"id", "prop": [props], "kind": "options"|"dates", ...}, ...]}
The same plan drives the in-process timing (step 8) and the HTTP load test (step 9), so both
exercise the requests the browser sends. Nothing here imports Dash.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import date, timedelta
from typing import Any

Overrides = dict[tuple[str, str], Any]
KEEP_DEFAULT = 0.25  # share of visits that keep the page's default filter values


def id_key(component_id: Any) -> str:
    """Dash's string form of a component id (dict ids as sorted compact JSON)."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return str(component_id)


def option_values(options: Any) -> list[Any]:
    """Values of a Dropdown/Checklist/RadioItems `options` prop in any of its three forms."""
    if isinstance(options, dict):
        return list(options)
    out = []
    for o in options or []:
        out.append(o.get("value") if isinstance(o, dict) else o)
    return [v for v in out if v is not None]


def _day(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def choose(filters: list[dict[str, Any]], rng: random.Random) -> Overrides:
    """One random filter setting, as a user might pick it (defaults kept now and then)."""
    out: Overrides = {}
    for f in filters:
        if rng.random() < KEEP_DEFAULT:
            continue
        if f["kind"] == "options" and f["values"]:
            values = f["values"]
            if f["multi"]:
                picked = rng.sample(values, rng.randint(1, min(len(values), 3)))
                out[(f["id"], "value")] = picked
            else:
                out[(f["id"], "value")] = rng.choice(values)
        elif f["kind"] == "dates":
            lo, hi = _day(f["min"]), _day(f["max"])
            if lo is None or hi is None or hi <= lo:
                continue
            span = (hi - lo).days
            start = lo + timedelta(days=rng.randint(0, span))
            end = start + timedelta(days=rng.randint(0, (hi - start).days))
            out[(f["id"], "start_date")] = start.isoformat()
            out[(f["id"], "end_date")] = end.isoformat()
    return out


def apply(payload: dict[str, Any], overrides: Overrides) -> dict[str, Any]:
    """The payload with the chosen filter values put into its inputs and state."""
    if not overrides:
        return payload
    body = copy.deepcopy(payload)
    for group in ("inputs", "state"):
        for dep in body.get(group, []):
            key = (id_key(dep["id"]), dep["property"])
            if key in overrides:
                dep["value"] = overrides[key]
    return body


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def summarize(ms: list[float], errors: int = 0) -> dict[str, Any]:
    if not ms:
        return {"n": 0, "errors": errors, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "n": len(ms),
        "errors": errors,
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "max_ms": max(ms),
    }
