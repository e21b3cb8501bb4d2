"""A private, throw-away MariaDB/MySQL server for the test suite (no mocks, a real server).

Used unless TEST_DB_HOST points at an existing server. Tests that restart the database
(reliability suite) use stop()/start() on the same data directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _find(*names: str) -> str:
    for name in names:
        for d in (None, "/usr/sbin", "/usr/bin", "/usr/local/bin"):
            found = shutil.which(name, path=d) if d else shutil.which(name)
            if found:
                return found
    raise RuntimeError(
        f"none of {names} found: install mariadb-server (apt-get install mariadb-server) "
        "or set TEST_DB_HOST/TEST_DB_PORT/TEST_DB_USER/TEST_DB_PASSWORD"
    )


class PrivateServer:
    user = "evpipe_admin"
    password = "test-admin-pw"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="evpipe-mysqld-"))
        self.datadir = self.root / "data"
        self.socket = self.root / "mysqld.sock"
        self.tmpdir = self.root / "tmp"
        self.tmpdir.mkdir()
        self.port = _free_port()
        self.host = "127.0.0.1"
        self.proc: subprocess.Popen[bytes] | None = None
        self.mysqld = _find("mariadbd", "mysqld")
        self.client = _find("mariadb", "mysql")

    def _args(self) -> list[str]:
        args = [
            self.mysqld,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--port={self.port}",
            f"--tmpdir={self.tmpdir}",  # parallel servers must not share (and wipe) /tmp files
            "--bind-address=127.0.0.1",
            "--local-infile=1",
            "--innodb-buffer-pool-size=256M",
            "--innodb-log-file-size=256M",
            "--innodb-flush-log-at-trx-commit=2",
            "--max-allowed-packet=64M",
            "--skip-name-resolve",
            f"--log-error={self.root / 'error.log'}",
            f"--pid-file={self.root / 'mysqld.pid'}",
        ]
        if os.geteuid() == 0:
            args.append("--user=root")
        return args

    def install(self) -> None:
        install = _find("mariadb-install-db", "mysql_install_db")
        cmd = [
            install,
            "--no-defaults",
            f"--datadir={self.datadir}",
            # the bootstrap server deletes every #sql* file in its tmpdir: left at /tmp it
            # wipes the on-disk temporary tables of any other server using /tmp
            f"--tmpdir={self.tmpdir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if os.geteuid() == 0:
            cmd.append("--user=root")
        subprocess.run(cmd, check=True, capture_output=True)

    def start(self, timeout: float = 60) -> None:
        self.proc = subprocess.Popen(
            self._args(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mysqld exited: {(self.root / 'error.log').read_text()[-2000:]}"
                )
            ok = subprocess.run(
                [
                    self.client,
                    "--no-defaults",
                    f"--socket={self.socket}",
                    "-uroot",
                    "-e",
                    "SELECT 1",
                ],
                capture_output=True,
            )
            if ok.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("mysqld did not start in time")

    def bootstrap(self) -> None:
        self.sql(
            f"CREATE USER IF NOT EXISTS '{self.user}'@'%' IDENTIFIED BY '{self.password}';"
            f"GRANT ALL ON *.* TO '{self.user}'@'%' WITH GRANT OPTION; FLUSH PRIVILEGES;"
        )

    def sql(self, statements: str) -> str:
        out = subprocess.run(
            [
                self.client,
                "--no-defaults",
                f"--socket={self.socket}",
                "-uroot",
                "-N",
                "-e",
                statements,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @classmethod
    def launch(cls) -> PrivateServer:
        server = cls()
        server.install()
        server.start()
        server.bootstrap()
        return server
