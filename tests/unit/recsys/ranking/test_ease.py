"""EASE^R against a hand-worked example, and the optimality condition its closed form must meet."""

import numpy as np
import pytest
import torch

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.ranking import EASE, EASEConfig, interaction_matrix


def ease(n_users: int, n_movies: int, **settings) -> EASE:
    """EASE over every movie with an interaction (``min_support`` 1) unless the test sets it: the examples are
    hand-sized, and most of their movies have one or two."""
    return EASE(EASEConfig(**{"min_support": 1} | settings), ModelShape(n_users, n_movies, 0.5, 5.0, 3.5))


def tensors(pairs: list[tuple[int, int]], rating: float = 4.0) -> RatingTensors:
    users, movies = zip(*pairs, strict=True)
    return RatingTensors(torch.tensor(users), torch.tensor(movies), torch.full((len(pairs),), rating))


# users 1..4, movies 1..4 (index 0 is the unknown slot): movies 1 and 2 rated together by users 1 and 2,
# movie 3 by user 3 alone, movie 1 by user 4 alone, movie 4 by nobody
PAIRS = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (4, 1)]


def test_a_hand_worked_four_movie_example():
    """G + I over movies 1..4 is [[4, 2], [2, 3]] for movies 1, 2, then 2 and 1; P = its inverse has the block
    [[3/8, -1/4], [-1/4, 1/2]], so B_12 = -P_12 / P_22 = 1/2 and B_21 = -P_21 / P_11 = 2/3, all else 0."""
    model = ease(5, 5, l2=1.0).fit(tensors(PAIRS))
    expected = np.zeros((5, 5))
    expected[1, 2], expected[2, 1] = 0.5, 2 / 3
    assert model.weights.numpy() == pytest.approx(expected, abs=1e-6)
    scores = model.score_matrix(torch.tensor([4, 3]))  # user 4 rated movie 1; user 3 movie 3
    assert scores[0, 2].item() == pytest.approx(0.5) and scores[0, 3:].tolist() == [0.0, 0.0]
    assert scores[1, 1:].tolist() == [0.0, 0.0, 0.0, 0.0] and torch.isinf(scores[:, 0]).all()


def test_the_weights_meet_the_constrained_least_squares_optimum():
    """B minimises ||X - XB||^2 + l2 ||B||^2 with diag(B) = 0 exactly when (G + l2 I) B - G is diagonal."""
    rng = np.random.default_rng(0)
    pairs = sorted({(int(u), int(m)) for u, m in zip(rng.integers(1, 30, 200), rng.integers(1, 12, 200), strict=True)})
    model = ease(30, 12, l2=5.0).fit(tensors(pairs))
    x = interaction_matrix(tensors(pairs), 30, 12).toarray().astype(np.float64)
    gram, weights = x.T @ x, model.weights.numpy().astype(np.float64)
    residual = (gram + 5.0 * np.eye(12)) @ weights - gram
    assert np.diag(weights) == pytest.approx(0.0)
    assert residual - np.diag(np.diag(residual)) == pytest.approx(np.zeros((12, 12)), abs=1e-4)


def test_only_ratings_at_the_threshold_count_when_one_is_set():
    low = tensors([(1, 1), (1, 2)], rating=2.0)
    assert interaction_matrix(low, 2, 3).nnz == 2 and interaction_matrix(low, 2, 3, min_rating=3.5).nnz == 0


def test_a_catalogue_past_the_limit_is_refused_with_a_way_out():
    with pytest.raises(ValueError, match="use the factor ranker `ials`"):
        ease(10, 30, max_movies=20)


def test_the_gram_matrix_over_blocks_of_users_is_the_sparse_product(monkeypatch):
    import scipy.sparse as sp

    from recsys.ranking import ease as module

    matrix = sp.random(50, 30, density=0.2, format="csr", dtype=np.float32, random_state=0)
    matrix.data[:] = 1.0
    monkeypatch.setattr(module, "GRAM_BLOCK", 64)  # two users a block: 25 blocks, some of them empty
    assert module.gram_matrix(matrix).numpy() == pytest.approx((matrix.T @ matrix).toarray())


def test_movies_without_interactions_keep_zero_weights_and_the_rest_the_full_solution():
    """Ratings of 4 and more leave movies 3 and 5 without interactions: B is what the full (G + l2 I)^-1 gives,
    computed here in float64 over every movie, with zero rows and columns for them."""
    rng = np.random.default_rng(1)
    pairs = sorted({(int(u), int(m)) for u, m in zip(rng.integers(1, 20, 120), rng.integers(1, 8, 120), strict=True)})
    ratings = torch.tensor([2.0 if m in (3, 5) else 4.5 for _, m in pairs])
    rows = RatingTensors(torch.tensor([u for u, _ in pairs]), torch.tensor([m for _, m in pairs]), ratings)
    model = ease(20, 8, l2=3.0, min_rating=4.0).fit(rows)
    x = interaction_matrix(rows, 20, 8, min_rating=4.0).toarray().astype(np.float64)
    inverse = np.linalg.inv(x.T @ x + 3.0 * np.eye(8))
    expected = -inverse / np.diag(inverse)
    np.fill_diagonal(expected, 0.0)
    assert model.weights.numpy() == pytest.approx(expected, abs=1e-5)
    assert not model.weights[[0, 3, 5]].any() and not model.weights[:, [0, 3, 5]].any()


def random_pairs(seed: int, n_users: int, n_movies: int, n: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    users, movies = rng.integers(1, n_users, n), rng.integers(1, n_movies, n)
    return sorted({(int(u), int(m)) for u, m in zip(users, movies, strict=True)})


def test_movies_below_min_support_are_left_out_as_if_they_were_not_in_the_data():
    """The default leaves out movies with fewer than 3 interactions: B is the full solution of the data without
    them (their rows and columns zero), and they get no similarity."""
    pairs = random_pairs(2, 25, 10, 90) + [(1, 10), (2, 11), (3, 11)]  # movie 10 once, 11 twice
    model = EASE(EASEConfig(l2=3.0), ModelShape(25, 12, 0.5, 5.0, 3.5)).fit(tensors(pairs))
    x = interaction_matrix(tensors(pairs), 25, 12).toarray().astype(np.float64)
    x[:, x.sum(0) < 3] = 0.0
    inverse = np.linalg.inv(x.T @ x + 3.0 * np.eye(12))
    expected = -inverse / np.diag(inverse)
    np.fill_diagonal(expected, 0.0)
    expected[:, x.sum(0) == 0] = expected[x.sum(0) == 0] = 0.0
    assert model.weights.numpy() == pytest.approx(expected, abs=1e-5)
    assert 10 not in model.kept and 11 not in model.kept and len(model.kept) == int((x.sum(0) > 0).sum())
    similarity = model.movie_similarity(torch.tensor([10, int(model.kept[0])]))
    assert not similarity[0].any() and similarity[1] == pytest.approx(
        (expected[model.kept[0]] + expected[:, model.kept[0]]) / 2
    )


def test_a_checkpoint_with_b_over_every_movie_loads_to_the_same_scores():
    """Checkpoints (and registered versions) saved before ``min_support`` hold B over every movie as
    ``weights``; they load into the kept movies' block and score as they did."""
    model = ease(30, 12, l2=5.0).fit(tensors(random_pairs(0, 30, 10, 120)))
    saved = {k: v for k, v in model.state_dict().items() if k not in ("kept", "kept_weights")}
    saved["weights"] = model.weights
    loaded = ease(30, 12, l2=5.0)
    loaded.load_state_dict(saved)
    users = torch.arange(1, 30)
    assert torch.equal(loaded.score_matrix(users), model.score_matrix(users))
    assert torch.equal(loaded.movie_similarity(torch.arange(12)), model.movie_similarity(torch.arange(12)))
    assert torch.equal(loaded.kept, model.kept)
