"""The database server under test and the throw-away databases each step uses.

By default a private MariaDB/MySQL server is started with the test suite's launcher
(tests/mysqld_server.py), so every step runs against one server with one configuration.
"""

from __future__ import annotations

import os
import platform
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mysql.connector

from bench import ROOT, SERVICES

# Server variables recorded with the results (they decide most of the numbers).
VARIABLES = (
    "version", "version_comment", "innodb_buffer_pool_size", "innodb_log_file_size",
    "innodb_flush_log_at_trx_commit", "innodb_flush_method", "innodb_doublewrite",
    "sync_binlog", "log_bin", "max_allowed_packet", "local_infile",
)  # fmt: skip


@dataclass
class Target:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    private: Any = None  # tests.mysqld_server.PrivateServer when we started it
    prefix: str = field(default_factory=lambda: f"bench_{uuid.uuid4().hex[:6]}")
    created: list[str] = field(default_factory=list)

    def connect(self, database: str | None = None, **extra: Any) -> Any:
        return mysql.connector.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            autocommit=True,
            allow_local_infile=True,
            charset="utf8mb4",
            **extra,
        )

    def fresh_database(self, name: str) -> str:
        """Create an empty database `<prefix>_<name>` (dropped first if left over)."""
        db = f"{self.prefix}_{name}"
        conn = self.connect()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
            cur.execute(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
        conn.close()
        self.created.append(db)
        return db

    def drop_database(self, db: str) -> None:
        conn = self.connect()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        conn.close()
        if db in self.created:
            self.created.remove(db)

    def env(self, db: str, **extra: str) -> dict[str, str]:
        """Environment for evpipe / the dashboard (as tests/conftest.py env_for builds it)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "EVPIPE_"))}
        path = [str(SERVICES), str(ROOT), env.get("PYTHONPATH", "")]
        env.update(
            DB_HOST=self.host,
            DB_PORT=str(self.port),
            DB_NAME=db,
            DB_USER=self.user,
            DB_PASSWORD=self.password,
            PYTHONPATH=os.pathsep.join(p for p in path if p),
        )
        env.update(extra)
        return env

    def url(self, db: str) -> str:
        """SQLAlchemy URL for the naive baseline (PyMySQL driver)."""
        from urllib.parse import quote_plus

        return (
            f"mysql+pymysql://{quote_plus(self.user)}:{quote_plus(self.password)}"
            f"@{self.host}:{self.port}/{db}?charset=utf8mb4&local_infile=1"
        )

    def info(self) -> dict[str, Any]:
        conn = self.connect()
        with conn.cursor() as cur:
            cur.execute(
                "SHOW GLOBAL VARIABLES WHERE Variable_name IN ("
                + ", ".join(["%s"] * len(VARIABLES))
                + ")",
                VARIABLES,
            )
            variables = {str(k): str(v) for k, v in cur.fetchall()}
        conn.close()
        return {
            "version": variables.pop("version", "?"),
            "private": self.private is not None,
            "args": list(self.private._args()[1:]) if self.private is not None else None,
            "variables": variables,
        }

    def close(self) -> None:
        for db in list(self.created):
            with suppress(mysql.connector.Error):
                self.drop_database(db)
        if self.private is not None:
            self.private.destroy()


def launch_private(extra_args: Sequence[str] = ()) -> Any:
    """The test suite's private server, with its own tmpdir (other programs clean /tmp, which
    broke MariaDB's on-disk temporary tables mid-transform) and any extra mysqld options."""
    sys.path.insert(0, str(ROOT))
    from tests.mysqld_server import PrivateServer

    class BenchServer(PrivateServer):
        def _args(self) -> list[str]:
            tmp = self.root / "tmp"
            tmp.mkdir(exist_ok=True)
            return [*super()._args(), f"--tmpdir={tmp}", *extra_args]

    return BenchServer.launch()


@contextmanager
def target(
    host: str | None, port: int, user: str, password: str, server_args: Sequence[str] = ()
) -> Iterator[Target]:
    if host:
        t = Target(host, port, user, password)
    else:
        private = launch_private(server_args)
        t = Target(private.host, private.port, private.user, private.password, private)
    try:
        yield t
    finally:
        t.close()


def machine() -> dict[str, Any]:
    import psutil

    cpu = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
