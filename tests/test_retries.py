"""Retries only on transient I/O: a lost connection or a busy tracking store, never a data problem."""

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, RESOURCE_DOES_NOT_EXIST
from prefect.states import Failed

from recsys.data.ingest import QuarantineLimitError
from tasks.tracking import IO_RETRIES, transient_failure


def failed_with(exc: BaseException):
    return Failed(data=exc)


def test_connection_errors_and_a_busy_store_are_retried():
    assert transient_failure(None, None, failed_with(ConnectionError("refused")))
    assert transient_failure(None, None, failed_with(MlflowException("database is locked", INTERNAL_ERROR)))


def test_data_problems_and_missing_runs_are_not_retried():
    assert not transient_failure(None, None, failed_with(QuarantineLimitError("3% of the ratings quarantined")))
    assert not transient_failure(None, None, failed_with(MlflowException("no run", RESOURCE_DOES_NOT_EXIST)))
    assert not transient_failure(None, None, failed_with(ValueError("loss diverged")))


def test_three_retries_with_growing_delays():
    assert IO_RETRIES["retries"] == 3 and IO_RETRIES["retry_delay_seconds"](3) == [2, 4, 8]
