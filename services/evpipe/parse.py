"""Bytes of whole CSV records -> a table of strings with the physical line of each record.

The fast path is Arrow's multi-threaded CSV reader. A chunk with anything unusual (a row with the
wrong number of fields, blank lines, newlines inside quoted fields) is re-read with Python's csv
module, which knows each record's line number exactly; such chunks are rare and small.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv


@dataclass
class BadRecord:
    line: int
    fields: list[str]
    reason: str


@dataclass
class ParsedChunk:
    table: pa.Table  # one string column per header field, named "0".."n-1"
    lines: np.ndarray  # int64, physical line of each row
    bad: list[BadRecord] = field(default_factory=list)
    latin1: bool = False  # the bytes were not UTF-8 and were read as Latin-1
    delimiter: str = ","


def decode_check(data: bytes) -> tuple[bytes, bool]:
    """UTF-8 as is; anything else is read as Latin-1 (every byte is a character there)."""
    try:
        data.decode("utf-8")
        return data, False
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8"), True


def parse_chunk(data: bytes, ncols: int, first_line: int, delimiter: str = ",") -> ParsedChunk:
    data, latin1 = decode_check(data)
    names = [str(i) for i in range(ncols)]
    invalid = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        table = None
    lines_in_chunk = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if table is not None and not invalid and table.num_rows == lines_in_chunk:
        lines = np.arange(first_line, first_line + table.num_rows, dtype=np.int64)
        return ParsedChunk(table, lines, latin1=latin1, delimiter=delimiter)
    return _parse_slow(data, ncols, first_line, latin1, delimiter)


def _parse_slow(
    data: bytes, ncols: int, first_line: int, latin1: bool, delimiter: str
) -> ParsedChunk:
    text = data.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), strict=False, delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    bad: list[BadRecord] = []
    prev_end = 0  # reader.line_num after the previous record
    for record in reader:
        start = first_line + prev_end
        prev_end = reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # blank line
        if len(record) != ncols:
            bad.append(BadRecord(start, record, f"{len(record)} fields, header has {ncols}"))
            continue
        rows.append(record)
        lines.append(start)
    columns = [pa.array([r[i] for r in rows], type=pa.string()) for i in range(ncols)]
    table = pa.table(columns, names=[str(i) for i in range(ncols)])
    return ParsedChunk(table, np.asarray(lines, dtype=np.int64), bad, latin1, delimiter)


def parse_header(raw: bytes, delimiter: str = ",") -> list[str]:
    data, _ = decode_check(raw.removeprefix(b"\xef\xbb\xbf"))
    text = data.decode("utf-8")
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def sniff_delimiter(raw: bytes) -> str:
    """The delimiter of a header line: whichever of , ; tab | splits it into most fields
    (outside quotes); ',' when none appears."""
    text = decode_check(raw.removeprefix(b"\xef\xbb\xbf"))[0].decode("utf-8")
    best, fields = ",", 1
    for candidate in (",", ";", "\t", "|"):
        n = len(next(csv.reader(io.StringIO(text, newline=""), delimiter=candidate), []))
        if n > fields:
            best, fields = candidate, n
    return best


def format_record(fields: list[str], delimiter: str = ",") -> str:
    """A record as CSV text (in the file's delimiter), for the quarantine's raw_line."""
    out = io.StringIO()
    csv.writer(out, lineterminator="", delimiter=delimiter).writerow(fields)
    return out.getvalue()
