import numpy as np
import pytest
import torch

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.models import build_model
from recsys.models.bfm import _myfm, _side, compressed
from tests.unit.recsys.models.contract import DirectFitContract


class TestBayesianFM(DirectFitContract):
    variant = "bfm"
    config = {"sweeps": 60, "kept": 40, "rank": 4}


class TestBayesianFMWithoutImplicitSets(DirectFitContract):
    variant = "bfm"
    config = {"sweeps": 60, "kept": 40, "rank": 4, "implicit": []}


def test_the_tables_predict_what_myfm_predicts():
    """The kept tables (sample means, side-by-side factors) give myfm's own posterior mean for every pair."""
    g = torch.Generator().manual_seed(3)
    shape = ModelShape(n_users=9, n_movies=13, rating_min=0.5, rating_max=5.0, rating_mean=3.5)
    rows = RatingTensors(
        torch.randint(1, 9, (150,), generator=g), torch.randint(1, 13, (150,), generator=g), torch.rand(150) * 4 + 1
    )
    model = build_model("bfm", {"sweeps": 30, "kept": 10, "rank": 3}, shape, seed=0)
    torch.manual_seed(0)
    model.fit_directly(rows, rows)

    myfm = _myfm()  # the same fit, by hand
    users, movies = rows.user_idx.numpy(), rows.movie_idx.numpy()
    user_side, movie_side = _side(9, users, movies, 13, True), _side(13, movies, users, 9, True)
    torch.manual_seed(0)
    seed = int(torch.randint(0, 2**31 - 1, ()).item())
    fm = myfm.MyFMRegressor(rank=3, init_stdev=0.1, random_seed=seed)
    blocks = [myfm.RelationBlock(users, user_side), myfm.RelationBlock(movies, movie_side)]
    fm.fit(None, rows.rating.double().numpy(), X_rel=blocks, n_iter=30, n_kept_samples=10, group_shapes=[9, 13, 13, 9])
    pairs_u, pairs_m = np.repeat(np.arange(1, 9), 12), np.tile(np.arange(1, 13), 8)
    expected = fm.predict(None, [myfm.RelationBlock(pairs_u, user_side), myfm.RelationBlock(pairs_m, movie_side)])
    with torch.no_grad():
        got = model(torch.from_numpy(pairs_u), torch.from_numpy(pairs_m)).numpy()
    inside = (expected > 0.25) & (expected < 5.25)  # the model clamps to the widened range
    assert got[inside] == pytest.approx(expected[inside], abs=2e-3)  # the compression's error: 1e-4 RMS


def test_compression_keeps_the_products_within_its_error_and_fewer_columns():
    g = np.random.default_rng(0)
    p, q = g.normal(size=(40, 300)), g.normal(size=(70, 300)) / 300  # a product of rank 40 at most
    small_p, small_q = compressed(p, q, rms_error=1e-4)
    assert small_p.shape[1] == small_q.shape[1] <= 40
    assert np.sqrt(np.mean((small_p @ small_q.T - p @ q.T) ** 2)) <= 1e-4
    assert compressed(p, q, dense_up_to=100)[0] is p  # a product too large to compute densely stays as it is
