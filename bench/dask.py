"""Dask speed-up: `recsys train-all` (default variants and epochs, no analysis) in turn in one process against
the same run on a local Dask cluster of ``--workers`` worker processes with one thread each
(``runner.kind=dask``), both logging to one real MLflow tracking server started for the purpose (Dask workers
cannot share a sqlite store). Reports each wall time, the ratio, and each variant's test MSE in both runs
(they should match: the same seed, the same rows). Results: bench/results/dask.json.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/dask.py [--workers 2] [--variants mf,lstm]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak import BIN, ROOT, free_port  # noqa: E402

ROW = re.compile(r"^(\w+)\s+\d+\s+([0-9.]+)\s", re.M)  # a results-table row: variant, best epoch, test MSE


def train_all(env: dict, extra: list[str], variants: str | None) -> dict:
    command = [str(BIN / "recsys"), "train-all", "--no-analysis", *extra]
    command += ["--variants", variants] if variants else []
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"train-all {extra} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return {"seconds": seconds, "test_mse": {v: float(m) for v, m in ROW.findall(done.stdout)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--variants", default=None, help="comma-separated (default: train-all's default ten)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "dask.json")
    args = parser.parse_args()
    if not os.environ.get("RECSYS_DATA"):
        parser.error("set RECSYS_DATA to the ml-latest-small folder")
    tmp = Path(tempfile.mkdtemp(prefix="recsys-dask-"))
    ports = {"PREFECT_PORT": str(free_port()), "MLFLOW_PORT": str(free_port())}
    env = os.environ | ports | {"SERVICES_DIR": str(tmp / "services"), "MLFLOW_STORE_DIR": str(tmp / "mlflow")}
    env |= {"RECSYS_WORKDIR": str(tmp / "work"), "RECSYS_DATA": str(Path(os.environ["RECSYS_DATA"]).resolve())}
    services = [str(BIN / "recsys"), "services"]
    subprocess.run([*services, "start"], env=env, check=True, capture_output=True)
    try:
        credentials = (tmp / "services" / "credentials.env").read_text().splitlines()
        env |= dict(line.split("=", 1) for line in credentials)
        env |= {"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{ports['MLFLOW_PORT']}"}  # flows run embedded
        env = {k: v for k, v in env.items() if not k.startswith("PREFECT_API")}
        train_all(env, ["--epochs", "1"], "mf")  # warm-up: the ingested data is cached for both timed runs
        sequential = train_all(env, [], args.variants)
        dask_flags = ["--set", "runner.kind=dask", "--set", f"runner.workers={args.workers}"]
        on_dask = train_all(env, dask_flags, args.variants)
    finally:
        subprocess.run([*services, "stop"], env=env, capture_output=True)
    result = {
        "workers": args.workers,
        "sequential_seconds": sequential["seconds"],
        "dask_seconds": on_dask["seconds"],
        "speed_up": sequential["seconds"] / on_dask["seconds"],
        "test_mse": {v: [sequential["test_mse"][v], on_dask["test_mse"].get(v)] for v in sequential["test_mse"]},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
