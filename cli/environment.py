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
    # A tracking server that is restarted, or away for up to about four minutes, does not fail the run: each
    # call retries 7 times, 0, 4, 8, 16, 32, 64 and 120 s apart (244 s in all; each connection given 20 s),
    # and the run goes on where it was, its metrics logged in order. A server that stays away fails the call,
    # and the run, naming it; the tasks do not retry that again (tasks/tracking.py: transient_failure).
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "7",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}


def apply_defaults(level: str | None = None) -> None:
    """Set each default that the environment does not set already; ``level`` (``-q``: WARNING, ``-v``: DEBUG)
    sets the log level of Prefect, MLflow and the library, overriding the environment."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    if level is not None:
        import logging

        os.environ["PREFECT_LOGGING_LEVEL"] = level  # read when prefect is imported: not yet
        os.environ["MLFLOW_LOGGING_LEVEL"] = level
        os.environ["RECSYS_LOG_LEVEL"] = level  # tasks/runtime.py sets the library's level from it
        for name in ("mlflow", "recsys", "great_expectations", "distributed"):
            logging.getLogger(name).setLevel(level)
