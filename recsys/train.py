"""The one trainer for every model: Adam on MSE, early stopping, callbacks for everything else.

Nothing model-specific lives here. Batches are cut from tensors prepared once (no per-row Python); the
best weights by validation MSE are restored at the end. Logging, progress and checkpoints attach from
outside as callbacks receiving an :class:`EpochStats` after every epoch.
"""

import copy
import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from recsys.config import TrainConfig
from recsys.data import RatingTensors
from recsys.evaluate import predict
from recsys.models.base import RatingModel
from recsys.vocab import UNKNOWN_IDX


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    train_mse: float  # mean batch loss over the epoch, dropout on, penalty excluded
    val_mse: float
    seconds: float
    ratings_per_second: float


@dataclass
class TrainResult:
    best_epoch: int
    best_val_mse: float
    fit_seconds: float
    device: str
    history: list[EpochStats] = field(default_factory=list)


class Callback:
    """Receives every epoch's statistics; return True from ``on_epoch_end`` to stop training."""

    def on_epoch_end(self, stats: EpochStats, model: RatingModel) -> bool:
        return False


class EarlyStopping(Callback):
    """Keeps a copy of the weights with the lowest validation MSE; stops after ``patience`` worse epochs."""

    def __init__(self, patience: int):
        self.patience = patience
        self.best_epoch, self.best_val_mse, self.best_state = 0, float("inf"), None

    def on_epoch_end(self, stats: EpochStats, model: RatingModel) -> bool:
        if stats.val_mse < self.best_val_mse:
            self.best_epoch, self.best_val_mse = stats.epoch, stats.val_mse
            self.best_state = copy.deepcopy(model.state_dict())
        return stats.epoch - self.best_epoch >= self.patience

    def restore(self, model: RatingModel) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA device")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices) so a run can be repeated exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_model(
    model: RatingModel,
    train: RatingTensors,
    val: RatingTensors,
    config: TrainConfig,
    callbacks: tuple[Callback, ...] = (),
) -> TrainResult:
    """Fit ``model`` in place and return the best epoch, its validation MSE and the per-epoch history.

    The model ends holding the weights of its best validation epoch.
    """
    if len(train) == 0 or len(val) == 0:
        raise ValueError(f"need training and validation rows; got {len(train)} and {len(val)}")
    seed_everything(config.seed)
    device = resolve_device(config.device)
    model.to(device)
    train, val = train.to(device), val.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    stopper = EarlyStopping(config.patience)
    result = TrainResult(0, float("inf"), 0.0, str(device))
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        train_mse = _run_epoch(model, train, optimizer, config, generator)
        seconds = time.perf_counter() - epoch_start
        val_mse = float(np.mean((predict(model, val) - val.rating.cpu().numpy()) ** 2))
        stats = EpochStats(epoch, train_mse, val_mse, seconds, len(train) / seconds)
        result.history.append(stats)
        stop = stopper.on_epoch_end(stats, model)
        stop = any([cb.on_epoch_end(stats, model) for cb in callbacks]) or stop
        if stop:
            break
    stopper.restore(model)
    result.best_epoch, result.best_val_mse = stopper.best_epoch, stopper.best_val_mse
    result.fit_seconds = time.perf_counter() - started
    return result


def _run_epoch(
    model: RatingModel,
    data: RatingTensors,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    generator: torch.Generator,
) -> float:
    model.train()
    n = len(data)
    order = torch.randperm(n, generator=generator, device=data.rating.device)
    total = torch.zeros((), device=data.rating.device)
    for start in range(0, n, config.batch_size):
        rows = order[start : start + config.batch_size]
        users, movies = data.user_idx[rows], data.movie_idx[rows]
        if config.unknown_id_rate > 0:
            users = _drop_ids(users, config.unknown_id_rate, generator)
            movies = _drop_ids(movies, config.unknown_id_rate, generator)
        predicted = model(users, movies)
        mse = torch.nn.functional.mse_loss(predicted, data.rating[rows])
        loss = mse + model.penalty(users, movies)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += mse.detach() * len(rows)
    return float(total) / n


def _drop_ids(idx: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """Replace a random share of indices by the unknown slot, so its embedding learns an average."""
    drop = torch.rand(idx.shape, generator=generator, device=idx.device) < rate
    return torch.where(drop, torch.full_like(idx, UNKNOWN_IDX), idx)
