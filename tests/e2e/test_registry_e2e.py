"""Two `recsys train-all` processes started together on one tracking server (one of them deliberately
worse): both finish, every variant is registered once, and the champion is the better model, whichever
run reached the registry first (the alias moves by compare-and-set under the registry lock)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tasks.runtime import CHAMPION, REGISTERED_MODEL

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tracking")
    port = free_port()
    command = [BIN / "mlflow", "server", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db"]
    command += ["--artifacts-destination", str(tmp / "artifacts"), "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen(
        [*command, "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2).close()
            break
        except OSError:
            time.sleep(0.5)
    try:
        yield url, tmp
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its uvicorn worker
        server.wait(timeout=30)
        log.close()


def test_two_runs_at_once_register_once_each_and_the_better_is_champion(tracking_server, real_data):
    url, tmp = tracking_server
    runs = {}
    for name, epochs in (("better", "6"), ("worse", "1")):
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": url,
            "RECSYS_WORKDIR": str(tmp / "work"),  # the same work folder: the file lock is shared
            "PREFECT_HOME": str(tmp / f"prefect-{name}"),  # each embedded run has its own temporary server
        }
        env.pop("PREFECT_API_URL", None)
        command = [BIN / "recsys", "train-all", "--data", str(real_data), "--variants", "mf", "--epochs", epochs]
        log = open(tmp / f"{name}.log", "w")
        runs[name] = (subprocess.Popen([*command, "--no-analysis"], env=env, stdout=log, stderr=subprocess.STDOUT), log)
    for name, (process, log) in runs.items():
        assert process.wait(timeout=600) == 0, (tmp / f"{name}.log").read_text()[-3000:]
        log.close()
    client = MlflowClient(url)
    versions = client.search_model_versions(f"name = '{REGISTERED_MODEL}'")
    assert len(versions) == 2 and len({v.tags["run_id"] for v in versions}) == 2  # one version per run
    mse = {v.version: client.get_run(v.tags["run_id"]).data.metrics["test_mse"] for v in versions}
    champion = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    assert mse[champion.version] == min(mse.values()), mse
    parents = client.search_runs(
        [client.get_experiment_by_name("movielens").experiment_id], "tags.pipeline = 'train-all'"
    )
    tags = sorted(p.data.tags["promotion"].split(":")[0] for p in parents)
    assert tags in (["kept", "promoted"], ["promoted", "promoted"])  # the worse run first: both promoted in turn
