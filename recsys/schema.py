"""The MovieLens data as the library expects it after loading, declared once.

The ingestion task turns these declarations into Great Expectations expectations; tests use them to
generate small fake releases. Keeping the description here (and not in the task) means the library,
the validation suite and the test data can never disagree about what a valid file is.
"""

from dataclasses import dataclass, field

from recsys import columns as C


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its name, pandas dtype kind, whether nulls are allowed and its value bounds."""

    name: str
    kind: str  # "int", "float" or "str"
    nullable: bool = False
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class TableSpec:
    """One table: its columns and the column sets whose values must be unique together."""

    name: str
    columns: tuple[ColumnSpec, ...]
    unique: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


# Half stars from 0.5 to 5 cover every release (ml-100k and ml-1m use whole stars 1 to 5).
RATING_MIN, RATING_MAX = 0.5, 5.0
# MovieLens started in 1995; its ancestor EachMovie data is not mixed in. Seconds since the epoch.
TIMESTAMP_MIN, TIMESTAMP_MAX = 788_918_400, 2_000_000_000

RATINGS = TableSpec(
    name="ratings",
    columns=(
        ColumnSpec(C.USER_ID, "int", min_value=1),
        ColumnSpec(C.MOVIE_ID, "int", min_value=1),
        ColumnSpec(C.RATING, "float", min_value=RATING_MIN, max_value=RATING_MAX),
        ColumnSpec(C.TIMESTAMP, "int", min_value=TIMESTAMP_MIN, max_value=TIMESTAMP_MAX),
    ),
    unique=((C.USER_ID, C.MOVIE_ID),),
)

MOVIES = TableSpec(
    name="movies",
    columns=(
        ColumnSpec(C.MOVIE_ID, "int", min_value=1),
        ColumnSpec(C.TITLE, "str"),
        ColumnSpec(C.GENRES, "str"),
    ),
    unique=((C.MOVIE_ID,),),
)
