"""All file I/O of the library: finding a MovieLens release, reading it, and Parquet in and out.

A data source is a local folder, a local ``.zip`` or an http(s) URL (downloaded once into a cache
folder). Reading normalises the release to the columns of :mod:`recsys.schema`; a file that cannot be
read as MovieLens raises :class:`DataFormatError` naming the file, the line and the column. Parquet is
written atomically (temporary file, then rename), zstd-compressed, with the content fingerprint of the
raw input stored in the file metadata.
"""

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from recsys import columns as C

DEFAULT_SOURCE = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
FINGERPRINT_KEY = b"recsys.fingerprint"

# ml-latest-small and the other CSV releases: file name, {raw header: our column}, {our column: kind}
_RATINGS_CSV = (
    "ratings.csv",
    {"userId": C.USER_ID, "movieId": C.MOVIE_ID, "rating": C.RATING, "timestamp": C.TIMESTAMP},
)
_MOVIES_CSV = ("movies.csv", {"movieId": C.MOVIE_ID, "title": C.TITLE, "genres": C.GENRES})
_KINDS = {
    C.USER_ID: pa.int64(),
    C.MOVIE_ID: pa.int64(),
    C.RATING: pa.float64(),
    C.TIMESTAMP: pa.int64(),
    C.TITLE: pa.string(),
    C.GENRES: pa.string(),
}


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


def resolve_source(source: str | os.PathLike | None, cache_dir: Path) -> Path:
    """Return the local folder holding the release's ``ratings.csv`` for a folder, zip or URL source."""
    source = str(source) if source else DEFAULT_SOURCE
    if source.startswith(("http://", "https://")):
        source = str(_download(source, cache_dir))
    path = Path(source).expanduser()
    if not path.exists():
        raise DataFormatError(path, None, None, "data source does not exist (expected a folder, .zip or URL)")
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise DataFormatError(path, None, None, "data source is a file but not a zip archive")
        path = _extract(path, cache_dir)
    return _find_release_folder(path)


def _download(url: str, cache_dir: Path) -> Path:
    target = cache_dir / "downloads" / url.rstrip("/").rsplit("/", 1)[-1]
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:  # noqa: S310
        shutil.copyfileobj(response, out)
    tmp.replace(target)
    return target


def _extract(archive: Path, cache_dir: Path) -> Path:
    target = cache_dir / "extracted" / f"{archive.stem}-{fingerprint_files([archive])[:12]}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent))
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        tmp.replace(target)
    return target


def _find_release_folder(folder: Path) -> Path:
    """The folder itself, or its single subfolder holding ratings.csv (how GroupLens zips are laid out)."""
    if (folder / _RATINGS_CSV[0]).exists():
        return folder
    candidates = sorted(p.parent for p in folder.glob(f"*/{_RATINGS_CSV[0]}"))
    if len(candidates) == 1:
        return candidates[0]
    raise DataFormatError(
        folder / _RATINGS_CSV[0],
        None,
        None,
        "no MovieLens ratings file found (looked in the folder and its subfolders)",
    )


def release_files(folder: Path) -> list[Path]:
    """The files of the release that the pipeline reads, in a fixed order (for fingerprints)."""
    return [folder / _RATINGS_CSV[0], folder / _MOVIES_CSV[0]]


def fingerprint_files(paths: list[Path]) -> str:
    """SHA-256 over the names and bytes of ``paths``, as 64 hex digits."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_ratings(folder: Path) -> pd.DataFrame:
    """Ratings as (user_id int64, movie_id int64, rating float64, timestamp int64), one row per line."""
    return _read_csv(folder / _RATINGS_CSV[0], _RATINGS_CSV[1])


def read_movies(folder: Path) -> pd.DataFrame:
    """Movies as (movie_id int64, title str, genres str with '|' separators)."""
    return _read_csv(folder / _MOVIES_CSV[0], _MOVIES_CSV[1])


def _read_csv(path: Path, rename: dict[str, str]) -> pd.DataFrame:
    if not path.exists():
        raise DataFormatError(path, None, None, "required file is missing")
    header = _read_header(path)
    missing = [raw for raw in rename if raw not in header]
    if missing:
        raise DataFormatError(path, 1, missing[0], f"missing required column; the header has {header}")
    types = {raw: _KINDS[ours] for raw, ours in rename.items()}
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=types, include_columns=list(rename), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _locate_bad_value(path, rename, exc) from exc
    if table.num_rows == 0:
        raise DataFormatError(path, 2, None, "the file has a header but no rows")
    return table.rename_columns([rename[c] for c in table.column_names]).to_pandas()


def _read_header(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline().rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, 1, None, f"header is not UTF-8 text ({exc.reason})") from exc
    if not first:
        raise DataFormatError(path, 1, None, "the file is empty")
    return first.split(",")


def _locate_bad_value(path: Path, rename: dict[str, str], exc: Exception) -> DataFormatError:
    """Re-read as text to find the first cell that does not convert, and name its line and column."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=list(rename), encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError) as text_exc:
        return DataFormatError(path, None, None, f"cannot be parsed as CSV text: {text_exc}")
    for raw_name, ours in rename.items():
        if _KINDS[ours] == pa.string():
            continue
        values = raw[raw_name]
        converted = pd.to_numeric(values, errors="coerce")
        bad = np.flatnonzero(converted.isna().to_numpy() & (values != "").to_numpy())
        if ours != C.RATING:  # ids and timestamps must be whole numbers
            whole = converted.dropna() % 1 == 0
            bad = np.union1d(bad, np.flatnonzero(~whole.reindex(values.index, fill_value=True).to_numpy()))
        if len(bad):
            row = int(bad[0])
            return DataFormatError(path, row + 2, raw_name, f"value {values.iloc[row]!r} is not a valid {_KINDS[ours]}")
    return DataFormatError(path, None, None, f"cannot be read: {exc}")


def write_parquet(df: pd.DataFrame, path: Path, fingerprint: str | None = None) -> Path:
    """Write ``df`` to ``path`` atomically (zstd), storing ``fingerprint`` in the file metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    if fingerprint is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), FINGERPRINT_KEY: fingerprint.encode()})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_parquet(path: Path) -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_parquet` into pandas."""
    return pq.read_table(path).to_pandas()


def read_fingerprint(path: Path) -> str | None:
    """The content fingerprint stored in a Parquet file's metadata, or None."""
    metadata = pq.read_schema(path).metadata or {}
    value = metadata.get(FINGERPRINT_KEY)
    return value.decode() if value is not None else None


def write_release_csv(folder: Path, ratings: pd.DataFrame, movies: pd.DataFrame) -> Path:
    """Write frames in the CSV layout of ml-latest-small (``ratings.csv``, ``movies.csv``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for (name, rename), frame in ((_RATINGS_CSV, ratings), (_MOVIES_CSV, movies)):
        back = {ours: raw for raw, ours in rename.items()}
        frame.rename(columns=back)[list(rename)].to_csv(folder / name, index=False)
    return folder
