"""Ingest: every CSV in the input folder, each valid session exactly once, bad rows quarantined.

Per chunk, one transaction commits the rows, the quarantined rows, the file's progress in the
manifest and the run's counters together; a crash at any moment loses at most the chunk in
flight, and the next run resumes from the manifest.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from evpipe import dates
from evpipe.db import Connection, query
from evpipe.errors import FileRefused
from evpipe.load import discard, load_csv, quarantine, write_chunk_csv
from evpipe.parse import parse_chunk, parse_header
from evpipe.prefetch import prefetch
from evpipe.profile import Profile
from evpipe.progress import Progress
from evpipe.reader import (
    Chunk,
    InputFile,
    PrePass,
    chunks,
    discover,
    open_stream,
    prepass,
    read_header,
)
from evpipe.runs import Run, touch_dataset
from evpipe.validate import ValidChunk, validate

log = logging.getLogger(__name__)


@dataclass
class Manifest:
    file_path: str
    content_sha256: str
    bytes_consumed: int
    lines_consumed: int
    rows_consumed: int
    file_size: int
    file_mtime_ns: int
    date_format: str | None
    status: str

    @classmethod
    def get(cls, conn: Connection, label: str) -> Manifest | None:
        rows = query(
            conn,
            "SELECT file_path, content_sha256, bytes_consumed, lines_consumed, rows_consumed, "
            "file_size, file_mtime_ns, date_format, status FROM ingested_files "
            "WHERE file_path = %s",
            (label,),
        )
        return cls(*rows[0]) if rows else None


def save_manifest(
    conn: Connection,
    f: InputFile,
    run: Run,
    *,
    sha: str,
    consumed: int,
    lines: int,
    rows: int,
    date_format: str | None,
    status: str,
    message: str | None = None,
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO ingested_files (file_path, content_sha256, bytes_consumed, "
            "lines_consumed, rows_consumed, file_size, file_mtime_ns, date_format, profile, "
            "status, "
            "message, first_run_id, last_run_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, %s, %s, %s) "
            "ON DUPLICATE KEY UPDATE content_sha256 = VALUES(content_sha256), "
            "bytes_consumed = VALUES(bytes_consumed), lines_consumed = VALUES(lines_consumed), "
            "rows_consumed = VALUES(rows_consumed), file_size = VALUES(file_size), "
            "file_mtime_ns = VALUES(file_mtime_ns), date_format = VALUES(date_format), "
            "status = VALUES(status), message = VALUES(message), last_run_id = VALUES(last_run_id)",
            (
                f.label,
                sha,
                consumed,
                lines,
                rows,
                f.size,
                f.mtime_ns,
                date_format,
                status,
                (message or "")[:1000] or None,
                run.run_id,
                run.run_id,
            ),
        )


def ingest(
    conn: Connection,
    run: Run,
    input_dir: Path,
    profile: Profile,
    *,
    date_format: str = "auto",
    chunk_bytes: int = 8 << 20,
    progress: Progress | None = None,
    settle_s: float = 10.0,
) -> None:
    """Load every file; problems with single files are recorded in run.problems, not raised."""
    progress = progress or Progress(enabled=False)
    files, refused = discover(input_dir)
    run.counts["files_seen"] = len(files) + len(refused)
    for r in refused:
        _refuse(run, f"{r.label}: {r.reason}")
    for f in files:
        try:
            _ingest_file(conn, run, f, profile, date_format, chunk_bytes, progress, settle_s)
        except FileRefused as err:
            conn.rollback()
            _refuse(run, str(err))
            _record_refusal(conn, run, f, str(err))
        run.save(conn)
        conn.commit()


def _refuse(run: Run, message: str) -> None:
    log.error("file refused: %s", message)
    run.counts["files_failed"] += 1
    run.problems.append(message)


def _record_refusal(conn: Connection, run: Run, f: InputFile, message: str) -> None:
    old = Manifest.get(conn, f.label)
    if old and old.status in ("loaded", "loading"):
        return  # keep what was consumed: its rows are in raw_data
    save_manifest(
        conn,
        f,
        run,
        sha="",
        consumed=0,
        lines=0,
        rows=0,
        date_format=None,
        status="refused",
        message=message,
    )


def _ingest_file(
    conn: Connection,
    run: Run,
    f: InputFile,
    profile: Profile,
    date_format: str,
    chunk_bytes: int,
    progress: Progress,
    settle_s: float,
) -> None:
    old = Manifest.get(conn, f.label)
    if (
        old
        and old.status in ("loaded", "duplicate")
        and (old.file_size, old.file_mtime_ns)
        == (
            f.size,
            f.mtime_ns,
        )
    ):
        run.counts["files_skipped"] += 1
        log.info("%s: unchanged, skipped", f.label)
        return

    resume = old if old and old.status in ("loaded", "loading") and old.bytes_consumed else None
    with run.stage("prepass"):
        pre = prepass(f, (resume.bytes_consumed, resume.content_sha256) if resume else None)
    if resume and not pre.prefix_matches:
        log.warning(
            "%s: content changed since it was loaded; re-reading it all (reconciled by "
            "session key, stored sessions are not duplicated)",
            f.label,
        )
        resume = None
    if resume and pre.length == resume.bytes_consumed:
        save_manifest(
            conn,
            f,
            run,
            sha=resume.content_sha256,
            consumed=resume.bytes_consumed,
            lines=resume.lines_consumed,
            rows=resume.rows_consumed,
            date_format=resume.date_format,
            status="loaded",
        )
        run.counts["files_skipped"] += 1
        log.info("%s: no new data", f.label)
        return
    if not resume:
        twin = query(
            conn,
            "SELECT file_path FROM ingested_files WHERE content_sha256 = %s "
            "AND bytes_consumed = %s AND status = 'loaded' AND file_path <> %s LIMIT 1",
            (pre.sha256, pre.length, f.label),
        )
        if twin:
            save_manifest(
                conn,
                f,
                run,
                sha=pre.sha256,
                consumed=pre.length,
                lines=0,
                rows=0,
                date_format=None,
                status="duplicate",
                message=f"same content as {twin[0][0]}",
            )
            run.counts["files_skipped"] += 1
            log.info("%s: same content as %s, skipped", f.label, twin[0][0])
            return
    _load_file(conn, run, f, profile, date_format, chunk_bytes, progress, resume, pre, settle_s)


@dataclass
class _Prepared:
    """A chunk parsed, validated and written as a normalised CSV, ready for LOAD DATA."""

    chunk: Chunk
    valid: ValidChunk
    rows_read: int
    date_kind: str | None
    csv_path: str | None


def _prepare(
    stream: BinaryIO,
    f: InputFile,
    header: list[str],
    mapping: dict[str, int],
    profile: Profile,
    kind: str | None,
    run: Run,
    *,
    start_offset: int,
    start_line: int,
    hasher: hashlib._Hash,
    chunk_bytes: int,
    hold: bool,
) -> Iterator[_Prepared]:
    for chunk in chunks(
        stream,
        start_offset=start_offset,
        start_line=start_line,
        hasher=hasher,
        target_bytes=chunk_bytes,
        label=f.label,
        hold_unterminated=hold,
    ):
        with run.stage("parse"):
            parsed = parse_chunk(chunk.data, len(header), chunk.first_line)
            if kind is None and parsed.table.num_rows:
                stamps = pa.concat_arrays(
                    [
                        parsed.table.column(str(mapping[c])).combine_chunks()
                        for c in ("charging_start_time", "charging_end_time")
                    ]
                )
                detection = dates.detect(stamps, f.label)
                kind = detection.kind
                log.info("%s: timestamps are %s (%s)", f.label, kind, detection.reason)
        with run.stage("validate"):
            valid = validate(parsed, mapping, profile, kind or "iso")
            path = write_chunk_csv(valid.table)
        yield _Prepared(chunk, valid, parsed.table.num_rows + len(parsed.bad), kind, path)


def _load_file(
    conn: Connection,
    run: Run,
    f: InputFile,
    profile: Profile,
    date_format: str,
    chunk_bytes: int,
    progress: Progress,
    resume: Manifest | None,
    pre: PrePass,
    settle_s: float,
) -> None:
    hasher = hashlib.sha256()
    length = pre.length
    with open_stream(f) as stream:
        header_raw = read_header(stream, f.label)
        hasher.update(header_raw)
        header = parse_header(header_raw)
        mapping = profile.map_header(header, f.label)
        offset, line, rows_done = len(header_raw), 2, 0
        kind = None if date_format == "auto" else date_format
        if resume:
            stream.seek(resume.bytes_consumed)  # the pre-pass verified and hashed this prefix
            hasher = pre.prefix_hasher.copy()
            offset, line, rows_done = (
                resume.bytes_consumed,
                resume.lines_consumed + 1,
                resume.rows_consumed,
            )
            kind = resume.date_format or kind
            log.info(
                "%s: resuming after line %d (byte %d of %d)", f.label, line - 1, offset, length
            )
        sha, consumed, last_line = hasher.hexdigest(), offset, line - 1
        task = progress.task(f.label, total=length, done=offset)
        inserted_before = run.counts["rows_inserted"]
        # Parsing and validating the next chunk overlaps with the server loading this one.
        # A file modified moments ago may be mid-write: its unterminated last line waits.
        hold = time.time() - f.mtime_ns / 1e9 < settle_s
        prepared = prefetch(
            _prepare(
                stream,
                f,
                header,
                mapping,
                profile,
                kind,
                run,
                start_offset=offset,
                start_line=line,
                hasher=hasher,
                chunk_bytes=chunk_bytes,
                hold=hold,
            ),
            drop=lambda item: discard(item.csv_path),
        )
        for item in prepared:
            chunk, valid = item.chunk, item.valid
            kind = item.date_kind
            with run.stage("load"), run.transaction(conn):
                try:
                    inserted = load_csv(conn, item.csv_path, f.label, run.run_id)
                finally:
                    discard(item.csv_path)
                quarantined = quarantine(conn, valid.rejections, f.label, run.run_id)
                rows_done += item.rows_read
                run.counts["rows_read"] += item.rows_read
                run.counts["rows_inserted"] += inserted
                run.counts["rows_already_present"] += valid.table.num_rows - inserted
                run.counts["rows_quarantined"] += quarantined
                run.warnings.update(valid.warnings)
                last_line = chunk.first_line + chunk.lines - 1
                if valid.max_start is not None:
                    touch_dataset(conn, profile.dataset, run.run_id, _py(valid.max_start))
                save_manifest(
                    conn,
                    f,
                    run,
                    sha=chunk.prefix_sha256,
                    consumed=chunk.end_offset,
                    lines=last_line,
                    rows=rows_done,
                    date_format=kind,
                    status="loading",
                )
            sha, consumed = chunk.prefix_sha256, chunk.end_offset
            task.advance_to(chunk.end_offset)
            log.debug(
                "%s: +%d rows (%d quarantined) up to line %d",
                f.label,
                inserted,
                quarantined,
                last_line,
            )
        held = consumed < length
        if held:
            log.info(
                "%s: last line has no line end and the file changed %.0fs ago; it is read "
                "on a later run, once complete",
                f.label,
                time.time() - f.mtime_ns / 1e9,
            )
        with run.transaction(conn):
            save_manifest(
                conn,
                f,
                run,
                sha=sha,
                consumed=consumed,
                lines=last_line,
                rows=rows_done,
                date_format=kind,
                status="loading" if held else "loaded",
            )
            run.counts["files_loaded"] += 1
        task.finish()
        log.info(
            "%s: loaded %d new sessions", f.label, run.counts["rows_inserted"] - inserted_before
        )


def _py(value: Any) -> Any:
    return value.astype("datetime64[s]").item()
