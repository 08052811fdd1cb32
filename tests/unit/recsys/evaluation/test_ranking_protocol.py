"""The top-N protocol's NDCG where it coincides with scikit-learn's (binary relevance, every relevant movie in
the candidate list), and its intervals from resampled users."""

import numpy as np
import pytest
import torch
from sklearn.metrics import ndcg_score

from recsys.evaluation.metrics.topn import ConstantScores, topn_per_user
from recsys.evaluation.ranking import score_topn


def test_ndcg_at_10_matches_scikit_learn_on_binary_relevance():
    rng = np.random.default_rng(1)
    lists = np.stack([rng.permutation(np.arange(1, 31))[:10] for _ in range(8)])  # (8, 10)
    relevant = {u: lists[u, rng.choice(10, size=3, replace=False)] for u in range(8)}  # all inside the top 10
    ours = topn_per_user(lists, np.arange(8), relevant)[:, 2]
    for u in range(8):
        true = np.isin(lists[u], relevant[u]).astype(float)[None, :]
        scores = np.arange(10, 0, -1, dtype=float)[None, :]  # the list's order
        assert ours[u] == pytest.approx(ndcg_score(true, scores, k=10))


def test_the_protocol_scores_a_perfect_ranker_at_one_and_bounds_each_metric():
    n_movies = 40
    popularity = np.r_[0, np.arange(n_movies - 1, 0, -1)]  # movie 1 most popular
    relevant = {u: np.array([1]) for u in range(1, 6)}  # everyone's relevant movie is the top one
    scores = score_topn(ConstantScores(popularity.astype(float)), np.arange(1, 6), relevant, {}, popularity, 40)
    assert scores.metrics["ndcg@10"] == pytest.approx(1.0) and scores.metrics["hit_rate@10"] == 1.0
    assert scores.low["ndcg@10"] <= scores.metrics["ndcg@10"] <= scores.high["ndcg@10"]
    assert scores.metrics["coverage"] == pytest.approx(10 / 39)
    assert torch.is_tensor(ConstantScores(popularity.astype(float)).score_matrix(torch.tensor([1])))


def test_the_top_n_promotion_resamples_users_in_pairs_and_needs_the_interval_clear_of_the_margin():
    from recsys.evaluation.promotion import PromotionConfig, decide_topn
    from recsys.evaluation.ranking import paired_users

    n_movies, users = 40, np.arange(1, 201)
    popularity = np.r_[0, np.arange(n_movies - 1, 0, -1)]
    relevant = {int(u): np.array([1 + int(u) % 3]) for u in users}  # movies 1-3, each a third of the users
    good = score_topn(ConstantScores(popularity.astype(float)), users, relevant, {}, popularity, 200)
    reversed_scores = np.r_[0, np.arange(1, n_movies)].astype(float)  # the least popular first: no hit
    bad = score_topn(ConstantScores(reversed_scores), users, relevant, {}, popularity, 200)
    paired = paired_users(good, bad)
    assert paired["users"] == 200 and paired["delta"] == pytest.approx(good.metrics["ndcg@10"])
    assert paired["delta_low"] > 0 and paired["significant"]
    assert decide_topn(good, bad, "same rows", PromotionConfig())["promote"]
    assert not decide_topn(bad, good, "same rows", PromotionConfig())["promote"]
    assert not decide_topn(good, good, "same rows", PromotionConfig(rule="point"))["promote"]  # no gain
