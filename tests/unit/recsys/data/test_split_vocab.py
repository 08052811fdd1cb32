import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.data.split import rows_of, split_random
from recsys.data.vocab import UNKNOWN_IDX, Vocabulary, fit_vocabulary


def test_split_sizes_and_seed(tiny_ratings):
    a = split_random(tiny_ratings, seed=1)
    counts = a[C.SPLIT].value_counts()
    n = len(tiny_ratings)
    assert counts[C.TEST] == round(n * 0.2)
    assert counts[C.VAL] == round((n - counts[C.TEST]) * 0.1)
    assert counts.sum() == n
    assert a[C.SPLIT].equals(split_random(tiny_ratings, seed=1)[C.SPLIT])
    assert not a[C.SPLIT].equals(split_random(tiny_ratings, seed=2)[C.SPLIT])
    assert C.SPLIT not in tiny_ratings.columns  # input untouched


def test_split_rejects_bad_fractions(tiny_ratings):
    with pytest.raises(ValueError, match="fractions"):
        split_random(tiny_ratings, seed=1, test_fraction=1.0)


def test_vocabulary_encodes_known_ids_from_one_and_unknown_to_zero():
    vocab = fit_vocabulary(pd.Series([30, 10, 20, 10]))
    assert vocab.size == 4
    assert vocab.encode(np.array([10, 20, 30, 99, 5])).tolist() == [1, 2, 3, UNKNOWN_IDX, UNKNOWN_IDX]
    assert vocab.decode(np.array([3, 1])).tolist() == [30, 10]
    with pytest.raises(ValueError, match="unknown slot"):
        vocab.decode(np.array([0]))


def test_empty_vocabulary_maps_everything_to_unknown():
    assert fit_vocabulary(np.array([], dtype=np.int64)).encode(np.array([1, 2])).tolist() == [0, 0]


def test_vocabulary_frame_round_trip():
    vocab = fit_vocabulary(np.array([5, 7, 9]))
    frame = vocab.to_frame(C.USER_ID, C.USER_IDX)
    assert frame[C.USER_IDX].tolist() == [1, 2, 3]
    assert np.array_equal(Vocabulary.from_frame(frame.iloc[::-1], C.USER_ID, C.USER_IDX).ids, vocab.ids)


def test_prepared_split_fits_vocabularies_on_training_rows_only(tiny_prepared):
    train = rows_of(tiny_prepared.split, C.TRAIN)
    assert set(tiny_prepared.movie_vocab.ids) == set(train[C.MOVIE_ID])
    test = rows_of(tiny_prepared.split, C.TEST)
    unseen = int((~test[C.MOVIE_ID].isin(train[C.MOVIE_ID])).sum())
    counts = tiny_prepared.counts()
    assert counts["test_unknown_movies"] == unseen
    assert counts["n_train"] + counts["n_val"] + counts["n_test"] == len(tiny_prepared.split)
    assert tiny_prepared.shape.n_movies == len(tiny_prepared.movie_vocab.ids) + 1


def test_temporal_global_split_puts_the_latest_ratings_in_test(tiny_ratings):
    from recsys.data.split import split_temporal_global

    split = split_temporal_global(tiny_ratings, test_fraction=0.2, val_fraction=0.1)
    times = {part: split[split[C.SPLIT] == part][C.TIMESTAMP] for part in (C.TRAIN, C.VAL, C.TEST)}
    assert times[C.TRAIN].max() <= times[C.VAL].min() and times[C.VAL].max() <= times[C.TEST].min()
    assert len(times[C.TEST]) == round(len(tiny_ratings) * 0.2)


def test_temporal_user_split_holds_out_each_users_last_ratings():
    from recsys.data.split import split_temporal_user

    ratings = pd.DataFrame(
        {C.USER_ID: [1] * 6 + [2] * 2, C.MOVIE_ID: range(8), C.TIMESTAMP: [6, 5, 4, 3, 2, 1, 10, 20], C.RATING: 3.0}
    )
    split = split_temporal_user(ratings, last_n=2)
    # user 1: newest two (t=6, 5) test, next two val; user 2 has two ratings: one test, one kept for training
    assert split[C.SPLIT].tolist() == ["test", "test", "val", "val", "train", "train", "train", "test"]


def test_make_split_dispatches_on_the_configured_kind(tiny_ratings):
    from recsys.data.split import SplitConfig, make_split, split_temporal_user

    assert make_split(tiny_ratings, SplitConfig(kind="temporal_user", last_n=3))[C.SPLIT].equals(
        split_temporal_user(tiny_ratings, 3)[C.SPLIT]
    )
    assert SplitConfig(kind="temporal_user", last_n=3).name == "temporal_user-3"
