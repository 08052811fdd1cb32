"""Split-and-index task: a seeded split stored as a file, vocabularies fitted on its training rows."""

from dataclasses import replace
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from recsys import columns as C
from recsys.data import io
from recsys.data.tensors import prepare_features, prepare_split
from recsys.files import staged_folder
from recsys.pipeline.config import PipelineConfig
from tasks import tracking
from tasks.handles import IngestedData, PreparedData


@task(name="split-and-index", task_run_name="split-seed-{seed}", cache_policy=NO_CACHE)
def split_and_index(data: IngestedData, config: PipelineConfig, seed: int, parent_run_id: str) -> PreparedData:
    """Write the split of ``seed`` (logged as ``data/split.parquet``), both vocabularies and the feature
    tables (all fitted on the training rows) into one folder per split; count unknown ids. The first seed
    of the run is its own split: it logs the movies table and the counts; further seeds of a multi-seed
    run log their split beside it (``data/seed-N/``)."""
    primary = seed == config.split.seed
    config = config.for_seed(seed)
    prepared = prepare_split(io.read_parquet(Path(data.ratings_path)), config.split)
    out = Path(data.ratings_path).parent / config.split.name
    features = prepare_features(prepared, io.read_parquet(Path(data.movies_path)))
    with staged_folder(out) as staging:  # the five files appear together or not at all
        io.write_parquet(prepared.split.astype({C.SPLIT: str}), staging / "split.parquet", data.fingerprint)
        io.write_parquet(prepared.user_vocab.to_frame(C.USER_ID, C.USER_IDX), staging / "user_vocab.parquet")
        io.write_parquet(prepared.movie_vocab.to_frame(C.MOVIE_ID, C.MOVIE_IDX), staging / "movie_vocab.parquet")
        io.write_parquet(features.movie_features, staging / "movie_features.parquet")
        io.write_parquet(features.user_features, staging / "user_features.parquet")
    split_path, user_vocab, movie_vocab = (out / f"{name}.parquet" for name in ("split", "user_vocab", "movie_vocab"))
    counts = prepared.counts()
    client = tracking.client()
    if primary:
        client.log_artifact(parent_run_id, str(split_path), artifact_path="data")
        client.log_artifact(parent_run_id, data.movies_path, artifact_path="data")  # titles for the analysis
        tracking.log_params(client, parent_run_id, {"split_seed": seed, "split_name": config.split.name})
        for key, value in counts.items():
            client.log_metric(parent_run_id, key, value)
    else:
        client.log_artifact(parent_run_id, str(split_path), artifact_path=f"data/seed-{seed}")
    get_run_logger().info("split %s: %s", config.split.name, counts)
    return PreparedData(
        str(split_path),
        str(user_vocab),
        str(movie_vocab),
        data.movies_path,
        str(out),
        replace(prepared.shape, n_genres=len(features.genres)),
        config.split.name,
        seed,
        data.fingerprint,
        config,
    )
