"""One typed settings object, read from the environment (and an optional .env file)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evpipe.errors import ConfigError

DATE_FORMAT_CHOICES = ("auto", "iso", "dayfirst", "monthfirst")
RUN_LOCK_CHOICES = ("named", "table")
# A chunk of N CSV bytes writes more than N bytes to the engine: the row itself, its entries in
# raw_data's primary and unique keys, quarantined rows, the manifest and run-record updates, and
# an engine counts all of them against its limit (TiDB each key-value pair, Galera and Group
# Replication the full row images of the write set). Three times the CSV size covers that with
# room to spare, so EVPIPE_TXN_MAX_BYTES caps chunks at a third of itself.
TXN_OVERHEAD_FACTOR = 3
TXN_MAX_BYTES_MIN = 1 << 20  # below this a chunk holds a few thousand rows: commits dominate


def load_dotenv_file(path: Path = Path(".env")) -> None:
    """Let a local .env supply variables that the real environment does not set."""
    if not path.is_file():
        return
    from dotenv import load_dotenv

    load_dotenv(path, override=False)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_profile(raw: str, name: str) -> str | None:
    """A profile name that exists, or None for 'detect per file'."""
    from evpipe.profile import profile_names

    value = raw.strip()
    if not value or value == "auto":
        return None
    if value not in profile_names():
        raise ConfigError(
            f"{name} must be one of {', '.join(profile_names())} (or auto), got {value!r}"
        )
    return value


def check_timezone(raw: str, name: str) -> str | None:
    """An IANA time zone such as Europe/Berlin, or None."""
    from evpipe.zones import check_zone

    value = raw.strip()
    if not value:
        return None
    if not check_zone(value):
        raise ConfigError(f"{name} must be an IANA time zone such as Europe/Berlin, got {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_password: str = field(repr=False)
    input_dir: Path = Path("data/incoming")
    date_format: str = "auto"
    chunk_rows: int = 50_000
    lock_timeout_s: int = 600
    connect_timeout_s: int = 60
    settle_s: int = 10
    chunk_bytes_override: int = 0  # EVPIPE_CHUNK_BYTES, for tests that want many small commits
    profile: str | None = None  # EVPIPE_PROFILE: read every file with this profile
    timezone: str | None = None  # EVPIPE_TIMEZONE: zone of local times no profile or row places
    run_lock: str = "named"  # EVPIPE_RUN_LOCK: GET_LOCK, or a lease row in run_locks
    run_lock_lease_s: int = 60  # EVPIPE_RUN_LOCK_LEASE: how long a table lease lasts unrenewed
    txn_max_bytes: int = 0  # EVPIPE_TXN_MAX_BYTES: cap on what one ingest transaction writes

    @property
    def chunk_bytes(self) -> int:
        """Bytes per chunk: rows of this format are about 160 bytes. EVPIPE_TXN_MAX_BYTES caps
        it (EVPIPE_CHUNK_BYTES included): an engine's transaction size limit is a hard error."""
        wanted = self.chunk_bytes_override or max(self.chunk_rows * 160, 1 << 16)
        if self.txn_max_bytes:
            return min(wanted, self.txn_max_bytes // TXN_OVERHEAD_FACTOR)
        return wanted

    @property
    def where(self) -> str:
        """Host, port and schema for messages; never the password."""
        return f"{self.db_user}@{self.db_host}:{self.db_port}/{self.db_name}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        missing = [n for n in ("DB_HOST", "DB_NAME", "DB_USER") if not env.get(n, "").strip()]
        if missing:
            raise ConfigError(
                f"missing configuration: {', '.join(missing)} "
                "(set them in the environment or in .env; see .env.example)"
            )
        if "DB_PASSWORD" not in env:
            raise ConfigError(
                "missing configuration: DB_PASSWORD (it may be empty, but must be set)"
            )
        port = _int(env, "DB_PORT", 3306, minimum=1)
        if port > 65535:
            raise ConfigError(f"DB_PORT must be a TCP port (1-65535), got {port}")
        date_format = env.get("EVPIPE_DATE_FORMAT", "auto").strip().lower() or "auto"
        if date_format not in DATE_FORMAT_CHOICES:
            raise ConfigError(
                f"EVPIPE_DATE_FORMAT must be one of {', '.join(DATE_FORMAT_CHOICES)}, "
                f"got {date_format!r}"
            )
        run_lock = env.get("EVPIPE_RUN_LOCK", "").strip().lower() or "named"
        if run_lock not in RUN_LOCK_CHOICES:
            raise ConfigError(
                f"EVPIPE_RUN_LOCK must be named or table, got {env['EVPIPE_RUN_LOCK']!r}"
            )
        return cls(
            profile=check_profile(env.get("EVPIPE_PROFILE", ""), "EVPIPE_PROFILE"),
            timezone=check_timezone(env.get("EVPIPE_TIMEZONE", ""), "EVPIPE_TIMEZONE"),
            db_host=env["DB_HOST"].strip(),
            db_port=port,
            db_name=env["DB_NAME"].strip(),
            db_user=env["DB_USER"].strip(),
            db_password=env["DB_PASSWORD"],
            input_dir=Path(env.get("EVPIPE_INPUT_DIR", "").strip() or "data/incoming"),
            date_format=date_format,
            chunk_rows=_int(env, "EVPIPE_CHUNK_ROWS", 50_000, minimum=1),
            lock_timeout_s=_int(env, "EVPIPE_LOCK_TIMEOUT", 600),
            connect_timeout_s=_int(env, "EVPIPE_CONNECT_TIMEOUT", 60),
            settle_s=_int(env, "EVPIPE_SETTLE_SECONDS", 10),
            chunk_bytes_override=_int(env, "EVPIPE_CHUNK_BYTES", 0),
            run_lock=run_lock,
            # renewed every lease/3 s: below 3 s that is more often than once a second
            run_lock_lease_s=_int(env, "EVPIPE_RUN_LOCK_LEASE", 60, minimum=3),
            txn_max_bytes=_txn_max_bytes(env),
        )


def _txn_max_bytes(env: Mapping[str, str]) -> int:
    value = _int(env, "EVPIPE_TXN_MAX_BYTES", 0)
    if 0 < value < TXN_MAX_BYTES_MIN:
        raise ConfigError(
            f"EVPIPE_TXN_MAX_BYTES must be 0 (no cap) or at least {TXN_MAX_BYTES_MIN} (1 MiB), "
            f"got {value}"
        )
    return value
