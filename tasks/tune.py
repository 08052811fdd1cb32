"""The tuning tasks of `recsys tune`: an Optuna study over one variant's settings on a stored split, kept in a
journal file (Optuna's ``JournalStorage``) so that searches in several processes (Dask workers) share it. Each
trial is an MLflow run under the tune run (optuna-integration's ``MLflowCallback``: its params, its value as
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
from tasks.runtime import work_folder


def study_journal(parent_run_id: str) -> str:
    """Where the tune run ``parent_run_id`` keeps its study: in the run's work folder, which every worker
    reads (as it reads the split), removed when the run ends (the journal is logged to the run first)."""
    path = work_folder().run(parent_run_id) / "study.journal"
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


@task(name="tune-trials", task_run_name="tune-{variant}-search-{search}", cache_policy=NO_CACHE)
def tune_trials(prepared: SplitHandle, variant: str, trials: int, search: int, parent_run_id: str, total: int) -> int:
    """``trials`` trials of ``variant``'s search space in the tune run's study (:func:`study_journal`), as search number
    ``search`` (its sampler seeded with the split seed + ``search``, so side-by-side searches propose
    differently); each trial a run under ``parent_run_id``. Returns the trials it was dealt."""
    logger = get_run_logger()
    base = prepared.config.selected()[variant]
    client = tracking.client()
    experiment = tracking.experiment_id(client)
    mlflow.set_experiment(experiment_id=experiment)
    # not nested through an active parent run (a worker would end the tune run as its search ends): the
    # parent is the tag MLflow's nesting writes
    tags = {"mlflow.parentRunId": parent_run_id, "variant": variant, "family": "tuning", "tune.search": str(search)}
    tags |= tracking.process_tags()  # a trial left RUNNING by a dead worker is found and ended KILLED
    callback = MLflowCallback(
        tracking_uri=tracking.tracking_uri(),
        metric_name="val_mse",
        create_experiment=False,
        mlflow_kwargs={"experiment_id": experiment},
    )

    def on_epoch(stats) -> None:
        mlflow.log_metric("val_mse_epoch", stats.val_mse, step=stats.epoch)

    objective = tuning.objective(variant, base, prepared.stored, on_epoch)

    def tagged(trial: optuna.Trial) -> float:
        mlflow.set_tags(tags)
        return objective(trial)

    storage = tuning.journal(study_journal(parent_run_id))
    study = tuning.study(prepared.split_seed + search, storage=storage, name=f"tune-{variant}")

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = "pruned" if trial.state == optuna.trial.TrialState.PRUNED else f"val_mse {trial.value:.4f}"
        done = sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))
        best = study.best_value
        logger.info("%s trial %d (%d/%d done): %s; best so far %.4f", variant, trial.number, done, total, value, best)

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial, ours
    study.optimize(callback.track_in_mlflow()(tagged), n_trials=trials, callbacks=[callback, report])
    return trials


@task(name="tuned-config", task_run_name="tuned-config-{variant}", cache_policy=NO_CACHE)
def write_tuned_config(variant: str, parent_run_id: str, out: str) -> dict:
    """The best trial of the tune run's study, written to ``out`` as a train-all config file (also logged
    to the tune run as ``tuned/``, with the study's journal) and returned with where it is."""
    logger = get_run_logger()
    journal = study_journal(parent_run_id)
    study = optuna.load_study(study_name=f"tune-{variant}", storage=tuning.journal(journal))
    best = study.best_trial
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(tuning.tuned_config(variant, best), sort_keys=False))
    client = tracking.client()
    client.log_artifact(parent_run_id, str(path), artifact_path="tuned")
    client.log_metric(parent_run_id, f"{variant}_best_val_mse", best.value)
    client.set_tag(parent_run_id, "tuned_variant", variant)
    finished = [t for t in study.trials if t.state.is_finished()]
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in finished)
    logger.info(
        "%s: best trial %d, val_mse %.4f (%d of %d pruned); settings in %s",
        variant,
        best.number,
        best.value,
        pruned,
        len(finished),
        path,
    )
    return {
        "variant": variant,
        "best_trial": best.number,
        "val_mse": best.value,
        "trials": len(finished),
        "pruned": pruned,
        "config": str(path),
    }


@task(name="keep-study", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def keep_study(parent_run_id: str) -> None:
    """Log the tune run's study journal (every trial of every search, ``optuna.load_study`` reads it again) to
    the run as ``tuned/study.journal``, whether or not the searches all finished: the work folder holding it is
    removed when the run ends."""
    journal = Path(study_journal(parent_run_id))
    if journal.exists():
        tracking.client().log_artifact(parent_run_id, str(journal), artifact_path="tuned")
