"""One lock for everything that writes one registry: registrations and the champion alias's compare-and-set.

The lock is keyed by the tracking URI (the registry), never by the work folder or by how the run was started:

- a **file lock** that every process of this machine writing that registry takes: for a local store
  (``sqlite:///...``, a folder) it lies beside the store, so it is the same file whatever a run's work folder,
  ``PREFECT_HOME`` or current directory; for a remote store (``http(s)://``, ``databricks``...) it lies in
  this machine's temporary folder, named by a hash of the URI;
- and, when a shared Prefect server is used (``PREFECT_API_URL`` set: a worker's flows, or a shell using
  ``recsys services``; not a command's own temporary server), also the one-slot global concurrency limit
  ``recsys-registry-<hash of the URI>`` on that server, which guards runs on other machines that use it.

The file lock is taken first, then the limit, always in that order, so an embedded run and a deployment run
on one machine exclude each other (they used to take different locks), and no two runs wait on each other in
a cycle. A remote store written by embedded runs on several machines (no shared Prefect server) is guarded
only per machine: :func:`guarding` says so, and the run logs it.
"""

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from filelock import FileLock

from tasks.runtime import shared_prefect_server, tracking_uri

LOCK_PREFIX = "recsys-registry"
WAIT_SECONDS = 1800  # a promotion may retrain the champion's recipe while it holds the lock


def uri_key(uri: str) -> str:
    """A short stable name for a tracking URI (a local store by its resolved path)."""
    local = local_store(uri)
    canonical = str(local) if local is not None else uri.rstrip("/").lower()
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def local_store(uri: str) -> Path | None:
    """The store's file or folder when the tracking URI is local, else None."""
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).resolve()
    if uri.startswith("file:"):
        return Path(uri.removeprefix("file://").removeprefix("file:")).resolve()
    if "://" not in uri and uri not in ("databricks",):
        return Path(uri).resolve()
    return None


def lock_file(uri: str) -> Path:
    """The machine-wide file lock of the registry at ``uri``."""
    store = local_store(uri)
    if store is not None:
        return store.parent / f".{store.name}.{LOCK_PREFIX}.lock"
    return Path(tempfile.gettempdir()) / "recsys-locks" / f"{LOCK_PREFIX}-{uri_key(uri)}.lock"


def limit_name(uri: str) -> str:
    return f"{LOCK_PREFIX}-{uri_key(uri)}"


def guarding(uri: str) -> str:
    """Which runs the lock of ``uri`` excludes, in words."""
    parts = [f"file lock {lock_file(uri)}"]
    if shared_prefect_server():
        parts.append(f"Prefect global concurrency limit {limit_name(uri)!r}")
    scope = "every run of this machine"
    if local_store(uri) is None:
        scope += (
            ", and runs of other machines through the Prefect server"
            if shared_prefect_server()
            else "; runs of other machines writing this remote store are NOT excluded without a Prefect server"
        )
    return f"{' + '.join(parts)} ({scope})"


@contextmanager
def registry_lock(wait_seconds: float = WAIT_SECONDS) -> Iterator[str]:
    """Hold the registry lock of the current tracking URI for the block; yields what guards it (for the log)."""
    uri = tracking_uri()
    path = lock_file(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as held:
        held.enter_context(FileLock(str(path), timeout=wait_seconds))
        if shared_prefect_server():
            from prefect.concurrency.sync import concurrency

            ensure_limit(limit_name(uri))
            held.enter_context(concurrency(limit_name(uri), occupy=1, timeout_seconds=wait_seconds, strict=True))
        yield guarding(uri)


def ensure_limit(name: str) -> None:
    """Create the one-slot limit on the server unless it exists."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            except ObjectAlreadyExists:  # another run created it meanwhile
                pass
