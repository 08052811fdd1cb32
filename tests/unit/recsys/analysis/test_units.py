import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.analysis.activations import movie_catalogue
from recsys.analysis.units import adjusted_r, analyze_units, genre_lift, pearson, unit_correlations, unit_markdown
from recsys.data.features import build_features
from recsys.data.vocab import fit_vocabulary

RATINGS = [4.0, 3.0, 2.0, 5.0, 1.0, 3.5]  # one training rating per movie, so each is the movie's mean
YEARS = [1990, 1995, 2000, 2005, None, 2010]  # movie 5's title has no year
GENRES = [["Comedy"], ["Drama"], ["Comedy", "Drama"], ["Drama"], ["Comedy"], ["Comedy"]]


def six_movies() -> pd.DataFrame:
    ids = [10, 20, 30, 40, 50, 60]
    train = pd.DataFrame({C.USER_ID: 1, C.MOVIE_ID: ids, C.RATING: RATINGS})
    titles = [f"Movie | {i}" + (f" ({y})" if y else "") for i, y in zip(ids, YEARS, strict=True)]
    movies = pd.DataFrame({C.MOVIE_ID: ids, C.TITLE: titles, C.GENRES: GENRES})  # no year column: parsed
    users, items = fit_vocabulary(train[C.USER_ID]), fit_vocabulary(train[C.MOVIE_ID])
    return movie_catalogue(items, movies, build_features(train, movies.assign(year=YEARS), users, items))


def hand_made_activations() -> np.ndarray:
    """One row per movie 1..6; unit 0 = rating, unit 1 = year (0 where unknown), unit 2 = comedy, unit 3 dead."""
    comedy = [1.0, 0, 1, 0, 1, 1]
    return np.column_stack([RATINGS, [y or 0 for y in YEARS], comedy, np.ones(6)])


def top_movies() -> pd.DataFrame:
    return pd.DataFrame({"unit": [0, 0, 1, 1, 2, 2, 3], C.MOVIE_IDX: [1, 3, 4, 6, 1, 6, 2]})


def test_pearson_and_adjusted_r_by_hand():
    values = np.array([[1.0, 2.0, 5.0], [2.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    np.testing.assert_allclose(pearson(values, np.array([10.0, 20.0, 30.0])), [1.0, np.nan, -1.0])
    # y = x exactly: R^2 = 1 stays 1 after adjustment; an unrelated column is clipped to 0
    x = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    y = np.column_stack([x[:, 0], [1.0, -1.0, 0.0, -1.0, 1.0]])
    np.testing.assert_allclose(adjusted_r(y, x), [1.0, 0.0], atol=1e-12)


def test_units_equal_to_rating_year_and_genre_correlate_perfectly_with_that_only():
    catalogue = six_movies()
    out = unit_correlations(hand_made_activations(), np.arange(1, 7), catalogue, top_movies()).set_index("unit")
    assert (out["n_movies_used"] == 5).all()  # movie 5 has no year
    assert out.loc[0, "corr_rating"] == pytest.approx(1.0) and out.loc[0, "r_rating_year"] == pytest.approx(1.0)
    assert out.loc[1, "corr_year"] == pytest.approx(1.0)
    assert out.loc[2, "r_genre"] == pytest.approx(1.0) and out.loc[2, "max_genre_corr"] == pytest.approx(1.0)
    assert out.loc[2, "max_genre_corr_genre"] == "Comedy"
    assert out.loc[3, ["corr_rating", "corr_year", "r_genre", "r_rating_year"]].isna().all()


def test_genre_lift_by_hand():
    # rated movies: 4 of 6 comedy, 3 of 6 drama. Unit 0's movies 1 and 3 are both comedy: share 1, lift 1.5;
    # only movie 3 is drama (1 < min_count 2). Unit 1's movies 4 and 6: one drama, one comedy: none qualifies.
    lift = genre_lift(top_movies(), six_movies(), min_count=2).set_index("unit")
    assert lift.loc[0, "top_genres"] == "Comedy ×1.5" and lift.loc[0, "max_lift"] == pytest.approx(1.5)
    assert lift.loc[0, "max_lift_genre"] == "Comedy"
    assert lift.loc[1, "top_genres"] == "" and np.isnan(lift.loc[1, "max_lift"])
    loose = genre_lift(top_movies(), six_movies(), min_count=1).set_index("unit")
    assert loose.loc[1, "top_genres"] == "Drama ×1.0, Comedy ×0.8"  # 1/2 / (3/6) and 1/2 / (4/6)


def test_analysis_summary_and_markdown():
    analysis = analyze_units(hand_made_activations(), np.arange(1, 7), six_movies(), top=2)
    s = analysis.summary
    assert s["n_units"] == 4 and s["n_live_units"] == 3 and s["n_movies_used"] == 5
    assert s["mean_abs_corr_rating"] == pytest.approx(np.mean(np.abs(analysis.units["corr_rating"][:3])))
    # units 0 (rating) and 1 (year) are explained by rating and year, unit 2 (comedy) by genre
    assert s["share_rating_year_above_genre"] == pytest.approx(2 / 3)
    assert s["dataset_rating"] == pytest.approx(np.mean(RATINGS))
    assert "| 3 |" not in unit_markdown(analysis, "lstm", "recurrent_out")  # the dead unit is left out
    text = unit_markdown(analysis, "lstm", "recurrent_out", strongest=2)
    assert text.startswith("## `lstm`: hidden units of `recurrent_out`")
    assert "Movie \\| 40 (2005)" in text  # unit 0's top movie, pipe escaped for the table
    assert len([line for line in text.splitlines() if line.startswith("| ")]) == 3  # header and 2 units
