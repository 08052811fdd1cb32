"""The parent MLflow run of a flow: opened first with the resolved config, closed with the flow's outcome."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from recsys.pipeline.config import DataConfig, PipelineConfig, config_to_yaml, flat_params, settings_fingerprint
from tasks import tracking
from tasks.handles import PipelineRun
from tasks.runtime import data_source


@task(name="start-pipeline-run", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def start_pipeline_run(pipeline: str, config: PipelineConfig) -> PipelineRun:
    """Create the parent run (tag ``pipeline``) with the resolved config (the data source filled in from
    ``RECSYS_DATA`` when the config names none) as ``config.yaml`` and as flat params, and the
    ``settings_fingerprint`` that ``retrain`` compares against."""
    config = config.with_source(data_source(config.data.source))
    fingerprint = settings_fingerprint(config)
    client = tracking.client()
    run = client.create_run(tracking.experiment_id(client), run_name=pipeline, tags={"pipeline": pipeline})
    tracking.log_params(client, run.info.run_id, flat_params(config) | {"settings_fingerprint": fingerprint})
    client.log_text(run.info.run_id, config_to_yaml(config), "config.yaml")
    return PipelineRun(run.info.run_id, config, fingerprint)


@task(name="start-ingest-run", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def start_ingest_run(data: DataConfig, out: str | None) -> str:
    """Create the parent run of an ingest-only flow with its settings as params; returns its id."""
    client = tracking.client()
    run = client.create_run(tracking.experiment_id(client), run_name="ingest", tags={"pipeline": "ingest"})
    params = data.model_copy(update={"source": data_source(data.source)}).model_dump()
    tracking.log_params(client, run.info.run_id, {"data": params, "out": out})
    return run.info.run_id


@task(name="end-pipeline-run", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def end_pipeline_run(run_id: str, status: str) -> None:
    tracking.client().set_terminated(run_id, status)
