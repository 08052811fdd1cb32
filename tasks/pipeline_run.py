"""The parent MLflow run of a train-all: opened first, closed with the flow's outcome."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks import tracking


@task(name="start-pipeline-run", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def start_pipeline_run(pipeline: str, params: dict, settings: str | None = None) -> str:
    """Create the parent run (tag ``pipeline``) with the flow's parameters and, for train-all, the
    ``settings_fingerprint`` that ``retrain`` compares against; returns its run id."""
    client = tracking.client()
    run = client.create_run(tracking.experiment_id(client), run_name=pipeline, tags={"pipeline": pipeline})
    extra = {"settings_fingerprint": settings} if settings else {}
    tracking.log_params(client, run.info.run_id, {"flow": params} | extra)
    return run.info.run_id


@task(name="end-pipeline-run", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def end_pipeline_run(run_id: str, status: str) -> None:
    tracking.client().set_terminated(run_id, status)
