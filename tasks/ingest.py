"""Ingestion tasks: find the release (with retries, it may be a download), validate it, write Parquet."""

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from recsys import io, schema
from tasks import tracking
from tasks.handles import IngestedData
from tasks.runtime import data_source, work_dir
from tasks.validation import DataValidationError, validate_frame


def _retry_only_io(task, task_run, state) -> bool:
    """Retry a download or disk hiccup, never a file that is simply not MovieLens."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, OSError) and not isinstance(exc, io.DataFormatError)


@task(
    name="fetch-data", retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=_retry_only_io, cache_policy=NO_CACHE
)
def fetch_data(source: str | None) -> str:
    """The local folder of the release named by ``source`` (or ``RECSYS_DATA``, or the default URL)."""
    folder = io.resolve_source(data_source(source), work_dir() / "cache")
    get_run_logger().info("data source %s -> %s", data_source(source) or io.DEFAULT_SOURCE, folder)
    return str(folder)


# Not cached by Prefect: the output folder is keyed by the content fingerprint, so unchanged input
# is re-validated (cheap) but maps to the same files.
@task(name="ingest", cache_policy=NO_CACHE)
def ingest(folder: str, parent_run_id: str) -> IngestedData:
    """Read, validate (Great Expectations) and store the release as Parquet; stops on invalid data."""
    logger, release = get_run_logger(), Path(folder)
    files = io.release_files(release)
    fingerprint = io.fingerprint_files(files)
    ratings, movies = io.read_ratings(release), io.read_movies(release)
    reports = [validate_frame(ratings, schema.RATINGS, files[0]), validate_frame(movies, schema.MOVIES, files[1])]
    client = tracking.client()
    for report in reports:
        tracking.log_json(client, parent_run_id, report.to_dict(), f"validation/{report.table}.json")
        if not report.success:
            raise DataValidationError(report)
    client.log_param(parent_run_id, "data_fingerprint", fingerprint)
    out = work_dir() / "data" / fingerprint[:16]
    ratings_path = io.write_parquet(ratings, out / "ratings.parquet", fingerprint)
    movies_path = io.write_parquet(movies, out / "movies.parquet", fingerprint)
    logger.info("validated %d ratings and %d movies (fingerprint %s)", len(ratings), len(movies), fingerprint[:12])
    return IngestedData(str(release), str(ratings_path), str(movies_path), fingerprint, len(ratings), len(movies))
