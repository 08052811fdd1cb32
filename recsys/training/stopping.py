"""A stop asked of the whole process (SIGTERM, say), which training honours between batches.

A signal reaches only the main thread, while a variant may train in a worker thread (a Prefect task, a
Dask worker's thread): the signal handler calls :func:`request_stop` and every training loop raises
:class:`TrainingStopped` at its next batch, so the process stops within a batch, not after the fit.
"""

import threading

_REQUESTED = threading.Event()


class TrainingStopped(KeyboardInterrupt):
    """Training was stopped on request: an interruption (like Ctrl-C), not a failure of the model."""


def request_stop() -> None:
    """Ask every training loop of this process to stop at its next batch."""
    _REQUESTED.set()


def clear_stop() -> None:
    """Withdraw the request (a process that goes on training after handling a stop)."""
    _REQUESTED.clear()


def check_stop() -> None:
    """Raise :class:`TrainingStopped` when a stop was requested."""
    if _REQUESTED.is_set():
        raise TrainingStopped("training stopped on request")
