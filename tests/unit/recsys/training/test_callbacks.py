"""Progress reporting: a bar on a terminal, one line per epoch elsewhere, or nothing."""

import io

from recsys.models import build_model
from recsys.training.callbacks import ProgressBar
from recsys.training.config import TrainConfig
from recsys.training.trainer import train_model


class Terminal(io.StringIO):
    def isatty(self):
        return True


def train_with(prepared, progress, epochs=3):
    model = build_model("mf", None, prepared.shape, seed=0)
    config = TrainConfig(epochs=epochs, batch_size=64, patience=10)
    train_model(model, prepared.tensors("train"), prepared.tensors("val"), config, (progress,))


def test_off_a_terminal_it_prints_one_line_per_epoch_with_ratings_per_second(tiny_prepared):
    out = io.StringIO()
    train_with(tiny_prepared, ProgressBar("mf", file=out))
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["mf epoch 1/3", "mf epoch 2/3", "mf epoch 3/3"]
    assert all("ratings/s" in line and "val_mse" in line and "\r" not in line for line in lines)


def test_off_a_terminal_it_can_stay_quiet(tiny_prepared):
    out = io.StringIO()
    train_with(tiny_prepared, ProgressBar("mf", file=out, quiet_off_tty=True))
    assert out.getvalue() == ""


def test_on_a_terminal_it_draws_a_bar_and_closes_it(tiny_prepared):
    out, progress = Terminal(), ProgressBar("mf", file=Terminal())
    progress.file = out
    train_with(tiny_prepared, progress)
    assert "3/3" in out.getvalue() and "ratings/s" in out.getvalue()
    assert progress.bar is None
