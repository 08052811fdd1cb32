"""tune: an Optuna search over one variant's settings on the run's split, each trial a nested MLflow run; in
this process, or as several searches side by side on the Dask runner sharing one study; the best settings
written as a config file that ``train-all --config`` takes."""

from prefect import flow

from recsys.pipeline import tuning
from recsys.pipeline.config import PipelineConfig
from tasks.handles import SplitHandle
from tasks.ingest import fetch_data, ingest
from tasks.outcomes import why
from tasks.pipeline_run import pipeline_outcome, start_pipeline_run
from tasks.prepare import split_and_index
from tasks.runners import stops_training_when_interrupted, task_runner_for
from tasks.tune import keep_study, tune_trials, write_tuned_config


@flow(name="tune")
def tune(variant: str, trials: int, out: str, config: PipelineConfig = PipelineConfig()) -> dict:  # noqa: B008
    """Ingest and split as train-all does (seed ``config.split.seed``), then ``trials`` trials of ``variant``
    chosen on validation MSE (test rows are never read): in turn here, or on Dask (``runner.kind: dask``) as
    ``runner.workers`` searches of one study. Returns the best trial and where its config is."""
    run = start_pipeline_run("tune", config)
    config = run.config
    with pipeline_outcome(run.run_id):
        dataset = ingest.with_options(refresh_cache=config.data.refresh)(fetch_data(config.data.source))
        split = split_and_index(dataset, config, config.split.seed, run.run_id)
        try:
            with stops_training_when_interrupted():
                if config.runner.kind == "local":
                    tune_trials(split, variant, trials, 0, run.run_id, trials)
                else:
                    runner = task_runner_for(config.runner)
                    searches.with_options(task_runner=runner)(split, variant, trials, run.run_id, config.runner.workers)
        finally:  # the trials that finished are kept, whatever became of the others
            keep_study(run.run_id)
        return write_tuned_config(variant, run.run_id, out)


@flow(name="tune-searches")
def searches(split: SplitHandle, variant: str, trials: int, run_id: str, workers: int) -> None:
    """The trials dealt to ``workers`` searches submitted to the runner at once, then waited for; fails
    naming each search that did not finish."""
    dealt = tuning.shares(trials, workers)
    futures = [tune_trials.submit(split, variant, n, i, run_id, trials) for i, n in enumerate(dealt)]
    for future in futures:
        future.wait()
    failed = {i: why(f.state) for i, f in enumerate(futures) if not f.state.is_completed()}
    if failed:
        reasons = "; ".join(f"search {i}: {reason}" for i, reason in failed.items())
        raise RuntimeError(f"{len(failed)} of {len(futures)} searches of {variant} did not finish: {reasons}")
