"""Step 8 (run in a subprocess with the database environment): the dashboard's callbacks.

`python -m bench.dash_probe --module dashboard.app --out plan.json` imports the app and drives
it in-process through Flask's test client, exactly as the browser would but without HTTP:
1. discovery: for each page (dash.page_registry, or "/" without pages) start from the app
   shell with the URL set to the page, fire every server callback whose inputs and outputs are
   on the page, merge what it returns (new components appear, options get filled), repeat
   until nothing new fires, like the renderer's initial load. Clientside and pattern-matching
   (ALL/MATCH) callbacks are left out;
2. timing: visit each page `--iterations` times, each visit with a random filter setting
   (dropdowns with options, date ranges), firing all of the page's callbacks; the first
   `--warmup` visits use the defaults and are not counted. A time is the whole
   POST /_dash-update-component: the callback and Dash's (de)serialisation.
Writes the plan (for the load test) and the per-page / per-callback statistics as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.dash_plan import apply, choose, id_key, option_values, summarize

UPDATE = "/_dash-update-component"
OK = (200, 204)


class Store:
    """Component ids on the simulated page, their type and current property values."""

    def __init__(self) -> None:
        self.props: dict[str, dict[str, Any]] = {}
        self.types: dict[str, str] = {}

    def add_tree(self, node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                self.add_tree(item)
        elif isinstance(node, dict):
            if "props" in node and "type" in node and isinstance(node["props"], dict):
                props = node["props"]
                if "id" in props:
                    key = id_key(props["id"])
                    self.props.setdefault(key, {}).update(props)
                    self.types[key] = str(node["type"])
                for value in props.values():
                    self.add_tree(value)
            else:
                for value in node.values():
                    self.add_tree(value)

    def apply_response(self, response: dict[str, Any]) -> None:
        for key, props in (response or {}).items():
            self.props.setdefault(key, {}).update(props)
            self.add_tree(props)

    def has(self, dep: dict[str, Any]) -> bool:
        return id_key(dep["id"]) in self.props

    def value(self, dep: dict[str, Any]) -> Any:
        value = self.props[id_key(dep["id"])].get(dep["property"])
        if dep["property"] == "n_clicks" and not value:
            return 1  # buttons (e.g. CSV download) do their work, not a no-op
        return value


def _outputs(output: str) -> list[dict[str, Any]]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        out.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop})
    return out


def _usable(cb: dict[str, Any]) -> bool:
    if cb.get("clientside_function"):
        return False
    deps = [*cb.get("inputs", []), *cb.get("state", [])]
    wild = any(
        isinstance(d["id"], dict) and any(isinstance(v, list) for v in d["id"].values())
        for d in deps
    )
    return not wild and "[" not in cb["output"]


def _payload(cb: dict[str, Any], store: Store) -> dict[str, Any]:
    def dep(d: dict[str, Any]) -> dict[str, Any]:
        return {"id": d["id"], "property": d["property"], "value": store.value(d)}

    inputs = [dep(d) for d in cb.get("inputs", [])]
    outputs = _outputs(cb["output"])
    return {
        "output": cb["output"],
        "outputs": outputs if cb["output"].startswith("..") else outputs[0],
        "inputs": inputs,
        "state": [dep(d) for d in cb.get("state", [])],
        "changedPropIds": [f"{id_key(inputs[0]['id'])}.{inputs[0]['property']}"] if inputs else [],
    }


def _page_paths() -> list[str]:
    import dash

    paths = [str(p["path"]) for p in dash.page_registry.values() if "path" in p]
    return paths or ["/"]


def discover(client: Any, path: str, deps: list[dict[str, Any]]) -> tuple[list[dict], Store]:
    """The callbacks a first visit of `path` fires, in firing order, with their payloads."""
    store = Store()
    store.add_tree(client.get("/_dash-layout").get_json())
    for key, kind in store.types.items():
        if kind == "Location":
            store.props[key].update(
                pathname=path, search="", hash="", href=f"http://127.0.0.1{path}"
            )
    fired: set[str] = set()
    calls: list[dict[str, Any]] = []
    for _ in range(10):
        ready = [
            cb
            for cb in deps
            if cb["output"] not in fired
            and _usable(cb)
            and cb.get("inputs")
            and all(store.has(d) for d in cb["inputs"])
            and all(store.has(d) for d in cb.get("state", []))
            and all(store.has(d) for d in _outputs(cb["output"]))
        ]
        if not ready:
            break
        for cb in ready:
            payload = _payload(cb, store)
            fired.add(cb["output"])
            calls.append({"name": cb["output"], "payload": payload})
            resp = client.post(UPDATE, json=payload)
            if resp.status_code == 200:
                store.apply_response(resp.get_json().get("response", {}))
    return calls, store


def filters_of(stores: list[Store], calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dropdown-like and date-range inputs of the planned callbacks."""
    used = {
        (id_key(d["id"]), d["property"])
        for c in calls
        for d in [*c["payload"]["inputs"], *c["payload"]["state"]]
    }
    found: dict[str, dict[str, Any]] = {}
    for store in stores:
        for key, props in store.props.items():
            if key in found or store.types.get(key) == "Location":
                continue
            if (key, "value") in used and "options" in props:
                values = option_values(props.get("options"))
                multi = bool(props.get("multi")) or store.types.get(key) == "Checklist"
                found[key] = {"id": key, "kind": "options", "values": values, "multi": multi}
            elif (key, "start_date") in used and (key, "end_date") in used:
                lo = props.get("min_date_allowed") or props.get("start_date")
                hi = props.get("max_date_allowed") or props.get("end_date")
                found[key] = {"id": key, "kind": "dates", "min": lo, "max": hi}
    return list(found.values())


def plan(client: Any) -> dict[str, Any]:
    client.get("/")  # lets Dash finish its set-up (the pages router registers on first request)
    deps = client.get("/_dash-dependencies").get_json()
    pages, stores = {}, []
    for path in _page_paths():
        calls, store = discover(client, path, deps)
        pages[path] = calls
        stores.append(store)
    all_calls = [c for calls in pages.values() for c in calls]
    planned = {c["name"] for c in all_calls}
    return {
        "pages": pages,
        "filters": filters_of(stores, all_calls),
        "callbacks_total": len(deps),
        "callbacks_skipped": sorted({cb["output"] for cb in deps} - planned),
    }


def time_callbacks(
    client: Any, the_plan: dict[str, Any], iterations: int, warmup: int, seed: int = 5
) -> dict[str, Any]:
    """Per page: p50/p95 over all its callback calls, and its slowest callback's p95.
    Per callback: the statistics and its three slowest calls with their filter values.
    `p95_ms_max` is the worst per-callback p95 (issue 4: "each callback ... at p95")."""
    rng = random.Random(seed)
    pages: dict[str, Any] = {}
    per_callback: dict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
    errors_of: dict[str, int] = defaultdict(int)
    for path, calls in the_plan["pages"].items():
        ms: list[float] = []
        for visit in range(warmup + iterations):
            overrides = choose(the_plan["filters"], rng) if visit >= warmup else {}
            for call in calls:
                body = apply(call["payload"], overrides)
                t0 = time.perf_counter()
                resp = client.post(UPDATE, json=body)
                dt = (time.perf_counter() - t0) * 1000
                if visit < warmup:
                    continue
                if resp.status_code not in OK:
                    errors_of[path] += 1
                ms.append(dt)
                shown = {f"{k[0]}.{k[1]}": v for k, v in overrides.items()}
                per_callback[call["name"]].append((dt, shown))
        names = {c["name"] for c in calls}
        worst = max(names, key=lambda n: summarize([t for t, _ in per_callback[n]])["p95_ms"] or 0)
        pages[path] = {
            **summarize(ms, errors_of[path]),
            "callbacks": len(calls),
            "worst_callback": worst,
            "worst_callback_p95_ms": summarize([t for t, _ in per_callback[worst]])["p95_ms"],
        }
    callbacks = {}
    for name, timed in per_callback.items():
        slowest = sorted(timed, key=lambda x: -x[0])[:3]
        callbacks[name] = {
            **summarize([t for t, _ in timed]),
            "slowest": [{"ms": t, "filters": f} for t, f in slowest],
        }
    p95s = [c["p95_ms"] for c in callbacks.values() if c["p95_ms"] is not None]
    return {
        "pages": pages,
        "callbacks": callbacks,
        "p95_ms_max": max(p95s) if p95s else None,
        "errors": sum(errors_of.values()),
    }


def load_server(module: str) -> Any:
    mod = importlib.import_module(module)
    server = getattr(mod, "server", None)
    if server is None:
        raise SystemExit(f"{module} has no `server`")
    return server


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.dash_probe")
    p.add_argument("--module", default="dashboard.app")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--warmup", type=int, default=2)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    client = load_server(args.module).test_client()
    import_s = time.perf_counter() - t0
    the_plan = plan(client)
    result = time_callbacks(client, the_plan, args.iterations, args.warmup)
    result.update(import_s=import_s, iterations=args.iterations, warmup=args.warmup)
    args.out.write_text(json.dumps({"plan": the_plan, "result": result}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
