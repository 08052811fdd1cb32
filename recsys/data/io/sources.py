"""Finding a release: a local folder, a local ``.zip``, an http(s) URL (downloaded into a cache that is
revalidated on every use) or an object-storage URI (``s3://``, ``gs://``, ``hdfs://``, ``file://``: copied
into the cache, refreshed when its files change), recognised by the files it holds; and the content
fingerprint of those files."""

import hashlib
import os
import zipfile
from pathlib import Path

import pandas as pd

from recsys import columns as C
from recsys import files
from recsys.data.io.archive import extract
from recsys.data.io.download import fetch
from recsys.data.io.objects import fetch_objects, is_object_uri
from recsys.data.io.text import DataFormatError
from recsys.data.releases import CSV, LAYOUTS, Release, name_release, release_url

DEFAULT_SOURCE = release_url("ml-latest-small")


def resolve_source(source: str | os.PathLike | None, cache_dir: Path) -> Path:
    """The local folder holding a release's ratings file, for a folder, zip or URL source (downloaded into,
    or revalidated against, the cache: see :mod:`recsys.data.io.download`)."""
    source = str(source) if source else DEFAULT_SOURCE
    if source.startswith(("http://", "https://")):
        source = str(fetch(source, cache_dir).path)
    elif is_object_uri(source):
        source = str(fetch_objects(source, cache_dir))
    path = Path(source).expanduser()
    if not path.exists():
        raise DataFormatError(
            path, None, None, "data source does not exist (expected a folder, .zip, URL or s3:// / gs:// URI)"
        )
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise DataFormatError(path, None, None, "data source is a file but not a zip archive")
        path = _extract(path, cache_dir)
    return _find_release_folder(path)


def _extract(archive: Path, cache_dir: Path) -> Path:
    """The archive unpacked (checked first) into a cache folder named by its content."""
    target = cache_dir / "extracted" / f"{archive.stem}-{fingerprint_files([archive])[:12]}"
    return target if target.exists() else extract(archive, target)


def _find_release_folder(folder: Path) -> Path:
    """The folder itself, or its single subfolder with a ratings file (how GroupLens zips are laid out)."""
    names = [layout.ratings.name for layout in LAYOUTS]
    if any((folder / n).exists() for n in names):
        return folder
    candidates = sorted({p.parent for n in names for p in folder.glob(f"*/{n}")})
    if len(candidates) == 1:
        return candidates[0]
    found = "several candidate folders" if candidates else "no ratings file"
    raise DataFormatError(folder, None, None, f"not a MovieLens release: {found} (looked for {names})")


def detect_release(folder: Path) -> tuple[str, Release]:
    """The release's name (its folder name, e.g. ``ml-latest-small``) and layout, from the files present."""
    for layout in LAYOUTS:
        if (folder / layout.ratings.name).exists():
            return name_release(folder.name, layout)
    raise DataFormatError(folder, None, None, "no MovieLens ratings file found")


def release_files(folder: Path, layout: Release) -> list[Path]:
    """The files of the release that the pipeline reads, in a fixed order (for fingerprints)."""
    return [folder / layout.ratings.name, folder / layout.movies.name]


def release_fingerprint(folder: Path) -> str:
    """The content hash of the release in ``folder`` (its data files): what names its ingestion and split."""
    return fingerprint_files(release_files(folder, detect_release(folder)[1]))


def fingerprint_files(paths: list[Path]) -> str:
    """SHA-256 over the names and bytes of ``paths``, as 64 hex digits."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def write_release_csv(folder: Path, ratings: pd.DataFrame, movies: pd.DataFrame) -> Path:
    """Write frames (our column names) in the CSV layout of ml-latest-small."""
    folder.mkdir(parents=True, exist_ok=True)
    joined = movies[C.GENRES].map(lambda g: g if isinstance(g, str) else "|".join(g) or "(no genres listed)")
    movies = movies.assign(**{C.GENRES: joined})
    for fmt, frame in ((CSV.ratings, ratings), (CSV.movies, movies)):
        back = {ours: raw for raw, ours in fmt.columns.items()}
        files.write_text(folder / fmt.name, frame.rename(columns=back)[list(fmt.columns)].to_csv(index=False))
    return folder
