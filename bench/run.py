"""`python -m bench.run`: every measurement in one run, on one server and one data set.

Order: generate the file -> 1 ceiling -> 2 naive -> 3 evpipe ingest -> 6 transform --full ->
4 no-op run -> 5a 0.1 % append + run -> 5 1 % append + run -> 8 dashboard callbacks ->
9 dashboard load -> 7 ingest + full transform of the large file (peak RSS, scaling).
A failing step is recorded and the others still run. Prints tables (steps, each transform
step's rows read and written, scaling), ratios and targets; writes JSON (default
bench/results/latest.json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ROOT, SERVICES, ceiling, dash_load, naive, pipeline, report
from bench.database import Target, machine, target


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="sessions (default 1_000_000)")
    p.add_argument(
        "--rows-large",
        type=int,
        default=10_000_000,
        help="sessions for the large ingest + full transform (default 10_000_000)",
    )
    p.add_argument("--quick", action="store_true", help="skip the large ingest + transform")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--append-share", type=float, default=0.01, help="default 0.01 (1 %%)")
    p.add_argument(
        "--small-append-share",
        type=float,
        default=0.001,
        help="the append whose rows touched are reported per step (default 0.001, 0.1 %%)",
    )
    p.add_argument("--ceiling-runs", type=int, default=2, help="best of N (default 2)")
    p.add_argument(
        "--naive-limit",
        type=float,
        default=120.0,
        help="seconds before the naive summary SQL is killed (default 120)",
    )
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--skip-dashboard", action="store_true")
    p.add_argument("--dash-module", default="dashboard.app")
    p.add_argument("--dash-iterations", type=int, default=40, help="page visits per page")
    p.add_argument("--load-clients", type=int, default=50)
    p.add_argument("--load-seconds", type=float, default=30.0)
    p.add_argument("--load-workers", type=int, default=2, help="gunicorn workers (as compose)")
    p.add_argument("--load-threads", type=int, default=4, help="gunicorn threads (as compose)")
    p.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="OPTION",
        help="extra mysqld option for the private server, e.g. --server-arg=--innodb-buffer-"
        "pool-size=1G (repeatable)",
    )
    p.add_argument("--db-host", help="use this server instead of a private one")
    p.add_argument("--db-port", type=int, default=3306)
    p.add_argument("--db-user", default="root")
    p.add_argument("--db-password", default=os.environ.get("BENCH_DB_PASSWORD", ""))
    p.add_argument("--work-dir", type=Path, help="where data and logs go (default: a temp dir)")
    p.add_argument("--json-out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    return p


class Bench:
    def __init__(self, args: argparse.Namespace, server: Target, work: Path) -> None:
        self.args, self.server, self.work = args, server, work
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.steps: dict[str, Any] = {}
        self.load_avg: list[dict[str, Any]] = []

    def step(self, names: str | tuple[str, ...], fn: Callable[[], Any]) -> Any:
        """Run one step; record its result, or its error under each of its names."""
        label = names if isinstance(names, str) else names[0]
        print(f"bench: {label} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            out = fn()
        except Exception as err:
            traceback.print_exc()
            for name in (names,) if isinstance(names, str) else names:
                self.steps[name] = {"error": f"{type(err).__name__}: {err}"}
            out = None
        else:
            if isinstance(names, str):
                self.steps[names] = out
            else:
                self.steps.update({n: out[n] for n in names if n in out})
        self.load_avg.append(
            {
                "after": label,
                "load_avg_1m": os.getloadavg()[0],
                "step_s": round(time.perf_counter() - t0, 1),
            }
        )
        return out

    def skip(self, names: tuple[str, ...], reason: str) -> None:
        for name in names:
            self.steps[name] = {"skipped": reason}


def run(args: argparse.Namespace, server: Target, work: Path) -> dict[str, Any]:
    from evpipe.generate import write_csv

    started = datetime.now(UTC).isoformat(timespec="seconds")
    b = Bench(args, server, work)
    incoming = work / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    csv = incoming / "sessions.csv"
    t0 = time.perf_counter()
    write_csv(csv, args.rows, args.seed)
    generated = {
        "rows": args.rows,
        "seconds": time.perf_counter() - t0,
        "mb": csv.stat().st_size / 2**20,
    }

    b.step("ceiling", lambda: ceiling.measure(server, csv, args.ceiling_runs))
    naive_steps = ("naive_load", "naive_reread", "naive_transform")
    if args.skip_naive:
        b.skip(naive_steps, "skipped (--skip-naive)")
    else:
        b.step(naive_steps, lambda: naive.measure(server, csv, args.naive_limit, b.logs))

    db = server.fresh_database("evpipe")
    ev = pipeline.Evpipe(server, db, incoming, b.logs)
    append_rows = max(1, round(args.rows * args.append_share))
    small_rows = max(1, round(args.rows * args.small_append_share))
    b.step("ingest", lambda: ev.ingest(args.rows))
    b.step("transform_full", ev.transform_full)
    b.step("noop_run", ev.noop_run)
    b.step(
        "small_append_run",
        lambda: ev.append_run(csv, small_rows, args.seed, name="small-append-run"),
    )
    b.step("append_run", lambda: ev.append_run(csv, append_rows, args.seed))
    dashboard_steps(b, db)
    server.drop_database(db)

    if args.quick:
        b.skip(("ingest_large",), "skipped (--quick)")
    else:
        b.step(
            "ingest_large",
            lambda: pipeline.measure_large(
                server, work, args.rows_large, args.seed, b.logs, small_rows
            ),
        )
    return {
        "meta": {
            "started": started,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "server": server.info(),
            "data": generated,
            "args": {
                k: str(v) if isinstance(v, Path) else v
                for k, v in vars(args).items()
                if k != "db_password"
            },
            "load_avg": b.load_avg,
        },
        "steps": b.steps,
    }


def dashboard_steps(b: Bench, db: str) -> None:
    names = ("dash_callbacks", "dash_load")
    args = b.args
    if args.skip_dashboard:
        b.skip(names, "skipped (--skip-dashboard)")
        return
    reason = _missing(args.dash_module)
    if reason:
        b.skip(names, reason)
        return
    env = b.server.env(db, DASH_DEBUG="false")
    plan_file = b.work / "dash_plan.json"

    def callbacks() -> dict[str, Any]:
        from bench.proc import run_measured

        run_measured(
            [
                sys.executable,
                "-m",
                "bench.dash_probe",
                "--module",
                args.dash_module,
                "--out",
                str(plan_file),
                "--iterations",
                str(args.dash_iterations),
            ],
            env=env,
            cwd=ROOT,
            log_dir=b.logs,
            name="dash-probe",
        ).check("dash_probe")
        result: dict[str, Any] = json.loads(plan_file.read_text())["result"]
        return result

    if b.step("dash_callbacks", callbacks) is None:
        b.skip(("dash_load",), "skipped (no callback plan)")
        return
    plan = json.loads(plan_file.read_text())["plan"]
    b.step(
        "dash_load",
        lambda: dash_load.measure(
            env,
            plan,
            args.load_clients,
            args.load_seconds,
            args.load_workers,
            args.load_threads,
            b.logs,
            args.dash_module,
        ),
    )


def _missing(module: str) -> str | None:
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:
        found = False
    return None if found else f"skipped ({module} not found under {SERVICES.name}/)"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for path in (str(SERVICES), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="evpipe-bench-"))
    try:
        with target(
            args.db_host, args.db_port, args.db_user, args.db_password, args.server_arg
        ) as server:
            result = run(args, server, work)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(report.finish(result, args.json_out))
    print(f"\nJSON: {args.json_out}")
    errors = [k for k, v in result["steps"].items() if "error" in v]
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
