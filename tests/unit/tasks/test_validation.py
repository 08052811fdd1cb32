"""Great Expectations for real: the suite generated from recsys.data.schema passes clean data and names
the lines, columns and values of bad data."""

import gc
import weakref
from pathlib import Path

import pytest

from recsys import columns as C
from recsys.data import schema
from recsys.data.synthetic import make_movies
from tasks.validation import DataValidationError, TableToValidate, build_expectations, validate_frame, validate_tables


def test_suite_covers_every_declared_rule():
    rules = {(type(e).__name__, getattr(e, "column", None)) for e in build_expectations(schema.RATINGS, {})}
    for column in C.RATING_COLUMNS:
        for rule in (
            "ExpectColumnToExist",
            "ExpectColumnValuesToNotBeNull",
            "ExpectColumnValuesToBeBetween",
            "ExpectColumnValuesToBeOfType",
        ):
            assert (rule, column) in rules
    assert ("ExpectColumnValuesToBeInSet", C.RATING) in rules
    assert ("ExpectCompoundColumnsToBeUnique", None) in rules
    with_movies = build_expectations(schema.RATINGS, {"movies.movie_id": [1, 2]})
    assert len(with_movies) == len(rules) + 1  # movie ids must be in movies
    assert ("ExpectColumnValueLengthsToBeBetween", C.TITLE) in {
        (type(e).__name__, getattr(e, "column", None)) for e in build_expectations(schema.MOVIES)
    }


def test_clean_tables_pass_and_data_docs_are_built(tiny_ratings, tmp_path):
    movies = make_movies(60, seed=3)
    reports = validate_tables(
        [
            TableToValidate(schema.MOVIES, movies, Path("movies.csv")),
            TableToValidate(schema.RATINGS, tiny_ratings, Path("ratings.csv")),
        ],
        docs_dir=tmp_path / "docs",
    )
    assert [r.success for r in reports] == [True, True]
    assert reports[1].rows == len(tiny_ratings)
    assert (tmp_path / "docs" / "index.html").exists()
    assert len(list((tmp_path / "docs" / "validations").rglob("*.html"))) == 2


@pytest.mark.parametrize("with_docs", [False, True])
def test_a_validated_table_is_not_kept_by_great_expectations(tiny_ratings, tmp_path, with_docs):
    """GX keeps its last context for the process; the context must not keep the frames it validated (at 25M
    ratings the ratings table, about 1 GB, stayed for the whole train-all). Ingestion builds Data Docs."""
    frame = tiny_ratings.copy()
    kept = weakref.ref(frame)
    docs = tmp_path / "docs" if with_docs else None
    (report,) = validate_tables([TableToValidate(schema.RATINGS, frame, Path("ratings.csv"))], docs_dir=docs)
    assert report.success
    del frame
    gc.collect()
    assert kept() is None


def test_bad_rows_are_named_by_line_column_and_value(tiny_ratings):
    bad = tiny_ratings.head(6).copy()
    bad.loc[2, C.RATING] = 7.0  # file line 4 (header is line 1)
    bad.loc[4, C.RATING] = 3.7  # not a half star
    report = validate_frame(bad, schema.RATINGS, Path("ratings.csv"))
    failed = {(o.expectation, o.column): o for o in report.failures()}
    assert set(failed) == {
        ("expect_column_values_to_be_between", C.RATING),
        ("expect_column_values_to_be_in_set", C.RATING),
    }
    rating = failed[("expect_column_values_to_be_between", C.RATING)]
    assert (rating.unexpected_count, rating.sample_lines, rating.sample_values) == (1, [4], [7.0])
    assert failed[("expect_column_values_to_be_in_set", C.RATING)].sample_lines == [4, 6]
    with pytest.raises(DataValidationError, match=r"ratings.csv: 2 of \d+ checks failed"):
        raise DataValidationError(report)


def test_ratings_must_reference_known_movies(tiny_ratings):
    movies = make_movies(10, seed=3)
    reports = validate_tables(
        [
            TableToValidate(schema.MOVIES, movies, Path("movies.csv")),
            TableToValidate(schema.RATINGS, tiny_ratings, Path("ratings.csv")),
        ]
    )
    (failure,) = reports[1].failures()
    unknown = sorted(set(tiny_ratings[C.MOVIE_ID][tiny_ratings[C.MOVIE_ID] > 10]))
    assert (failure.expectation, failure.column) == ("expect_column_distinct_values_to_be_in_set", C.MOVIE_ID)
    assert (failure.unexpected_count, failure.sample_values) == (len(unknown), unknown[:5])  # distinct ids


def test_duplicate_movie_ids_and_empty_titles_fail_the_movies_suite():
    movies = make_movies(5, seed=1)
    movies.loc[4, C.MOVIE_ID] = 1
    movies.loc[2, C.TITLE] = ""
    report = validate_frame(movies, schema.MOVIES, Path("movies.csv"))
    assert sorted((o.column, o.unexpected_count) for o in report.failures()) == [(C.MOVIE_ID, 2), (C.TITLE, 1)]
