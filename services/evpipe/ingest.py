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
from evpipe.detect import Detected, detect_profile
from evpipe.dimensions import Dimensions
from evpipe.errors import FileRefused
from evpipe.load import discard, load_csv, quarantine, write_chunk_csv
from evpipe.parse import ParsedChunk, parse_chunk
from evpipe.prefetch import prefetch
from evpipe.profile import HeaderMatch
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
from evpipe.validate import ValidChunk, field_texts, validate

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
    profile: str | None = None

    @classmethod
    def get(cls, conn: Connection, label: str) -> Manifest | None:
        rows = query(
            conn,
            "SELECT file_path, content_sha256, bytes_consumed, lines_consumed, rows_consumed, "
            "file_size, file_mtime_ns, date_format, status, profile FROM ingested_files "
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
    profile: str | None = None,
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO ingested_files (file_path, content_sha256, bytes_consumed, "
            "lines_consumed, rows_consumed, file_size, file_mtime_ns, date_format, profile, "
            "status, "
            "message, first_run_id, last_run_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON DUPLICATE KEY UPDATE content_sha256 = VALUES(content_sha256), "
            "bytes_consumed = VALUES(bytes_consumed), lines_consumed = VALUES(lines_consumed), "
            "rows_consumed = VALUES(rows_consumed), file_size = VALUES(file_size), "
            "file_mtime_ns = VALUES(file_mtime_ns), date_format = VALUES(date_format), "
            "profile = COALESCE(VALUES(profile), profile), "
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
                profile,
                status,
                (message or "")[:1000] or None,
                run.run_id,
                run.run_id,
            ),
        )


@dataclass(frozen=True)
class Options:
    """How files are read: a forced profile (else detected per file), the date layout of
    detected-format timestamps, the zone of rows nothing else places, chunk size, settling;
    and where sessions get their dimension codes."""

    dimensions: Dimensions
    profile: str | None = None
    date_format: str = "auto"
    default_zone: str | None = None
    chunk_bytes: int = 8 << 20
    settle_s: float = 10.0


def ingest(
    conn: Connection,
    run: Run,
    input_dir: Path,
    options: Options,
    progress: Progress | None = None,
) -> None:
    """Load every file; problems with single files are recorded in run.problems, not raised."""
    progress = progress or Progress(enabled=False)
    files, refused = discover(input_dir)
    run.counts["files_seen"] = len(files) + len(refused)
    for r in refused:
        _refuse(run, f"{r.label}: {r.reason}")
    for f in files:
        try:
            _ingest_file(conn, run, f, options, progress)
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
    conn: Connection, run: Run, f: InputFile, options: Options, progress: Progress
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
            profile=resume.profile,
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
    _load_file(conn, run, f, options, progress, resume, pre)


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
    detected: Detected,
    kind: str | None,
    run: Run,
    options: Options,
    *,
    start_offset: int,
    start_line: int,
    hasher: hashlib._Hash,
    hold: bool,
) -> Iterator[_Prepared]:
    match = detected.match
    for chunk in chunks(
        stream,
        start_offset=start_offset,
        start_line=start_line,
        hasher=hasher,
        target_bytes=options.chunk_bytes,
        label=f.label,
        hold_unterminated=hold,
    ):
        with run.stage("parse"):
            parsed = parse_chunk(
                chunk.data, len(detected.header), chunk.first_line, match.delimiter
            )
            if kind is None and parsed.table.num_rows:
                kind = detect_date_kind(parsed, match, f.label)
        with run.stage("validate"):
            valid = validate(parsed, match, kind or "iso", options.default_zone)
            if valid.table.num_rows:
                codes = options.dimensions.codes(valid.table)
                valid.table = valid.table.append_column("dim_id", codes)
            path = write_chunk_csv(valid.table)
        yield _Prepared(chunk, valid, parsed.table.num_rows + len(parsed.bad), kind, path)


def detect_date_kind(parsed: ParsedChunk, match: HeaderMatch, label: str) -> str | None:
    """The layout (iso / dayfirst / monthfirst) of the fields whose layout is detected per
    file, from every value of the file's first chunk; None when no field needs it."""
    specs = [s for s in match.profile.fields if s.kind == "timestamp" and "auto" in s.families]
    if not specs:
        return None
    texts = field_texts(parsed, match)
    stamps = [texts[s.name][0] for s in specs if s.name in texts]
    if not stamps:
        return None
    detection = dates.detect(pa.concat_arrays(stamps), label)
    log.info("%s: timestamps are %s (%s)", label, detection.kind, detection.reason)
    return detection.kind


def _load_file(
    conn: Connection,
    run: Run,
    f: InputFile,
    options: Options,
    progress: Progress,
    resume: Manifest | None,
    pre: PrePass,
) -> None:
    hasher = hashlib.sha256()
    length = pre.length
    with open_stream(f) as stream:
        header_raw = read_header(stream, f.label)
        hasher.update(header_raw)
        detected = detect_profile(header_raw, f.label, options.profile)
        profile = detected.profile
        log.info("%s: profile %s (%d known columns)", f.label, profile.name, detected.match.found)
        offset, line, rows_done = len(header_raw), 2, 0
        kind = None if options.date_format == "auto" else options.date_format
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
        hold = time.time() - f.mtime_ns / 1e9 < options.settle_s
        prepared = prefetch(
            _prepare(
                stream,
                f,
                detected,
                kind,
                run,
                options,
                start_offset=offset,
                start_line=line,
                hasher=hasher,
                hold=hold,
            ),
            drop=lambda item: discard(item.csv_path),
        )
        for item in prepared:
            chunk, valid = item.chunk, item.valid
            kind = item.date_kind
            with run.stage("load"), run.transaction(conn):
                try:
                    inserted = load_csv(conn, item.csv_path, f.label, run.run_id, profile)
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
                    profile=profile.name,
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
                profile=profile.name,
            )
            run.counts["files_loaded"] += 1
        task.finish()
        log.info(
            "%s: loaded %d new sessions", f.label, run.counts["rows_inserted"] - inserted_before
        )


def _py(value: Any) -> Any:
    return value.astype("datetime64[s]").item()
