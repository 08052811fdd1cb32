"""What `recsys tune` searches and how a trial is judged: Optuna proposes a variant's settings, the one training
entry trains it on the training rows, and the trial's value is its best validation MSE (test rows are never
read). A trial whose per-epoch validation MSE is worse than the median of earlier trials at the same epoch
is pruned (Optuna's ``MedianPruner``). The best settings come back as the ``variants`` section of a config
file that ``recsys train-all --config`` takes.

Search spaces are written per variant (:data:`SPACES`), from the wider random search the project ran before
(``bench/tune.py``, a random search this replaced) and the bfm bench (``bench/bfm.py``).
"""

from collections.abc import Callable
from typing import Any

import optuna

from recsys.data.tensors import SplitData
from recsys.pipeline.config import VariantSettings
from recsys.training.trainer import Callback, EpochStats
from recsys.training.variant import train_variant

Space = Callable[[optuna.Trial], tuple[dict[str, Any], dict[str, Any]]]  # a trial -> (model, train) overrides


def _mf(trial: optuna.Trial) -> tuple[dict, dict]:
    model = {
        "dim": trial.suggest_categorical("dim", [32, 50, 64, 100]),
        "l2": trial.suggest_float("l2", 0.02, 1, log=True),
    }
    return model, {"lr": trial.suggest_float("lr", 3e-3, 3e-2, log=True)}


def _baseline(trial: optuna.Trial) -> tuple[dict, dict]:
    model = {
        "dim": trial.suggest_categorical("dim", [32, 50, 64]),
        "hidden": trial.suggest_categorical("hidden", [50, 70, 100]),
        "emb_dropout": trial.suggest_float("emb_dropout", 0.1, 0.5),
        "hidden_dropout": trial.suggest_float("hidden_dropout", 0.5, 0.8),
    }
    train = {
        "lr": trial.suggest_float("lr", 2e-3, 8e-3, log=True),
        "lr_decay": trial.suggest_float("lr_decay", 0.8, 1.0),
        "weight_decay": trial.suggest_float("weight_decay", 8e-4, 3e-3, log=True),
    }
    return model, train


def _recurrent(trial: optuna.Trial) -> tuple[dict, dict]:
    model = {
        "dim": trial.suggest_categorical("dim", [32, 50, 64]),
        "hidden": trial.suggest_categorical("hidden", [50, 70, 100]),
        "mode": trial.suggest_categorical("mode", ["single_step", "two_step"]),
        "input_dropout": trial.suggest_float("input_dropout", 0.3, 0.8),
        "output_dropout": trial.suggest_float("output_dropout", 0.3, 0.8),
    }
    train = {
        "lr": trial.suggest_float("lr", 5e-3, 5e-2, log=True),
        "lr_decay": trial.suggest_float("lr_decay", 0.8, 1.0),
        "weight_decay": trial.suggest_float("weight_decay", 3e-5, 3e-4, log=True),
    }
    return model, train


def _bfm(trial: optuna.Trial) -> tuple[dict, dict]:
    implicit = trial.suggest_categorical("implicit", ["both", "movie_users", "none"])
    groups = {"both": ["user_movies", "movie_users"], "movie_users": ["movie_users"], "none": []}[implicit]
    sweeps = trial.suggest_int("sweeps", 100, 600, step=50)
    kept = max(1, int(sweeps * trial.suggest_float("kept_share", 0.3, 0.9)))
    return {
        "rank": trial.suggest_categorical("rank", [4, 8, 16, 32]),
        "implicit": groups,
        "sweeps": sweeps,
        "kept": kept,
    }, {}


SPACES: dict[str, Space] = {
    "mf": _mf,
    "baseline": _baseline,
    "lstm": _recurrent,
    "gru": _recurrent,
    "bilstm": _recurrent,
    "bfm": _bfm,
}


def space_of(variant: str) -> Space:
    """The search space of ``variant``; the error names the variants that have one."""
    if variant not in SPACES:
        raise ValueError(f"no search space for {variant!r}; recsys tune searches {', '.join(SPACES)}")
    return SPACES[variant]


class PruneOnValidation(Callback):
    """Reports each epoch's validation MSE to the trial and ends the trial when Optuna's pruner says so; also
    hands each epoch to ``on_epoch`` (a progress line, a metric)."""

    def __init__(self, trial: optuna.Trial, on_epoch: Callable[[EpochStats], None] | None = None):
        self.trial, self.on_epoch = trial, on_epoch

    def on_epoch_end(self, stats: EpochStats, model) -> bool:
        if self.on_epoch is not None:
            self.on_epoch(stats)
        self.trial.report(stats.val_mse, stats.epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"validation MSE {stats.val_mse:.4f} at epoch {stats.epoch}")
        return False


def trial_settings(variant: str, base: VariantSettings, trial: optuna.Trial) -> VariantSettings:
    """``base`` with the trial's proposal for ``variant`` laid over it."""
    model, train = space_of(variant)(trial)
    return VariantSettings(
        model=type(base.model).model_validate(base.model.model_dump() | model),
        train=base.train.model_copy(update=train),
    )


def objective(
    variant: str,
    base: VariantSettings,
    data: SplitData,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> Callable[[optuna.Trial], float]:
    """The study's objective: train ``variant`` at the trial's settings; its best validation MSE."""

    def judged(trial: optuna.Trial) -> float:
        settings = trial_settings(variant, base, trial)
        trial.set_user_attr(  # each part as its own class dumps it (the field's declared type is the base class)
            "settings",
            {"model": settings.model.model_dump(mode="json"), "train": settings.train.model_dump(mode="json")},
        )
        _, result = train_variant(
            variant, settings.model, settings.train, data, callbacks=(PruneOnValidation(trial, on_epoch),)
        )
        trial.set_user_attr("best_epoch", result.best_epoch)
        return result.best_val_mse

    return judged


def journal(path: str) -> optuna.storages.JournalStorage:
    """A study's storage in the append-only journal file at ``path`` (Optuna's ``JournalFileBackend``): the
    searches of several processes (Dask workers) share one study through it, each trial taken once."""
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))


def study(
    seed: int,
    warmup_epochs: int = 3,
    storage: optuna.storages.BaseStorage | None = None,
    name: str | None = None,
) -> optuna.Study:
    """A seeded TPE study that minimises validation MSE, pruning at the median after ``warmup_epochs``; in
    ``storage`` under ``name`` (created by the first caller, joined by the others) or in memory."""
    return optuna.create_study(
        storage=storage,
        study_name=name,
        load_if_exists=storage is not None,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=warmup_epochs),
    )


def shares(trials: int, searches: int) -> list[int]:
    """``trials`` dealt to at most ``searches`` searches side by side, as evenly as they go (none empty)."""
    searches = max(1, min(searches, trials))
    return [trials // searches + (i < trials % searches) for i in range(searches)]


def tuned_config(variant: str, best: optuna.trial.FrozenTrial) -> dict:
    """The ``variants`` section of a train-all config file with the best trial's settings of ``variant``."""
    settings = best.user_attrs["settings"]
    return {"variants": {variant: {"model": settings["model"], "train": settings["train"]}}}
