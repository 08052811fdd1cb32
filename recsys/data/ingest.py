"""From a release's text files to clean, typed tables, with every rejected row kept and explained.

Row rules, in order (a row is quarantined for the first it breaks): wrong field count, blank line,
missing or non-integer ids, missing or non-numeric rating, rating outside the release's allowed set,
bad timestamp, movie absent from the movies table, and a repeated (user, movie) pair, of which the
latest by timestamp is kept. Nothing is dropped: rows read = rows kept + rows quarantined, checked.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recsys import columns as C
from recsys.data import io
from recsys.data.releases import NO_GENRES, Release
from recsys.data.schema import TIMESTAMP_MAX, TIMESTAMP_MIN

RATING_REASONS = (
    "malformed_line",
    "blank_line",
    "missing_user_id",
    "bad_user_id",
    "missing_movie_id",
    "bad_movie_id",
    "missing_rating",
    "rating_not_a_number",
    "rating_out_of_range",
    "bad_timestamp",
    "unknown_movie",
    "duplicate_pair",
)
MOVIE_REASONS = (
    "malformed_line",
    "blank_line",
    "missing_movie_id",
    "bad_movie_id",
    "missing_title",
    "duplicate_movie_id",
)
QUARANTINE_COLUMNS = ("table", "line", "reason", "raw")
RATING_TYPES = {C.USER_ID: pa.int64(), C.MOVIE_ID: pa.int64(), C.RATING: pa.float64(), C.TIMESTAMP: pa.int64()}
_INT = r"^[+-]?[0-9]+$"
_FLOAT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_YEAR = r"\((\d{4})\)\s*$"


class QuarantineLimitError(ValueError):
    """More rows were quarantined than the configured share allows; the message gives counts per reason."""


@dataclass
class Cleaned:
    """One table after the row rules: the rows kept (typed) and the rows quarantined (with reasons)."""

    table: str
    kept: pd.DataFrame
    kept_lines: np.ndarray  # (len(kept),) the file line of each kept row
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS
    rows_read: int

    def reason_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.quarantine["reason"].value_counts().items()}


@dataclass
class IngestResult:
    release: str
    layout: str
    rating_values: tuple[float, ...]
    files: list[Path]
    ratings: Cleaned
    movies: Cleaned

    def quarantine(self) -> pd.DataFrame:
        return pd.concat([self.ratings.quarantine, self.movies.quarantine], ignore_index=True)

    def report(self, fingerprint: str) -> dict:
        """Release, rows read, kept and quarantined per reason for each table, and the fingerprint."""
        tables = {
            c.table: {
                "rows_read": c.rows_read,
                "rows_kept": len(c.kept),
                "rows_quarantined": len(c.quarantine),
                "quarantined_by_reason": c.reason_counts(),
            }
            for c in (self.ratings, self.movies)
        }
        return {
            "release": self.release,
            "layout": self.layout,
            "files": [str(f) for f in self.files],
            "fingerprint": fingerprint,
            **tables,
        }


def ingest_release(folder: Path) -> IngestResult:
    """Detect the release in ``folder``, read both files and apply the row rules (movies first)."""
    name, layout = io.detect_release(folder)
    files = io.release_files(folder, layout)
    flags = tuple(f"genre:{g}" for g in layout.genre_flags)
    movies = clean_movies(
        io.read_text_table(files[1], layout.movies, extra=flags, types={C.MOVIE_ID: pa.int64()}), layout
    )
    ratings_raw = io.read_text_table(files[0], layout.ratings, types=RATING_TYPES)
    ratings = clean_ratings(ratings_raw, movies.kept[C.MOVIE_ID].to_numpy(), layout.rating_values)
    return IngestResult(name, layout.kind, layout.rating_values, files, ratings, movies)


def check_quarantine_share(report: dict, max_share: float) -> None:
    """Raise :class:`QuarantineLimitError` when either table of an ingestion ``report`` lost more than
    ``max_share`` of its rows; the message gives the counts per reason."""
    for table in ("ratings", "movies"):
        c = report[table]
        share = c["rows_quarantined"] / max(c["rows_read"], 1)
        if share > max_share:
            raise QuarantineLimitError(
                f"{table}: {c['rows_quarantined']} of {c['rows_read']} rows ({share:.2%}) quarantined, over the "
                f"limit of {max_share:.2%}; by reason: {c['quarantined_by_reason']}"
            )


def clean_ratings(raw: io.RawTable, movie_ids: np.ndarray, rating_values: tuple[float, ...]) -> Cleaned:
    """Typed ratings (user_id, movie_id, rating, timestamp) and the quarantined rows."""
    t = raw.table
    users, movies, stamps = (_parse(t[c], pa.int64(), _INT) for c in (C.USER_ID, C.MOVIE_ID, C.TIMESTAMP))
    rating = _parse(t[C.RATING], pa.float64(), _FLOAT)
    value = np.nan_to_num(rating.values, nan=-1.0)
    rules = [
        users.missing & movies.missing & rating.missing & stamps.missing,
        users.missing,
        users.bad,
        movies.missing,
        movies.bad,
        rating.missing,
        rating.bad | ~np.isfinite(rating.values),
        ~np.isin(value, np.asarray(rating_values)),
        stamps.missing | stamps.bad | (stamps.values < TIMESTAMP_MIN) | (stamps.values > TIMESTAMP_MAX),
    ]
    code = _first_broken(rules)
    ok = code == 0
    code[ok & ~_known(movies.values, movie_ids)] = RATING_REASONS.index("unknown_movie") + 1
    ok = code == 0
    code[_older_duplicates(users.values, movies.values, stamps.values, raw.lines, ok)] = len(RATING_REASONS)
    kept = pd.DataFrame(
        {C.USER_ID: users.values, C.MOVIE_ID: movies.values, C.RATING: rating.values, C.TIMESTAMP: stamps.values}
    )[code == 0].reset_index(drop=True)
    return _cleaned("ratings", raw, kept, code, RATING_REASONS)


def clean_movies(raw: io.RawTable, layout: Release) -> Cleaned:
    """Typed movies (movie_id, title, year, genres as a list) and the quarantined rows."""
    t = raw.table
    ids = _parse(t[C.MOVIE_ID], pa.int64(), _INT)
    titles = pc.utf8_trim_whitespace(t[C.TITLE]).to_numpy(zero_copy_only=False).astype(object)
    no_title = titles == ""
    code = _first_broken([ids.missing & no_title, ids.missing, ids.bad, no_title])
    ok = np.flatnonzero(code == 0)
    code[ok[pd.Series(ids.values[ok]).duplicated(keep="first").to_numpy()]] = len(MOVIE_REASONS)
    keep = code == 0
    kept = pd.DataFrame(
        {
            C.MOVIE_ID: ids.values[keep],
            C.TITLE: titles[keep].astype(str),
            C.YEAR: release_year(pd.Series(titles[keep], dtype=str)).to_numpy(),
            C.GENRES: _genres(t, layout, keep),
        }
    )
    kept[C.YEAR] = kept[C.YEAR].astype("Int64")
    return _cleaned("movies", raw, kept, code, MOVIE_REASONS)


def release_year(titles: pd.Series) -> pd.Series:
    """The year in a title's trailing "(YYYY)" (not its first parenthesis), as nullable Int64."""
    return pd.to_numeric(titles.str.extract(_YEAR, expand=False), errors="coerce").astype("Int64")


@dataclass
class _Parsed:
    values: np.ndarray  # int64 (0 where unusable) or float64 (NaN where unusable)
    missing: np.ndarray  # bool: empty field
    bad: np.ndarray  # bool: present but not a number of the right kind


def _parse(column: pa.ChunkedArray, kind: pa.DataType, pattern: str) -> _Parsed:
    """Numbers from a column read as ``kind`` already (nulls were empty fields) or as text."""
    fill = 0 if pa.types.is_integer(kind) else np.nan
    if column.type == kind:
        missing = pc.is_null(column).to_numpy(zero_copy_only=False)
        return _Parsed(pc.fill_null(column, fill).to_numpy(zero_copy_only=False), missing, np.zeros_like(missing))
    text = pc.utf8_trim_whitespace(column)
    missing = pc.equal(text, "")
    nulled = pc.if_else(missing, pa.scalar(None, pa.string()), text)
    try:
        parsed, bad = pc.cast(nulled, kind), np.zeros(len(text), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        well_formed = pc.fill_null(pc.match_substring_regex(nulled, pattern), False)
        parsed = _cast_or_null(pc.if_else(well_formed, nulled, pa.scalar(None, pa.string())), kind)
        bad = ~well_formed.to_numpy(zero_copy_only=False) & ~missing.to_numpy(zero_copy_only=False)
        bad |= pc.is_null(parsed).to_numpy(zero_copy_only=False) & ~missing.to_numpy(zero_copy_only=False)
    values = pc.fill_null(parsed, fill).to_numpy(zero_copy_only=False)
    return _Parsed(values, missing.to_numpy(zero_copy_only=False), bad)


def _cast_or_null(text: pa.ChunkedArray, kind: pa.DataType) -> pa.Array:
    """Cast well-formed text; values that still do not fit (an id of 30 digits) become null one by one."""
    try:
        return pc.cast(text, kind)
    except pa.ArrowInvalid:
        return pa.array([_try(kind, v) for v in text.to_pylist()], type=kind)


def _try(kind: pa.DataType, value: str | None):
    try:
        return None if value is None else pa.scalar(value).cast(kind).as_py()
    except (pa.ArrowInvalid, OverflowError):
        return None


def _first_broken(rules: list[np.ndarray]) -> np.ndarray:
    """Per row, 1 + the index of the first rule it breaks, or 0 when it breaks none."""
    code = np.zeros(len(rules[0]), dtype=np.int8)
    for i in range(len(rules) - 1, -1, -1):
        code[rules[i]] = i + 2  # code 1 is kept for malformed lines, which never reach here
    return code


def _known(ids: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Whether each id is in ``known``: a lookup table when ids are small, else a sorted search."""
    top = int(max(ids.max(initial=0), known.max(initial=0)))
    if top < 50_000_000:
        table = np.zeros(top + 1, dtype=bool)
        table[known] = True
        return table[np.clip(ids, 0, top)] & (ids >= 0)
    return np.isin(ids, known)


def _older_duplicates(users, movies, stamps, lines, ok) -> np.ndarray:
    """Rows whose (user, movie) pair appears again among ``ok`` rows with a later (timestamp, line)."""
    key = users * (int(movies.max(initial=0)) + 1) + movies
    candidates = np.flatnonzero(ok)
    if len(candidates) < 2:  # no pair to repeat (a file whose every row was set aside, say: found by fuzzing)
        return np.zeros(len(ok), dtype=bool)
    keys = key[candidates]
    steps = np.diff(keys)
    if (steps >= 0).all():  # files sorted by user and movie, as GroupLens ships them: neighbours suffice
        same = np.concatenate([[False], steps == 0])
        repeated = same | np.concatenate([same[1:], [False]])
    else:
        repeated = pd.Series(keys).duplicated(keep=False).to_numpy()
    rows = candidates[repeated]
    out = np.zeros(len(ok), dtype=bool)
    if len(rows):
        order = rows[np.lexsort((lines[rows], stamps[rows], key[rows]))]
        out[order[:-1][key[order[:-1]] == key[order[1:]]]] = True
    return out


def _genres(t: pa.Table, layout: Release, keep: np.ndarray) -> list[list[str]]:
    if layout.genre_flags:
        flags = np.stack(
            [
                pc.equal(pc.utf8_trim_whitespace(t[f"genre:{g}"]), "1").to_numpy(zero_copy_only=False)
                for g in layout.genre_flags
            ],
            axis=1,
        )[keep]
        names = np.array(layout.genre_flags, dtype=object)
        return [[g for g in names[row] if g not in NO_GENRES] for row in flags]
    text = t[C.GENRES].to_numpy(zero_copy_only=False)[keep]
    return [[g for g in s.split("|") if g not in NO_GENRES] for s in text]


def _cleaned(table: str, raw: io.RawTable, kept: pd.DataFrame, code: np.ndarray, reasons: tuple[str, ...]) -> Cleaned:
    bad = np.flatnonzero(code)
    quarantined = pd.DataFrame(
        {
            "table": table,
            "line": np.concatenate([raw.lines[bad], [line for line, _ in raw.malformed]]).astype(np.int64),
            "reason": [reasons[c - 1] for c in code[bad]] + ["malformed_line"] * len(raw.malformed),
            "raw": raw.line_texts(raw.lines[bad]) + [text for _, text in raw.malformed],
        },
        columns=list(QUARANTINE_COLUMNS),
    )
    quarantined = quarantined.sort_values("line", kind="stable").reset_index(drop=True)
    if len(kept) + len(quarantined) != raw.rows_read:
        raise AssertionError(
            f"{raw.path}: {raw.rows_read} rows read but {len(kept)} kept + {len(quarantined)} "
            "quarantined: rows were lost"
        )
    return Cleaned(table, kept, raw.lines[code == 0], quarantined, raw.rows_read)
