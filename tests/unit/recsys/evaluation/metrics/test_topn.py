"""Catalogue top-N metrics by hand on lists of three, and the baselines' scores."""

import numpy as np
import pytest
import torch

from recsys.evaluation.metrics.topn import (
    RandomScores,
    popularity_scores,
    relevant_sets,
    shrunk_mean_scores,
    topn_accuracy,
)


def test_relevant_sets_keep_ratings_of_four_and_more():
    relevant = relevant_sets([1, 1, 2, 2], [5, 6, 7, 8], [4.0, 3.5, 5.0, 4.5])
    assert {u: m.tolist() for u, m in relevant.items()} == {1: [5], 2: [7, 8]}


def test_precision_recall_ndcg_map_and_hit_rate_by_hand():
    lists = np.array([[5, 9, 6], [1, 2, 3]])  # user 1 hits at rank 1 and 3; user 2 hits nothing
    relevant = {1: np.array([5, 6, 7, 8]), 2: np.array([4])}
    scores = topn_accuracy(lists, np.array([1, 2]), relevant)
    ndcg_1 = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3) + 1 / np.log2(4))  # ideal: three hits in three
    ap_1 = (1 / 1 + 2 / 3) / 3  # precision at the hits' ranks, over min(4 relevant, 3)
    assert scores["precision"] == pytest.approx((2 / 3 + 0) / 2)
    assert scores["recall"] == pytest.approx((2 / 4 + 0) / 2)
    assert scores["ndcg"] == pytest.approx(ndcg_1 / 2)
    assert scores["map"] == pytest.approx(ap_1 / 2)
    assert scores["hit_rate"] == 0.5


def test_a_user_without_a_relevant_movie_is_refused():
    with pytest.raises(ValueError, match="user_idx 3 has no relevant"):
        topn_accuracy(np.array([[1, 2]]), np.array([3]), {})


def test_baselines_score_every_movie_the_same_for_every_user():
    users = torch.tensor([1, 2])
    popular = popularity_scores([1, 1, 2, 3, 3, 3], 4).score_matrix(users)
    assert popular.tolist() == [[-1.0, 2.0, 1.0, 3.0]] * 2  # the unknown slot last
    shrunk = shrunk_mean_scores([1, 2, 2], [5.0, 4.0, 4.0], 3, shrinkage=1.0).score_matrix(users)[0]
    mean = 13 / 3
    assert shrunk[1].item() == pytest.approx((5 + mean) / 2) and shrunk[2].item() == pytest.approx((8 + mean) / 3)
    random = RandomScores(5, seed=0)
    assert torch.equal(random.score_matrix(torch.tensor([2]))[0], random.score_matrix(torch.tensor([1, 2]))[1])
