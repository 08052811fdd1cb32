"""A train-all from object storage, for real: ml-latest-small in a bucket of a local S3-compatible server
(moto's server mode on 127.0.0.1), the source given with its key and secret (issue 20, finding 5). The run
succeeds, and afterwards no store, log or database holds the secret: not MLflow's (params, config.yaml,
artifacts), not Prefect's (its flow parameter is the reference ``env:NAME``), not the work folder."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import NO_GATE

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
KEY, SECRET = "AKIAEXAMPLEKEY", "wJalrXUtnFEMIexamplesecret"


@pytest.fixture(scope="module")
def bucket(real_data):
    """A moto S3 server holding ml-latest-small at s3://ratings/ml-latest-small; yields its port."""
    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [BIN / "moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto's server did not start"
                time.sleep(0.2)
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
        )
        s3.create_bucket(Bucket="ratings")
        for path in sorted(real_data.glob("*.csv")):
            s3.upload_file(str(path), "ratings", f"ml-latest-small/{path.name}")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def holding(root: Path, secrets: tuple[str, ...]) -> list[str]:
    """The files under ``root`` whose bytes hold any of ``secrets``."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path.relative_to(root)}: {s}" for s in secrets if s.encode() in data]
    return found


def test_a_train_all_from_s3_succeeds_and_no_store_holds_the_secret(bucket, tmp_path):
    uri = (
        f"s3://{KEY}:{SECRET}@ratings/ml-latest-small?endpoint_override=127.0.0.1:{bucket}&scheme=http&region=us-east-1"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "RECSYS_DATA")}
    env |= {
        "RATINGS_SOURCE": uri,
        "RECSYS_WORKDIR": str(tmp_path / "work"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/store/mlflow.db",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    command = [BIN / "recsys", "train-all", "--data", "env:RATINGS_SOURCE", "--variants", "mf", "--epochs", "1"]
    done = subprocess.run(
        [*command, "--no-analysis", *NO_GATE], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert SECRET not in done.stdout + done.stderr and KEY not in done.stdout + done.stderr

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    (run,) = client.search_runs(
        [client.get_experiment_by_name("movielens").experiment_id], "tags.pipeline = 'train-all'"
    )
    assert run.info.status == "FINISHED"
    assert run.data.params["data.source"].startswith("s3://ratings/ml-latest-small?endpoint_override=")
    assert run.data.params["data_fingerprint"]  # the release was read from the bucket and ingested
    assert list((tmp_path / "prefect").rglob("*.db")), "Prefect's database should be in PREFECT_HOME"
    assert holding(tmp_path, (SECRET, KEY)) == []  # MLflow's store and artifacts, Prefect's database, the work
