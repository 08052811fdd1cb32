"""Per-epoch checkpoints and resuming: a crashed run, resumed, ends exactly where an unbroken run ends."""

import random
import threading

import numpy as np
import pytest
import torch

from recsys.models import build_model
from recsys.training.config import TrainConfig
from recsys.training.resume import EpochCheckpoint, list_checkpoints, load_last_training_state
from recsys.training.stopping import TrainingStopped, clear_stop, request_stop
from recsys.training.trainer import Callback, train_model


class CrashAfter(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, stats, model):
        if stats.epoch == self.epoch:
            raise RuntimeError("simulated crash")
        return False


def run(prepared, config, callbacks=(), seed=0, variant="baseline", **kwargs):
    model = build_model(variant, None, prepared.shape, seed=seed)
    result = train_model(model, prepared.tensors("train"), prepared.tensors("val"), config, callbacks, **kwargs)
    return model, result


def assert_same_weights(a, b):
    assert a.state_dict().keys() == b.state_dict().keys()
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key


# baseline has dropout (the global torch RNG) and the default unknown-id dropout uses the trainer's generator,
# so both random streams must come back exactly for the weights to match
# (and a decaying learning rate, set from the epoch number, must follow on from where it was)
@pytest.mark.parametrize(("variant", "lr_decay"), [("baseline", 1.0), ("mf", 1.0), ("mf", 0.6)])
def test_crash_after_two_epochs_then_resume_to_four_gives_the_uninterrupted_weights(
    tiny_prepared, tmp_path, variant, lr_decay
):
    config = TrainConfig(epochs=4, batch_size=64, patience=10, lr=1e-2, lr_decay=lr_decay, seed=3)
    straight, expected = run(tiny_prepared, config, variant=variant)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(tiny_prepared, config, (EpochCheckpoint(tmp_path), CrashAfter(2)), variant=variant)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["epoch-0001.pt", "epoch-0002.pt"]  # the newest two
    torch.rand(10), np.random.rand(), random.random()  # whatever ran in between moved the global streams on
    resumed, result = run(
        tiny_prepared, config, (EpochCheckpoint(tmp_path),), seed=99, variant=variant, resume_from=tmp_path
    )
    assert result.resumed_from_epoch == 2 and len(result.history) == 4
    assert [s.val_mse for s in result.history] == [s.val_mse for s in expected.history]
    assert (result.best_epoch, result.best_val_mse) == (expected.best_epoch, expected.best_val_mse)
    assert_same_weights(straight, resumed)


def test_resume_from_an_empty_folder_starts_from_scratch(tiny_prepared, tmp_path):
    config = TrainConfig(epochs=2, batch_size=64)
    straight, expected = run(tiny_prepared, config)
    resumed, result = run(tiny_prepared, config, resume_from=tmp_path / "nothing-yet")
    assert result.resumed_from_epoch == 0
    assert [s.val_mse for s in result.history] == [s.val_mse for s in expected.history]
    assert_same_weights(straight, resumed)


def test_a_stopped_run_resumes_as_stopped(tiny_prepared, tmp_path):
    # a high learning rate without regularisation over-fits the tiny data within a few epochs
    config = TrainConfig(epochs=30, batch_size=64, lr=0.05, patience=2, unknown_id_rate=0.0)
    model = build_model("mf", {"l2": 0.0}, tiny_prepared.shape, seed=0)
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    first = train_model(model, train, val, config, (EpochCheckpoint(tmp_path),))
    assert len(first.history) < 30
    again = train_model(model, train, val, config, resume_from=tmp_path)
    assert len(again.history) == len(first.history) and again.best_epoch == first.best_epoch


def test_resume_refuses_a_checkpoint_trained_with_other_settings(tiny_prepared, tmp_path):
    run(tiny_prepared, TrainConfig(epochs=1, batch_size=64, lr=1e-3), (EpochCheckpoint(tmp_path),))
    with pytest.raises(ValueError, match="lr: saved 0.001, now 0.002"):
        run(tiny_prepared, TrainConfig(epochs=2, batch_size=64, lr=2e-3), resume_from=tmp_path)


def test_checkpoints_keep_the_newest_and_leave_no_temporary_files(tiny_prepared, tmp_path):
    run(tiny_prepared, TrainConfig(epochs=4, batch_size=64, patience=10), (EpochCheckpoint(tmp_path, keep=2),))
    names = ["epoch-0003.pt", "epoch-0003.pt.sha256", "epoch-0004.pt", "epoch-0004.pt.sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    saved = load_last_training_state(tmp_path)
    assert saved["epoch"] == 4 and len(saved["history"]) == 4
    assert set(saved["rng"]) == {"device", "python", "numpy", "torch", "cuda", "generator"}


@pytest.mark.parametrize("damage", ["truncate", "flip", "no checksum"])
def test_a_damaged_checkpoint_is_skipped_for_the_one_before_it(tiny_prepared, tmp_path, caplog, damage):
    run(tiny_prepared, TrainConfig(epochs=3, batch_size=64, patience=10), (EpochCheckpoint(tmp_path),))
    newest = tmp_path / "epoch-0003.pt"
    data = newest.read_bytes()
    if damage == "truncate":
        newest.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        newest.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    else:
        (tmp_path / "epoch-0003.pt.sha256").unlink()
    with caplog.at_level("WARNING", logger="recsys"):
        saved = load_last_training_state(tmp_path)
    assert saved["epoch"] == 2 and "epoch-0003.pt is damaged or incomplete" in caplog.text


def test_with_every_checkpoint_damaged_training_starts_from_scratch(tiny_prepared, tmp_path, caplog):
    config = TrainConfig(epochs=2, batch_size=64, patience=10)
    _, fresh = run(tiny_prepared, config)
    run(tiny_prepared, config, (EpochCheckpoint(tmp_path),))
    for path in tmp_path.glob("*.pt"):
        path.write_bytes(b"garbage")
    with caplog.at_level("WARNING", logger="recsys"):
        _, again = run(tiny_prepared, config, resume_from=tmp_path)
    assert "training starts from scratch" in caplog.text
    assert again.resumed_from_epoch == 0 and again.best_val_mse == fresh.best_val_mse


class StopAfter(Callback):
    """Asks for a stop from another thread once ``epoch`` ends, as the SIGTERM handler of the CLI does."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, stats, model):
        if stats.epoch == self.epoch:
            thread = threading.Thread(target=request_stop)
            thread.start()
            thread.join()
        return False


def test_a_stop_requested_from_another_thread_ends_training_at_the_next_batch_and_keeps_its_checkpoints(
    tiny_prepared, tmp_path
):
    config = TrainConfig(epochs=4, batch_size=64, patience=10, lr=1e-2, seed=3)
    straight, expected = run(tiny_prepared, config)
    try:
        with pytest.raises(TrainingStopped):
            run(tiny_prepared, config, (StopAfter(2), EpochCheckpoint(tmp_path)))
    finally:
        clear_stop()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["epoch-0001.pt", "epoch-0002.pt"]  # no epoch 3 begun
    resumed, result = run(tiny_prepared, config, resume_from=tmp_path)
    assert result.resumed_from_epoch == 2
    assert [s.val_mse for s in result.history] == [s.val_mse for s in expected.history]
