import numpy as np
import pytest
import torch

from recsys.data.tensors import RatingTensors
from recsys.data.vocab import UNKNOWN_IDX
from recsys.evaluation.predictions import predict
from recsys.models import build_model
from recsys.training.config import TrainConfig
from recsys.training.trainer import Callback, EarlyStopping, EpochStats, _shuffle, train_model


def stats(epoch, val):
    return EpochStats(epoch, 1.0, val, 1.0, 1.0)


def test_early_stopping_counts_patience_from_the_best_epoch():
    model = torch.nn.Linear(1, 1)
    stopper = EarlyStopping(patience=2)
    assert [stopper.on_epoch_end(stats(e, v), model) for e, v in enumerate([0.9, 0.8, 0.85, 0.79, 0.8, 0.81], 1)] == [
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    assert (stopper.best_epoch, stopper.best_val_mse) == (4, 0.79)


class RecordPredictions(Callback):
    def __init__(self, val):
        self.val, self.by_epoch = val, {}

    def on_epoch_end(self, stats, model):
        self.by_epoch[stats.epoch] = predict(model, self.val)
        return False


def test_trainer_restores_the_best_epoch_and_reports_history(tiny_prepared):
    model = build_model("mf", {"l2": 0.0}, tiny_prepared.shape, seed=0)
    val = tiny_prepared.tensors("val")
    recorder = RecordPredictions(val)
    # a high learning rate without regularisation over-fits the tiny data within a few epochs
    config = TrainConfig(epochs=12, batch_size=64, lr=0.05, patience=3, unknown_id_rate=0.0)
    result = train_model(model, tiny_prepared.tensors("train"), val, config, (recorder,))
    assert 1 <= result.best_epoch < len(result.history) <= 12
    assert result.best_val_mse == min(s.val_mse for s in result.history)
    assert np.array_equal(predict(model, val), recorder.by_epoch[result.best_epoch])
    assert all(s.ratings_per_second > 0 for s in result.history)


def test_trainer_is_deterministic_for_a_seed(tiny_prepared):
    def run():
        model = build_model("baseline", None, tiny_prepared.shape, seed=4)
        config = TrainConfig(epochs=2, batch_size=64, seed=4)
        return train_model(model, tiny_prepared.tensors("train"), tiny_prepared.tensors("val"), config).history

    assert [s.val_mse for s in run()] == [s.val_mse for s in run()]


def test_callback_can_stop_training(tiny_prepared):
    class StopNow(Callback):
        def on_epoch_end(self, stats, model):
            return True

    model = build_model("mf", None, tiny_prepared.shape, seed=0)
    result = train_model(
        model,
        tiny_prepared.tensors("train"),
        tiny_prepared.tensors("val"),
        TrainConfig(epochs=5, batch_size=64),
        (StopNow(),),
    )
    assert len(result.history) == 1


def test_trainer_refuses_empty_validation(tiny_prepared):
    model = build_model("mf", None, tiny_prepared.shape, seed=0)
    empty = tiny_prepared.tensors("val")
    empty = type(empty)(empty.user_idx[:0], empty.movie_idx[:0], empty.rating[:0])
    with pytest.raises(ValueError, match="validation rows"):
        train_model(model, tiny_prepared.tensors("train"), empty, TrainConfig(epochs=1))


def test_each_epoch_shuffles_the_rows_and_sends_about_the_configured_share_of_ids_to_the_unknown_slot():
    n = 10_000
    ids = torch.arange(1, n + 1)
    data = RatingTensors(ids, ids.clone(), ids.float())
    out = _shuffle(data, 0.1, torch.Generator().manual_seed(0))
    assert torch.equal(out.rating.sort().values, data.rating)  # every row once, ratings untouched
    kept = out.user_idx != UNKNOWN_IDX
    assert torch.equal(out.user_idx[kept], out.rating[kept].long())  # the user ids still match their rows
    for idx in (out.user_idx, out.movie_idx):
        assert 0.09 < float((idx == UNKNOWN_IDX).float().mean()) <= 0.1  # 1000 draws, a few repeated
    both = float(((out.user_idx == UNKNOWN_IDX) & (out.movie_idx == UNKNOWN_IDX)).float().mean())
    assert both < 0.02  # users and movies are dropped independently, not on the same rows


def test_movie_ordered_batches_keep_each_movies_rows_together_in_a_fresh_movie_order():
    movies = torch.arange(1, 2001).repeat_interleave(5)  # 2000 movies, 5 rows each
    data = RatingTensors(torch.arange(len(movies)), movies, torch.arange(len(movies)).float())
    first = _shuffle(data, 0.0, torch.Generator().manual_seed(0), data.movie_idx)
    second = _shuffle(data, 0.0, torch.Generator().manual_seed(1), data.movie_idx)
    assert torch.equal(first.rating.sort().values, data.rating)  # every row once
    assert torch.equal(first.movie_idx, data.movie_idx[first.rating.long()])  # rows stay whole
    runs = torch.unique_consecutive(first.movie_idx)
    assert len(runs) == 2000  # each movie's rows are consecutive
    assert not torch.equal(runs, torch.unique_consecutive(second.movie_idx))  # in a new order each epoch
    assert not torch.equal(runs, torch.arange(1, 2001))


def test_a_loss_that_becomes_nan_stops_training_naming_the_epoch(tiny_prepared, tmp_path):
    from recsys.training.resume import EpochCheckpoint, list_checkpoints
    from recsys.training.trainer import TrainingDiverged

    model = build_model("mf", None, tiny_prepared.shape, seed=0)
    config = TrainConfig(epochs=5, batch_size=64, lr=1e30)  # an absurd learning rate blows the weights up
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch \d"):
        train_model(
            model, tiny_prepared.tensors("train"), tiny_prepared.tensors("val"), config, (EpochCheckpoint(tmp_path),)
        )
    saved = list_checkpoints(tmp_path)
    assert all(torch.load(p, weights_only=True)["history"][-1]["train_mse"] < 1e6 for p in saved)  # none diverged


class LearningRates(Callback):
    """The learning rate each epoch stepped at, read from the optimiser (and LazyAdam's dense part)."""

    def __init__(self):
        self.rates = []

    def on_train_begin(self, state):
        self.state = state

    def on_epoch_end(self, stats, model):
        optimizer = self.state.optimizer
        groups = [*optimizer.param_groups, *(optimizer.dense.param_groups if getattr(optimizer, "dense", None) else [])]
        self.rates.append({group["lr"] for group in groups})
        return False


@pytest.mark.parametrize("updates", ["dense", "lazy"])
def test_the_learning_rate_decays_each_epoch_from_lr(tiny_prepared, updates):
    config = TrainConfig(epochs=4, batch_size=64, patience=10, lr=1e-2, lr_decay=0.5, embedding_updates=updates)
    rates = LearningRates()
    model = build_model("baseline", None, tiny_prepared.shape, seed=0)
    train_model(model, tiny_prepared.tensors("train"), tiny_prepared.tensors("val"), config, (rates,))
    assert rates.rates == [{1e-2}, {5e-3}, {2.5e-3}, {1.25e-3}]
