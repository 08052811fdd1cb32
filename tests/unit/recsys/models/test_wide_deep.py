import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from recsys import columns as C
from recsys.data.features import FeatureTables, cross_user_genre
from recsys.data.vocab import fit_vocabulary
from recsys.models.checkpoint import load_checkpoint, save_checkpoint
from tests.building import built
from tests.unit.recsys.models.contract import SHAPE, ModelContract

GENRES = ("Comedy", "Drama", "Horror")
WD_SHAPE = dataclasses.replace(SHAPE, n_genres=len(GENRES))


def features() -> FeatureTables:
    rng = np.random.default_rng(0)
    multi_hot = rng.integers(0, 2, (SHAPE.n_movies, len(GENRES))).astype(np.uint8)
    multi_hot[0] = 0
    movies = pd.DataFrame(multi_hot, columns=[f"genre:{g}" for g in GENRES])
    movies["year_bucket"] = rng.integers(0, 12, SHAPE.n_movies)
    movies.insert(0, C.MOVIE_IDX, np.arange(SHAPE.n_movies))
    return FeatureTables(GENRES, movies, pd.DataFrame({C.USER_IDX: np.arange(SHAPE.n_users)}))


class TestWideDeep(ModelContract):
    variant = "wide_deep"

    def build(self, seed=0):
        return built(self.variant, None, WD_SHAPE, seed=seed, features=features())


def test_wide_part_by_hand():
    model = built("wide_deep", None, WD_SHAPE, seed=0, features=features())
    u, m = torch.tensor([3]), torch.tensor([5])
    g = model.genres[m]
    with torch.no_grad():
        model.user_w.weight[3] = 0.5
        model.movie_w.weight[5] = -0.25
        model.genre_w.weight[:] = torch.tensor([[1.0, 2.0, 4.0]])
        for j in range(len(GENRES)):
            model.cross_w.weight[cross_user_genre(3, j, model.config.cross_buckets)] = 10.0**j
    expected = 0.5 - 0.25 + sum((1.0 * 2**j + 10.0**j) * float(g[0, j]) for j in range(len(GENRES)))
    assert model.wide(u, m, g).item() == pytest.approx(expected)


def test_features_travel_in_the_checkpoint(tmp_path):
    model = built("wide_deep", None, WD_SHAPE, seed=1, features=features())
    users, movies = fit_vocabulary(np.arange(1, 11)), fit_vocabulary(np.arange(1, 21))
    loaded = load_checkpoint(save_checkpoint(tmp_path / "wd.pt", "wide_deep", model, users, movies)).model
    assert torch.equal(loaded.genres, model.genres) and torch.equal(loaded.year_bucket, model.year_bucket)
    u, m = torch.arange(1, 11), torch.arange(1, 11)
    assert torch.equal(loaded.eval()(u, m), model.eval()(u, m))


def test_wrongly_shaped_features_are_refused():
    with pytest.raises(ValueError, match="feature tables have shape"):
        built("wide_deep", None, dataclasses.replace(WD_SHAPE, n_genres=5), seed=0, features=features())
