"""Train-a-variant task: one nested MLflow run per variant, per-epoch metrics, checkpoint and model.

Every variant goes through the same task with its settings from the run's config and is trained by the library's
one entry, :func:`recsys.training.variant.train_variant`; an ensemble (a variant whose config names members) is
fitted over the members' trained handles instead of from scratch.
"""

import time
from pathlib import Path

from mlflow.entities import Metric
from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE

import mlflow
from recsys.memory import release_memory
from recsys.models.checkpoint import load_checkpoint, save_checkpoint
from recsys.pipeline.config import VariantSettings
from recsys.pipeline.recipe import epoch_checkpoints
from recsys.store import artifacts
from recsys.training import variant as training
from recsys.training.ensembles import Member
from recsys.training.trainer import Callback, EpochStats, TrainResult
from tasks import pyfunc, tracking
from tasks.handles import SplitHandle, TrainedVariant
from tasks.runtime import work_folder

PROGRESS_EVERY = 2.0  # seconds between updates of a progress artifact: an epoch of ml-latest-small takes 0.1 s


class MlflowEpochLogger(Callback):
    """Logs ``train_mse`` and ``val_mse`` with step = epoch, a progress line per epoch, and keeps the Prefect
    progress artifact ``train-<variant>`` at the share of the epoch budget done (a UI view of a long run). For
    the refit on training + validation rows (``refit``): ``refit_train_mse`` alone (the validation rows are
    learned from there) and the artifact ``refit-<variant>``."""

    def __init__(self, client, run_id: str, variant: str, epochs: int, refit: bool = False):
        self.client, self.run_id, self.variant, self.epochs = client, run_id, variant, epochs
        self.logger = get_run_logger()
        self.progress = None
        self.refit = refit
        self.keys = ("refit_train_mse",) if refit else ("train_mse", "val_mse")
        self.shown = 0.0  # when the progress artifact was last updated (monotonic seconds)

    def on_train_begin(self, state) -> None:
        """A run resumed from a checkpoint logs the epochs it restored, so its history is whole."""
        self.epochs = state.config.epochs  # a refit's count is the best epoch of the fit before it
        key = ("refit-" if self.refit else "train-") + self.variant.replace("_", "-").lower()
        what = f"{self.variant}: share of its {self.epochs}-epoch budget done (early stopping may end it sooner)"
        if self.refit:
            what = f"{self.variant}: share of its refit on training + validation rows ({self.epochs} epochs) done"
        self.progress = create_progress_artifact(100 * state.epoch / max(self.epochs, 1), key=key, description=what)
        if state.history:
            self.logger.info("%s resumed after epoch %d from its checkpoint", self.variant, state.epoch)
            self.client.set_tag(self.run_id, "resumed_after_epoch", str(state.epoch))
        for stats in state.history:
            self.log(stats)

    def on_epoch_end(self, stats: EpochStats, model) -> bool:
        self.log(stats)
        if self.progress is not None and time.monotonic() - self.shown >= PROGRESS_EVERY:
            update_progress_artifact(self.progress, 100 * stats.epoch / max(self.epochs, 1))
            self.shown = time.monotonic()
        if self.refit:
            self.logger.info(
                "%s refit epoch %d/%d on training + validation rows: train_mse %.4f (%.1fs)",
                self.variant, stats.epoch, self.epochs, stats.train_mse, stats.seconds,
            )  # fmt: skip
            return False
        self.logger.info(
            "%s epoch %d/%d: train_mse %.4f val_mse %.4f (%.1fs, %.0f ratings/s)",
            self.variant,
            stats.epoch,
            self.epochs,
            stats.train_mse,
            stats.val_mse,
            stats.seconds,
            stats.ratings_per_second,
        )
        return False

    def on_train_end(self, state) -> None:
        if self.progress is not None:
            update_progress_artifact(self.progress, 100.0)  # done, early stopping included

    def log(self, stats: EpochStats) -> None:
        now = int(time.time() * 1000)
        metrics = [Metric(key, getattr(stats, key.removeprefix("refit_")), now, stats.epoch) for key in self.keys]
        self.client.log_batch(self.run_id, metrics=metrics)  # one write for the epoch's metrics


def open_variant_run(prepared: SplitHandle, variant: str, settings: VariantSettings, parent_run_id: str) -> str:
    """A nested MLflow run for ``variant`` under the pipeline run, its whole configuration as params."""
    client = tracking.client()
    run = client.create_run(
        tracking.experiment_id(client),
        run_name=variant,
        tags={"mlflow.parentRunId": parent_run_id, "variant": variant, "seed": str(prepared.split_seed)}
        | tracking.process_tags(),
    )
    params = {
        "variant": variant,
        "model": settings.model.model_dump(),
        "train": settings.train.model_dump(),
        "data_fingerprint": prepared.fingerprint,
        "split_seed": prepared.split_seed,
        "split": prepared.split_name,
    }
    group = training.process_group()
    if group is not None and training.trains_data_parallel(variant, settings.model):
        params["world_size"] = group.world  # trained data-parallel under torchrun
    tracking.log_params(client, run.info.run_id, params)
    tracking.log_dataset(
        client, run.info.run_id, prepared.config.data.source, prepared.fingerprint, prepared.split_name
    )
    return run.info.run_id


def save_variant_checkpoint(
    prepared: SplitHandle, variant: str, model, parent_run_id: str, train_only: bool = False
) -> Path:
    """The trained model's checkpoint in the run's folder, which the rest of the run reads (``train_only``: the
    model of the training rows alone, before its refit, which the test task scores beside it)."""
    path = work_folder().trained_checkpoint(
        parent_run_id, f"{variant}{TRAIN_ONLY if train_only else ''}", prepared.split_seed
    )
    return save_checkpoint(path, variant, model.cpu(), *prepared.stored.vocabularies())


TRAIN_ONLY = "-train-only"  # the checkpoint name's mark of a model before its refit


def close_variant_run(
    prepared: SplitHandle,
    variant: str,
    checkpoint: Path,
    result: TrainResult,
    run_id: str,
    train_only: Path | None = None,
) -> TrainedVariant:
    """Log the training summary, the checkpoint and the pyfunc model; the handle the next tasks use."""
    client = tracking.client()
    seconds = result.fit_seconds + result.refit_seconds
    summary = {"best_epoch": result.best_epoch, "best_val_mse": result.best_val_mse, "fit_seconds": seconds}
    if train_only is not None:
        summary["refit_seconds"] = result.refit_seconds
    for key, value in summary.items():
        client.log_metric(run_id, key, value)
    client.set_tag(run_id, "device", result.device)
    client.log_artifact(run_id, str(checkpoint), artifact_path=artifacts.CHECKPOINT)  # `recsys analyze` reads it
    with mlflow.start_run(run_id=run_id):
        model_uri = pyfunc.log_model(checkpoint, prepared.stored.head(5))
    return TrainedVariant(
        variant,
        prepared.split_seed,
        run_id,
        str(checkpoint),
        model_uri,
        result.best_epoch,
        result.best_val_mse,
        seconds,
        str(train_only) if train_only is not None else None,
    )


@task(name="train-variant", task_run_name="train-{variant}-seed-{prepared.split_seed}", cache_policy=NO_CACHE)
def train_variant(
    prepared: SplitHandle, variant: str, parent_run_id: str, members: tuple[TrainedVariant, ...] = ()
) -> TrainedVariant:
    """Train ``variant`` with its settings in the run's config; an ensemble is fitted over ``members``. The
    variant's MLflow run ends FAILED when training fails (a diverged loss, say) and KILLED when the process is
    stopped; its epoch checkpoints stay for the next run to resume from."""
    settings = prepared.config.selected()[variant]
    run_id = open_variant_run(prepared, variant, settings, parent_run_id)
    client = tracking.client()
    client.set_tag(run_id, "refit", str(prepared.config.refit).lower())  # refitted on training + validation rows
    loggers = (  # the fit's epochs, then the refit's
        MlflowEpochLogger(client, run_id, variant, settings.train.epochs),
        MlflowEpochLogger(client, run_id, variant, settings.train.epochs, refit=True),
    )
    with tracking.ends_run_on_failure(run_id), tracking.system_metrics(run_id):
        trained = _train_and_close(prepared, variant, settings, members, loggers, run_id, parent_run_id)
    release_memory()  # the model, its optimiser and its tensors went with _train_and_close's frame
    return trained


def _train_and_close(prepared, variant, settings, members, loggers, run_id, parent_run_id) -> TrainedVariant:
    fit_logger, refit_logger = loggers
    config = prepared.config.selected()
    kept: list[Path] = []

    def trained_members() -> list[Member]:  # loaded in train_variant's call: the ensemble holds them alone
        return [
            Member(m.variant, load_model(m, train_only=True), config[m.variant].train, m.best_epoch, refitted_of(m))
            for m in members
        ]

    def keep(model) -> None:  # the model of the training rows alone, stored before the refit replaces it
        kept.append(save_variant_checkpoint(prepared, variant, model, parent_run_id, train_only=True))

    model, result = training.train_variant(
        variant,
        settings.model,
        settings.train,
        prepared.stored,
        members=trained_members,
        checkpoints=checkpoint_folder(prepared, variant, settings),
        group=training.process_group(),  # under torchrun: the other processes train beside this one
        refit=prepared.config.refit,
        keep=keep,
        callbacks=(fit_logger,),
        refit_callbacks=(refit_logger,),
    )
    checkpoint = save_variant_checkpoint(prepared, variant, model, parent_run_id)
    # the model in memory goes before MLflow loads the saved one back to check the pyfunc's input example: at 25M
    # the blend held twice (1.8 GB each) took the process to 10.8 GB there
    del model
    release_memory()
    return close_variant_run(prepared, variant, checkpoint, result, run_id, kept[0] if kept else None)


def load_model(trained: TrainedVariant, train_only: bool = False):
    """``trained``'s model; ``train_only``: the one of the training rows alone where it was refitted."""
    path = trained.train_only_checkpoint_path if train_only and trained.train_only_checkpoint_path else None
    return load_checkpoint(Path(path or trained.checkpoint_path)).model


def refitted_of(trained: TrainedVariant):
    """A loader of ``trained``'s model refitted on training + validation rows, where it was (else None)."""
    if trained.train_only_checkpoint_path is None:
        return None
    return lambda: load_model(trained)


def checkpoint_folder(prepared: SplitHandle, variant: str, settings: VariantSettings) -> Path:
    """Where ``variant``'s epoch checkpoints live (:func:`recsys.pipeline.recipe.epoch_checkpoints`)."""
    return epoch_checkpoints(work_folder(), prepared.fingerprint, prepared.split_name, variant, settings)
