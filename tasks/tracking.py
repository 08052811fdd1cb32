"""MLflow plumbing shared by the tasks: the experiment, runs addressed by id, flattened params.

Tasks address runs by id through ``MlflowClient`` rather than through the fluent "active run", so they
stay correct whichever thread or process Prefect runs them in.
"""

import tempfile
from pathlib import Path

from mlflow.entities import Param
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from prefect.tasks import exponential_backoff

import mlflow
from tasks.runtime import EXPERIMENT, artifact_location, tracking_uri

TRANSIENT_CODES = {"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "INTERNAL_ERROR"}


def transient_failure(task, task_run, state) -> bool:
    """Retry only what may pass: a connection or disk error, or a tracking server (or sqlite store) that was
    busy. A validation failure, a diverging loss or a missing run fails at once."""
    exc = state.result(raise_on_failure=False)
    if isinstance(exc, OSError):
        return True
    return isinstance(exc, MlflowException) and exc.error_code in TRANSIENT_CODES


# the options of every task that talks to MLflow: three retries, 2, 4 and 8 s apart, on transient failures
IO_RETRIES = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_condition_fn": transient_failure,
}


def client() -> MlflowClient:
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(uri)


def experiment_id(mlflow_client: MlflowClient) -> str:
    """The id of the ``movielens`` experiment, created on first use."""
    found = mlflow_client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return found.experiment_id
    return mlflow_client.create_experiment(EXPERIMENT, artifact_location=artifact_location(tracking_uri()))


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
    from recsys.data import io

    folder, _, name = artifact_file.rpartition("/")
    with tempfile.TemporaryDirectory() as tmp:
        path = io.write_parquet(frame, Path(tmp) / name)
        mlflow_client.log_artifact(run_id, str(path), artifact_path=folder or None)
