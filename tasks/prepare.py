"""Split-and-index task: a seeded split stored as a file, vocabularies fitted on its training rows."""

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from recsys import files
from recsys.data.tensors import prepare_split
from recsys.pipeline.config import PipelineConfig
from recsys.store import artifacts
from recsys.store.splits import SplitFolder, write_split
from tasks import tracking
from tasks.handles import IngestionHandle, SplitHandle
from tasks.runtime import work_folder


@task(name="split-and-index", task_run_name="split-seed-{seed}", cache_policy=NO_CACHE)
def split_and_index(data: IngestionHandle, config: PipelineConfig, seed: int, parent_run_id: str) -> SplitHandle:
    """Write the split of ``seed`` (logged as ``data/split.parquet``), both vocabularies and the feature
    tables (all fitted on the training rows) into one folder per split; count unknown ids. The first seed
    of the run is its own split: it logs the movies table and the counts; further seeds of a multi-seed
    run log their split beside it (``data/seed-N/``)."""
    primary = seed == config.split.seed
    config = config.for_seed(seed)
    ingested = data.stored
    prepared = prepare_split(ingested.read_ratings(), ingested.read_movies(), config.split)
    out = SplitFolder(work_folder().split(data.fingerprint, config.split.name, files.source_digest()))
    if not out.complete():  # written once: the same key is the same content, never replaced under a reader
        write_split(out, prepared, data.fingerprint)
    counts = prepared.counts()
    client = tracking.client()
    if primary:
        client.log_artifact(parent_run_id, str(out.split), artifact_path=artifacts.DATA)
        client.log_artifact(parent_run_id, str(ingested.movies), artifact_path=artifacts.DATA)  # for the analysis
        tracking.log_params(client, parent_run_id, {"split_seed": seed, "split_name": config.split.name})
        for key, value in counts.items():
            client.log_metric(parent_run_id, key, value)
    else:
        client.log_artifact(parent_run_id, str(out.split), artifact_path=artifacts.seed_data(seed))
    get_run_logger().info("split %s: %s", config.split.name, counts)
    return SplitHandle(str(out.path), str(ingested.movies), config.split.name, seed, data.fingerprint, config)
