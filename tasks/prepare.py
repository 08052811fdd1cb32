"""Split-and-index task: a seeded split stored as a file, vocabularies fitted on its training rows."""

from dataclasses import asdict, replace
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from recsys import columns as C
from recsys import io
from recsys.config import SplitConfig
from recsys.data import prepare_features, prepare_split
from tasks import tracking
from tasks.handles import IngestedData, PreparedData


@task(name="split-and-index", cache_policy=NO_CACHE)
def split_and_index(data: IngestedData, config: SplitConfig, parent_run_id: str, primary: bool = True) -> PreparedData:
    """Write the split (logged as ``data/split.parquet``), both vocabularies and the feature tables (all
    fitted on the training rows) into one folder per split; count unknown ids. Only the ``primary`` split
    of a run logs its parameters and counts (MLflow params cannot change once logged)."""
    prepared = prepare_split(io.read_parquet(Path(data.ratings_path)), config)
    out = Path(data.ratings_path).parent / config.name
    split_frame = prepared.split.astype({C.SPLIT: str})
    split_path = io.write_parquet(split_frame, out / "split.parquet", data.fingerprint)
    users_path = io.write_parquet(prepared.users.to_frame(C.USER_ID, C.USER_IDX), out / "user_vocab.parquet")
    movies_path = io.write_parquet(prepared.movies.to_frame(C.MOVIE_ID, C.MOVIE_IDX), out / "movie_vocab.parquet")
    features = prepare_features(prepared, io.read_parquet(Path(data.movies_path)))
    io.write_parquet(features.movies, out / "movie_features.parquet")
    io.write_parquet(features.users, out / "user_features.parquet")
    counts = prepared.counts()
    client = tracking.client()
    if primary:  # the run's own split; extra seeds of a multi-seed run are logged beside it
        client.log_artifact(parent_run_id, str(split_path), artifact_path="data")
        client.log_artifact(parent_run_id, data.movies_path, artifact_path="data")  # titles for the analysis
        tracking.log_params(client, parent_run_id, {"split": config.model_dump(), "split_seed": config.seed})
        for key, value in counts.items():
            client.log_metric(parent_run_id, key, value)
    else:
        client.log_artifact(parent_run_id, str(split_path), artifact_path=f"data/seed-{config.seed}")
    get_run_logger().info("split %s: %s", config.name, counts)
    return PreparedData(
        str(split_path),
        str(users_path),
        str(movies_path),
        str(out),
        asdict(replace(prepared.shape, n_genres=len(features.genres))),
        config.name,
        config.seed,
        data.fingerprint,
        counts,
    )
