"""Where a run reads and writes: settings from the environment, resolved in one place.

- ``RECSYS_DATA``: the data source (folder, .zip or URL) when the flow is given none;
- ``RECSYS_WORKDIR``: Parquet files, checkpoints and downloads (default ``./.recsys``);
- ``MLFLOW_TRACKING_URI``: the tracking store (default ``sqlite:///./mlflow/mlflow.db``, artifacts
  beside the database in ``artifacts/``).
"""

import os
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

EXPERIMENT = "movielens"
REGISTERED_MODEL = "movielens-rating"
CHAMPION = "champion"
CHALLENGER = "challenger"


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
