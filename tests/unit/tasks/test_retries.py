"""Retries only on transient I/O: a lost connection or a busy tracking store, never a data problem; a race
that another run won is not a failure."""

import threading

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, RESOURCE_DOES_NOT_EXIST
from mlflow.tracking import MlflowClient
from prefect.states import Failed

from recsys.data.ingest import QuarantineLimitError
from tasks.tracking import IO_RETRIES, experiment_id, transient_failure


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


def test_two_runs_creating_the_experiment_at_once_both_get_its_id(tmp_path, monkeypatch):
    """Both runs look up the experiment before either creates it (a barrier forces that order on a real sqlite
    store): the one whose create loses the race reads the winner's id instead of failing."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    MlflowClient(f"sqlite:///{tmp_path}/mlflow.db").search_experiments()  # the schema, made once
    both_looked = threading.Barrier(2)

    class LooksTogether(MlflowClient):
        looked = False

        def get_experiment_by_name(self, name):
            found = super().get_experiment_by_name(name)
            if not self.looked:
                self.looked = True
                both_looked.wait(timeout=30)
            return found

    ids, errors = [], []

    def run():
        try:
            ids.append(experiment_id(LooksTogether(f"sqlite:///{tmp_path}/mlflow.db")))
        except Exception as error:  # noqa: BLE001 - the failure is the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(ids) == 2 and ids[0] == ids[1], (ids, errors)
