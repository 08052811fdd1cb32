"""Past one machine, for real on this one: a `dask scheduler` and two `dask worker` processes on 127.0.0.1 (one
thread each), the project's Prefect and MLflow servers, and train-all with ``runner.kind=dask`` on that
cluster: every variant trains on a worker, logs over HTTP, and gets the test MSE the sequential run gets."""

import os
import re
import socket
import subprocess
import time

import pytest
import yaml

from tests.e2e.faults import BIN, Recsys

pytestmark = pytest.mark.e2e
VARIANTS = ["--variants", "mf,baseline,svdpp", "--epochs", "2", "--no-analysis"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, real_data):
    """The services (Prefect and MLflow servers with their credentials) and a Dask cluster beside them."""
    tmp = tmp_path_factory.mktemp("dask")
    prefect_port, mlflow_port, scheduler_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "MLFLOW_TRACKING"))} | {
        "SERVICES_DIR": str(tmp / "services"),
        "MLFLOW_STORE_DIR": str(tmp / "mlflow"),
        "PREFECT_PORT": str(prefect_port),
        "MLFLOW_PORT": str(mlflow_port),
        "RECSYS_DATA": str(real_data),
        "RECSYS_WORKDIR": str(tmp / "work"),  # every worker reads the same files: they are on this machine
    }
    started = subprocess.run([BIN / "recsys", "services", "start"], env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stdout + started.stderr
    credentials = (tmp / "services" / "credentials.env").read_text().splitlines()
    env |= dict(line.split("=", 1) for line in credentials) | {
        "PREFECT_HOME": str(tmp / "services" / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{mlflow_port}",
    }
    address = f"tcp://127.0.0.1:{scheduler_port}"
    processes = [
        subprocess.Popen(
            [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(scheduler_port), "--no-dashboard"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "scheduler.log", "w"),
            start_new_session=True,
        )
    ]
    time.sleep(3)
    for i in range(2):
        worker = [BIN / "dask", "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"]
        processes.append(
            subprocess.Popen(
                [*worker, "--host", "127.0.0.1", "--name", f"worker-{i}"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp / f"worker-{i}.log", "w"),
                start_new_session=True,
            )
        )
    time.sleep(5)
    try:
        yield env, address, tmp
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=60)
        subprocess.run([BIN / "recsys", "services", "stop"], env=env, capture_output=True)


def variant_pids(env) -> dict:
    """The latest train-all run's own pid, and the pids that trained its variants."""
    from mlflow.tracking import MlflowClient

    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ.update({k: env[k] for k in saved})
    try:
        client = MlflowClient(env["MLFLOW_TRACKING_URI"])
        experiment = client.get_experiment_by_name("movielens").experiment_id
        parent = client.search_runs([experiment], "tags.pipeline = 'train-all'")[0]
        children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
        return {"parent": parent.data.tags["recsys.pid"], "variants": [c.data.tags["recsys.pid"] for c in children]}
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def test_variants_on_a_dask_cluster_get_the_sequential_runs_test_mse(cluster, real_data):
    env, address, tmp = cluster
    data = ["--data", str(real_data)]
    started = time.perf_counter()
    sequential = Recsys(["train-all", *data, *VARIANTS], env)
    assert sequential.finish() == 0, sequential.output[-3000:]
    sequential_seconds = time.perf_counter() - started
    started = time.perf_counter()
    on_dask = Recsys(
        ["train-all", *data, *VARIANTS, "--set", "runner.kind=dask", "--set", f"runner.address={address}"], env
    )
    assert on_dask.finish() == 0, on_dask.output[-3000:]
    dask_seconds = time.perf_counter() - started
    table = {}
    for name, run in (("sequential", sequential), ("dask", on_dask)):
        table[name] = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\w+) +\d+ +([\d.]+)", run.output, re.M)}
    assert set(table["dask"]) == {"mf", "baseline", "svdpp"}
    for variant, mse in table["sequential"].items():
        assert table["dask"][variant] == pytest.approx(mse, abs=1e-4), variant  # same seeds, other processes
    pids = variant_pids(env)  # each variant run is tagged with the pid of the process that trained it
    assert pids["parent"] not in pids["variants"] and len(set(pids["variants"])) == 2  # on both workers, not here
    speed_up = sequential_seconds / dask_seconds
    print(f"sequential {sequential_seconds:.1f}s, dask {dask_seconds:.1f}s, speed-up {speed_up:.2f}")


def test_tune_on_a_dask_cluster_runs_one_study_as_a_search_per_worker(cluster, real_data):
    """`recsys tune` with ``runner.kind=dask``: the trials are dealt to two searches, one per worker, that share
    one study through its journal; every trial is a run under the tune run, trained on a worker, and the best
    of all of them is the config written."""
    env, address, tmp = cluster
    out = tmp / "tuned-mf.yaml"
    dask = ["--set", "runner.kind=dask", "--set", f"runner.address={address}"]
    command = ["tune", "--variant", "mf", "--trials", "4", "--epochs", "2", "--data", str(real_data), "--out", str(out)]
    tune = Recsys([*command, *dask], env)
    assert tune.finish() == 0, tune.output[-3000:]
    assert "mf: best of 4 trials" in tune.output and out.exists()
    from mlflow.tracking import MlflowClient

    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ.update({k: env[k] for k in saved})
    try:
        client = MlflowClient(env["MLFLOW_TRACKING_URI"])
        experiment = client.get_experiment_by_name("movielens").experiment_id
        (parent,) = client.search_runs([experiment], "tags.pipeline = 'tune'")
        trials = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
        logged = {a.path for a in client.list_artifacts(parent.info.run_id, "tuned")}
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    assert len(trials) == 4 and {t.info.status for t in trials} == {"FINISHED"}
    assert sorted(t.info.run_name for t in trials) == ["0", "1", "2", "3"]  # trial numbers of one study
    assert {t.data.tags["tune.search"] for t in trials} == {"0", "1"}
    pids = {t.data.tags["recsys.pid"] for t in trials}
    assert len(pids) == 2 and parent.data.tags["recsys.pid"] not in pids  # on both workers, not here
    best = min(trials, key=lambda t: t.data.metrics["val_mse"])
    tuned = yaml.safe_load(out.read_text())["variants"]["mf"]
    assert int(best.data.params["dim"]) == tuned["model"]["dim"]
    assert parent.data.metrics["mf_best_val_mse"] == pytest.approx(best.data.metrics["val_mse"])
    assert parent.info.status == "FINISHED"
    assert {"tuned/tuned-mf.yaml", "tuned/study.journal"} <= logged  # the study, every search's trials, kept
