"""Data-parallel training with torch DistributedDataParallel, launched by torchrun as a user would: two CPU
processes (gloo) reach the one-process test MSE (mf: the same to 1e-6, its steps are the same sums in another
order; baseline: within 0.005, its dropout masks are drawn per process), and only rank 0 logs."""

import os
import re
import subprocess

import pytest
from mlflow.tracking import MlflowClient

from tests.e2e.faults import BIN

pytestmark = pytest.mark.e2e


def torchrun(processes: int, variant: str, epochs: int, env: dict) -> float:
    command = [BIN / "torchrun", "--standalone", "--nproc_per_node", str(processes), "-m", "flows.distributed"]
    command += ["--data", env["RECSYS_DATA"], "--variant", variant, "--epochs", str(epochs)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return float(re.search(rf"{variant} on {processes} processes: .* test MSE ([\d.]+)", done.stdout).group(1))


@pytest.mark.parametrize(("variant", "epochs", "tolerance"), [("mf", 6, 1e-6), ("baseline", 8, 0.005)])
def test_two_processes_reach_the_one_process_test_mse(tmp_path, real_data, variant, epochs, tolerance):
    env = os.environ | {
        "RECSYS_DATA": str(real_data),
        "RECSYS_WORKDIR": str(tmp_path / "work"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
        "OMP_NUM_THREADS": "1",
    }
    alone = torchrun(1, variant, epochs, env)
    together = torchrun(2, variant, epochs, env)
    assert together == pytest.approx(alone, abs=tolerance)
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    runs = client.search_runs(
        [client.get_experiment_by_name("movielens").experiment_id], "tags.distributed = 'torch-ddp'"
    )
    assert sorted(r.data.params["world_size"] for r in runs) == ["1", "2"]  # one run each: rank 0 alone logged
    assert all(len(client.get_metric_history(r.info.run_id, "val_mse")) >= 1 for r in runs)
