"""Step 9: the dashboard served by gunicorn on loopback under N concurrent clients.

Each client (a thread with a keep-alive HTTP connection) visits random pages: GET the page,
then POST every callback of that page (from the step-8 plan) with one random filter setting
per visit, until the time is up. Counts requests and errors (no answer, or HTTP status >= 400)
by kind and when they happened; latencies are the client's, so they include queueing in
gunicorn's workers and threads and the clients' own share of the CPU.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.dash_plan import apply, choose, summarize


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(
    env: dict[str, str], workers: int, threads: int, log: Path, module: str = "dashboard.app"
) -> tuple[Any, int]:
    import subprocess

    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "60",
        f"{module}:server",
    ]
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=ROOT,
        stdout=open(log, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited {proc.returncode}: {log.read_text()[-1500:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError("gunicorn did not answer within 90 s")


def stop(proc: Any) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except Exception:
        proc.kill()
        proc.wait()


class _Client(threading.Thread):
    def __init__(self, port: int, plan: dict[str, Any], deadline: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.port, self.plan, self.deadline = port, plan, deadline
        self.rng = random.Random(seed)
        self.page_ms: list[float] = []
        self.callback_ms: list[float] = []
        self.errors: Counter[str] = Counter()
        self.error_at: list[float] = []  # seconds since the start of the load
        self.conn: http.client.HTTPConnection | None = None
        self.t0 = time.monotonic()

    def _request(self, method: str, path: str, body: Any = None) -> float | None:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        t0 = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            resp.read()
            error = f"HTTP {resp.status}" if resp.status >= 400 else None
        except (OSError, http.client.HTTPException) as err:
            self.conn = None
            error = type(err).__name__
        dt = (time.perf_counter() - t0) * 1000
        if error:
            self.errors[error] += 1
            self.error_at.append(round(time.monotonic() - self.t0, 2))
            return None
        return dt

    def run(self) -> None:
        pages = list(self.plan["pages"].items())
        while time.monotonic() < self.deadline:
            path, calls = self.rng.choice(pages)
            dt = self._request("GET", path)
            if dt is not None:
                self.page_ms.append(dt)
            overrides = choose(self.plan["filters"], self.rng)
            for call in calls:
                if time.monotonic() >= self.deadline:
                    break
                dt = self._request(
                    "POST", "/_dash-update-component", apply(call["payload"], overrides)
                )
                if dt is not None:
                    self.callback_ms.append(dt)


def load(port: int, plan: dict[str, Any], clients: int, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    threads = [_Client(port, plan, deadline, seed) for seed in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    page_ms = [x for t in threads for x in t.page_ms]
    callback_ms = [x for t in threads for x in t.callback_ms]
    kinds: Counter[str] = Counter()
    for t in threads:
        kinds.update(t.errors)
    errors = sum(kinds.values())
    error_at = sorted(x for t in threads for x in t.error_at)
    every = page_ms + callback_ms
    return {
        "clients": clients,
        "seconds": elapsed,
        "requests": len(every) + errors,
        "errors": errors,
        "errors_by_kind": dict(kinds),
        "errors_first_last_s": [error_at[0], error_at[-1]] if error_at else None,
        "requests_per_s": (len(every) + errors) / elapsed,
        "p50_ms": summarize(every)["p50_ms"],
        "p95_ms": summarize(every)["p95_ms"],
        "pages": summarize(page_ms),
        "callbacks": summarize(callback_ms),
    }


def measure(
    env: dict[str, str],
    plan: dict[str, Any],
    clients: int,
    seconds: float,
    workers: int,
    threads: int,
    log_dir: Path,
    module: str = "dashboard.app",
) -> dict[str, Any]:
    proc, port = start_gunicorn(env, workers, threads, log_dir / "gunicorn.log", module)
    try:
        result = load(port, plan, clients, seconds)
    finally:
        stop(proc)
    result.update(gunicorn_workers=workers, gunicorn_threads=threads)
    return result
