"""A run's models read from their checkpoints one at a time (the analysis of a 25M run held all ten at once)."""

import gc
import weakref

import numpy as np
import pytest
import torch

from recsys.data.tensors import ModelShape
from recsys.data.vocab import fit_vocabulary
from recsys.models import build_model
from recsys.models.checkpoint import StoredModels, save_checkpoint

SHAPE = ModelShape(n_users=12, n_movies=9, rating_min=0.5, rating_max=5.0, rating_mean=3.5)


def stored(tmp_path) -> tuple[StoredModels, dict[str, torch.nn.Module]]:
    vocab, movies = fit_vocabulary(np.arange(1, 12)), fit_vocabulary(np.arange(1, 9))
    saved = {name: build_model(name, None, SHAPE, seed=1) for name in ("mf", "baseline")}
    paths = {name: save_checkpoint(tmp_path / f"{name}.pt", name, m, vocab, movies) for name, m in saved.items()}
    return StoredModels(paths), saved


def test_each_model_loads_when_read_with_its_saved_weights(tmp_path):
    models, saved = stored(tmp_path)
    assert list(models) == ["mf", "baseline"] and len(models) == 2 and "mf" in models
    users, movies = torch.tensor([1, 4, 0]), torch.tensor([2, 0, 8])
    with torch.no_grad():
        for name in models:
            assert torch.equal(models[name](users, movies), saved[name].eval()(users, movies))


def test_items_and_values_are_refused_since_their_loop_would_hold_two_models(tmp_path):
    models, _ = stored(tmp_path)
    for read in (models.items, models.values):
        with pytest.raises(TypeError, match="one at a time"):
            read()


def test_only_the_last_model_read_is_kept(tmp_path):
    models, _ = stored(tmp_path)
    first = weakref.ref(models["mf"])
    assert models["mf"] is first()  # read again: the same one, not a second load
    models["baseline"]
    gc.collect()
    assert first() is None
