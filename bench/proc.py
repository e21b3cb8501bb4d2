"""Timed subprocesses with their peak resident memory (the process and all its children).

Peak RSS = max(largest sum of the tree's RSS seen by a 20 ms sampler, largest VmHWM of any
single process in the tree). VmHWM (Linux /proc/PID/status) is the kernel's exact high-water
mark of one process since its exec, so a short spike between samples is still counted.
wait4()'s ru_maxrss is not used: Linux carries the parent's RSS at fork into it, so every
child of a big benchmark process would look at least as big as the benchmark itself.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

MB = 1024 * 1024


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def check(self, what: str) -> Measured:
        if self.returncode != 0:
            tail = (self.stderr or self.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"{what} exited {self.returncode}: " + " | ".join(tail))
        return self


def _hwm_bytes(pid: int) -> int:
    """VmHWM of one process in bytes (0 where /proc is not available)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class RssSampler(threading.Thread):
    """Samples a process tree every `interval` seconds and keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_sum = 0
        self.peak_hwm = 0
        self._stop_event = threading.Event()

    def sample(self, root: psutil.Process) -> None:
        procs = [root, *root.children(recursive=True)]
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
                self.peak_hwm = max(self.peak_hwm, _hwm_bytes(p.pid))
        self.peak_sum = max(self.peak_sum, total)

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            try:
                self.sample(root)
            except psutil.Error:
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop_event.set()
        self.join()
        return max(self.peak_sum, self.peak_hwm) / MB


def run_measured(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 7200,
    log_dir: Path,
    name: str = "cmd",
) -> Measured:
    """Run `cmd` to completion; wall time and peak RSS. Output goes to log_dir/name.std*."""
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            env=dict(env) if env else None,
            cwd=cwd,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        sampler = RssSampler(proc.pid)
        sampler.start()
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            returncode = proc.wait()
        seconds = time.perf_counter() - t0
        peak = sampler.stop()
    return Measured(
        seconds=seconds,
        peak_rss_mb=peak,
        returncode=returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )
