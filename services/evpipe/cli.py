"""The `evpipe` command: ingest, transform, run, status, generate, report."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import mysql.connector

from evpipe import __version__
from evpipe.db import Connection, connect, describe_error, is_unreachable, run_lock
from evpipe.errors import DatabaseUnavailable, EvpipeError
from evpipe.settings import DATE_FORMAT_CHOICES, Settings, load_dotenv_file

log = logging.getLogger("evpipe")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evpipe",
        description="Load EV charging-session CSV exports into MySQL exactly once and build marts.",
    )
    p.add_argument("--version", action="version", version=f"evpipe {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_input(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--input",
            type=Path,
            help="folder of CSV exports (default: EVPIPE_INPUT_DIR or data/incoming)",
        )
        sp.add_argument(
            "--date-format",
            choices=DATE_FORMAT_CHOICES,
            help="timestamp layout of the files (default: EVPIPE_DATE_FORMAT or auto)",
        )
        sp.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
        with_profile(sp)

    def with_profile(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--profile",
            help="read every file with this export profile (default: EVPIPE_PROFILE, or "
            "detect per file from its header; `evpipe profiles` lists them)",
        )

    with_input(sub.add_parser("ingest", help="load new CSV rows into raw_data"))
    t = sub.add_parser("transform", help="rebuild rollups and marts with SQL")
    t.add_argument("--full", action="store_true", help="rebuild everything from raw_data")
    r = sub.add_parser("run", help="ingest, then transform (what the worker container runs)")
    with_input(r)
    s = sub.add_parser("status", help="recent runs, watermark, freshness, row counts")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--runs", type=int, default=5, help="how many recent runs to show")
    g = sub.add_parser("generate", help="write realistic sample sessions in the input format")
    g.add_argument("--rows", type=int, required=True)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--out", type=Path, required=True, help="output file (.csv or .csv.gz)")
    g.add_argument(
        "--flawed-share",
        type=float,
        default=0.01,
        help="share of deliberately flawed rows (default 0.01)",
    )
    g.add_argument("--append", action="store_true", help="append new, later sessions to --out")
    rep = sub.add_parser("report", help="render KPIs and the five classic charts to PNG files")
    rep.add_argument("--out", type=Path, default=Path("reports"), help="output folder")
    sub.add_parser("profiles", help="list the export formats evpipe reads")
    ins = sub.add_parser(
        "inspect", help="show which profile reads FILE and its first rows as stored (no loading)"
    )
    ins.add_argument("file", type=Path)
    ins.add_argument("--rows", type=int, default=5, help="rows to show (default 5)")
    ins.add_argument("--date-format", choices=DATE_FORMAT_CHOICES)
    with_profile(ins)
    return p


def _setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("mysql.connector").setLevel(logging.WARNING)


@contextlib.contextmanager
def _closing(conn: Connection) -> Iterator[Connection]:
    """Close on the way out: a connection left to die with the process is logged by the server
    as an aborted connection, after every worker run."""
    try:
        yield conn
    finally:
        with contextlib.suppress(mysql.connector.Error):
            conn.close()


def _open(settings: Settings) -> tuple[Connection, list[str]]:
    """A connection to an up-to-date schema, and the migrations this call applied."""
    from evpipe.schema import ensure_schema

    conn = connect(settings)
    return conn, ensure_schema(conn, settings=settings)


def _pipeline(settings: Settings, command: str, args: argparse.Namespace) -> int:
    from evpipe.dimensions import Dimensions
    from evpipe.ingest import Options, ingest
    from evpipe.progress import Progress
    from evpipe.runs import finish_run, start_run
    from evpipe.transform import run_transforms

    conn, migrated = _open(settings)
    with _closing(conn), run_lock(conn, settings) as lease:
        # every commit of the run's work checks first that the run lock is still ours (a table
        # lease can be lost); the failure record below goes on the plain connection
        work = lease.guard(conn)
        run = start_run(work, command, str(settings.input_dir) if command != "transform" else None)
        try:
            if command in ("ingest", "run"):
                log.info("run #%d: ingesting %s", run.run_id, settings.input_dir)
                progress = Progress(enabled=not getattr(args, "no_progress", False))
                dimensions = Dimensions(lambda: connect(settings))
                with run.stage("ingest"):
                    options = Options(
                        dimensions=dimensions,
                        profile=settings.profile,
                        date_format=settings.date_format,
                        default_zone=settings.timezone,
                        chunk_bytes=settings.chunk_bytes,
                        settle_s=settings.settle_s,
                    )
                    try:
                        ingest(work, run, settings.input_dir, options, progress)
                    finally:
                        dimensions.close()
            if command in ("transform", "run"):
                with run.stage("transform"):
                    # a migration may add tables that only a full rebuild fills
                    result = run_transforms(
                        work, full=getattr(args, "full", False) or bool(migrated)
                    )
                run.transform = result.record()
                result.log_steps()
                log.info("transform complete (%s)", result.mode)
        except BaseException as err:
            message = _message(err, settings)
            _record_failure(conn, settings, run, message)
            raise
        status = "partial" if run.problems else "success"
        finish_run(work, run, status, "; ".join(run.problems) or None)
    c, w = run.counts, run.warnings
    log.info(
        "run #%d %s: files %d seen, %d loaded, %d unchanged/duplicate, %d refused; rows %d read, "
        "%d inserted, %d already present, %d quarantined%s",
        run.run_id,
        status,
        c["files_seen"],
        c["files_loaded"],
        c["files_skipped"],
        c["files_failed"],
        c["rows_read"],
        c["rows_inserted"],
        c["rows_already_present"],
        c["rows_quarantined"],
        ("; warnings: " + ", ".join(f"{k}={v}" for k, v in sorted(w.items()))) if w else "",
    )
    if run.problems:
        raise EvpipeError(
            f"run #{run.run_id} partial: {len(run.problems)} file(s) refused: "
            + " | ".join(run.problems)
        )
    return 0


def _message(err: BaseException, settings: Settings) -> str:
    if isinstance(err, KeyboardInterrupt):
        return "interrupted"
    if isinstance(err, mysql.connector.Error):
        return describe_error(err, settings)
    return str(err) or type(err).__name__


def _record_failure(conn: Connection, settings: Settings, run: object, message: str) -> None:
    """Best effort: mark the run failed, on a fresh connection if the old one died."""
    from evpipe.runs import Run, finish_run

    assert isinstance(run, Run)
    for attempt in range(2):
        try:
            target = conn if attempt == 0 else connect(replace(settings, connect_timeout_s=5))
            finish_run(target, run, "failed", message)
            return
        except (mysql.connector.Error, EvpipeError):
            continue


def _status(settings: Settings, args: argparse.Namespace) -> int:
    from evpipe import status

    with _closing(_open(settings)[0]) as conn:
        info = status.collect(conn, limit=args.runs)
    print(status.to_json(info) if args.json else status.to_text(info))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from evpipe.generate import write_csv

    n = write_csv(
        args.out, args.rows, args.seed, flawed_share=args.flawed_share, append=args.append
    )
    log.info("wrote %d sessions to %s", n, args.out)
    return 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from evpipe.report import render_report

    for path in render_report(settings, args.out):
        print(path)
    return 0


def _inspect(args: argparse.Namespace) -> int:
    """No database: reads EVPIPE_PROFILE / EVPIPE_TIMEZONE / EVPIPE_DATE_FORMAT if set."""
    import os

    from evpipe.errors import ConfigError
    from evpipe.inspect import inspect_file, profiles_text, to_text
    from evpipe.settings import check_profile, check_timezone

    if args.command == "profiles":
        print(profiles_text())
        return 0
    load_dotenv_file()
    profile = check_profile(args.profile or os.environ.get("EVPIPE_PROFILE", ""), "--profile")
    zone = check_timezone(os.environ.get("EVPIPE_TIMEZONE", ""), "EVPIPE_TIMEZONE")
    date_format = args.date_format or os.environ.get("EVPIPE_DATE_FORMAT", "auto") or "auto"
    if date_format not in DATE_FORMAT_CHOICES:
        raise ConfigError(f"EVPIPE_DATE_FORMAT must be one of {', '.join(DATE_FORMAT_CHOICES)}")
    if not args.file.is_file():
        raise ConfigError(f"{args.file}: no such file")
    info = inspect_file(
        args.file, profile=profile, date_format=date_format, zone=zone, rows=args.rows
    )
    print(to_text(info))
    return 1 if info.refusal else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    settings: Settings | None = None
    try:
        if args.command == "generate":
            return _generate(args)
        if args.command in ("profiles", "inspect"):
            return _inspect(args)
        load_dotenv_file()
        settings = Settings.from_env()
        if getattr(args, "input", None):
            settings = replace(settings, input_dir=args.input)
        if getattr(args, "date_format", None):
            settings = replace(settings, date_format=args.date_format)
        if getattr(args, "profile", None):
            from evpipe.settings import check_profile

            settings = replace(settings, profile=check_profile(args.profile, "--profile"))
        if args.command == "status":
            return _status(settings, args)
        if args.command == "report":
            return _report(settings, args)
        return _pipeline(settings, args.command, args)
    except EvpipeError as err:
        print(f"evpipe: error: {err}", file=sys.stderr)
        return err.exit_code
    except mysql.connector.Error as err:
        text = describe_error(err, settings) if settings else str(err)
        if is_unreachable(err):
            text += " (connection lost; re-run when the database is back: nothing is loaded twice)"
        print(f"evpipe: error: {text}", file=sys.stderr)
        return DatabaseUnavailable.exit_code if is_unreachable(err) else 1
    except KeyboardInterrupt:
        print(
            "evpipe: interrupted; re-run to continue (committed chunks are kept)", file=sys.stderr
        )
        return 130
