"""What the trainer hands its callbacks, and the callbacks every run may use: early stopping and progress.

A callback sees the live :class:`TrainState` once before the first epoch (``on_train_begin``), an
:class:`EpochStats` after every epoch (``on_epoch_end``, return True to stop) and the state again at the end
(``on_train_end``). Checkpointing for resumption lives in :mod:`recsys.training.resume`.
"""

import copy
import sys
from dataclasses import asdict, dataclass, field
from typing import TextIO

import torch
from tqdm import tqdm

from recsys.training.config import TrainConfig


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    train_mse: float  # mean batch loss over the epoch, dropout on, penalty excluded
    val_mse: float
    seconds: float  # the training pass only, validation excluded
    ratings_per_second: float  # training rows / seconds

    def to_dict(self) -> dict:
        return asdict(self)


class Callback:
    """Hooks into a training run; return True from ``on_epoch_end`` to stop training."""

    def on_train_begin(self, state: "TrainState") -> None:
        """Called once before the first epoch (after a resumed state is loaded)."""

    def on_epoch_end(self, stats: EpochStats, model: torch.nn.Module) -> bool:
        return False

    def on_train_end(self, state: "TrainState") -> None:
        """Called once after the last epoch, before the best weights are restored."""


class EarlyStopping(Callback):
    """Keeps a copy of the weights with the lowest validation MSE; stops after ``patience`` worse epochs."""

    def __init__(self, patience: int):
        self.patience = patience
        self.best_epoch, self.best_val_mse, self.best_state = 0, float("inf"), None

    def on_epoch_end(self, stats: EpochStats, model: torch.nn.Module) -> bool:
        if stats.val_mse < self.best_val_mse:
            self.best_epoch, self.best_val_mse = stats.epoch, stats.val_mse
            self._keep(model.state_dict())
        return self.should_stop(stats.epoch)

    def _keep(self, state: dict) -> None:
        """Copy ``state`` into the kept tensors, allocated once (a fresh copy per better epoch cost more)."""
        if self.best_state is None or self.best_state.keys() != state.keys():
            self.best_state = copy.deepcopy(state)
            return
        for key, value in state.items():
            self.best_state[key].copy_(value)

    def should_stop(self, epoch: int) -> bool:
        """Whether ``epoch`` is ``patience`` epochs past the best one."""
        return epoch - self.best_epoch >= self.patience

    def restore(self, model: torch.nn.Module) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)

    def state_dict(self) -> dict:
        return {"best_epoch": self.best_epoch, "best_val_mse": self.best_val_mse, "best_state": self.best_state}

    def load_state_dict(self, state: dict) -> None:
        self.best_epoch, self.best_val_mse, self.best_state = (
            state["best_epoch"],
            state["best_val_mse"],
            state["best_state"],
        )


@dataclass
class TrainState:
    """Everything a run needs to continue exactly where it is: what :mod:`recsys.training.resume` saves."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # the trainer's own: batch order and unknown-id dropout
    stopper: EarlyStopping
    config: TrainConfig
    epoch: int = 0  # epochs completed
    history: list[EpochStats] = field(default_factory=list)
    shard: object = None  # a recsys.training.trainer.Shard when training data-parallel


class ProgressBar(Callback):
    """Epoch progress with ratings per second: a tqdm bar on a terminal; elsewhere (logs, CI) one plain line
    per epoch, or nothing at all with ``quiet_off_tty=True``."""

    def __init__(self, desc: str = "train", file: TextIO | None = None, quiet_off_tty: bool = False):
        self.desc, self.file, self.quiet_off_tty = desc, file, quiet_off_tty
        self.bar, self.total = None, 0

    def on_train_begin(self, state: TrainState) -> None:
        self.total = state.config.epochs
        if _is_tty(self._stream()):
            self.bar = tqdm(total=self.total, initial=state.epoch, desc=self.desc, unit="epoch", file=self._stream())

    def on_epoch_end(self, stats: EpochStats, model: torch.nn.Module) -> bool:
        text = f"train_mse {stats.train_mse:.4f} val_mse {stats.val_mse:.4f} {stats.ratings_per_second:,.0f} ratings/s"
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        elif not self.quiet_off_tty:
            print(f"{self.desc} epoch {stats.epoch}/{self.total}: {text}", file=self._stream(), flush=True)
        return False

    def on_train_end(self, state: TrainState) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _stream(self) -> TextIO:
        return self.file if self.file is not None else sys.stderr


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
