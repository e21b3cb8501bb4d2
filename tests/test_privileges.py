"""Issue 6: least privilege and secrets, against the real server.

- The dashboard's user is created exactly as the database container does it on first start
  (bash db/init/900_dashboard_user.sh over the server's socket) and may only SELECT its schema.
- The worker's user is created the way the official mysql/mariadb images create MYSQL_USER
  (GRANT ALL ON `<db with _ escaped>`.*): `evpipe run` works with it, LOAD DATA LOCAL included,
  and it can neither read nor write anything outside its schema.
- Passwords never appear in messages, logs, `evpipe status` or the run records.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import mysql.connector
import pytest

from evpipe.settings import Settings
from tests import factory
from tests.conftest import ROOT, Server, fetch, one, run_cli

SCRIPT = ROOT / "db" / "init" / "900_dashboard_user.sh"
# shell and SQL metacharacters the script must pass through untouched (quotes and backslashes:
# see test_dashboard_password_with_quote_and_backslash)
DASHBOARD_PASSWORD = 'Dash pw $HOME `id` "x";#%&*'
WORKER_PASSWORD = "Wk-7c2e1-distinctive"
# MySQL / MariaDB errors that mean "not allowed"
DENIED = {
    1044,  # access denied to database
    1045,  # access denied (FILE privilege for server-side files)
    1095,  # not owner of thread
    1142,  # command denied on table
    1143,  # column access denied
    1227,  # needs SUPER / other global privilege
    1370,  # routine access denied
    1410,  # not allowed to create a user with GRANT
    1792,  # read-only transaction
}


@dataclass
class Account:
    user: str
    password: str

    def connect(self, server: Server, database: str | None) -> Any:
        return mysql.connector.connect(
            host=server.host,
            port=server.port,
            user=self.user,
            password=self.password,
            database=database,
            autocommit=True,
            allow_local_infile=True,
        )


def denied(conn: Any, sql: str) -> int:
    """Run sql; it must fail with a privilege error. Returns the error number."""
    with pytest.raises(mysql.connector.Error) as info, conn.cursor() as cur:
        cur.execute(sql)
        cur.fetchall()
    assert info.value.errno in DENIED, (sql, info.value)
    return int(info.value.errno)


def drop_user(server: Server, user: str) -> None:
    conn = server.admin()
    with conn.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))
    conn.close()


def run_script(server: Server, database: str, user: str, password: str) -> Any:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SOCKET": str(server.private.socket),
        "MYSQL_ROOT_PASSWORD": "",  # the private server's root has no password
        "MYSQL_DATABASE": database,
        "DASHBOARD_DB_USER": user,
        "DASHBOARD_DB_PASSWORD": password,
    }
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def populated(settings: Settings, db: Any) -> Settings:
    factory.write(settings.input_dir / "a.csv", [factory.session(i) for i in range(10)])
    res = run_cli(settings, "run")
    assert res.returncode == 0, res.stderr
    return settings


@pytest.fixture
def dashboard(server: Server, populated: Settings) -> Iterator[Account]:
    if server.private is None or not server.private.socket.exists():
        pytest.skip(
            "no local socket (TEST_DB_HOST points at an external server): the init "
            "script runs over the server's socket as root"
        )
    account = Account(f"dash_{uuid.uuid4().hex[:8]}", DASHBOARD_PASSWORD)
    res = run_script(server, populated.db_name, account.user, account.password)
    assert res.returncode == 0, res.stderr
    yield account
    drop_user(server, account.user)


@pytest.fixture
def worker(server: Server, populated: Settings) -> Iterator[Account]:
    """Created like the official images create MYSQL_USER for MYSQL_DATABASE."""
    account = Account(f"worker_{uuid.uuid4().hex[:8]}", WORKER_PASSWORD)
    escaped = populated.db_name.replace("_", "\\_")
    conn = server.admin()
    with conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (account.user, account.password))
        cur.execute(f"GRANT ALL ON `{escaped}`.* TO %s@'%%'", (account.user,))
    conn.close()
    yield account
    drop_user(server, account.user)


@pytest.fixture
def other_schema(server: Server) -> Iterator[str]:
    """Another application's database on the same server, with a row in it."""
    name = f"other_{uuid.uuid4().hex[:8]}"
    conn = server.admin()
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE TABLE `{name}`.secrets (id INT PRIMARY KEY, v VARCHAR(20))")
        cur.execute(f"INSERT INTO `{name}`.secrets VALUES (1, 'top secret')")
    yield name
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def test_dashboard_user_can_select_but_not_write(server, populated, dashboard, tmp_path):
    conn = dashboard.connect(server, populated.db_name)
    try:
        for table in ("raw_data", "processed_station_metrics", "pipeline_runs", "rejected_rows"):
            with conn.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                assert cur.fetchall()[0][0] >= 0
        assert one(conn, "SELECT COUNT(*) FROM raw_data") == 10
        chunk = tmp_path / "chunk.csv"
        chunk.write_text("x\n")
        codes = {
            sql: denied(conn, sql)
            for sql in (
                "INSERT INTO schema_migrations (version) VALUES ('x')",
                "UPDATE pipeline_metadata SET last_run = NULL",
                "DELETE FROM raw_data",
                "CREATE TABLE evil (id INT)",
                "DROP TABLE raw_data",
                "ALTER TABLE raw_data ADD COLUMN evil INT",
                "TRUNCATE TABLE rejected_rows",
                "RENAME TABLE raw_data TO raw_data_gone",
                "CREATE VIEW evil AS SELECT 1",
                "CREATE DATABASE evil_db",
                f"DROP DATABASE `{populated.db_name}`",
                f"LOAD DATA LOCAL INFILE '{chunk}' INTO TABLE schema_migrations",
                f"GRANT SELECT ON `{populated.db_name}`.* TO '{dashboard.user}'@'%'",
                "SELECT user FROM mysql.user",
                f"SELECT 1 INTO OUTFILE '{tmp_path / 'out.txt'}'",
                "SET GLOBAL max_connections = 1",
                "LOCK TABLES raw_data WRITE",
            )
        }
        assert len(codes) == 17
        assert one(conn, "SELECT COUNT(*) FROM raw_data") == 10  # nothing changed
        grants = [r[0] for r in fetch(conn, "SHOW GRANTS FOR CURRENT_USER()")]
        assert len(grants) == 2, grants
        assert grants[0].startswith("GRANT USAGE ON *.*"), grants
        escaped = populated.db_name.replace("_", "\\_")  # '_' is a wildcard in a grant
        assert grants[1].startswith(f"GRANT SELECT ON `{escaped}`.*"), grants
    finally:
        conn.close()


def test_dashboard_user_cannot_read_other_schemas(server, populated, dashboard, other_schema):
    conn = dashboard.connect(server, None)
    try:
        denied(conn, f"SELECT * FROM `{other_schema}`.secrets")
        denied(conn, "SELECT * FROM mysql.user")
        with pytest.raises(mysql.connector.Error) as info:
            dashboard.connect(server, other_schema)
        assert info.value.errno == 1044
    finally:
        conn.close()


def test_dashboard_grant_is_not_a_wildcard(server, populated, dashboard):
    lookalike = populated.db_name.replace("_", "x")  # matches `evpipe_t_...` as a LIKE pattern
    admin = server.admin()
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{lookalike}`")
        cur.execute(f"CREATE TABLE `{lookalike}`.secrets (v INT)")
    try:
        conn = dashboard.connect(server, None)
        try:
            denied(conn, f"SELECT * FROM `{lookalike}`.secrets")
        finally:
            conn.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE `{lookalike}`")
        admin.close()


def test_dashboard_password_with_quote_and_backslash(server, populated):
    if server.private is None:
        pytest.skip("no local socket")
    account = Account(f"dash_{uuid.uuid4().hex[:8]}", "it's a back\\slash")
    try:
        res = run_script(server, populated.db_name, account.user, account.password)
        assert res.returncode == 0, res.stderr
        account.connect(server, populated.db_name).close()
    finally:
        drop_user(server, account.user)


def test_worker_user_runs_the_pipeline_and_stays_in_its_schema(
    server, populated, worker, other_schema, tmp_path
):
    settings = replace(populated, db_user=worker.user, db_password=worker.password)
    factory.write(settings.input_dir / "b.csv", [factory.session(i) for i in range(10, 25)])
    res = run_cli(settings, "run")  # LOAD DATA LOCAL, transforms (CREATE/RENAME/DROP), GET_LOCK
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    conn = worker.connect(server, settings.db_name)
    try:
        assert one(conn, "SELECT COUNT(*) FROM raw_data") == 25
        assert one(conn, "SELECT SUM(total_sessions) FROM processed_station_metrics") == 25
        assert run_cli(settings, "status").returncode == 0
        server_file = tmp_path / "server_side.csv"
        server_file.write_text("x\n")
        for sql in (
            "SELECT user, authentication_string FROM mysql.user",
            "UPDATE mysql.user SET host = '%'",
            f"SELECT * FROM `{other_schema}`.secrets",
            f"INSERT INTO `{other_schema}`.secrets VALUES (2, 'mine')",
            f"DROP TABLE `{other_schema}`.secrets",
            f"CREATE TABLE `{other_schema}`.evil (id INT)",
            "CREATE DATABASE evil_db",
            f"DROP DATABASE `{other_schema}`",
            f"LOAD DATA INFILE '{server_file}' INTO TABLE schema_migrations",  # server-side file
            f"SELECT 1 INTO OUTFILE '{tmp_path / 'out.txt'}'",
            "SET GLOBAL local_infile = 0",
            f"GRANT SELECT ON `{other_schema}`.* TO '{worker.user}'@'%'",
            "CREATE USER 'evil'@'%'",
            "SHUTDOWN",
        ):
            denied(conn, sql)
        admin = server.admin()  # another user's live connection
        try:
            denied(conn, f"KILL {one(admin, 'SELECT CONNECTION_ID()')}")
        finally:
            admin.close()
        grants = [r[0] for r in fetch(conn, "SHOW GRANTS FOR CURRENT_USER()")]
        assert len(grants) == 2 and grants[0].startswith("GRANT USAGE ON *.*"), grants
        assert "WITH GRANT OPTION" not in " ".join(grants)
    finally:
        conn.close()
    assert one(server.admin(), f"SELECT COUNT(*) FROM `{other_schema}`.secrets") == 1


# --- secrets -------------------------------------------------------------------------------------


def test_failed_connection_messages_mask_the_password(settings, tmp_path):
    secret = "Sx-91b4e-distinctive"
    # a URL pasted into DB_HOST carries the password into the driver's own error text
    res = run_cli(
        settings,
        "run",
        DB_HOST=f"evpipe:{secret}@127.0.0.1",
        DB_PASSWORD=secret,
        EVPIPE_CONNECT_TIMEOUT="2",
        cwd=tmp_path,
    )
    assert res.returncode == 3, res.stderr
    assert secret not in res.stderr + res.stdout
    assert "evpipe:***@127.0.0.1" in res.stderr.strip().splitlines()[-1]
    # wrong password against the real server
    res = run_cli(settings, "run", DB_PASSWORD=secret, cwd=tmp_path)
    assert res.returncode == 3 and "Access denied" in res.stderr, res.stderr
    assert secret not in res.stderr + res.stdout and "Traceback" not in res.stderr
    assert f"{settings.db_host}:{settings.db_port}" in res.stderr.strip().splitlines()[-1]


def test_status_logs_and_run_records_never_show_the_password(server, populated, worker):
    settings = replace(populated, db_user=worker.user, db_password=worker.password)
    factory.write(settings.input_dir / "bad.csv", [factory.session(99, Charging_Cost_USD="n/a")])
    (settings.input_dir / "refused.csv").write_text("not,a,header\n", encoding="utf-8")
    outputs = [
        run_cli(settings, "-v", "run"),
        run_cli(settings, "status"),
        run_cli(settings, "status", "--json"),
        run_cli(settings, "-v", "transform", "--full"),
    ]
    for res in outputs:
        assert worker.password not in res.stdout + res.stderr
        assert "Traceback" not in res.stderr
    assert outputs[0].returncode == 1  # partial: refused.csv
    assert all(res.returncode == 0 for res in outputs[1:])
    conn = server.admin(settings.db_name)
    try:
        for table in ("pipeline_runs", "ingested_files", "rejected_rows", "pipeline_metadata"):
            cols = [r[0] for r in fetch(conn, f"SHOW COLUMNS FROM {table}")]
            for row in fetch(conn, f"SELECT * FROM {table}"):
                assert not any(worker.password in str(v) for v in row), (table, cols)
    finally:
        conn.close()
    assert worker.password not in repr(settings) and worker.password not in str(settings)
