"""Where a run reads and writes: settings from the environment, resolved in one place.

- ``RECSYS_DATA``: the data source (a release name such as ``ml-25m``, folder, .zip, URL or object-storage
  URI) when the flow is given none;
- ``RECSYS_RELEASES_URL``: where named releases are downloaded from (default GroupLens; a mirror);
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

from recsys.data.releases import GROUPLENS, NAMED_RELEASES, release_url
from recsys.store.work import WorkFolder

# the library's own messages (a damaged checkpoint skipped, a blend member refitting) reach the run logs; the
# process's environment defaults are set at start-up, in one place: cli/environment.py (prefect.yaml for a worker)
logging.getLogger("recsys").setLevel(os.environ.get("RECSYS_LOG_LEVEL", "INFO"))  # `recsys -q` / `-v` set it

EXPERIMENT = "movielens"
REGISTERED_MODEL = "movielens-rating"
TOPN_MODEL = "movielens-topn"  # the ranking family's registered model, its own challenger and champion
CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous"  # the champion before the current one: what `recsys champion rollback` goes back to
# set, beside PREFECT_API_URL, when that URL is the command's own temporary server (cli/prefect_server.py)
TEMPORARY_PREFECT_API = "RECSYS_TEMPORARY_PREFECT_API"


def shared_prefect_server() -> bool:
    """Whether the flows report to a Prefect server other runs may use too (``PREFECT_API_URL`` set, and not
    to this command's own temporary server)."""
    url = os.environ.get("PREFECT_API_URL")
    return bool(url) and url != os.environ.get(TEMPORARY_PREFECT_API)


def code_version(patterns: list[str]) -> str:
    """A hash of the source files matching ``patterns`` (globs from the repository root, ``**`` for any
    depth): what a cached output was written by, so that output written by other code is rebuilt rather than
    reused. Each file's path is hashed with its bytes, so a moved or added module changes it too."""
    root = Path(__file__).parents[1]
    files = sorted({path for pattern in patterns for path in root.glob(pattern)})
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def work_dir() -> Path:
    return Path(os.environ.get("RECSYS_WORKDIR", ".recsys")).resolve()


def work_folder() -> WorkFolder:
    """The work folder's layout (:mod:`recsys.store.work`) at ``RECSYS_WORKDIR``."""
    return WorkFolder(work_dir())


def data_source(given: str | None) -> str | None:
    """The flow's data parameter, else ``RECSYS_DATA``, else None (the default download). A release name
    (``ml-25m``) is its GroupLens URL (or ``RECSYS_RELEASES_URL``'s), downloaded and validated like any URL. A parameter
    ``env:NAME`` is a reference: the source is the environment variable ``NAME`` of the process that runs the
    flow, so a URI with credentials (``s3://KEY:SECRET@bucket/...``) never becomes a flow parameter, which
    Prefect stores as given (a deployment's parameter, a flow run's)."""
    value = given or os.environ.get("RECSYS_DATA") or None
    if value is not None and value.startswith("env:"):
        name = value.removeprefix("env:")
        if not os.environ.get(name):
            raise ValueError(f"data source {value!r}: the environment variable {name} is not set in this process")
        return os.environ[name]
    if value in NAMED_RELEASES and not Path(value).exists():  # a release by name; a folder of that name wins
        return release_url(value, os.environ.get("RECSYS_RELEASES_URL") or GROUPLENS)
    return value


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
