"""Where a run reads and writes: settings from the environment, resolved in one place.

- ``RECSYS_DATA``: the data source (folder, .zip, URL or object-storage URI) when the flow is given none;
- ``RECSYS_WORKDIR``: Parquet files, checkpoints and downloads (default ``./.recsys``);
- ``MLFLOW_TRACKING_URI``: the tracking store (default ``sqlite:///./mlflow/mlflow.db``, artifacts
  beside the database in ``artifacts/``).
"""

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# A tracking server that does not answer fails a call after about 3 s (2 HTTP retries, 1 and 2 s apart, each
# connection given 20 s), not after MLflow's default of about four minutes; the tasks that talk to MLflow retry
# three more times (2, 4, 8 s), so a server that stays down fails the run within a minute, naming it.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
# the library's own messages (a damaged checkpoint skipped, a blend member refitting) reach the Prefect run logs
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "recsys")
logging.getLogger("recsys").setLevel(logging.INFO)

EXPERIMENT = "movielens"
REGISTERED_MODEL = "movielens-rating"
CHAMPION = "champion"
CHALLENGER = "challenger"


def code_version(files: list[str]) -> str:
    """A hash of these source files (paths from the repository root): what a cached output was written by, so
    that output written by other code is rebuilt rather than reused."""
    root = Path(__file__).parents[1]
    return hashlib.sha256(b"".join((root / name).read_bytes() for name in files)).hexdigest()


def work_dir() -> Path:
    return Path(os.environ.get("RECSYS_WORKDIR", ".recsys")).resolve()


def data_source(given: str | None) -> str | None:
    """The flow's data parameter, else ``RECSYS_DATA``, else None (the default download)."""
    return given or os.environ.get("RECSYS_DATA") or None


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{(Path('mlflow') / 'mlflow.db').resolve()}"


def artifact_location(uri: str) -> str | None:
    """For a local sqlite store, an artifacts folder beside the database; a server decides its own."""
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()


@contextmanager
def one_writer_at_a_time(say) -> Iterator[None]:
    """Hold the store's run lock for the block when the tracking store is a local sqlite file: SQLite takes one
    writer at a time, so a second embedded run waits (saying so through ``say``) instead of failing on
    "database is locked". A tracking server lets runs go in parallel, and then nothing is held."""
    uri = tracking_uri()
    if not uri.startswith("sqlite:///"):
        yield
        return
    store = Path(uri.removeprefix("sqlite:///"))
    store.parent.mkdir(parents=True, exist_ok=True)
    lock, holder = FileLock(str(store) + ".run.lock"), store.with_name(store.name + ".run.pid")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = holder.read_text().strip() if holder.exists() else "another process"
        say(f"waiting: another recsys run ({who}) writes to {store}; a tracking server would let both run at once")
        lock.acquire()
    try:
        holder.write_text(f"pid {os.getpid()}")
        yield
    finally:
        lock.release()
