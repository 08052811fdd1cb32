"""The parent MLflow run of a flow: opened first with the resolved config, closed with the flow's outcome."""

from collections.abc import Iterator
from contextlib import contextmanager

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from recsys.data.io.download import redact_source
from recsys.pipeline.config import DataConfig, PipelineConfig, config_to_yaml, flat_params, settings_fingerprint
from tasks import tracking
from tasks.handles import PipelineRun
from tasks.register import settle_undecided_versions
from tasks.registry_lock import registry_lock
from tasks.runtime import data_source, work_folder


@task(name="start-pipeline-run", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def start_pipeline_run(pipeline: str, config: PipelineConfig) -> PipelineRun:
    """Create the parent run (tag ``pipeline``) with the resolved config (the data source filled in from
    ``RECSYS_DATA`` or an ``env:NAME`` reference, then redacted) as ``config.yaml`` and as flat params, and
    the ``settings_fingerprint`` that ``retrain`` compares against. The config handed on keeps the source as
    it was given: the flows pass it to subflows, whose parameters Prefect stores, and the tasks that read the
    data resolve it themselves (an s3:// URI with its secret reached Prefect's database that way)."""
    resolved = config.with_source(data_source(config.data.source))
    fingerprint = settings_fingerprint(resolved)
    client = tracking.client()
    experiment = tracking.experiment_id(client)
    tags = {"pipeline": pipeline} | tracking.process_tags()
    run = client.create_run(experiment, run_name=pipeline, tags=tags)
    orphans = tracking.mark_orphans_killed(client, experiment, run.info.run_id)
    if orphans:
        get_run_logger().warning("%d runs of a process that is gone were left RUNNING: now KILLED", len(orphans))
    swept = work_folder().sweep()
    if swept:
        get_run_logger().warning("removed %d leftovers of dead runs: %s", len(swept), [str(p) for p in swept[:10]])
    with registry_lock():
        deleted, completed = settle_undecided_versions(client)
    if deleted:
        get_run_logger().warning("deleted versions %s: their run ended before their alias decision", deleted)
    if completed:
        get_run_logger().warning("versions %s: their run ended after its alias decision; marked decided", completed)
    shown = resolved.with_source(redact_source(resolved.data.source))  # every URI form, s3:// included
    tracking.log_params(client, run.info.run_id, flat_params(shown) | {"settings_fingerprint": fingerprint})
    client.log_text(run.info.run_id, config_to_yaml(shown), "config.yaml")  # credentials in a URL never logged
    return PipelineRun(run.info.run_id, config, fingerprint)


@task(name="start-ingest-run", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def start_ingest_run(data: DataConfig, out: str | None) -> str:
    """Create the parent run of an ingest-only flow with its settings as params; returns its id."""
    client = tracking.client()
    tags = {"pipeline": "ingest"} | tracking.process_tags()
    run = client.create_run(tracking.experiment_id(client), run_name="ingest", tags=tags)
    source = data_source(data.source)
    params = data.model_copy(update={"source": redact_source(source)}).model_dump()
    tracking.log_params(client, run.info.run_id, {"data": params, "out": out})
    return run.info.run_id


@task(name="end-pipeline-run", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def end_pipeline_run(run_id: str, status: str) -> None:
    """End the parent run with ``status`` and remove its local model files (MLflow holds the models; an
    interrupted training resumes from the epoch checkpoints, which live elsewhere), so the work folder does
    not grow with every scheduled run."""
    tracking.client().set_terminated(run_id, status)
    work_folder().remove_run(run_id)


@contextmanager
def pipeline_outcome(run_id: str) -> Iterator[None]:
    """End the parent run as the block ends: FINISHED, KILLED when it was interrupted (SIGTERM, Ctrl-C) or
    FAILED when it raised; the exception goes on."""
    with tracking.ends_run_on_failure(run_id, lambda status: end_pipeline_run.with_options(retries=0)(run_id, status)):
        yield
    end_pipeline_run(run_id, "FINISHED")
