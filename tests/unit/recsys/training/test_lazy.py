"""Lazy (row-wise) Adam for large embedding tables: only the rows a batch reads move, training still learns,
and a resumed run continues exactly."""

import pytest
import torch

from recsys.models import build_model
from recsys.training.config import TrainConfig
from recsys.training.lazy import LazyAdam, wants_lazy
from recsys.training.resume import EpochCheckpoint
from recsys.training.trainer import train_model
from tests.building import built

LAZY = TrainConfig(epochs=3, batch_size=64, lr=1e-2, patience=10, embedding_updates="lazy")


def test_auto_is_lazy_only_for_large_tables(tiny_prepared):
    model = build_model("mf", None, tiny_prepared.shape, seed=0)
    assert not wants_lazy(model, "auto") and wants_lazy(model, "lazy") and not wants_lazy(model, "dense")


def test_a_step_moves_only_the_rows_the_batch_read(tiny_prepared):
    model = build_model("mf", None, tiny_prepared.shape, seed=0).train()
    optimizer = LazyAdam(model, lr=0.1)
    before = model.user_factors.weight.detach().clone()
    users, movies = torch.tensor([3, 3, 5]), torch.tensor([1, 2, 2])
    loss = ((model(users, movies) - 4.0) ** 2).mean() + model.penalty(users, movies)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    moved = (model.user_factors.weight != before).any(dim=1).nonzero().flatten().tolist()
    assert moved == [3, 5]


def test_tables_reading_one_batch_find_its_distinct_rows_once_a_step(tiny_prepared):
    model = build_model("mf", None, tiny_prepared.shape, seed=0).train()
    optimizer = LazyAdam(model, lr=0.1)
    users, movies = torch.tensor([5, 3, 5]), torch.tensor([1, 2, 2])
    loss = ((model(users, movies) - 4.0) ** 2).mean() + model.penalty(users, movies)
    ((_, factor_rows, _, inverse),) = model.user_factors.pending  # forward and penalty share the leaf
    ((_, bias_rows, _, _),) = model.user_bias.pending
    assert factor_rows is bias_rows and factor_rows.tolist() == [3, 5] and inverse.tolist() == [1, 0, 1]
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert optimizer.step_rows.of(users)[0] is not factor_rows  # the step let them go


@pytest.mark.parametrize("variant", ["mf", "baseline", "svdpp", "autorec"])
def test_lazy_training_learns(tiny_prepared, variant):
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    model = built(variant, None, tiny_prepared.shape, seed=0, interactions=train)
    result = train_model(model, train, val, LAZY)
    assert result.history[-1].train_mse < result.history[0].train_mse


def test_a_lazy_run_resumes_exactly(tiny_prepared, tmp_path):
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    straight = build_model("mf", None, tiny_prepared.shape, seed=0)
    expected = train_model(straight, train, val, LAZY)
    first = build_model("mf", None, tiny_prepared.shape, seed=0)
    train_model(first, train, val, LAZY.model_copy(update={"epochs": 2}), (EpochCheckpoint(tmp_path),))
    resumed = build_model("mf", None, tiny_prepared.shape, seed=9)
    result = train_model(resumed, train, val, LAZY, resume_from=tmp_path)
    assert result.resumed_from_epoch == 2 and result.best_val_mse == expected.best_val_mse
    assert torch.equal(resumed.user_factors.weight, straight.user_factors.weight)
