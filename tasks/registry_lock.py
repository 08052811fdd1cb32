"""One promotion at a time: the champion alias moves by compare-and-set inside this lock.

With a Prefect server (``PREFECT_API_URL`` set: a worker's flows, or a shell using ``recsys services``) the
lock is the global concurrency limit ``recsys-registry`` (one slot), which every process talking to that
server shares, on any machine. An embedded run (no server: each process has its own temporary one) uses a
file lock in the work folder instead, shared by the runs of this machine that use the same work folder.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock

from tasks.runtime import work_folder

LOCK_NAME = "recsys-registry"
WAIT_SECONDS = 1800  # a promotion may retrain the champion's recipe while it holds the lock


@contextmanager
def registry_lock() -> Iterator[str]:
    """Hold the registry lock for the block; yields which kind of lock it is (for the log)."""
    if os.environ.get("PREFECT_API_URL"):
        from prefect.concurrency.sync import concurrency

        ensure_limit()
        with concurrency(LOCK_NAME, occupy=1, timeout_seconds=WAIT_SECONDS, strict=True):
            yield f"Prefect global concurrency limit {LOCK_NAME!r}"
    else:
        path = work_folder().registry_lock
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path), timeout=WAIT_SECONDS):
            yield f"file lock {path}"


def ensure_limit() -> None:
    """Create the one-slot limit on the server unless it exists."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(LOCK_NAME)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=LOCK_NAME, limit=1))
            except ObjectAlreadyExists:  # another run created it meanwhile
                pass
