"""Great Expectations for real: the suite generated from recsys.schema passes clean data and names
the lines, columns and values of bad data."""

from pathlib import Path

import pytest

from recsys import columns as C
from recsys import schema
from recsys.synthetic import make_movies
from tasks.validation import DataValidationError, build_expectations, validate_frame


def test_suite_covers_every_declared_rule():
    rules = {(type(e).__name__, getattr(e, "column", None)) for e in build_expectations(schema.RATINGS)}
    for column in C.RATING_COLUMNS:
        assert ("ExpectColumnToExist", column) in rules
        assert ("ExpectColumnValuesToNotBeNull", column) in rules
        assert ("ExpectColumnValuesToBeBetween", column) in rules
    assert ("ExpectCompoundColumnsToBeUnique", None) in rules


def test_clean_ratings_pass(tiny_ratings):
    report = validate_frame(tiny_ratings, schema.RATINGS, Path("ratings.csv"))
    assert report.success and report.rows == len(tiny_ratings)
    assert len(report.outcomes) == len(build_expectations(schema.RATINGS))


def test_bad_rows_are_named_by_line_column_and_value(tiny_ratings):
    bad = tiny_ratings.head(6).copy()
    bad.loc[2, C.RATING] = 7.0  # file line 4 (header is line 1)
    bad.loc[4, C.USER_ID] = None  # file line 6
    report = validate_frame(bad, schema.RATINGS, Path("ratings.csv"))
    failed = {(o.expectation, o.column): o for o in report.failures()}
    assert set(failed) == {
        ("expect_column_values_to_be_between", C.RATING),
        ("expect_column_values_to_not_be_null", C.USER_ID),
    }
    rating = failed[("expect_column_values_to_be_between", C.RATING)]
    assert (rating.unexpected_count, rating.sample_lines, rating.sample_values) == (1, [4], [7.0])
    assert failed[("expect_column_values_to_not_be_null", C.USER_ID)].sample_lines == [6]
    with pytest.raises(DataValidationError, match=r"ratings.csv: 2 of \d+ checks failed"):
        raise DataValidationError(report)


def test_duplicate_movie_ids_fail_the_movies_suite():
    movies = make_movies(5, seed=1)
    movies.loc[4, C.MOVIE_ID] = 1
    report = validate_frame(movies, schema.MOVIES, Path("movies.csv"))
    assert [(o.column, o.unexpected_count) for o in report.failures()] == [(C.MOVIE_ID, 2)]
