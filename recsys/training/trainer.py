"""The one trainer for every model: Adam on MSE, early stopping, callbacks for everything else.

Nothing model-specific lives here. Each epoch shuffles the training tensors once (one gather per tensor)
and cuts batches as slices of them, so a batch costs no indexing and no per-row Python; the unknown-id
dropout is drawn for the whole epoch at once, and the loss is read back once per epoch (no per-batch
sync with the GPU). The best weights by validation MSE are restored at the end. Logging, progress and
checkpoints attach from outside as callbacks (see :mod:`recsys.training.callbacks`); ``resume_from`` continues a
run from the checkpoints of :class:`recsys.training.resume.EpochCheckpoint`.
"""

import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from recsys.data.tensors import RatingTensors
from recsys.data.vocab import UNKNOWN_IDX
from recsys.models.base import RatingModel
from recsys.training.callbacks import Callback, EarlyStopping, EpochStats, ProgressBar, TrainState
from recsys.training.config import TrainConfig
from recsys.training.lazy import LazyAdam, wants_lazy
from recsys.training.resume import load_last_training_state, restore_training_state
from recsys.training.stopping import check_stop

__all__ = [
    "Callback",
    "EarlyStopping",
    "EpochStats",
    "ProgressBar",
    "TrainResult",
    "Shard",
    "TrainState",
    "TrainingDiverged",
    "make_optimizer",
    "resolve_device",
    "seed_everything",
    "train_model",
]


@dataclass
class TrainResult:
    best_epoch: int
    best_val_mse: float
    fit_seconds: float  # wall time of this call (a resumed run counts only what it ran itself)
    device: str
    history: list[EpochStats] = field(default_factory=list)  # every epoch, those before a resume included
    resumed_from_epoch: int = 0  # 0 when the run started from scratch
    refit_seconds: float = 0.0  # wall time of the refit on training + validation rows, when there was one


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


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The trainer's optimiser: Adam with the config's learning rate and weight decay, fused (one kernel per
    step for all parameters) where the parameters' device supports it, since for these small models the
    optimiser step over every embedding row is a large share of each batch's time; for large embedding tables
    (see :mod:`recsys.training.lazy`), Adam on the rows each batch reads."""
    if wants_lazy(model, config.embedding_updates):
        return LazyAdam(model, lr=config.lr, weight_decay=config.weight_decay)
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point for p in model.parameters())
    return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=fused)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Every parameter group of ``optimizer`` steps at ``lr`` (a :class:`LazyAdam` passes it on to its dense
    part). Set from the epoch number before each epoch, so a resumed run and a refit follow the same schedule."""
    for group in optimizer.param_groups:
        group["lr"] = lr


@dataclass(frozen=True)
class Shard:
    """Data-parallel training: this process is ``rank`` of ``world``; each batch's rows ``rank::world`` are its
    share, and ``forward`` is the model wrapped in torch's DistributedDataParallel, which averages every
    parameter's gradient over the processes, so each step is the full batch's step."""

    rank: int
    world: int
    forward: torch.nn.Module


def train_model(
    model: RatingModel,
    train: RatingTensors,
    val: RatingTensors,
    config: TrainConfig,
    callbacks: tuple[Callback, ...] = (),
    *,
    resume_from: Path | None = None,
    shard: Shard | None = None,
) -> TrainResult:
    """Fit ``model`` in place and return the best epoch, its validation MSE and the per-epoch history.

    The model ends holding the weights of its best validation epoch. With ``resume_from`` (the folder of an
    :class:`~recsys.training.resume.EpochCheckpoint`), a run continues after the newest saved epoch and ends as an
    uninterrupted run would; when the folder holds no checkpoint yet, it starts from scratch.
    """
    if len(train) == 0 or len(val) == 0:
        raise ValueError(f"need training and validation rows; got {len(train)} and {len(val)}")
    if model.fits_directly:
        return _fit_directly(model, train, val, config, callbacks)
    started = time.perf_counter()
    state = _start(model, config, resume_from)
    state.shard = shard
    device = state.generator.device
    train, val = train.to(device), val.to(device)
    resumed_from = state.epoch
    for callback in callbacks:
        callback.on_train_begin(state)
    stop = resumed_from > 0 and state.stopper.should_stop(resumed_from)
    while not stop and state.epoch < config.epochs:
        stop = _end_epoch(state, _run_epoch(state, train, val), callbacks)
    for callback in callbacks:
        callback.on_train_end(state)
    if config.restore_best:
        state.stopper.restore(model)
    fit_seconds = time.perf_counter() - started
    best = (state.stopper.best_epoch, state.stopper.best_val_mse)
    return TrainResult(*best, fit_seconds, str(device), list(state.history), resumed_from)


def _fit_directly(
    model: RatingModel, train: RatingTensors, val: RatingTensors, config: TrainConfig, callbacks: tuple[Callback, ...]
) -> TrainResult:
    """A closed-form model's one fit, reported to the callbacks as a single epoch."""
    started = time.perf_counter()
    seed_everything(config.seed)
    device = resolve_device(config.device)
    model.to(device)
    train, val = train.to(device), val.to(device)
    honest_val_mse = model.fit_directly(train, val)
    seconds = time.perf_counter() - started
    val_mse = _validation_mse(model, val) if honest_val_mse is None else honest_val_mse
    with torch.no_grad():
        train_mse = _validation_mse(model, train)
    stats = EpochStats(1, train_mse, val_mse, seconds, len(train) / seconds)
    check_finite(stats)
    for callback in callbacks:
        callback.on_epoch_end(stats, model)
    return TrainResult(1, val_mse, time.perf_counter() - started, str(device), [stats])


def _start(model: RatingModel, config: TrainConfig, resume_from: Path | None) -> TrainState:
    """A fresh, seeded training state on the configured device, or the saved one in ``resume_from``."""
    seed_everything(config.seed)
    device = resolve_device(config.device)
    model.to(device)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    state = TrainState(model, make_optimizer(model, config), generator, EarlyStopping(config.patience), config)
    saved = load_last_training_state(resume_from) if resume_from is not None else None
    if saved is not None:
        restore_training_state(state, saved)
    return state


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: the weights are no longer usable and nothing is saved of them."""


def check_finite(stats: EpochStats) -> None:
    """Raise :class:`TrainingDiverged` naming the epoch when its training or validation MSE is not finite."""
    if not (math.isfinite(stats.train_mse) and math.isfinite(stats.val_mse)):
        raise TrainingDiverged(
            f"diverged at epoch {stats.epoch}: train MSE {stats.train_mse}, validation MSE {stats.val_mse} "
            "(a smaller learning rate or more regularisation usually helps)"
        )


def _end_epoch(state: TrainState, stats: EpochStats, callbacks: tuple[Callback, ...]) -> bool:
    """Record the epoch, let early stopping and then every callback see it; True to stop. A diverged epoch
    raises before any callback (a checkpoint, say) sees it."""
    check_finite(stats)
    state.epoch = stats.epoch
    state.history.append(stats)
    stop = state.stopper.on_epoch_end(stats, state.model)
    return any([callback.on_epoch_end(stats, state.model) for callback in callbacks]) or stop


def _run_epoch(state: TrainState, train: RatingTensors, val: RatingTensors) -> EpochStats:
    """One pass over shuffled training rows, then the validation MSE."""
    epoch_start = time.perf_counter()
    config = state.config
    key = None  # rows with the same key (a movie or a user) kept together: see TrainConfig.batch_order
    if config.batch_order != "rows" and len(train) >= config.order_from:
        key = train.movie_idx if config.batch_order == "movies" else train.user_idx
    set_learning_rate(state.optimizer, config.lr * config.lr_decay**state.epoch)
    train_mse = _train_pass(state, _shuffle(train, config.unknown_id_rate, state.generator, key))
    seconds = time.perf_counter() - epoch_start
    return EpochStats(state.epoch + 1, train_mse, _validation_mse(state.model, val), seconds, len(train) / seconds)


def _shuffle(
    data: RatingTensors, unknown_id_rate: float, generator: torch.Generator, key: torch.Tensor | None = None
) -> RatingTensors:
    """The rows in a fresh random order (with ``key`` (N,), ids: the keys in a random order, each key's rows
    together in a random order), about a share ``unknown_id_rate`` of user ids and, independently, of
    movie ids replaced by the unknown slot, so its embedding learns an average."""
    order = torch.randperm(len(data), generator=generator, device=data.rating.device)  # (N,)
    if key is not None and len(data):
        rank = torch.randperm(int(key.max()) + 1, generator=generator, device=key.device)  # (n_keys,)
        order = order[torch.sort(rank[key[order]], stable=True).indices]
    users, movies = data.user_idx[order], data.movie_idx[order]  # fresh tensors: safe to write into
    n_drop = round(unknown_id_rate * len(data))
    if n_drop:
        # positions drawn with replacement: n_drop random draws rather than one per row (0.6 ms of a 60 ms
        # epoch for mf on the CPU); a repeated position only makes the share a hair smaller
        users.index_fill_(0, _positions(n_drop, len(data), generator), UNKNOWN_IDX)
        movies.index_fill_(0, _positions(n_drop, len(data), generator), UNKNOWN_IDX)
    return RatingTensors(users, movies, data.rating[order])


def _positions(k: int, n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randint(n, (k,), generator=generator, device=generator.device)  # (k,)


def _train_pass(state: TrainState, data: RatingTensors) -> float:
    """Adam steps over consecutive batches of ``data``; the mean batch MSE weighted by batch size."""
    model, optimizer, batch_size = state.model, state.optimizer, state.config.batch_size
    model.train()
    losses = []  # detached (,) tensors: read back once at the end, so the GPU never waits for the CPU
    for start in range(0, len(data), batch_size):
        check_stop()  # a SIGTERM stops training within a batch, in whichever thread it runs
        rows = _rows(state.shard, start, min(start + batch_size, len(data)))
        users, movies = data.user_idx[rows], data.movie_idx[rows]  # (B,) views, no copy
        mse = _batch_mse(state, users, movies, data.rating[rows], min(batch_size, len(data) - start))
        loss = mse + model.penalty(users, movies)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(mse.detach())
    sizes = torch.full((len(losses),), float(batch_size), device=losses[0].device)  # rows per batch
    sizes[-1] = len(data) - batch_size * (len(losses) - 1)
    return float(torch.stack(losses) @ sizes) / len(data)


def _rows(shard: Shard | None, start: int, stop: int) -> slice:
    """This process's rows of the batch ``start:stop``: all of them, or every ``world``-th from ``rank``."""
    return slice(start, stop) if shard is None else slice(start + shard.rank, stop, shard.world)


def _batch_mse(state: TrainState, users, movies, ratings, batch_rows: int) -> torch.Tensor:
    """The batch's MSE; for a shard, its share of the whole batch's squared error scaled so that the
    gradients averaged over the processes are the whole batch's (a process with no rows adds 0)."""
    if state.shard is None:
        return torch.nn.functional.mse_loss(state.model(users, movies), ratings)
    errors = state.shard.forward(users, movies) - ratings
    return errors.square().sum() * (state.shard.world / batch_rows)


@torch.no_grad()
def _validation_mse(model: RatingModel, val: RatingTensors, batch_size: int = 65_536) -> float:
    """MSE of the clipped predictions on ``val``, as :func:`recsys.evaluation.predictions.predict` would score them; the
    squared errors are summed on the device, so only one number comes back."""
    model.eval()
    low, high = model.shape.rating_min, model.shape.rating_max
    parts = []
    for start in range(0, len(val), batch_size):
        rows = slice(start, start + batch_size)
        predicted = model(val.user_idx[rows], val.movie_idx[rows]).clamp_(low, high)  # (b,)
        parts.append((predicted - val.rating[rows]).square_().sum(dtype=torch.float64))
    return float(torch.stack(parts).sum()) / len(val)
