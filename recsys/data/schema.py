"""The MovieLens data as the library expects it after loading, declared once.

Ingestion (:mod:`recsys.data.ingest`) produces tables of this shape; the validation task turns these
declarations into Great Expectations expectations; tests use them to generate small fake releases.
Keeping the description here (and not in the task) means the library, the validation suite and the
test data can never disagree about what a valid table is.
"""

from dataclasses import dataclass, field

from recsys import columns as C
from recsys.data.releases import HALF_STARS


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its name, pandas dtype kind, whether nulls are allowed and its value bounds."""

    name: str
    kind: str  # "int", "float", "str" or "list"
    nullable: bool = False
    min_value: float | None = None
    max_value: float | None = None
    allowed: tuple | None = None  # the only values allowed, when they are a small set
    min_length: int | None = None  # for text: the shortest allowed value


@dataclass(frozen=True)
class TableSpec:
    """One table: its columns and the column sets whose values must be unique together."""

    name: str
    columns: tuple[ColumnSpec, ...]
    unique: tuple[tuple[str, ...], ...] = field(default=())
    references: tuple[tuple[str, str, str], ...] = field(default=())  # (column, other table, its column)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


# MovieLens started in 1995; its ancestor EachMovie data is not mixed in. Seconds since the epoch.
TIMESTAMP_MIN, TIMESTAMP_MAX = 788_918_400, 2_000_000_000


def ratings_spec(rating_values: tuple[float, ...] = HALF_STARS) -> TableSpec:
    """The ratings table of a release whose ratings take ``rating_values``."""
    return TableSpec(
        name="ratings",
        columns=(
            ColumnSpec(C.USER_ID, "int", min_value=1),
            ColumnSpec(C.MOVIE_ID, "int", min_value=1),
            ColumnSpec(
                C.RATING,
                "float",
                min_value=min(rating_values),
                max_value=max(rating_values),
                allowed=tuple(rating_values),
            ),
            ColumnSpec(C.TIMESTAMP, "int", min_value=TIMESTAMP_MIN, max_value=TIMESTAMP_MAX),
        ),
        unique=((C.USER_ID, C.MOVIE_ID),),
        references=((C.MOVIE_ID, "movies", C.MOVIE_ID),),
    )


RATINGS = ratings_spec()

MOVIES = TableSpec(
    name="movies",
    columns=(
        ColumnSpec(C.MOVIE_ID, "int", min_value=1),
        ColumnSpec(C.TITLE, "str", min_length=1),
        ColumnSpec(C.YEAR, "int", nullable=True, min_value=1874, max_value=2100),  # the first film is from 1874
        ColumnSpec(C.GENRES, "list"),
    ),
    unique=((C.MOVIE_ID,),),
)
