"""The release gate's profile and figures, and its Great Expectations checks run for real on the real data."""

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.gate import ReleaseGateConfig, ReleaseProfile, measured


@pytest.fixture(scope="module")
def ratings(real_data) -> pd.DataFrame:
    frame = pd.read_csv(real_data / "ratings.csv")
    return frame.rename(columns={"userId": C.USER_ID, "movieId": C.MOVIE_ID})


def test_the_profile_holds_rows_rating_shares_and_ids(ratings):
    profile = ReleaseProfile.of(ratings)
    assert profile.rows == 100_004 and len(profile.users) == 671 and len(profile.movies) == 9066
    assert profile.rating_values[0] == 0.5 and profile.rating_values[-1] == 5.0
    assert sum(profile.rating_shares) == pytest.approx(1.0)
    assert profile.min_rows(ReleaseGateConfig()) == 90_004


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        (lambda r: r, []),
        (lambda r: r.sample(frac=0.5, random_state=0), ["expect_table_row_count_to_be_between"]),
        (
            lambda r: r.assign(**{C.RATING: np.where(r[C.RATING] >= 3.5, 5.0, r[C.RATING])}),
            ["expect_column_kl_divergence_to_be_less_than"],
        ),
        (lambda r: r.assign(**{C.MOVIE_ID: r[C.MOVIE_ID] + 10**6}), ["expect_column_values_to_be_in_set"]),
    ],
)
def test_great_expectations_stops_a_release_unlike_the_accepted_one(ratings, change, failing):
    from tasks.validation import release_expectations, validate_with

    accepted = ReleaseProfile.of(ratings.sample(frac=0.95, random_state=1))
    new = change(ratings)
    report = validate_with("release-gate", new, release_expectations(accepted, ReleaseGateConfig()), "new")
    assert [o.expectation for o in report.failures()] == failing
    figures = measured(accepted, new)
    assert figures["rows_share"] == pytest.approx(len(new) / accepted.rows)
    assert (figures["unknown_movie_share"] == 1.0) == bool(failing == ["expect_column_values_to_be_in_set"])
