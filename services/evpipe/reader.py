"""Byte-level access to input files: discovery, integrity pre-pass, header, record-aligned chunks.

Offsets and hashes are over the decoded byte stream (a .csv.gz is decompressed first), so a file
that grows can be resumed from the byte after the last committed record.
"""

from __future__ import annotations

import gzip
import hashlib
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from evpipe.errors import FileRefused

BLOCK = 1 << 20
MAX_RECORD_BYTES = 64 << 20  # a record longer than this means broken quoting, not data
BOM = b"\xef\xbb\xbf"
SUFFIXES = (".csv", ".csv.gz")


@dataclass(frozen=True)
class InputFile:
    path: Path
    label: str  # path relative to the input folder: the file's identity in the manifest
    size: int
    mtime_ns: int

    @property
    def compressed(self) -> bool:
        return self.path.name.lower().endswith(".gz")


@dataclass(frozen=True)
class Chunk:
    data: bytes  # whole records, header excluded
    first_line: int  # physical line number of the first record (the header is line 1)
    lines: int  # physical lines in data
    end_offset: int  # stream offset just after this chunk
    prefix_sha256: str  # hash of stream[0:end_offset]


@dataclass(frozen=True)
class Refusal:
    label: str
    reason: str


def discover(input_dir: Path) -> tuple[list[InputFile], list[Refusal]]:
    """CSV files directly in input_dir, by name; symlinks must stay inside the folder."""
    if not input_dir.is_dir():
        raise FileRefused(f"{input_dir}: input folder does not exist")
    root = input_dir.resolve()
    files, refused = [], []
    for entry in sorted(input_dir.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith(".") or not name.lower().endswith(SUFFIXES):
            continue
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
            # undecodable bytes (surrogate escapes) cannot be stored as the file's label, and a
            # control character would break the one-line messages; refuse the file, not the run
            shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            refused.append(Refusal(repr(shown)[1:-1], "name is not printable UTF-8; rename it"))
            continue
        if entry.is_symlink():
            target = entry.resolve()
            if not target.is_relative_to(root):
                refused.append(Refusal(name, "symlink points outside the input folder; not read"))
                continue
        if not entry.is_file():
            continue
        st = entry.stat()
        files.append(InputFile(entry, name, st.st_size, st.st_mtime_ns))
    return files, refused


def open_stream(f: InputFile) -> BinaryIO:
    if f.compressed:
        return gzip.open(f.path, "rb")  # type: ignore[return-value]
    return open(f.path, "rb")


@dataclass(frozen=True)
class PrePass:
    sha256: str  # of the whole decoded stream
    length: int
    prefix_matches: bool  # the first `expected_prefix` bytes hash to the expected value
    prefix_hasher: Any = None  # state after the prefix, so a resumed read need not hash it again


def prepass(f: InputFile, expected_prefix: tuple[int, str] | None = None) -> PrePass:
    """One streaming read before anything is loaded: hash, gzip integrity, binary content and
    quote balance, so that a file is refused before any of its rows is committed."""
    whole = hashlib.sha256()
    prefix = hashlib.sha256() if expected_prefix else None
    prefix_len = expected_prefix[0] if expected_prefix else 0
    pos = 0
    quotes = 0
    try:
        with open_stream(f) as stream:
            while block := stream.read(BLOCK):
                if pos == 0:
                    head = block[:8192]
                    if b"\x00" in head:
                        raise FileRefused(
                            f"{f.label}: binary content (NUL bytes); not a CSV text file"
                        )
                whole.update(block)
                if prefix is not None and pos < prefix_len:
                    prefix.update(block[: prefix_len - pos])
                quotes += block.count(b'"')
                pos += len(block)
    except (OSError, EOFError, zlib.error) as err:
        raise FileRefused(f"{f.label}: cannot read: {err}") from None
    if pos == 0:
        raise FileRefused(f"{f.label}: empty file (no header line)")
    if quotes % 2:
        raise FileRefused(f"{f.label}: unbalanced double quotes; the CSV quoting is broken")
    matches = bool(
        expected_prefix
        and pos >= prefix_len
        and prefix is not None
        and prefix.hexdigest() == expected_prefix[1]
    )
    return PrePass(whole.hexdigest(), pos, matches, prefix if matches else None)


def _record_end(data: bytes, start: int = 0) -> int:
    """Offset just after the last newline that ends a record (outside quotes); 0 if none."""
    cut = data.rfind(b"\n") + 1
    while cut > start and data.count(b'"', start, cut) % 2:
        cut = data.rfind(b"\n", start, cut - 1) + 1
    return cut if cut > start else 0


def read_header(stream: BinaryIO, label: str) -> bytes:
    """The header record's raw bytes, including its newline."""
    data = b""
    while True:
        more = stream.readline(MAX_RECORD_BYTES + 1 - len(data))  # bounded: no newline, no OOM
        data += more
        if len(data) > MAX_RECORD_BYTES:
            raise FileRefused(f"{label}: line 1: header is not a CSV record")
        if not more.endswith(b"\n") or data.count(b'"') % 2 == 0:
            break
    if not data.strip(BOM + b"\r\n\t "):
        raise FileRefused(f"{label}: line 1: empty header")
    if b"\r" in data.rstrip(b"\r\n"):
        # otherwise the whole file would be taken for its header and load as "0 rows"
        raise FileRefused(
            f"{label}: line 1: lines end with CR only (classic Mac CSV); "
            "re-save it with LF or CRLF line ends"
        )
    return data


def chunks(
    stream: BinaryIO,
    *,
    start_offset: int,
    start_line: int,
    hasher: hashlib._Hash,
    target_bytes: int,
    label: str,
    hold_unterminated: bool = False,
) -> Iterator[Chunk]:
    """Record-aligned chunks of about target_bytes; the hasher has seen stream[0:start_offset].

    hold_unterminated: leave a last line without a newline unread (the file may still be being
    written); it is read once the file has settled or grown."""
    offset, line, carry = start_offset, start_line, b""
    while True:
        block = stream.read(target_bytes)
        if not block:
            if carry and not hold_unterminated:  # a last record without a final newline
                hasher.update(carry)
                offset += len(carry)
                yield Chunk(carry, line, carry.count(b"\n") + 1, offset, hasher.copy().hexdigest())
            break
        data = carry + block
        cut = _record_end(data)
        if cut == 0:
            if len(data) > MAX_RECORD_BYTES:
                raise FileRefused(
                    f"{label}: line {line}: record longer than {MAX_RECORD_BYTES} bytes"
                )
            carry = data
            continue
        piece, carry = data[:cut], data[cut:]
        hasher.update(piece)
        offset += len(piece)
        n = piece.count(b"\n")
        yield Chunk(piece, line, n, offset, hasher.copy().hexdigest())
        line += n
