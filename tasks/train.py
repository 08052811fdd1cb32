"""Train-a-variant task: one nested MLflow run per variant, per-epoch metrics, checkpoint and model."""

import time

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

import mlflow
from recsys import columns as C
from recsys.checkpoint import save_checkpoint
from recsys.config import TrainConfig
from recsys.models import build_model, get_variant
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


@task(name="train-variant", task_run_name="train-{variant}", cache_policy=NO_CACHE)
def train_variant(prepared: PreparedData, variant: str, epochs: int | None, parent_run_id: str) -> TrainedVariant:
    """Train ``variant`` with its default settings (``epochs`` overrides the epoch budget)."""
    spec = get_variant(variant)
    model_config = spec.config_cls()
    overrides = {"seed": prepared.split_seed} | ({"epochs": epochs} if epochs else {})
    train_config = TrainConfig(**(spec.train_defaults.model_dump() | overrides))
    data = load_prepared(prepared)
    client = tracking.client()
    run = client.create_run(
        tracking.experiment_id(client),
        run_name=variant,
        tags={"mlflow.parentRunId": parent_run_id, "variant": variant, "seed": str(prepared.split_seed)},
    )
    run_id = run.info.run_id
    tracking.log_params(
        client,
        run_id,
        {
            "variant": variant,
            "model": model_config.model_dump(),
            "train": train_config.model_dump(),
            "data_fingerprint": prepared.fingerprint,
            "split_seed": prepared.split_seed,
            "split": prepared.split_name,
        },
    )
    model = build_model(variant, model_config, data.shape, seed=train_config.seed, features=load_features(prepared))
    callback = MlflowEpochLogger(client, run_id, variant, train_config.epochs)
    result = train_model(model, data.tensors(C.TRAIN), data.tensors(C.VAL), train_config, (callback,))
    checkpoint = save_checkpoint(
        work_dir() / "runs" / parent_run_id / f"{variant}-{prepared.split_seed}.pt",
        variant,
        model.cpu(),
        data.users,
        data.movies,
    )
    for key, value in {
        "best_epoch": result.best_epoch,
        "best_val_mse": result.best_val_mse,
        "fit_seconds": result.fit_seconds,
    }.items():
        client.log_metric(run_id, key, value)
    client.set_tag(run_id, "device", result.device)
    with mlflow.start_run(run_id=run_id):
        model_uri = pyfunc.log_model(checkpoint, data.split.head(5))
    return TrainedVariant(
        variant, run_id, str(checkpoint), model_uri, result.best_epoch, result.best_val_mse, result.fit_seconds
    )
