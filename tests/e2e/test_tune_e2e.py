"""`recsys tune` as a person runs it: three trials of mf on the real ml-latest-small, each a nested MLflow run
under the tune run, write a config file that `recsys train-all --config` trains with."""

import os

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import NO_GATE
from tests.e2e.faults import Recsys

pytestmark = pytest.mark.e2e


def test_tune_writes_a_config_that_train_all_trains_with(tmp_path, real_data):
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI")}
    env |= {
        "RECSYS_WORKDIR": str(tmp_path / "work"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/store/mlflow.db",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    out = tmp_path / "tuned.yaml"
    tune = Recsys(
        ["tune", "--variant", "mf", "--trials", "3", "--epochs", "3", "--data", str(real_data), "--out", str(out)], env
    )
    assert tune.finish() == 0, tune.output[-3000:]
    assert "mf: best of 3 trials" in tune.output and f"recsys train-all --config {out}" in tune.output
    tuned = yaml.safe_load(out.read_text())["variants"]["mf"]

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("movielens").experiment_id
    (parent,) = client.search_runs([experiment], "tags.pipeline = 'tune'")
    trials = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(trials) == 3 and all(t.info.status == "FINISHED" for t in trials)
    best = min(trials, key=lambda t: t.data.metrics["val_mse"])
    assert float(best.data.params["lr"]) == pytest.approx(tuned["train"]["lr"])
    assert int(best.data.params["dim"]) == tuned["model"]["dim"]
    assert parent.data.metrics["mf_best_val_mse"] == pytest.approx(best.data.metrics["val_mse"])

    trained = Recsys(
        ["train-all", "--config", str(out), "--data", str(real_data), "--no-analysis", "--set", "rankers={}", *NO_GATE],
        env,
    )
    assert trained.finish() == 0, trained.output[-3000:]
    (run,) = client.search_runs([experiment], "tags.pipeline = 'train-all'")
    (mf,) = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert mf.data.tags["variant"] == "mf" and float(mf.data.params["train.lr"]) == pytest.approx(tuned["train"]["lr"])
    assert int(mf.data.params["model.dim"]) == tuned["model"]["dim"]
