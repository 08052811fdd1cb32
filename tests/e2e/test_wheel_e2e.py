"""The package as someone elsewhere gets it, and its models where the package is not.

In one fresh venv: first only what a served model needs (MLflow, PyTorch and the model's other pins): the
champions registered by a run of this checkout load there from their own code (``code_paths``), answer
ratings, top-k lists and a new user's list, in process and over HTTP (`mlflow models serve`). Then the wheel
built by `python -m build` is installed into it with the public pins of constraints.txt (no editable install,
no checkout on the path), and `recsys train-all --data ml-latest-small` runs from it in an empty folder, the
release downloaded by name from a local server standing in for GroupLens."""

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


STANDALONE = """
import importlib.util, json, sys
import mlflow, pandas as pd
assert importlib.util.find_spec("recsys") is None and importlib.util.find_spec("prefect") is None
rating = mlflow.pyfunc.load_model("models:/movielens-rating@champion")
ratings = rating.predict(pd.DataFrame({"user_id": [1, 1], "movie_id": [31, 1029]}))
listed = rating.predict(pd.DataFrame({"user_id": [1], "movie_id": [31]}), params={"k": 3})
topn = mlflow.pyfunc.load_model("models:/movielens-topn@champion")
new = pd.DataFrame({"user_id": [0, 0], "movie_id": [858, 1196], "rating": [5.0, 4.5]})  # a user it never saw
folded = topn.predict(new, params={"k": 5})
print(json.dumps({"ratings": [float(r) for r in ratings], "listed": listed["movie_id"].tolist(),
                  "folded": folded["movie_id"].tolist(), "code": sys.modules["recsys"].__file__}))
"""


def serve_and_ask(venv: Path, env: dict, work: Path, requests: list[dict]) -> list:
    """`mlflow models serve` of the rating champion from ``venv`` on a free port; the answers to ``requests``."""
    import json
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [str(venv / "bin" / "mlflow"), "models", "serve", "-m", "models:/movielens-rating@champion"]
    command += ["--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)]
    env = env | {"PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}"}  # it execs uvicorn
    with open(work / "serve.log", "w") as log:
        server = subprocess.Popen(
            command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    answers = []
    try:
        for body in requests:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations", json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
            deadline, answer = time.monotonic() + 120, None
            while answer is None and time.monotonic() < deadline and server.poll() is None:
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        answer = json.loads(response.read())
                except urllib.error.HTTPError as exc:
                    raise AssertionError(exc.read().decode()[-2000:]) from None
                except OSError:
                    time.sleep(1)
            assert answer is not None, (work / "serve.log").read_text()[-3000:]
            answers.append(answer["predictions"])
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return answers


def test_models_stand_alone_and_the_built_wheel_installs_in_a_fresh_venv_and_trains_a_release_by_name(
    tmp_path, real_data
):
    from tasks.pyfunc import PIP_REQUIREMENTS
    from tests.conftest import NO_GATE

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "MLFLOW_", "RECSYS_"))}
    env.pop("PREFECT_API_URL", None)
    run([sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(REPO)], REPO, env, 600)
    (wheel,) = (tmp_path / "dist").glob("movielens_pipeline-*.whl")
    assert not [n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("tests/")]

    registry = tmp_path / "registry"  # champions registered by this checkout's recsys
    registry.mkdir()
    ours = [str(Path(sys.executable).parent / "recsys"), "train-all", "--data", str(real_data), "--variants", "mf"]
    run([*ours, "--epochs", "3", "--set", "rankers={pop: {}}", "--no-analysis", *NO_GATE], registry, env, 600)
    store = env | {"MLFLOW_TRACKING_URI": f"sqlite:///{registry}/mlflow/mlflow.db"}

    venv = tmp_path / "venv"
    run(["python3", "-m", "venv", str(venv)], tmp_path, env, 120)
    constraints = ["-c", str(REPO / "constraints.txt")]
    run([str(venv / "bin" / "pip"), "install", "-q", *constraints, *PIP_REQUIREMENTS], tmp_path, env, 900)
    work = tmp_path / "elsewhere"
    work.mkdir()
    import json

    alone = json.loads(run([str(venv / "bin" / "python"), "-c", STANDALONE], work, store, 300).stdout.splitlines()[-1])
    assert len(alone["ratings"]) == 2 and all(0.5 <= r <= 5 for r in alone["ratings"])
    assert len(alone["listed"]) == 3 and 31 not in alone["listed"]
    assert len(alone["folded"]) == 5 and not {858, 1196} & set(alone["folded"])
    assert "/code/recsys/" in alone["code"]  # the model's own copy of the library
    rows = {"columns": ["user_id", "movie_id"], "data": [[1, 31], [1, 1029]]}
    ratings, lists = serve_and_ask(
        venv, store, work, [{"dataframe_split": rows}, {"dataframe_split": rows, "params": {"k": 4}}]
    )
    assert len(ratings) == 2 and all(0.5 <= r <= 5 for r in ratings)
    assert [row["rank"] for row in lists] == [1, 2, 3, 4] and not {31, 1029} & {row["movie_id"] for row in lists}

    run([str(venv / "bin" / "pip"), "install", "-q", *constraints, str(wheel)], tmp_path, env, 900)
    recsys = str(venv / "bin" / "recsys")
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
