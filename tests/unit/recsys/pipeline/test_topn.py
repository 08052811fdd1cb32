"""A ranker chosen on validation rows only, refitted on training + validation rows, tested once; rankers read
their interactions in time order."""

import numpy as np
import torch

from recsys import columns as C
from recsys.data.split import SplitConfig
from recsys.data.synthetic import make_movies, make_ratings
from recsys.data.tensors import prepare_split
from recsys.pipeline.topn import choose_and_test, in_time_order


def prepared():
    ratings = make_ratings(n_users=60, n_movies=400, n_ratings=3000, seed=5)
    return prepare_split(ratings, make_movies(400, 0), SplitConfig(seed=5))


def test_the_candidate_with_the_best_validation_ndcg_is_refitted_and_tested_once():
    data = prepared()
    from recsys.ranking import EASEConfig

    result = choose_and_test("ease", EASEConfig(), {"l2": [1.0, 30.0, 3000.0]}, data, seed=5, n_boot=50)
    values = [t.validation.metrics["ndcg@10"] for t in result.tried]
    assert len(values) == 3 and result.config.l2 == [1.0, 30.0, 3000.0][int(np.argmax(values))]
    known = len(data.tensors(C.TRAIN)) + len(data.tensors(C.VAL))
    assert int(result.ranker.history_ptr[-1]) <= known  # refitted on training + validation rows
    assert result.ranker.history_ptr[-1] > len(data.tensors(C.TRAIN))
    assert result.test.users > 0 and 0 <= result.test.metrics["ndcg@10"] <= 1


def test_interactions_come_oldest_first():
    data = prepared()
    rows = in_time_order(data, (C.TRAIN, C.VAL))
    stamps = torch.cat([data.timestamps(C.TRAIN), data.timestamps(C.VAL)])
    assert len(rows) == len(stamps)
    order = np.argsort(stamps.numpy(), kind="stable")
    assert torch.equal(
        rows.movie_idx, torch.cat([data.tensors(C.TRAIN).movie_idx, data.tensors(C.VAL).movie_idx])[order]
    )
