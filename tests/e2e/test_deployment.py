"""The server section of docs/deployments.md for real: `recsys services start` brings up the Prefect server, the MLflow
tracking server, the work pool, the deployments of prefect.yaml and a worker on 127.0.0.1; then
`prefect deployment run train-all/train-all` trains, logs over HTTP and promotes; a worse second run
leaves the champion; `recsys services stop` leaves no process behind."""

import base64
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import REPO

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
SERVICES = [str(BIN / "recsys"), "services"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def services(tmp_path_factory, real_data):
    tmp = tmp_path_factory.mktemp("services")
    prefect_port, mlflow_port = free_port(), free_port()
    env = {
        **os.environ,
        "SERVICES_DIR": str(tmp / "services"),
        "MLFLOW_STORE_DIR": str(tmp / "mlflow"),
        "PREFECT_PORT": str(prefect_port),
        "MLFLOW_PORT": str(mlflow_port),
        "RECSYS_DATA": str(real_data),
        "RECSYS_WORKDIR": str(tmp / "work"),
        "PREFECT_HOME": str(tmp / "services" / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{mlflow_port}",
    }
    started = subprocess.run([*SERVICES, "start"], env=env, capture_output=True, text=True, timeout=300)
    pids = {p.stem: int(p.read_text().split()[0]) for p in (tmp / "services").glob("*.pid")}
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        secret = (tmp / "services" / "credentials.env").read_text()
        assert not [v for v in secret_values(secret) if v in started.stdout + started.stderr]  # never printed
        credentials = dict(line.split("=", 1) for line in secret.splitlines())
        saved = {key: os.environ.get(key) for key in credentials}
        os.environ.update(credentials)  # this process's MLflow client signs in too
        yield env | credentials, pids
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    finally:
        stopped = subprocess.run([*SERVICES, "stop"], env=env, capture_output=True, text=True, timeout=180)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert not [name for name, pid in pids.items() if alive(pid)], "a service outlived recsys services stop"


def secret_values(text: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if "PASSWORD" in line or "AUTH" in line]


def status_without_credentials(url: str, body: bytes = b"{}") -> int:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_both_servers_let_no_one_in_without_credentials(services):
    env, _ = services
    assert status_without_credentials(f"{env['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/experiments/search") == 401
    assert status_without_credentials(f"{env['PREFECT_API_URL']}/flows/count") == 401
    assert MlflowClient(env["MLFLOW_TRACKING_URI"]).search_experiments() is not None  # with them: in


def prefect(env, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "prefect", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def run_deployment(env, *params, timeout=600) -> subprocess.CompletedProcess:
    args = [arg for param in params for arg in ("-p", param)]
    return prefect(
        env,
        "deployment",
        "run",
        "train-all/train-all",
        *args,
        "--watch",
        "--watch-timeout",
        str(timeout - 30),
        timeout=timeout,
    )


def test_services_start_with_the_declared_deployments(services):
    env, pids = services
    assert set(pids) == {"prefect-server", "mlflow-server", "worker"}
    train_all = prefect(env, "deployment", "inspect", "train-all/train-all").stdout
    assert "0 3 * * 1" in train_all and "Europe/Berlin" in train_all, train_all
    limit = train_all.split("'global_concurrency_limit'")[1].split("}")[0]  # the deployment's own limit
    assert "'limit': 1" in limit and "'collision_strategy': 'ENQUEUE'" in train_all, train_all
    # the one typed parameter: its schema (every variant's model and trainer settings) travels with it
    assert "'PipelineConfig'" in train_all and "'WideDeepSettings'" in train_all and "'lr'" in train_all
    retrain = prefect(env, "deployment", "inspect", "retrain/retrain").stdout
    assert "0 4 * * *" in retrain and "Europe/Berlin" in retrain
    assert prefect(env, "deployment", "inspect", "ingest/ingest").returncode == 0


def test_deployment_run_trains_logs_over_http_and_a_worse_run_keeps_the_champion(services):
    env, _ = services
    first = run_deployment(env, 'config={"epochs": 2}')
    assert first.returncode == 0, first.stdout[-3000:]
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])  # MLflow's REST API, through the tracking server
    experiment = client.get_experiment_by_name("movielens")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.pipeline = 'train-all'")
    children = client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    rating = [c for c in children if c.data.tags.get("family") != "topn"]
    rankers = {c.data.tags["variant"] for c in children if c.data.tags.get("family") == "topn"}
    assert parent.info.status == "FINISHED" and len(rating) == 10 and rankers == {"pop", "ease", "ials"}
    for child in rating:
        assert [m.step for m in client.get_metric_history(child.info.run_id, "val_mse")][-1] in (1, 2)
    assert any(key.startswith("system/") for c in rating for key in c.data.metrics)  # MLflow's, with a server
    assert client.get_model_version_by_alias("movielens-topn", "champion").tags["variant"] in rankers
    champion = client.get_model_version_by_alias("movielens-rating", "champion")
    assert parent.data.tags["promotion"].startswith("promoted")
    worse = run_deployment(env, 'config={"epochs": 1, "variants": {"mf": {}}, "analysis": false}')
    assert worse.returncode == 0, worse.stdout[-3000:]
    second = client.search_runs([experiment.experiment_id], "tags.pipeline = 'train-all'")[0]
    assert second.info.run_id != parent.info.run_id and second.data.tags["promotion"].startswith("kept")
    assert client.get_model_version_by_alias("movielens-rating", "champion").version == champion.version
    assert second.data.tags["topn_promotion"].startswith("kept")  # the same rankers on the same split: no gain


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (  # headless, and quiet on a machine without internet (no background connections)
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1800,1000",
)


def test_mlflow_ui_compares_the_variant_runs_by_test_mse(services, tmp_path):
    """Debian's chromium, driven by selenium, opens the tracking server's UI, lists the variant runs sorted by
    test MSE, adds the test_mse column and saves a screenshot."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), "apt-get install chromium chromium-driver (tests/run does)"
    env, _ = services
    experiment = MlflowClient(env["MLFLOW_TRACKING_URI"]).get_experiment_by_name("movielens").experiment_id
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    wait = WebDriverWait(browser, 60)
    token = base64.b64encode(f"{env['MLFLOW_TRACKING_USERNAME']}:{env['MLFLOW_TRACKING_PASSWORD']}".encode()).decode()
    browser.execute_cdp_cmd("Network.enable", {})  # the server asks every request for its basic-auth credentials
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {token}"}})
    try:
        query = "searchFilter=metrics.test_mse%20%3C%201&orderByKey=metrics.%60test_mse%60&orderByAsc=true"
        browser.get(f"{env['MLFLOW_TRACKING_URI']}/#/experiments/{experiment}/runs?{query}")
        for variant in ("blend", "mf", "wide_deep", "lstm"):  # the variant runs are listed
            wait.until(ready.presence_of_element_located((By.XPATH, f"//*[normalize-space(text())='{variant}']")))
        columns = "//button[.//span[normalize-space()='Columns'] or normalize-space()='Columns']"
        wait.until(ready.element_to_be_clickable((By.XPATH, columns))).click()
        wait.until(ready.presence_of_element_located((By.XPATH, "//input[@placeholder='Search columns']"))).send_keys(
            "test_mse"
        )
        title = "//span[contains(@class, 'tree-title')][normalize-space()='test_mse']"
        node = wait.until(
            ready.presence_of_element_located((By.XPATH, f"{title}/ancestor::*[contains(@class, 'tree-treenode')][1]"))
        )
        node.find_element(By.XPATH, ".//span[contains(@class, 'tree-checkbox')]").click()
        header = wait.until(
            ready.presence_of_element_located((By.XPATH, "//*[@role='columnheader'][contains(., 'test_mse')]"))
        )
        browser.execute_script("arguments[0].scrollIntoView({inline: 'center'})", header)
        screenshot = tmp_path / "mlflow-ui-runs-by-test-mse.png"
        assert browser.save_screenshot(str(screenshot))
    finally:
        browser.quit()
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000


def test_a_deployment_run_cancelled_from_prefect_ends_like_sigterm(services):
    """Issue 20, finding 7: `prefect flow-run cancel` of a deployment run (the worker signals the flow's
    process) ends it like SIGTERM: Prefect's run CANCELLED, the MLflow parent and the training variant's runs
    KILLED (never left RUNNING), and the epoch checkpoints kept, so the same settings resume."""
    import re
    import time

    env, _ = services
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    known = client.get_experiment_by_name("movielens")  # none yet when this test runs alone
    before = set() if known is None else {r.info.run_id for r in client.search_runs([known.experiment_id])}
    config = 'config={"epochs": 60, "variants": {"lstm": {}}, "rankers": {}, "analysis": false}'
    started = prefect(env, "deployment", "run", "train-all/train-all", "-p", config)
    assert started.returncode == 0, started.stdout + started.stderr
    flow_run = re.search(r"UUID:\s*([0-9a-f-]{36})", started.stdout).group(1)

    def training_variant():
        found = client.get_experiment_by_name("movielens")
        if found is None:
            return None
        experiment = found.experiment_id
        for parent in client.search_runs([experiment], "tags.pipeline = 'train-all'"):
            if parent.info.run_id in before:
                continue
            for child in client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"):
                if len(client.get_metric_history(child.info.run_id, "val_mse")) >= 2:
                    return parent.info.run_id, child.info.run_id
        return None

    deadline, found = time.monotonic() + 400, None
    while found is None and time.monotonic() < deadline:
        time.sleep(3)
        found = training_variant()
    assert found is not None, "the deployment run never reached its second epoch"
    parent, variant = found
    cancelled = prefect(env, "flow-run", "cancel", flow_run)
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr

    deadline = time.monotonic() + 180
    while client.get_run(parent).info.status == "RUNNING" and time.monotonic() < deadline:
        time.sleep(2)
    assert client.get_run(parent).info.status == "KILLED"
    assert client.get_run(variant).info.status == "KILLED"
    while (
        "CANCELLED" not in (state := prefect(env, "flow-run", "inspect", flow_run).stdout)
        and time.monotonic() < deadline
    ):
        time.sleep(2)
    assert "CANCELLED" in state, state[-2000:]
    checkpoints = list(Path(env["RECSYS_WORKDIR"]).rglob("epoch-*.pt"))
    assert checkpoints, "the cancelled run's epoch checkpoints were not kept for the next run to resume"


def test_a_failed_deployment_run_is_recorded_by_the_automation(services):
    """Issue 21: nothing told anyone that a scheduled run failed. `recsys services start` creates the
    automation of automations.yaml; a train-all run that fails (its data source does not exist) runs the
    notify deployment, which appends the failure, with the run's name and message, to notifications.log."""
    import json
    import re
    import time

    env, _ = services
    assert "recsys-run-failed" in prefect(env, "automation", "ls").stdout
    failed = run_deployment(env, 'config={"data": {"source": "/nonexistent/ml-latest-small"}}', timeout=300)
    assert failed.returncode != 0
    flow_run = re.search(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", failed.stdout).group(1)
    log = Path(env["SERVICES_DIR"]) / "notifications.log"
    deadline, found = time.monotonic() + 240, []
    while not found and time.monotonic() < deadline:
        time.sleep(3)
        lines = log.read_text().splitlines() if log.exists() else []
        found = [json.loads(line) for line in lines if flow_run in line]
    assert found, f"no notification for flow run {flow_run} within 4 minutes"
    (record,) = found
    assert record["deployment"] == "train-all/train-all" and record["state"] == "Failed"
    assert record["flow_run"] and record["message"], record  # the run's name and Prefect's state message
