import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.features import FeatureTables, build_features, cross_user_genre, year_bucket
from recsys.data.split import SplitConfig, rows_of
from recsys.data.synthetic import make_movies
from recsys.data.tensors import prepare_split
from recsys.data.vocab import fit_vocabulary


def four_rows():
    train = pd.DataFrame({C.USER_ID: [1, 1, 1, 2], C.MOVIE_ID: [10, 20, 30, 10], C.RATING: [5.0, 3.0, 1.0, 2.0]})
    movies = pd.DataFrame(
        {
            C.MOVIE_ID: [10, 20, 30, 40],
            C.YEAR: pd.array([1995, None, 2012, 1980], dtype="Int64"),
            C.GENRES: [["Comedy"], ["Drama"], ["Comedy", "Drama"], ["Horror"]],
        }
    )
    return train, movies


def test_features_by_hand_on_four_rows():
    train, movies = four_rows()
    f = build_features(train, movies, fit_vocabulary(train[C.USER_ID]), fit_vocabulary(train[C.MOVIE_ID]))
    assert f.genres == ("Comedy", "Drama", "Horror")
    assert f.genre_matrix().tolist() == [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]]
    m = f.movie_features
    assert m["popularity"].tolist() == [0, 2, 1, 1]
    assert m["mean_rating"].tolist()[1:] == [3.5, 3.0, 1.0] and np.isnan(m["mean_rating"][0])
    assert m[C.YEAR].tolist() == [0, 1995, 0, 2012] and m["year_bucket"].tolist() == [0, 8, 0, 11]
    u = f.user_features
    assert u["n_ratings"].tolist() == [0, 3, 1] and u["mean_rating"].tolist()[1:] == [3.0, 2.0]
    # user 1 (mean 3): comedy deviations +2 (movie 10) and -2 (movie 30) -> 0 / (2 + 5);
    # drama: 0 (movie 20) and -2 (movie 30) -> -2 / (2 + 5)
    assert u["affinity:Comedy"][1] == pytest.approx(0.0)
    assert u["affinity:Drama"][1] == pytest.approx(-2 / 7)
    assert FeatureTables.from_frames(f.movie_features, f.user_features).genres == f.genres


def test_features_come_from_training_rows_only(tiny_ratings):
    movies = make_movies(60, seed=3)
    prepared = prepare_split(tiny_ratings, movies, SplitConfig(seed=7))
    before = prepared.features  # as the split was prepared
    assert before.genres and prepared.shape.n_genres == len(before.genres)  # the shape is complete when made

    def features_of(split):  # the tables from this split frame's training rows, with the same vocabularies
        return build_features(rows_of(split, C.TRAIN), movies, prepared.user_vocab, prepared.movie_vocab)

    held_out = prepared.split[C.SPLIT] != C.TRAIN
    scrambled = prepared.split.copy()
    scrambled.loc[held_out, C.RATING] = 0.5  # test and validation rows changed beyond recognition
    after = features_of(scrambled)
    pd.testing.assert_frame_equal(before.movie_features, after.movie_features)
    pd.testing.assert_frame_equal(before.user_features, after.user_features)
    scrambled.loc[~held_out, C.RATING] = 0.5  # a change to the training rows does show
    changed = features_of(scrambled)
    assert not before.movie_features["mean_rating"].equals(changed.movie_features["mean_rating"])


def test_year_buckets_and_hashed_crosses():
    assert year_bucket(np.array([0, 1920, 1930, 1999, 2020])).tolist() == [0, 1, 2, 8, 12]
    users, genres = np.array([1, 1, 2, 7]), np.array([0, 3, 0, 3])
    buckets = cross_user_genre(users, genres, 1000)
    assert ((buckets >= 0) & (buckets < 1000)).all() and len(set(buckets.tolist())) == 4
    import torch

    assert cross_user_genre(torch.tensor(users), torch.tensor(genres), 1000).tolist() == buckets.tolist()
