"""tune: an Optuna search over one variant's settings on the run's split, each trial a nested MLflow run; the
best settings written as a config file that ``train-all --config`` takes."""

from prefect import flow

from recsys.pipeline.config import PipelineConfig
from tasks.ingest import fetch_data, ingest
from tasks.pipeline_run import pipeline_outcome, start_pipeline_run
from tasks.prepare import split_and_index
from tasks.tune import tune_variant


@flow(name="tune")
def tune(variant: str, trials: int, out: str, config: PipelineConfig = PipelineConfig()) -> dict:  # noqa: B008
    """Ingest and split as train-all does (seed ``config.split.seed``), then ``trials`` trials of ``variant``
    chosen on validation MSE (test rows are never read); returns the best trial and where its config is."""
    run = start_pipeline_run("tune", config)
    config = run.config
    with pipeline_outcome(run.run_id):
        dataset = ingest.with_options(refresh_cache=config.data.refresh)(fetch_data(config.data.source))
        split = split_and_index(dataset, config, config.split.seed, run.run_id)
        return tune_variant(split, variant, trials, run.run_id, out)
