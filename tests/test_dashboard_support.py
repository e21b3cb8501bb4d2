"""Known data for the dashboard tests (no tests here): sessions whose every number is worked out
by hand below, loaded into raw_data and rolled up by the real transforms (evpipe.transform),
plus run records, quarantined rows, a read-only account and a TCP proxy that can cut the
database off and bring it back."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

from evpipe.db import connect
from evpipe.schema import ensure_schema
from evpipe.settings import Settings
from evpipe.transform import run_transforms
from tests.conftest import Server

D = dt.datetime


@dataclass(frozen=True)
class Session:
    user: str
    station: str
    location: str
    charger: str
    user_type: str
    start: dt.datetime
    end: dt.datetime
    energy: float | None
    cost: float | None
    duration: float | None  # the reported "Charging Duration (hours)"


# 2024-01-01 is a Monday. The data runs from 2024-01-01 to 2024-03-01: 61 days, 1464 hours.
KNOWN = (
    Session(
        "U1",
        "S1",
        "Houston",
        "Level 2",
        "Commuter",
        D(2024, 1, 1, 8),
        D(2024, 1, 1, 10),
        20.0,
        5.00,
        2.0,
    ),
    Session(
        "U2",
        "S1",
        "Houston",
        "Level 2",
        "Casual Driver",
        D(2024, 1, 1, 10, 30),
        D(2024, 1, 1, 12, 30),
        20.0,
        6.00,
        1.5,
    ),
    Session(
        "U3",
        "S2",
        "Houston",
        "DC Fast Charger",
        "Commuter",
        D(2024, 1, 2, 18),
        D(2024, 1, 2, 18, 30),
        30.0,
        15.00,
        0.5,
    ),
    Session(
        "U4",
        "S3",
        "Chicago",
        "Level 1",
        "Commuter",
        D(2024, 1, 3, 22),
        D(2024, 1, 4, 2),
        8.0,
        1.60,
        4.0,
    ),
    Session(
        "U5",
        "S3",
        "Chicago",
        "Level 1",
        "Long-Distance Traveler",
        D(2024, 1, 8, 9, 15),
        D(2024, 1, 8, 10, 15),
        None,
        2.00,
        1.0,
    ),
    Session(
        "U6",
        "S4",
        "Chicago",
        "Level 2",
        "Casual Driver",
        D(2024, 1, 15, 12),
        D(2024, 1, 15, 13),
        10.0,
        None,
        None,
    ),
    Session(
        "U7",
        "S2",
        "Houston",
        "DC Fast Charger",
        "Long-Distance Traveler",
        D(2024, 2, 5, 7),
        D(2024, 2, 5, 7, 45),
        45.0,
        20.25,
        0.75,
    ),
    Session(
        "U8",
        "S1",
        "Houston",
        "Level 2",
        "Commuter",
        D(2024, 3, 1, 17),
        D(2024, 3, 1, 19),
        22.0,
        6.60,
        2.0,
    ),
)

# Worked out by hand from KNOWN.
TOTAL_SESSIONS = 8
TOTAL_ENERGY = 155.0  # 7 sessions with energy (U5 has none)
TOTAL_COST = 56.45  # 7 sessions with a cost (U6 has none)
COST_ENERGY = 145.0  # their energy (U6's 10 kWh has no cost): cost per kWh = 56.45 / 145
FIRST_DAY, LAST_DAY = dt.date(2024, 1, 1), dt.date(2024, 3, 1)
PERIOD_HOURS = 61 * 24


def insert_sessions(
    conn: Any, sessions: tuple[Session, ...] | list[Session], run_id: int = 1
) -> None:
    with conn.cursor() as cur:
        for i, s in enumerate(sessions):
            cur.execute(
                "INSERT INTO raw_data (session_key, user_id, charging_station_id, "
                "charging_station_location, charging_start_time, charging_end_time, "
                "energy_consumed_kwh, charging_duration_hours, cost_usd, charger_type, user_type, "
                "source_file, source_line, run_id) VALUES (UNHEX(MD5(%s)), %s, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s, 'known.csv', %s, %s)",
                (
                    f"{s.user}|{s.station}|{s.start}",
                    s.user,
                    s.station,
                    s.location,
                    s.start,
                    s.end,
                    s.energy,
                    s.duration,
                    s.cost,
                    s.charger,
                    s.user_type,
                    i + 2,
                    run_id,
                ),
            )
    conn.commit()


def insert_pipeline_records(conn: Any) -> None:
    """Two runs (a success with warnings, then a failure), four quarantined rows."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO pipeline_runs (run_id, command, status, started_at, finished_at, "
            "files_seen, files_loaded, rows_read, rows_inserted, rows_quarantined, warnings_json, "
            "stage_seconds_json) VALUES (1, 'run', 'success', '2024-03-02 06:00:00', "
            "'2024-03-02 06:00:12.5', 1, 1, 12, 8, 4, %s, '{\"ingest\": 10.0}')",
            (json.dumps({"missing_energy": 1, "duration_mismatch": 2}),),
        )
        cur.execute(
            "INSERT INTO pipeline_runs (run_id, command, status, started_at, finished_at, "
            "files_seen, files_failed, warnings_json, error_message) VALUES (2, 'run', 'failed', "
            "'2024-03-03 06:00:00', '2024-03-03 06:00:01', 1, 1, %s, "
            "'bad.csv: not a readable CSV file')",
            (json.dumps({"missing_energy": 3}),),
        )
        for i, (rule, msg) in enumerate(
            [
                ("end_before_start", "charging_end_time is before charging_start_time"),
                ("end_before_start", "charging_end_time is before charging_start_time"),
                ("end_before_start", "charging_end_time is before charging_start_time"),
                ("non_numeric", "cost_usd='n/a' is not a number"),
            ]
        ):
            cur.execute(
                "INSERT INTO rejected_rows (row_hash, run_id, source_file, line_number, rule, "
                "message, raw_line) VALUES (UNHEX(MD5(%s)), 1, 'known.csv', %s, %s, %s, %s)",
                (f"row{i}", 20 + i, rule, msg, f"User_{i},BMW i3,raw line {i}"),
            )
        cur.execute(
            "INSERT INTO pipeline_metadata (dataset_name, last_loaded_start_time, last_run, "
            "last_run_id, last_success_run_id, last_success_at) VALUES ('ev_charging', "
            "'2024-03-01 17:00:00', '2024-03-03 06:00:01', 2, 1, '2024-03-02 06:00:12')"
        )
    conn.commit()


def seed_known(settings: Settings) -> None:
    """Schema, the KNOWN sessions, the real transforms, and the pipeline records."""
    conn = connect(settings)
    try:
        ensure_schema(conn)
        insert_sessions(conn, KNOWN)
        run_transforms(conn)
        insert_pipeline_records(conn)
    finally:
        conn.close()


def add_sessions_and_transform(settings: Settings, sessions: list[Session], run_id: int) -> None:
    """What a later `make reload` does to the tables: new rows, transforms, a successful run."""
    conn = connect(settings)
    try:
        insert_sessions(conn, sessions, run_id)
        run_transforms(conn)
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO pipeline_runs (run_id, command, status, started_at, finished_at) "
                "VALUES (%s, 'run', 'success', UTC_TIMESTAMP(), UTC_TIMESTAMP())",
                (run_id,),
            )
            cur.execute("UPDATE pipeline_metadata SET last_success_run_id = %s", (run_id,))
        conn.commit()
    finally:
        conn.close()


@contextmanager
def read_only_account(server: Server, settings: Settings) -> Iterator[Settings]:
    """Settings for a fresh user with SELECT on the test schema only (like the stack's)."""
    user, password = f"ro_{uuid.uuid4().hex[:8]}", "ro-Pw-1"
    admin = server.admin()
    with admin.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        cur.execute(f"GRANT SELECT ON `{settings.db_name}`.* TO '{user}'@'%'")
    try:
        yield replace(settings, db_user=user, db_password=password)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        admin.close()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the database; stop() drops every connection and refuses new
    ones, start() listens again on the same port: a database outage without touching the server
    that the other tests share."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self._listener: socket.socket | None = None
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            with suppress(OSError):  # wakes the thread blocked in accept(); close() would not
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
