"""The package as someone elsewhere gets it: a wheel built by `python -m build`, installed into a fresh venv
(no editable install, no checkout on the path) with the public pins of constraints.txt, and `recsys
train-all --data ml-latest-small` run from it in an empty folder, the release downloaded by name from a local
server standing in for GroupLens."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.test_newcomer_e2e import serve

pytestmark = pytest.mark.e2e


def run(command: list, cwd: Path, env: dict, timeout: int) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command[:3]}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_built_wheel_installs_in_a_fresh_venv_and_trains_a_release_by_name(tmp_path, real_data):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "MLFLOW_", "RECSYS_"))}
    env.pop("PREFECT_API_URL", None)
    run([sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(REPO)], REPO, env, 600)
    (wheel,) = (tmp_path / "dist").glob("movielens_pipeline-*.whl")
    assert not [n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("tests/")]

    venv = tmp_path / "venv"
    run(["python3", "-m", "venv", str(venv)], tmp_path, env, 120)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "-c", str(REPO / "constraints.txt"), str(wheel)]
    run(pip, tmp_path, env, 900)
    recsys = str(venv / "bin" / "recsys")
    work = tmp_path / "elsewhere"
    work.mkdir()
    located = run(
        [str(venv / "bin" / "python"), "-c", "import cli, recsys; print(cli.__file__, recsys.__file__)"], work, env, 60
    )
    assert all(str(venv) in path for path in located.stdout.split()), located.stdout  # the wheel's, not the checkout's
    assert run([recsys, "--version"], work, env, 60).stdout.startswith("recsys 0.")
    assert "--data" in run([recsys, "train-all", "--help"], work, env, 60).stdout

    with serve(real_data) as base:
        trained = run(
            [recsys, "train-all", "--data", "ml-latest-small", "--variants", "mf", "--epochs", "3"],
            work,
            env | {"RECSYS_RELEASES_URL": base},
            900,
        )
    assert "downloading ml-latest-small.zip" in trained.stderr
    assert "(train-all) finished" in trained.stdout and "report:" in trained.stdout, trained.stdout[-2000:]
    assert (work / "mlflow" / "mlflow.db").exists() and (work / ".recsys").is_dir()
