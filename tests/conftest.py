"""Shared fixtures: a real MariaDB/MySQL server and a fresh database per test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import mysql.connector
import pytest

from evpipe.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_CSV = (
    Path(os.environ.get("EVPIPE_SHARED_DIR", ROOT.parent / "shared"))
    / "data"
    / ("ev_charging_patterns.csv")
)


@dataclass
class Server:
    host: str
    port: int
    user: str
    password: str
    private: Any = None  # tests.mysqld_server.PrivateServer when we started it ourselves

    def admin(self, database: str | None = None) -> Any:
        return mysql.connector.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            autocommit=True,
            allow_local_infile=True,
        )


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    if os.environ.get("TEST_DB_HOST"):
        yield Server(
            host=os.environ["TEST_DB_HOST"],
            port=int(os.environ.get("TEST_DB_PORT", "3306")),
            user=os.environ.get("TEST_DB_USER", "root"),
            password=os.environ.get("TEST_DB_PASSWORD", ""),
        )
        return
    from tests.mysqld_server import PrivateServer

    private = PrivateServer.launch()
    try:
        yield Server(private.host, private.port, private.user, private.password, private)
    finally:
        private.destroy()


@pytest.fixture
def settings(server: Server, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a brand-new, empty database; dropped after the test."""
    name = f"evpipe_t_{uuid.uuid4().hex[:10]}"
    conn = server.admin()
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn.close()
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    yield Settings(
        db_host=server.host,
        db_port=server.port,
        db_name=name,
        db_user=server.user,
        db_password=server.password,
        input_dir=incoming,
        chunk_rows=50_000,
        lock_timeout_s=30,
        connect_timeout_s=5,
    )
    conn = server.admin()
    with conn.cursor() as cur:
        # a failed test can leave a connection in an open transaction, whose metadata locks
        # would block the DROP (and the whole suite) until the lock wait timeout
        cur.execute(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
            (name,),
        )
        for (thread,) in cur.fetchall():
            with contextlib.suppress(Exception):  # it may have ended by itself
                cur.execute(f"KILL {int(thread)}")
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


@pytest.fixture
def db(settings: Settings, server: Server) -> Iterator[Any]:
    """An autocommit admin connection to the test database, for assertions."""
    conn = server.admin(settings.db_name)
    yield conn
    conn.close()


def fetch(conn: Any, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def one(conn: Any, sql: str, params: Any = ()) -> Any:
    return fetch(conn, sql, params)[0][0]


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "EVPIPE_"))}
    env.update(
        DB_HOST=settings.db_host,
        DB_PORT=str(settings.db_port),
        DB_NAME=settings.db_name,
        DB_USER=settings.db_user,
        DB_PASSWORD=settings.db_password,
        EVPIPE_INPUT_DIR=str(settings.input_dir),
        EVPIPE_CHUNK_ROWS=str(settings.chunk_rows),
        EVPIPE_LOCK_TIMEOUT=str(settings.lock_timeout_s),
        EVPIPE_CONNECT_TIMEOUT=str(settings.connect_timeout_s),
    )
    env.update(extra)
    return env


def run_cli(settings: Settings, *args: str, cwd: Path | None = None, **extra: str) -> Any:
    """Run the real `evpipe` command in a subprocess, as users and the worker container do."""
    return subprocess.run(
        [sys.executable, "-m", "evpipe", *args],
        env=env_for(settings, **extra),
        capture_output=True,
        text=True,
        cwd=cwd or settings.input_dir.parent,
        timeout=600,
    )


@pytest.fixture
def shared_csv() -> Path:
    if not SHARED_CSV.is_file():
        pytest.skip(f"public dataset not present at {SHARED_CSV} (CI provides ../shared)")
    return SHARED_CSV


__all__ = ["ROOT", "SHARED_CSV", "Server", "env_for", "fetch", "one", "replace", "run_cli"]
