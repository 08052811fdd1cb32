"""The task runner the variants train on, chosen by the run's config: in turn in this process (the flow then
calls each task in its own thread, see flows/train_variants.py; the pool of one is the subflow's nominal
runner), or in parallel on Dask through Prefect's Dask integration (prefect-dask): a local cluster of
``workers`` processes with one thread each, or an existing scheduler at ``address``. Dask workers log to the
MLflow tracking server over HTTP: a run on Dask with a local sqlite store is refused, since several
processes writing to one SQLite file fail with "database is locked"."""

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.task_runners import ThreadPoolTaskRunner

from recsys.pipeline.config import RunnerConfig
from recsys.training.stopping import clear_stop, request_stop
from tasks.runtime import tracking_uri
from tasks.tracking import INTERRUPTS


def task_runner_for(runner: RunnerConfig):
    if runner.kind == "local":
        return ThreadPoolTaskRunner(max_workers=1)
    if tracking_uri().startswith("sqlite:"):
        raise ValueError(
            "runner dask needs an MLflow tracking server (MLFLOW_TRACKING_URI=http://...): Dask workers "
            "cannot share a sqlite store; `recsys services start` runs one"
        )
    from prefect_dask import DaskTaskRunner

    if runner.address:
        return DaskTaskRunner(address=runner.address)
    cluster = {"n_workers": runner.workers, "threads_per_worker": 1, "processes": True}
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=cluster)


@contextmanager
def stops_training_when_interrupted() -> Iterator[None]:
    """Around a flow's wait on its training tasks: when the wait is interrupted (SIGTERM, Ctrl-C), the
    training in the runner's threads is asked to stop at its next batch; a signal reaches only this thread,
    and the runner would otherwise wait for the whole fit before the process can exit."""
    clear_stop()  # a request left from an earlier flow of this process is not this one's
    try:
        yield
    except INTERRUPTS:
        request_stop()
        raise
