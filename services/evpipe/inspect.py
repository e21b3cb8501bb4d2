"""`evpipe inspect FILE` and `evpipe profiles`: what evpipe would do with a file, without a
database and without loading anything."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evpipe import dates
from evpipe.detect import Detected, detect_profile
from evpipe.errors import FileRefused
from evpipe.ingest import detect_date_kind
from evpipe.parse import parse_chunk
from evpipe.profile import FIELD_KINDS, Profile, all_profiles
from evpipe.reader import BOM, InputFile, chunks, open_stream, read_header
from evpipe.validate import LOAD_COLUMNS, validate

# what `inspect` shows of a stored row (the key text and NULL-only columns are left out)
_SHOWN = tuple(c for c in LOAD_COLUMNS if c not in ("key_text", "plug_out_known"))


@dataclass
class Inspection:
    file: str
    encoding: str
    line_ends: str
    delimiter: str
    detected: Detected | None = None
    refusal: str | None = None
    date_kind: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[tuple[int, str, str]] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0


def _encoding(head: bytes) -> str:
    if head.startswith(BOM):
        return "UTF-8 with BOM"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "not UTF-8: read as Latin-1"
    return "UTF-8"


def inspect_file(
    path: Path,
    *,
    profile: str | None = None,
    date_format: str = "auto",
    zone: str | None = None,
    rows: int = 5,
) -> Inspection:
    st = path.stat()
    f = InputFile(path, path.name, st.st_size, st.st_mtime_ns)
    with open_stream(f) as stream:
        head = stream.read(1 << 16)
    crlf = b"\r\n" in head
    info = Inspection(
        file=str(path),
        encoding=_encoding(head),
        line_ends="CRLF" if crlf else "LF",
        delimiter="?",
    )
    try:
        with open_stream(f) as stream:
            header_raw = read_header(stream, f.label)
            detected = detect_profile(header_raw, f.label, profile)
            info.detected = detected
            info.delimiter = detected.match.delimiter
            for chunk in chunks(
                stream,
                start_offset=len(header_raw),
                start_line=2,
                hasher=_NoHash(),  # type: ignore[arg-type]
                target_bytes=1 << 20,
                label=f.label,
            ):
                parsed = parse_chunk(
                    chunk.data, len(detected.header), chunk.first_line, detected.match.delimiter
                )
                kind = None if date_format == "auto" else date_format
                kind = kind or detect_date_kind(parsed, detected.match, f.label)
                info.date_kind = kind
                valid = validate(parsed, detected.match, kind or "iso", zone)
                info.rows_read = parsed.table.num_rows + len(parsed.bad)
                info.rows = valid.table.slice(0, rows).to_pylist()
                info.rejections = [(r.line, r.rule, r.message) for r in valid.rejections[:rows]]
                info.warnings = dict(valid.warnings)
                break
    except FileRefused as err:
        info.refusal = str(err)
        if info.detected is None:
            info.delimiter = _sniffed(path)
    return info


class _NoHash:
    def update(self, _data: bytes) -> None:
        pass

    def copy(self) -> _NoHash:
        return self

    def hexdigest(self) -> str:
        return ""


def _sniffed(path: Path) -> str:
    from evpipe.parse import sniff_delimiter

    with path.open("rb") as fh:
        return sniff_delimiter(fh.readline(1 << 16))


def _show_delim(d: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(d, d)


def _value(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def to_text(info: Inspection) -> str:
    out = [
        f"file:      {info.file}",
        f"layout:    {info.encoding}, {info.line_ends} line ends, "
        f"{_show_delim(info.delimiter)}-separated",
    ]
    d = info.detected
    if d is not None:
        m = d.match
        out.append(f"profile:   {d.profile.name} ({d.profile.title}); {m.found} known columns")
        out.append("ranking:   " + "; ".join(
            f"{r.profile.name} {r.found}" + (f" (missing {', '.join(r.missing)})" if r.missing
                                              else "")
            for r in d.ranking
        ))  # fmt: skip
        stamp_formats = {
            s.name: ", ".join(s.formats) for s in d.profile.fields if s.kind == "timestamp"
        }
        if info.date_kind:
            stamp_formats = {
                k: (f"{info.date_kind} (e.g. {dates.EXAMPLES[info.date_kind]})"
                    if v == "auto" else v)
                for k, v in stamp_formats.items()
            }  # fmt: skip
        out.append("mapping:")
        for spec in d.profile.fields:
            if spec.value is not None:
                src = f"= {spec.value!r}"
            elif spec.derive:
                src = f"= {spec.derive}"
            elif spec.name in m.columns:
                src = " + ".join(repr(d.header[i]) for i in m.columns[spec.name])
            else:
                src = "(not in this file)"
            extra = f"  [{stamp_formats[spec.name]}]" if spec.name in stamp_formats else ""
            if spec.name in m.offsets:
                extra += f"  offset from {d.header[m.offsets[spec.name]]!r}"
            out.append(f"  {spec.name:<28} <- {src}{extra}")
        zone = d.profile.zone or "-"
        out.append(f"time zone: {zone}; session key: {d.profile.key_namespace or '(none)'} | "
                   + " | ".join(d.profile.key))  # fmt: skip
    if info.refusal:
        out.append(f"REFUSED:   {info.refusal}")
        return "\n".join(out)
    out.append(f"first chunk: {info.rows_read} rows read; first {len(info.rows)} as stored:")
    for i, row in enumerate(info.rows, 1):
        shown = {k: row[k] for k in _SHOWN if row.get(k) is not None}
        out.append(f"  row {i}:")
        out += [f"    {k:<30} {_value(v)}" for k, v in shown.items()]
    if info.rejections:
        out.append("quarantined (first ones):")
        out += [f"  line {line}: {rule}: {msg}" for line, rule, msg in info.rejections]
    if info.warnings:
        out.append("warnings: " + ", ".join(f"{k}={v}" for k, v in sorted(info.warnings.items())))
    return "\n".join(out)


def profiles_text(profiles: tuple[Profile, ...] | None = None) -> str:
    out = []
    for p in profiles or all_profiles():
        out.append(f"{p.name}: {p.title}")
        out.append(f"  from:     {p.origin}")
        out.append(f"  gives:    {p.gives}")
        out.append(f"  needs:    {', '.join(p.required_headers)}"
                   f" ({_show_delim(p.delimiter)}-separated, decimal {p.decimal})")  # fmt: skip
        out.append(f"  key:      {' + '.join(p.key)}; time zone: {p.zone or 'from the data'}")
    out.append(
        "Files are matched to a profile by their header; EVPIPE_PROFILE or --profile forces one."
    )
    return "\n".join(out)


__all__ = ["FIELD_KINDS", "Inspection", "inspect_file", "profiles_text", "to_text"]
