"""Progress on long work: a bar on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("evpipe.progress")


class Task:
    def __init__(self, owner: Progress, label: str, total: int, done: int) -> None:
        self.owner, self.label, self.total, self.done = owner, label, max(total, 1), done
        self.t0 = time.monotonic()
        self.last_log = 0.0

    def advance_to(self, done: int) -> None:
        self.done = done
        if not self.owner.enabled:
            return
        now = time.monotonic()
        pct = min(100.0, 100.0 * done / self.total)
        rate = (done / (1 << 20)) / max(now - self.t0, 1e-6)
        if self.owner.tty:
            bar = "#" * int(pct / 4)
            sys.stderr.write(f"\r{self.label[:32]:<32} [{bar:<25}] {pct:5.1f}% {rate:6.1f} MB/s")
            sys.stderr.flush()
        elif now - self.last_log >= 5 or pct >= 100:
            self.last_log = now
            log.info("%s: %.1f%% (%.1f MB/s)", self.label, pct, rate)

    def finish(self) -> None:
        if self.owner.enabled and self.owner.tty:
            self.advance_to(self.total)
            sys.stderr.write("\n")


class Progress:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()

    def task(self, label: str, total: int, done: int = 0) -> Task:
        return Task(self, label, total, done)
