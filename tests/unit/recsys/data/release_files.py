"""Writers of tiny releases in each MovieLens layout's exact format, for tests."""

from pathlib import Path

import pandas as pd

from recsys import columns as C
from recsys.data import io
from recsys.data.releases import ML100K_GENRES


def write_csv(folder: Path, ratings: pd.DataFrame, movies: pd.DataFrame) -> Path:
    return io.write_release_csv(folder, ratings, movies)


def write_ml100k(folder: Path, ratings: pd.DataFrame, movies: pd.DataFrame) -> Path:
    """u.data (tab separated, no header) and u.item (pipe separated, latin-1, 19 genre flags)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{r.user_id}\t{r.movie_id}\t{int(r.rating)}\t{r.timestamp}" for r in ratings.itertuples()]
    (folder / "u.data").write_text("\n".join(lines) + "\n")
    items = []
    for m in movies.itertuples():
        flags = "|".join("1" if g in m.genres else "0" for g in ML100K_GENRES)
        items.append(f"{m.movie_id}|{m.title}|01-Jan-{m.year}||http://us.imdb.com/M/x|{flags}")
    (folder / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    return folder


def write_dat(folder: Path, ratings: pd.DataFrame, movies: pd.DataFrame, encoding: str = "latin-1") -> Path:
    """ratings.dat and movies.dat with '::' separators (ml-1m, ml-10m)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{r.user_id}::{r.movie_id}::{r.rating:g}::{r.timestamp}" for r in ratings.itertuples()]
    (folder / "ratings.dat").write_text("\n".join(lines) + "\n")
    items = [f"{m.movie_id}::{m.title}::{'|'.join(m.genres)}" for m in movies.itertuples()]
    (folder / "movies.dat").write_bytes(("\n".join(items) + "\n").encode(encoding))
    return folder


def whole_stars(ratings: pd.DataFrame) -> pd.DataFrame:
    return ratings.assign(**{C.RATING: ratings[C.RATING].clip(1, 5).round()})
