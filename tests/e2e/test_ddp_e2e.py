"""`recsys train-all` under torchrun, launched as a user would: two CPU processes (gloo) train a variant
data-parallel and reach the one-process test MSE (mf: the same to 1e-6, its steps are the same sums in another
order; baseline: within 0.005, its dropout masks are drawn per process), while rank 0 runs the pipeline as any
run does: the release validated by Great Expectations, one pipeline run tracked, the version registered and
promoted, the epoch checkpoints removed at the end."""

import os
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tasks.runtime import CHAMPION, REGISTERED_MODEL
from tests.e2e.faults import BIN

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def train_all(tmp: Path, processes: int, variant: str, epochs: int, data: Path) -> tuple[MlflowClient, str, Path]:
    """One launch with its own tracking store and work folder; its client, output and work folder."""
    store = tmp / f"{variant}-{processes}"
    env = os.environ | {
        "RECSYS_WORKDIR": str(store / "work"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db",
        "PREFECT_HOME": str(store / "prefect"),
        "OMP_NUM_THREADS": "1",
    }
    env.pop("PREFECT_API_URL", None)
    command = [BIN / "torchrun", "--standalone", "--nproc_per_node", str(processes), "-m", "cli.main", "train-all"]
    command += ["--data", str(data), "--variants", variant, "--epochs", str(epochs), "--no-analysis"]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return MlflowClient(env["MLFLOW_TRACKING_URI"]), done.stdout, store / "work"


def one_run(client: MlflowClient, query: str):
    (run,) = client.search_runs([client.get_experiment_by_name("movielens").experiment_id], query)
    return run


@pytest.mark.parametrize(("variant", "epochs", "tolerance"), [("mf", 6, 1e-6), ("baseline", 8, 0.005)])
def test_two_processes_reach_the_one_process_test_mse_through_the_whole_pipeline(
    tmp_path, real_data, variant, epochs, tolerance
):
    mse = {}
    for processes in (1, 2):
        client, output, work = train_all(tmp_path, processes, variant, epochs, real_data)
        parent = one_run(client, "tags.pipeline = 'train-all'")  # rank 0 alone tracked: one pipeline run
        trained = one_run(client, f"tags.variant = '{variant}'")
        assert trained.data.params["world_size"] == str(processes)
        mse[processes] = trained.data.metrics["test_mse"]
        logged = {a.path for a in client.list_artifacts(parent.info.run_id, "ingest")}
        assert "ingest/validation.json" in logged  # validated by Great Expectations, as any run
        champion = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
        assert champion.tags["run_id"] == trained.info.run_id and parent.data.tags["promotion"].startswith("promoted")
        left = [p for p in (work / "checkpoints").glob("*") if p.is_dir()]  # (an empty .lock file stays beside)
        assert left == []  # trained to the end: rank 0 removed them
        if processes == 2:
            assert f"rank 1 of 2: trained {variant} (seed 42) beside rank 0" in output
    assert mse[2] == pytest.approx(mse[1], abs=tolerance)
