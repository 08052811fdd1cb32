"""`prefect deployment run train-all/train-all` against a real Prefect server and process worker,
started here on 127.0.0.1 from prefect.yaml, and stopped again with nothing left running."""

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

from tests.conftest import REPO

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy after {seconds}s")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group; an idle worker needs a second signal (see shared FACTS)."""
    for _ in range(2):
        if proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture
def server_env(tmp_path, real_data):
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "RECSYS_DATA": str(real_data),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
        "RECSYS_WORKDIR": str(tmp_path / "work"),
    }
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/api/health", server, 90)
        yield env, tmp_path
    finally:
        stop(server)
        log.close()


def prefect(env, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "prefect", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_deployment_runs_on_a_real_server_and_worker(server_env):
    env, tmp = server_env
    assert prefect(env, "work-pool", "create", "recsys", "--type", "process", "--overwrite").returncode == 0
    deployed = prefect(env, "deploy", "--all", "--no-prompt")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    schedule = prefect(env, "deployment", "inspect", "train-all/train-all")
    assert "0 3 * * 1" in schedule.stdout and "Europe/Berlin" in schedule.stdout
    with open(tmp / "worker.log", "w") as log:
        worker = subprocess.Popen(
            [BIN / "prefect", "worker", "start", "--pool", "recsys"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            run = prefect(
                env,
                "deployment",
                "run",
                "train-all/train-all",
                "-p",
                "epochs=1",
                "-p",
                'variants=["mf"]',
                "--watch",
                "--watch-timeout",
                "240",
                timeout=300,
            )
        finally:
            stop(worker)
    assert run.returncode == 0, run.stdout[-3000:] + (tmp / "worker.log").read_text()[-3000:]
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("movielens")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.pipeline = 'train-all'")
    (child,) = client.search_runs([experiment.experiment_id], "tags.variant = 'mf'")
    assert parent.info.status == "FINISHED" and child.data.metrics["test_mse"] < 1.0
