"""Train-a-variant task: one nested MLflow run per variant, per-epoch metrics, checkpoint and model."""

import time
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

import mlflow
from recsys import columns as C
from recsys.blending import Member, fit_blend
from recsys.checkpoint import load_checkpoint, save_checkpoint
from recsys.config import TrainConfig
from recsys.models import build_model, get_variant
from recsys.models.blend import BlendConfig
from recsys.resume import EpochCheckpoint
from recsys.train import Callback, EpochStats, train_model
from tasks import pyfunc, tracking
from tasks.handles import PreparedData, TrainedVariant, load_features, load_prepared
from tasks.runtime import work_dir


class MlflowEpochLogger(Callback):
    """Logs ``train_mse`` and ``val_mse`` with step = epoch, and a progress line per epoch."""

    def __init__(self, client, run_id: str, variant: str, epochs: int):
        self.client, self.run_id, self.variant, self.epochs = client, run_id, variant, epochs
        self.logger = get_run_logger()

    def on_epoch_end(self, stats: EpochStats, model) -> bool:
        now = int(time.time() * 1000)
        for key in ("train_mse", "val_mse"):
            self.client.log_metric(self.run_id, key, getattr(stats, key), timestamp=now, step=stats.epoch)
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


def variant_train_config(variant: str, seed: int, epochs: int | None) -> TrainConfig:
    """The variant's trainer defaults with the split's seed (and ``epochs`` as the budget, when given)."""
    overrides = {"seed": seed} | ({"epochs": epochs} if epochs else {})
    return TrainConfig(**(get_variant(variant).train_defaults.model_dump() | overrides))


def open_variant_run(prepared: PreparedData, variant: str, model_config, train_config, parent_run_id: str) -> str:
    """A nested MLflow run for ``variant`` under the pipeline run, its whole configuration as params."""
    client = tracking.client()
    run = client.create_run(
        tracking.experiment_id(client),
        run_name=variant,
        tags={"mlflow.parentRunId": parent_run_id, "variant": variant, "seed": str(prepared.split_seed)},
    )
    tracking.log_params(
        client,
        run.info.run_id,
        {
            "variant": variant,
            "model": model_config.model_dump(),
            "train": train_config.model_dump(),
            "data_fingerprint": prepared.fingerprint,
            "split_seed": prepared.split_seed,
            "split": prepared.split_name,
        },
    )
    return run.info.run_id


def close_variant_run(
    prepared: PreparedData, variant: str, model, data, result, run_id: str, parent_run_id: str
) -> TrainedVariant:
    """Save the checkpoint, log the training summary and the pyfunc model; the handle the next tasks use."""
    checkpoint = save_checkpoint(
        work_dir() / "runs" / parent_run_id / f"{variant}-{prepared.split_seed}.pt",
        variant,
        model.cpu(),
        data.users,
        data.movies,
    )
    client = tracking.client()
    for key, value in {
        "best_epoch": result.best_epoch,
        "best_val_mse": result.best_val_mse,
        "fit_seconds": result.fit_seconds,
    }.items():
        client.log_metric(run_id, key, value)
    client.set_tag(run_id, "device", result.device)
    client.log_artifact(run_id, str(checkpoint), artifact_path="checkpoint")  # what `recsys analyze` reads back
    with mlflow.start_run(run_id=run_id):
        model_uri = pyfunc.log_model(checkpoint, data.split.head(5))
    return TrainedVariant(
        variant, run_id, str(checkpoint), model_uri, result.best_epoch, result.best_val_mse, result.fit_seconds
    )


@task(name="train-variant", task_run_name="train-{variant}", cache_policy=NO_CACHE)
def train_variant(prepared: PreparedData, variant: str, epochs: int | None, parent_run_id: str) -> TrainedVariant:
    """Train ``variant`` with its default settings (``epochs`` overrides the epoch budget)."""
    model_config = get_variant(variant).config_cls()
    train_config = variant_train_config(variant, prepared.split_seed, epochs)
    data = load_prepared(prepared)
    run_id = open_variant_run(prepared, variant, model_config, train_config, parent_run_id)
    train = data.tensors(C.TRAIN)
    model = build_model(
        variant,
        model_config,
        data.shape,
        seed=train_config.seed,
        features=load_features(prepared),
        interactions=train,
    )
    callbacks = (MlflowEpochLogger(tracking.client(), run_id, variant, train_config.epochs),)
    # a checkpoint per epoch: if this task is run again within the flow run (a crash, a retry), it resumes
    # after the last finished epoch instead of starting over; closed-form models have no epochs to resume
    folder = work_dir() / "runs" / parent_run_id / f"{variant}-{prepared.split_seed}-epochs"
    epochs_dir = None if model.fits_directly else folder
    callbacks += (EpochCheckpoint(epochs_dir),) if epochs_dir else ()
    result = train_model(model, train, data.tensors(C.VAL), train_config, callbacks, resume_from=epochs_dir)
    return close_variant_run(prepared, variant, model, data, result, run_id, parent_run_id)


@task(name="blend-variants", task_run_name="train-blend", cache_policy=NO_CACHE)
def blend_variants(
    prepared: PreparedData, trained: list[TrainedVariant], epochs: int | None, parent_run_id: str
) -> TrainedVariant:
    """Fit the ``blend`` variant over the trained members it names (see :mod:`recsys.blending`)."""
    config = BlendConfig()
    members = [
        Member(
            t.variant,
            load_checkpoint(Path(t.checkpoint_path))[1],
            variant_train_config(t.variant, prepared.split_seed, epochs),
            t.best_epoch,
        )
        for t in trained
        if t.variant in config.members
    ]
    train_config = variant_train_config("blend", prepared.split_seed, None)
    data = load_prepared(prepared)
    run_id = open_variant_run(prepared, "blend", config, train_config, parent_run_id)
    callback = MlflowEpochLogger(tracking.client(), run_id, "blend", 1)
    model, result = fit_blend(
        members,
        data.tensors(C.TRAIN),
        data.tensors(C.VAL),
        config,
        features=load_features(prepared),
        callbacks=(callback,),
    )
    return close_variant_run(prepared, "blend", model, data, result, run_id, parent_run_id)
