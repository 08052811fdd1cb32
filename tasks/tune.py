"""The tuning task of `recsys tune`: an Optuna study over one variant's settings on a stored split, each trial a
nested MLflow run under the tune run (optuna-integration's ``MLflowCallback``: its params, its value as
``val_mse``, its state), with the trial's per-epoch validation MSE logged in it as training goes."""

from pathlib import Path

import optuna
import yaml
from optuna_integration.mlflow import MLflowCallback
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

import mlflow
from recsys.pipeline import tuning
from tasks import tracking
from tasks.handles import SplitHandle


@task(name="tune-variant", task_run_name="tune-{variant}", cache_policy=NO_CACHE)
def tune_variant(prepared: SplitHandle, variant: str, trials: int, parent_run_id: str, out: str) -> dict:
    """``trials`` trials of ``variant``'s search space, chosen on validation MSE; writes the best settings to
    ``out`` as a train-all config file (also logged to the tune run as ``tuned.yaml``) and returns them."""
    logger = get_run_logger()
    base = prepared.config.selected()[variant]
    client = tracking.client()
    mlflow.set_experiment(experiment_id=tracking.experiment_id(client))
    callback = MLflowCallback(
        tracking_uri=tracking.tracking_uri(),
        metric_name="val_mse",
        create_experiment=False,
        mlflow_kwargs={"nested": True, "tags": {"variant": variant, "family": "tuning"}},
    )

    def on_epoch(stats) -> None:
        mlflow.log_metric("val_mse_epoch", stats.val_mse, step=stats.epoch)

    judged = callback.track_in_mlflow()(tuning.objective(variant, base, prepared.stored, on_epoch))
    study = tuning.study(prepared.split_seed)

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = "pruned" if trial.state == optuna.trial.TrialState.PRUNED else f"val_mse {trial.value:.4f}"
        logger.info("%s trial %d/%d: %s; best so far %.4f", variant, trial.number + 1, trials, value, study.best_value)

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial, ours
    with mlflow.start_run(run_id=parent_run_id):  # the trials' runs nest under the tune run
        study.optimize(judged, n_trials=trials, callbacks=[callback, report])
    best = study.best_trial
    config = tuning.tuned_config(variant, best)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    client.log_artifact(parent_run_id, str(path), artifact_path="tuned")
    client.log_metric(parent_run_id, f"{variant}_best_val_mse", best.value)
    client.set_tag(parent_run_id, "tuned_variant", variant)
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    logger.info(
        "%s: best trial %d, val_mse %.4f (%d of %d pruned); settings in %s",
        variant,
        best.number,
        best.value,
        pruned,
        trials,
        path,
    )
    return {"variant": variant, "best_trial": best.number, "val_mse": best.value, "pruned": pruned, "config": str(path)}
