"""The process's environment defaults, set in one place at start-up (``recsys`` calls :func:`apply_defaults`
before prefect or mlflow is imported; ``prefect.yaml`` gives a worker's flow processes the same values, and a
test checks that the two agree). A value already in the environment is kept."""

import os

DEFAULTS = {
    # quiet, offline-friendly
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # Prefect's temporary server takes 11-18 s to start on 2 cores: its default 20 s limit is too tight
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # the library's messages (a damaged checkpoint skipped, a blend member refitting) reach the run logs
    "PREFECT_LOGGING_EXTRA_LOGGERS": "recsys",
    # ...and outside a flow (a unit test, `recsys recommend`) they go to the console only, without a warning
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    # A tracking server that does not answer fails a call after about 3 s (2 HTTP retries, 1 and 2 s apart,
    # each connection given 20 s), not after MLflow's default of about four minutes; the tasks that talk to
    # MLflow retry three more times (2, 4, 8 s), so a server that stays down fails the run within a minute.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}


def apply_defaults() -> None:
    """Set each default that the environment does not set already."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
