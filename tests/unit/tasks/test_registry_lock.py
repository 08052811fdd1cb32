"""The registry lock is one lock per registry (issue 20, finding 4): two real processes writing the same
tracking store with different work folders used to take two different file locks and race on ``champion``."""

import os
import subprocess
import sys

from tasks.registry_lock import lock_file

HOLDER = """
import sys, time
from tasks.registry_lock import registry_lock
with registry_lock(wait_seconds=60):
    print(f"acquired {time.time():.3f}", flush=True)
    time.sleep(float(sys.argv[1]))
    print(f"released {time.time():.3f}", flush=True)
"""


def start(tmp_path, name: str, hold: float, tracking_uri: str) -> subprocess.Popen:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "RECSYS_WORKDIR": str(tmp_path / f"work-{name}")}
    env.pop("PREFECT_API_URL", None)
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(hold)], env=env, stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )


def times(process: subprocess.Popen) -> dict[str, float]:
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    return {word: float(value) for word, value in (line.split() for line in out.splitlines())}


def test_two_processes_with_different_work_folders_take_turns_on_one_registry(tmp_path):
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    first = start(tmp_path, "a", 3.0, uri)
    assert first.stdout.readline().startswith("acquired")  # the first holds it now
    second = start(tmp_path, "b", 0.0, uri)
    first_released = float(first.stdout.readline().split()[1])
    first.wait(timeout=60)
    assert times(second)["acquired"] >= first_released  # it waited for the first to let go
    assert lock_file(uri).parent == tmp_path / "store"  # beside the store, whatever the work folder


def test_the_lock_is_the_registrys_however_the_uri_is_spelled_and_differs_between_registries(tmp_path):
    assert lock_file(f"sqlite:///{tmp_path}/a/../m.db") == lock_file(f"sqlite:///{tmp_path}/m.db")
    assert lock_file("http://127.0.0.1:5000/") == lock_file("http://127.0.0.1:5000")
    assert lock_file("http://127.0.0.1:5000") != lock_file("http://127.0.0.1:5001")
    assert lock_file(f"sqlite:///{tmp_path}/m.db") != lock_file(f"sqlite:///{tmp_path}/other.db")


def test_a_different_registry_is_not_blocked(tmp_path):
    first = start(tmp_path, "a", 3.0, f"sqlite:///{tmp_path}/one/mlflow.db")
    assert first.stdout.readline().startswith("acquired")
    got = times(start(tmp_path, "b", 0.0, f"sqlite:///{tmp_path}/two/mlflow.db"))["acquired"]
    first_released = float(first.stdout.readline().split()[1])
    first.wait(timeout=60)
    assert got < first_released  # it did not wait for the first's hold
