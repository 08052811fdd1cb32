"""Runs that log the same new dataset input at once (two train-alls on one store) all get it: MLflow looks a
dataset up before inserting it, so concurrent first uses met its unique key and the variant failed (a real
sqlite store, real threads)."""

import threading

from mlflow import MlflowClient
from tasks import tracking


def test_runs_logging_one_new_dataset_at_once_all_get_it(tmp_path, real_data):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    for round_ in range(4):  # the race is lost in most rounds of eight without the retry
        experiment = client.create_experiment(f"race-{round_}")
        runs = [client.create_run(experiment).info.run_id for _ in range(8)]
        errors, start = [], threading.Barrier(len(runs))

        def log(run_id: str, start: threading.Barrier, errors: list) -> None:
            start.wait()
            try:
                tracking.log_dataset(MlflowClient(uri), run_id, str(real_data), "f" * 40, "random-42-0.2-0.1")
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(repr(exc)[:300])

        threads = [threading.Thread(target=log, args=(run_id, start, errors)) for run_id in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        for run_id in runs:
            (logged,) = client.get_run(run_id).inputs.dataset_inputs
            assert logged.dataset.name == f"{real_data.name}/random-42-0.2-0.1"
