"""HTML pieces for the report: tables from frames and key/value maps, a small Markdown converter (headings,
pipe tables, paragraphs, `code` and **bold**), PNGs as data URIs. Every piece of text is HTML-escaped."""

import base64
import html
import re
from collections.abc import Mapping, Sequence
from itertools import groupby
from pathlib import Path

import numpy as np
import pandas as pd

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
TABLE_RULE = re.compile(r"^:?-+:?$")  # a cell of the line under a pipe table's header
NUM = ' class="num"'


def embed_png(path: Path) -> str:
    """The PNG at ``path`` as a ``data:image/png;base64,...`` URI, raising if the file is not a PNG."""
    data = Path(path).read_bytes()
    if not data.startswith(PNG_MAGIC):
        raise ValueError(f"{path} is not a PNG file (its first bytes are {data[:8]!r})")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def markdown_to_html(text: str, shift: int = 0) -> str:
    """HTML for simple Markdown: headings (``#`` is ``h1``, pushed ``shift`` levels down, at most ``h6``),
    pipe tables (a ``---:`` rule right-aligns its column; ``\\|`` is a literal bar), paragraphs, ``code`` spans
    and ``**bold**``. Everything else is escaped and shown as text."""
    out = []
    for kind, group in groupby((line.strip() for line in text.splitlines()), key=_line_kind):
        lines = list(group)
        if kind == "heading":
            out.extend(_heading(line, shift) for line in lines)
        elif kind == "table":
            out.append(_pipe_table(lines))
        elif kind == "text":
            out.append(f"<p>{' '.join(map(_inline, lines))}</p>")
    return "\n".join(out)


def _line_kind(line: str) -> str:
    if not line:
        return "blank"
    if HEADING.match(line):
        return "heading"
    return "table" if line.startswith("|") else "text"


def _heading(line: str, shift: int) -> str:
    marks, text = HEADING.match(line).groups()
    level = min(6, len(marks) + shift)
    return f"<h{level}>{_inline(text)}</h{level}>"


def _inline(text: str) -> str:
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def _cells(line: str) -> list[str]:
    """The cells of one pipe-table row, outer bars dropped, ``\\|`` kept as a bar inside a cell."""
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)]


def _pipe_table(lines: list[str]) -> str:
    rows = [_cells(line) for line in lines]
    ruled = len(rows) > 1 and all(TABLE_RULE.match(cell) for cell in rows[1])
    right = [cell.endswith(":") for cell in rows[1]] if ruled else [False] * len(rows[0])
    header, body = (rows[0], rows[2:]) if ruled else (None, rows)
    escaped = [[_inline(cell) for cell in row] for row in body]
    return html_table(None if header is None else [_inline(c) for c in header], escaped, right)


def html_table(
    header: Sequence[str] | None, rows: Sequence[Sequence[str]], numeric: Sequence[bool], row_classes=None
) -> str:
    """A <table> of cells given as already-escaped HTML; ``numeric`` (one per column) right-aligns a column;
    ``row_classes`` (one per row, "" for none) sets each body row's class."""
    numeric = list(numeric) + [False] * max(0, max(map(len, rows), default=0) - len(numeric))

    def cells(tag: str, row: Sequence[str]) -> str:
        return "".join(f"<{tag}{NUM if numeric[j] else ''}>{c}</{tag}>" for j, c in enumerate(row))

    head = "" if header is None else f"<thead><tr>{cells('th', header)}</tr></thead>"
    classes = row_classes or [""] * len(rows)
    body = "".join(f"<tr{css_class(k)}>{cells('td', r)}</tr>" for r, k in zip(rows, classes, strict=True))
    return f"<table>{head}<tbody>{body}</tbody></table>"


def css_class(name: str) -> str:
    return f' class="{name}"' if name else ""


def format_value(value) -> str:
    """Escaped display text: floats with 4 decimals, whole numbers as they are, booleans yes/no, missing "–"."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return "–" if not np.isfinite(value) else f"{value:.4f}"
    return html.escape(str(value))


def frame_table(frame: pd.DataFrame, row_classes=None) -> str:
    """``frame`` as an HTML table: its columns as the header, numeric columns right-aligned."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in frame]
    rows = [[format_value(v) for v in row] for row in frame.itertuples(index=False)]
    return html_table([html.escape(str(c)) for c in frame.columns], rows, numeric, row_classes)


def key_value_table(values: Mapping[str, object], numbers: bool = True) -> str:
    """A two-column table: each key, then its value (right-aligned when ``numbers``; a whole float as an int)."""
    whole = {k: isinstance(v, float | np.floating) and float(v).is_integer() for k, v in values.items()}
    rows = [[html.escape(str(k)), format_value(int(v) if whole[k] else v)] for k, v in values.items()]
    return html_table(None, rows, [False, numbers]).replace("<table>", '<table class="kv">', 1)
