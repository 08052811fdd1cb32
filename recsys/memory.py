"""Handing freed memory back to the system between the big steps of a long run."""

import ctypes
import gc


def release_memory() -> None:
    """Hand the memory freed since the last call back to the system: the variants of a run (and the members
    an ensemble refits) train one after another in one process, and the allocators (glibc's, Arrow's) otherwise
    keep what a 25M-rating step freed, so the process's footprint would grow with each step instead of staying
    at the largest one."""
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
