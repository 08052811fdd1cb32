"""Reading one delimited file of a release into string columns, keeping every line accounted for.

Values stay text here; :mod:`recsys.data.ingest` turns them into numbers and decides which rows to keep.
Lines with the wrong number of fields are set aside (with their line number and text), never dropped.
What makes a whole file unreadable (missing, empty, wrong separator, text that is not in the file's
encoding, a missing column) raises :class:`DataFormatError` naming the file, line and column.
"""

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from recsys.data.releases import FileFormat

_UNIT_SEPARATOR = "\x1f"  # stands in for a multi-character delimiter such as "::"
_OTHER_SEPARATORS = (",", ";", "\t", "|", "::")


class DataFormatError(ValueError):
    """A file that cannot be read as a MovieLens release; names the file, line (1-based) and column."""

    def __init__(self, path: Path | str, line: int | None, column: str | None, problem: str):
        self.path, self.line, self.column, self.problem = Path(path), line, column, problem
        where = f"{self.path}"
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")


@dataclass
class RawTable:
    """One file's rows as text: ``table`` has our column names (plus any extra raw columns asked for)."""

    path: Path
    table: pa.Table
    lines: np.ndarray  # (N,) int64, the 1-based file line of each row
    encoding: str
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, text): wrong field count

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.malformed)

    def line_texts(self, lines: np.ndarray) -> list[str]:
        """The exact text of the given file lines (one pass over the file), in the order asked."""
        wanted = {int(n) for n in lines}
        if not wanted:
            return []
        found: dict[int, str] = {}
        with open(self.path, encoding=self.encoding, errors="replace", newline="") as f:
            for number, text in enumerate(f, start=1):
                if number in wanted:
                    found[number] = text.rstrip("\r\n")
                    if len(found) == len(wanted):
                        break
        return [found.get(int(n), "") for n in lines]


def read_text_table(
    path: Path, fmt: FileFormat, extra: tuple[str, ...] = (), types: dict[str, pa.DataType] | None = None
) -> RawTable:
    """Read ``path`` laid out as ``fmt``: the mapped columns (renamed to ours) and ``extra`` raw ones.

    With ``types`` (ours -> Arrow type), a clean file is parsed straight into those types on all cores;
    a file where any value does not convert, or any line has the wrong field count, is read again as text
    so that every bad row can be named. Empty numeric fields are null in the typed read.
    """
    if not path.exists():
        raise DataFormatError(path, None, None, f"required file {fmt.name} is missing")
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if not head.strip():
        raise DataFormatError(path, 1, None, "the file is empty")
    encoding = _choose_encoding(path, fmt)
    names = _column_names(path, head, fmt, encoding)
    wanted = [raw for raw in names if raw in fmt.columns or raw in extra]
    raw_types = {raw: types[ours] for raw, ours in fmt.columns.items() if types and ours in types}
    table, malformed = None, []
    if raw_types:
        try:
            table, malformed = _parse(path, fmt, encoding, names, wanted, raw_types, threads=True)
        except DataFormatError:
            table = None
    if table is None or malformed:
        table, malformed = _parse(path, fmt, encoding, names, wanted, {}, threads=True)
    if malformed:  # line numbers of bad rows are only known when parsing on one thread
        table, malformed = _parse(path, fmt, encoding, names, wanted, {}, threads=False)
    _check_not_all_malformed(path, fmt, table, malformed)
    if table.num_rows == 0:
        raise DataFormatError(path, fmt.first_data_line, None, "the file has no data rows")
    table = table.rename_columns([fmt.columns.get(c, c) for c in table.column_names])
    return RawTable(path, table, _row_lines(fmt, table.num_rows, malformed), encoding, malformed)


def _choose_encoding(path: Path, fmt: FileFormat) -> str:
    """The first of the format's encodings that decodes the file. A single encoding is checked while
    parsing (Arrow validates UTF-8), so large files are not decoded twice."""
    if len(fmt.encodings) == 1:
        return fmt.encodings[0]
    data = path.read_bytes()
    for encoding in fmt.encodings:
        try:
            data.decode(encoding)
            return encoding
        except UnicodeDecodeError as exc:
            if encoding == fmt.encodings[-1]:
                raise _decode_error(path, fmt, encoding, exc) from exc
    raise AssertionError("unreachable")


def _decode_error(path: Path, fmt: FileFormat, encoding: str, exc: UnicodeDecodeError) -> DataFormatError:
    data = path.read_bytes()
    line = data.count(b"\n", 0, exc.start) + 1
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    field_index = data[line_start : exc.start].count(fmt.delimiter.encode())
    names = fmt.all_columns or tuple(_header_fields(data.split(b"\n", 1)[0].decode(encoding, "replace"), fmt))
    column = names[field_index] if field_index < len(names) else None
    bad = data[exc.start : exc.end]
    return DataFormatError(path, line, column, f"byte {bad!r} is not valid {encoding} text")


def _locate_decode_error(path: Path, fmt: FileFormat, encoding: str) -> DataFormatError | None:
    try:
        path.read_bytes().decode(encoding)
    except UnicodeDecodeError as exc:
        return _decode_error(path, fmt, encoding, exc)
    return None


def _header_fields(first_line: str, fmt: FileFormat) -> list[str]:
    return [f.strip().strip('"') for f in first_line.lstrip("\ufeff").rstrip("\r\n").split(fmt.delimiter)]


def _column_names(path: Path, head: bytes, fmt: FileFormat, encoding: str) -> list[str]:
    if not fmt.header:
        return list(fmt.all_columns)
    try:
        header = _header_fields(head.split(b"\n", 1)[0].decode(encoding), fmt)
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, 1, None, f"the header is not {encoding} text") from exc
    missing = [raw for raw in fmt.columns if raw not in header]
    if missing:
        hint = ""
        if len(header) == 1:
            found = [s for s in _OTHER_SEPARATORS if s != fmt.delimiter and s in header[0]]
            hint = (
                f"; the header has one field: is the separator {found[0]!r} instead of {fmt.delimiter!r}?"
                if found
                else ""
            )
        raise DataFormatError(path, 1, missing[0], f"missing required column (the header has {header}){hint}")
    return header


def _parse(path, fmt, encoding, names, wanted, types, threads: bool) -> tuple[pa.Table, list[tuple[int, str]]]:
    """One Arrow CSV read: ``types`` for some raw columns, text for the rest; malformed lines set aside."""
    malformed: list[tuple[int, str]] = []

    def keep_aside(row) -> str:
        malformed.append((row.number, row.text))
        return "skip"

    delimiter, source = fmt.delimiter, path
    if len(delimiter) > 1:  # Arrow splits on one character: put a unit separator in its place
        source = io.BytesIO(path.read_bytes().replace(delimiter.encode(), _UNIT_SEPARATOR.encode()))
        delimiter = _UNIT_SEPARATOR
    read = pacsv.ReadOptions(
        use_threads=threads, encoding=encoding, column_names=None if fmt.header else names, block_size=1 << 24
    )
    parse = pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char='"' if fmt.quoted else False,
        ignore_empty_lines=False,
        invalid_row_handler=keep_aside,
    )
    convert = pacsv.ConvertOptions(
        column_types={c: types.get(c, pa.string()) for c in names},
        include_columns=wanted,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(source, read_options=read, parse_options=parse, convert_options=convert)
    except pa.ArrowKeyError as exc:  # the header as Arrow reads it lacks a column (a stray tab before "userId")
        raise DataFormatError(path, 1, None, f"the header line does not name the columns of {fmt.name}: {exc}") from exc
    except pa.ArrowInvalid as exc:
        # bytes not in the encoding: also when they sit on a malformed line, whose handler then cannot decode it
        located = _locate_decode_error(path, fmt, encoding)
        raise located or DataFormatError(path, None, None, f"cannot be parsed as {fmt.name}: {exc}") from exc
    return table, [(n if n is not None else -1, text) for n, text in malformed]


def _check_not_all_malformed(path: Path, fmt: FileFormat, table: pa.Table, malformed: list) -> None:
    """A file where most lines have the wrong field count is in another format, not dirty."""
    if malformed and len(malformed) >= max(1, table.num_rows):
        line, text = malformed[0]
        expected = len(fmt.all_columns) if not fmt.header else "the header's"
        raise DataFormatError(
            path,
            line,
            None,
            f"expected {expected} fields separated by {fmt.delimiter!r}, "
            f"got {text[:80]!r}: wrong separator or not a {fmt.name} file",
        )


def _row_lines(fmt: FileFormat, n_rows: int, malformed: list[tuple[int, str]]) -> np.ndarray:
    """File lines of the parsed rows: every line after the header but those set aside as malformed."""
    lines = np.arange(fmt.first_data_line, fmt.first_data_line + n_rows + len(malformed), dtype=np.int64)
    bad = np.array([n for n, _ in malformed], dtype=np.int64)
    return lines[~np.isin(lines, bad)] if len(bad) else lines
