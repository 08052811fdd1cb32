"""MLflow plumbing shared by the tasks: the experiment, runs addressed by id, flattened params.

Tasks address runs by id through ``MlflowClient`` rather than through the fluent "active run", so they
stay correct whichever thread or process Prefect runs them in.
"""

import contextlib
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mlflow.entities import Param
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from prefect.exceptions import TerminationSignal
from prefect.tasks import exponential_backoff

import mlflow
from recsys.processes import started
from tasks.runtime import EXPERIMENT, artifact_location, tracking_uri

TRANSIENT_CODES = {"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "INTERNAL_ERROR"}


def transient_failure(task, task_run, state) -> bool:
    """Retry only what may pass: a connection or disk error, or a tracking server (or sqlite store) that was
    busy. A validation failure, a diverging loss or a missing run fails at once, and so does a tracking server
    that did not answer through all of MLflow's own HTTP retries (minutes of them: see cli/environment.py)."""
    exc = state.result(raise_on_failure=False)
    if gave_up_on_server(exc):
        return False
    if isinstance(exc, OSError):
        return True
    return isinstance(exc, MlflowException) and exc.error_code in TRANSIENT_CODES


def gave_up_on_server(exc: BaseException | None) -> bool:
    """Whether ``exc`` is MLflow's HTTP client giving up after its retries."""
    return exc is not None and "Max retries exceeded" in str(exc)


# the options of every task that talks to MLflow: three retries, 2, 4 and 8 s apart, on transient failures
IO_RETRIES = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_condition_fn": transient_failure,
}


INTERRUPTS = (KeyboardInterrupt, SystemExit, TerminationSignal)  # a stop, not a failure of the code


@contextmanager
def ends_run_on_failure(run_id: str, end: Callable[[str], None] | None = None) -> Iterator[None]:
    """Mark run ``run_id`` KILLED when the block is interrupted (SIGTERM, Ctrl-C) and FAILED when it raises
    (through ``end(status)`` when given), then let the exception go on; a run is never left RUNNING by a
    process that is still alive to say so."""
    try:
        yield
    except BaseException as exc:
        status = "KILLED" if isinstance(exc, INTERRUPTS) else "FAILED"
        try:  # once: when the tracking server is what failed, the original error is what matters
            with few_http_retries() if gave_up_on_server(exc) else contextlib.nullcontext():
                (end or (lambda s: client().set_terminated(run_id, s)))(status)
        except Exception:  # noqa: BLE001
            pass
        raise


@contextmanager
def few_http_retries() -> Iterator[None]:
    """MLflow's HTTP retries cut to one for the block (it reads the setting at each call): after the server
    failed through minutes of retries, marking the run failed is tried once, not for minutes more."""
    saved = os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES")
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MLFLOW_HTTP_REQUEST_MAX_RETRIES", None)
        else:
            os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = saved


def process_tags() -> dict[str, str]:
    """Who runs this: host, pid and the process's start time (so a reused pid is not mistaken for it)."""
    return {
        "recsys.host": socket.gethostname(),
        "recsys.pid": str(os.getpid()),
        "recsys.started": started(os.getpid()),
    }


def mark_orphans_killed(mlflow_client: MlflowClient, experiment: str, by_run: str) -> list[str]:
    """Runs still RUNNING whose process on this host is gone (a SIGKILL, a power cut) end KILLED, with a tag
    saying which run found them; returns their ids. Runs of other hosts are left: their processes cannot be
    seen from here."""
    found = mlflow_client.search_runs(
        [experiment], f"attributes.status = 'RUNNING' and tags.`recsys.host` = '{socket.gethostname()}'"
    )
    gone = [r for r in found if started(int(r.data.tags.get("recsys.pid", "0"))) != r.data.tags.get("recsys.started")]
    for run in gone:
        note = f"its process (pid {run.data.tags.get('recsys.pid')}) was gone; marked KILLED by run {by_run}"
        mlflow_client.set_tag(run.info.run_id, "recsys.cleanup", note)
        mlflow_client.set_terminated(run.info.run_id, "KILLED")
    return [r.info.run_id for r in gone]


def client() -> MlflowClient:
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(uri)


def experiment_id(mlflow_client: MlflowClient) -> str:
    """The id of the ``movielens`` experiment, created on first use. Two runs started together on a fresh
    store both find none and both create it: the one that loses that race reads the winner's."""
    found = mlflow_client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return found.experiment_id
    try:
        return mlflow_client.create_experiment(EXPERIMENT, artifact_location=artifact_location(tracking_uri()))
    except MlflowException:
        found = mlflow_client.get_experiment_by_name(EXPERIMENT)
        if found is None:
            raise
        return found.experiment_id


def pipeline_run_of(mlflow_client: MlflowClient, variant_run_id: str) -> str:
    """The id of the pipeline (parent) run of variant run ``variant_run_id`` (its own id when it has none)."""
    return mlflow_client.get_run(variant_run_id).data.tags.get("mlflow.parentRunId", variant_run_id)


def pipeline_run_of_version(mlflow_client: MlflowClient, version) -> str:
    """The id of the pipeline run that registered model ``version`` (an MLflow ``ModelVersion``)."""
    return pipeline_run_of(mlflow_client, version.tags["run_id"])


def flatten(prefix: str, values: dict) -> dict[str, str]:
    """Nested settings as MLflow params: ``{"train": {"lr": 0.001}}`` becomes ``{"train.lr": "0.001"}``."""
    out = {}
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flatten(name, value))
        else:
            out[name] = str(value)
    return out


MAX_PARAMS_PER_BATCH = 100  # MLflow refuses a log_batch with more


def log_params(mlflow_client: MlflowClient, run_id: str, params: dict) -> None:
    """Log ``params`` (nested dicts flattened to dotted names), in batches MLflow accepts."""
    flat = [Param(k, v) for k, v in flatten("", params).items()]
    for start in range(0, len(flat), MAX_PARAMS_PER_BATCH):
        mlflow_client.log_batch(run_id, params=flat[start : start + MAX_PARAMS_PER_BATCH])


def log_frame(mlflow_client: MlflowClient, run_id: str, frame, artifact_file: str) -> None:
    """Log ``frame`` as Parquet at ``artifact_file`` (a path inside the run's artifacts)."""
    from recsys.store.artifacts import write_frame

    folder = artifact_file.rpartition("/")[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_frame(frame, Path(tmp), artifact_file)
        mlflow_client.log_artifact(run_id, str(path), artifact_path=folder or None)


def log_dataset(mlflow_client: MlflowClient, run_id: str, source: str | None, fingerprint: str, split: str) -> None:
    """The run's data as an MLflow dataset input (the UI's Datasets column): named by the release and split,
    its digest the data fingerprint, its source the release (redacted: no credentials)."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.http_dataset_source import HTTPDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    from recsys.data.io import DEFAULT_SOURCE
    from recsys.data.io.download import redact_source
    from tasks.runtime import data_source

    shown = redact_source(data_source(source) or DEFAULT_SOURCE)
    release = Path(shown.rstrip("/").split("?")[0]).name.removesuffix(".zip") or "release"
    try:
        origin = resolve_dataset_source(shown)
    except MlflowException:  # a form MLflow has no source type for: kept as a URL-like string
        origin = HTTPDatasetSource(shown)
    dataset = MetaDataset(origin, name=f"{release}/{split}", digest=fingerprint[:36])
    context = InputTag(key=MLFLOW_DATASET_CONTEXT, value="training")
    inputs = [DatasetInput(dataset._to_mlflow_entity(), tags=[context])]
    for attempt in range(DATASET_ATTEMPTS):
        try:
            mlflow_client.log_inputs(run_id, datasets=inputs)
            return
        except MlflowException as exc:
            # MLflow looks the dataset up, then inserts it: two runs logging the same new dataset at once (two
            # train-alls on one store) both insert, and the second fails on the unique key. Asked again, MLflow
            # finds the row the first inserted and links it.
            if not _duplicate_key(exc) or attempt == DATASET_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


DATASET_ATTEMPTS = 5


def _duplicate_key(exc: MlflowException) -> bool:
    """Whether a store refused an insert for a key that exists (sqlite, PostgreSQL and MySQL wordings)."""
    text = str(exc).lower()
    return "unique constraint" in text or "duplicate key" in text or "duplicate entry" in text


@contextlib.contextmanager
def system_metrics(run_id: str, every_seconds: float = 2.0) -> Iterator[None]:
    """MLflow's own system metrics (CPU, memory, GPU when present, disk, network) logged to ``run_id`` every
    ``every_seconds`` for the block, when the runs go to a tracking server. Not for a local sqlite store: the
    monitor makes a new client (a new SQLAlchemy store) for every sample, and on 2 cores that halved the
    training speed (the default train-all took 300 s instead of about 175, lstm epochs 4x slower)."""
    if not tracking_uri().startswith(("http://", "https://")):
        yield
        return
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

    monitor = SystemMetricsMonitor(run_id, sampling_interval=every_seconds, samples_before_logging=1)
    monitor.start()
    try:
        yield
    finally:
        monitor.finish()
