"""The MovieLens releases the pipeline reads, described as data: files, separators, encodings, columns.

Three layouts cover every common release:

- ``csv``: ``ratings.csv`` and ``movies.csv`` with headers, UTF-8 (ml-latest-small, ml-latest, ml-20m,
  ml-25m, ml-32m); half stars 0.5 to 5;
- ``ml-100k``: ``u.data`` (tab separated) and ``u.item`` (pipe separated, latin-1, 19 genre flags);
  whole stars 1 to 5;
- ``dat``: ``ratings.dat`` and ``movies.dat`` with ``::`` separators (ml-1m in whole stars,
  ml-10m in half stars; movies in UTF-8, else latin-1).
"""

from dataclasses import dataclass, field

from recsys import columns as C

HALF_STARS = tuple(x / 2 for x in range(1, 11))
WHOLE_STARS = (1.0, 2.0, 3.0, 4.0, 5.0)

# ml-100k's u.item genre flags, in file order, with the names later releases use
ML100K_GENRES = (
    "(unknown)",
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
NO_GENRES = {"(no genres listed)", "(unknown)", ""}


@dataclass(frozen=True)
class FileFormat:
    """How one file of a release is laid out; ``columns`` maps its raw column names to ours."""

    name: str
    delimiter: str
    encodings: tuple[str, ...]  # tried in order; the first that decodes the whole file wins
    columns: dict[str, str]
    header: bool = True  # without a header, ``all_columns`` names every field in file order
    all_columns: tuple[str, ...] = ()
    quoted: bool = True

    @property
    def first_data_line(self) -> int:
        return 2 if self.header else 1


@dataclass(frozen=True)
class Release:
    """A release layout: its files, allowed ratings, and how movies carry their genres."""

    kind: str
    ratings: FileFormat
    movies: FileFormat
    rating_values: tuple[float, ...]
    genre_flags: tuple[str, ...] = field(default=())  # non-empty: genres come as 0/1 columns

    def with_rating_values(self, values: tuple[float, ...]) -> "Release":
        return Release(self.kind, self.ratings, self.movies, values, self.genre_flags)


CSV = Release(
    kind="csv",
    ratings=FileFormat(
        "ratings.csv",
        ",",
        ("utf-8",),
        {"userId": C.USER_ID, "movieId": C.MOVIE_ID, "rating": C.RATING, "timestamp": C.TIMESTAMP},
    ),
    movies=FileFormat("movies.csv", ",", ("utf-8",), {"movieId": C.MOVIE_ID, "title": C.TITLE, "genres": C.GENRES}),
    rating_values=HALF_STARS,
)

_ITEM_COLUMNS = ("movie id", "movie title", "release date", "video release date", "IMDb URL") + tuple(
    f"genre:{g}" for g in ML100K_GENRES
)
ML100K = Release(
    kind="ml-100k",
    ratings=FileFormat(
        "u.data",
        "\t",
        ("utf-8",),
        {"user id": C.USER_ID, "item id": C.MOVIE_ID, "rating": C.RATING, "timestamp": C.TIMESTAMP},
        header=False,
        all_columns=("user id", "item id", "rating", "timestamp"),
    ),
    movies=FileFormat(
        "u.item",
        "|",
        ("latin-1",),
        {"movie id": C.MOVIE_ID, "movie title": C.TITLE},
        header=False,
        all_columns=_ITEM_COLUMNS,
        quoted=False,
    ),
    rating_values=WHOLE_STARS,
    genre_flags=ML100K_GENRES,
)

DAT = Release(
    kind="dat",
    ratings=FileFormat(
        "ratings.dat",
        "::",
        ("utf-8",),
        {"UserID": C.USER_ID, "MovieID": C.MOVIE_ID, "Rating": C.RATING, "Timestamp": C.TIMESTAMP},
        header=False,
        all_columns=("UserID", "MovieID", "Rating", "Timestamp"),
        quoted=False,
    ),
    movies=FileFormat(
        "movies.dat",
        "::",
        ("utf-8", "latin-1"),
        {"MovieID": C.MOVIE_ID, "Title": C.TITLE, "Genres": C.GENRES},
        header=False,
        all_columns=("MovieID", "Title", "Genres"),
        quoted=False,
    ),
    rating_values=HALF_STARS,
)

LAYOUTS = (CSV, ML100K, DAT)


def name_release(folder_name: str, layout: Release) -> tuple[str, Release]:
    """The release's name and its layout refined by name: ml-1m rates in whole stars."""
    name = folder_name if folder_name.lower().startswith("ml-") else layout.kind
    if layout.kind == "dat" and name.lower() == "ml-1m":
        return name, layout.with_rating_values(WHOLE_STARS)
    return name, layout


GROUPLENS = "https://files.grouplens.org/datasets/movielens"  # where the named releases are published
NAMED_RELEASES = ("ml-latest-small", "ml-latest", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m")


def release_url(name: str, base: str = GROUPLENS) -> str:
    """The download URL of a release published by GroupLens, by its name (``ml-25m``), under ``base`` (a
    mirror, or a local server in tests). GroupLens serves the current version of each name: today's
    ``ml-latest-small`` is the 2018 release (100,836 ratings), not the 2016 one the study used."""
    if name not in NAMED_RELEASES:
        raise ValueError(f"unknown release {name!r}: one of {', '.join(NAMED_RELEASES)}")
    return f"{base.rstrip('/')}/{name}.zip"
