"""Handing freed memory back to the system between the big steps of a long run."""

import ctypes
import gc
import os

# below this resident size a call does nothing: a full collection costs about 0.5 s in a run's process (the
# objects of Prefect, MLflow and torch), 36 calls 17 s of a 290 s train-all of ml-latest-small, whose process
# stays near 1 GB; the 25M-rating steps this is for hold several GB
RELEASE_FROM = 2 * 1024**3


def release_memory(force: bool = False) -> None:
    """Hand the memory freed since the last call back to the system: the variants of a run (and the members
    an ensemble refits) train one after another in one process, and the allocators (glibc's, Arrow's) otherwise
    keep what a 25M-rating step freed, so the process's footprint would grow with each step instead of staying
    at the largest one. Only once the process holds :data:`RELEASE_FROM` bytes (or ``force``)."""
    if not force and resident_bytes() < RELEASE_FROM:
        return
    gc.collect()
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except ImportError:  # pragma: no cover (pyarrow is a dependency)
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc only: elsewhere nothing to do
    except (OSError, AttributeError):
        pass


def resident_bytes() -> int:
    """The process's resident memory in bytes (Linux's /proc); where it cannot be read, as if above every limit."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 1 << 62
