"""How a failed command ends: one ``error:`` line a user can act on, the traceback in a log file that the
line names, and exit 2 for errors the user can fix from the message (bad data, bad settings, an unknown run),
1 for the others."""

import contextlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path


def report_failure(exc: Exception) -> int:
    """Print the error line for ``exc`` and return the exit status."""
    return fail(exc, explain_error(exc), 2 if is_user_error(exc) else 1)


def explain_error(exc: BaseException) -> str:
    """One line a user can act on: the tracking server named when it is the one that failed."""
    from mlflow.exceptions import MlflowException

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, MlflowException) and ("Connection" in str(exc) or "Max retries" in str(exc)):
        from tasks.runtime import tracking_uri

        return f"the MLflow tracking server at {tracking_uri()} did not answer: {first}"
    return first


def fail(exc: BaseException, message: str, code: int) -> int:
    """Print ``error: message`` (one line) and write the traceback to a log file that the line names."""
    from tasks.runtime import work_folder

    text = "".join(traceback.format_exception(exc))
    name = f"recsys-error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (work_folder().logs, Path(tempfile.gettempdir())):  # a full work folder: the temp folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
            print(f"error: {message} (traceback: {folder / name})", file=sys.stderr)
            return code
        except OSError:
            with contextlib.suppress(OSError):  # a read-only folder cannot have it removed either
                (folder / name).unlink(missing_ok=True)
    print(f"error: {message}", file=sys.stderr)
    return code


def is_user_error(exc: Exception) -> bool:
    """Errors a user can act on from the message alone: bad data, bad settings, an unknown run."""
    from mlflow.exceptions import MlflowException

    from recsys.data.ingest import QuarantineLimitError
    from recsys.data.io import DataFormatError
    from recsys.data.io.download import DownloadError
    from tasks.validation import DataValidationError

    known = (DataFormatError, DataValidationError, QuarantineLimitError, FileNotFoundError, MlflowException, ValueError)
    return isinstance(exc, known + (DownloadError,))
