"""Scale: seconds per epoch, ratings per second and peak memory of every variant at 100k, 1M, 10M and 25M
ratings, all of ml-25m's shape (162,541 users, 59,047 movies), and the whole train-all at 25M.

Each (size, variant) runs in a fresh process that reads the synthetic ratings (generated once per size
into bench/data/, git-ignored), splits them 80/20 (10% of the training part for validation), builds the
feature tables, and trains one epoch at the variant's defaults (kNN: its one fit), so peak memory is the
variant's own. The exponent b of seconds = a * ratings^b is fitted from 1M up (1.0: linear). ``--train-all``
writes the 25M release as CSV and times `recsys train-all` on it end to end (ingestion, every default
variant, analysis), with the epoch budgets of ``--epochs``. Results: bench/results/scale.json.

    .venv/bin/python bench/scale.py                      # every size and variant (about an hour on 2 cores)
    .venv/bin/python bench/scale.py --sizes 100000,1000000 --variants mf,baseline
    .venv/bin/python bench/scale.py --sizes none --train-all --epochs 1
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHAPE = {"n_users": 162_541, "n_movies": 59_047}
VARIANTS = ["mf", "baseline", "lstm", "gru", "bilstm", "wide_deep", "svdpp", "autorec", "knn"]

CHILD = """
import json, resource, sys, time
import pandas as pd, torch
from recsys import columns as C
from recsys.data.split import SplitConfig
from recsys.data.synthetic import make_movies
from recsys.data.tensors import prepare_split
from recsys.models import get_variant
from recsys.pipeline.config import train_defaults
from recsys.training.variant import train_variant
variant, path, overrides, device = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
torch.set_num_threads(2)
ratings = pd.read_parquet(path)
prepared = prepare_split(ratings, make_movies(59_047, 0), SplitConfig())
train_rows = int((prepared.split[C.SPLIT] == C.TRAIN).sum())
update = {"epochs": 1, "device": device, "seed": 42} | overrides.get("train", {})
settings = train_defaults(get_variant(variant)).model_copy(update=update)
model_config = get_variant(variant).config_cls(**overrides.get("model", {}))
started = time.perf_counter()
model, result = train_variant(variant, model_config, settings, prepared)
epoch = result.history[0]
fit_seconds = time.perf_counter() - started
print(json.dumps({"train_rows": train_rows, "epoch_seconds": epoch.seconds, "fit_seconds": fit_seconds,
                  "ratings_per_second": epoch.ratings_per_second, "val_mse": epoch.val_mse,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0.0}))
"""


def ratings_file(n: int) -> Path:
    """bench/data/scale-N.parquet: N synthetic ratings of ml-25m's shape (made once)."""
    path = HERE / "data" / f"scale-{n}.parquet"
    if not path.exists():
        import pandas as pd

        from recsys.data.synthetic import large_rating_chunks

        path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.concat(large_rating_chunks(n, SHAPE["n_users"], SHAPE["n_movies"], seed=0))
        frame.to_parquet(path)
    return path


def one_epoch(variant: str, n: int, device: str = "auto") -> dict:
    overrides: dict = {}  # every variant at its defaults
    command = [sys.executable, "-c", CHILD, variant, str(ratings_file(n)), json.dumps(overrides), device]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        return {"variant": variant, "ratings": n, "error": done.stderr.strip().splitlines()[-1][:300]}
    return {"variant": variant, "ratings": n, "overrides": overrides} | json.loads(done.stdout.strip().splitlines()[-1])


def exponent(rows: list[dict], variant: str) -> float | None:
    """b in seconds = a * ratings^b, least squares on log-log, sizes from 1M up."""
    import numpy as np

    points = [(r["ratings"], r["epoch_seconds"]) for r in rows if r["variant"] == variant and "epoch_seconds" in r]
    points = [(n, s) for n, s in points if n >= 1_000_000 and s > 0]
    if len(points) < 2:
        return None
    x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def train_all(epochs: int) -> dict:
    """`recsys train-all` on a 25M-rating synthetic release: wall time and the peak memory of the process."""
    from recsys.data.synthetic import write_large_release

    release = HERE / "data" / "ml-25m-synthetic"
    if not (release / "ratings.csv").exists():
        write_large_release(release, 25_000_095, SHAPE["n_users"], SHAPE["n_movies"], seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="recsys-scale-"))
    env = os.environ | {"RECSYS_WORKDIR": str(tmp / "work"), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db"}
    command = [
        str(Path(sys.executable).parent / "recsys"),
        "train-all",
        "--data",
        str(release),
        "--epochs",
        str(epochs),
    ]
    started = time.perf_counter()
    with open(tmp / "train-all.log", "w") as log:
        code = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    tail = (tmp / "train-all.log").read_text().splitlines()[-14:]
    return {"exit": code, "seconds": time.perf_counter() - started, "peak_rss_mb": peak, "epochs": epochs, "tail": tail}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000,25000000", help="comma-separated, or none")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--train-all", action="store_true", help="also time recsys train-all at 25M")
    parser.add_argument("--epochs", type=int, default=1, help="train-all's epoch budget per variant")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale.json")
    args = parser.parse_args()
    sizes = [] if args.sizes == "none" else [int(s) for s in args.sizes.split(",")]
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    rows = [
        r
        for r in previous.get("epochs", [])
        if (r["ratings"], r["variant"]) not in {(n, v) for n in sizes for v in args.variants.split(",")}
    ]
    for n in sizes:
        for variant in args.variants.split(","):
            row = one_epoch(variant, n, args.device)
            rows.append(row)
            shown = {k: round(v, 2) if isinstance(v, float) else v for k, v in row.items() if k != "overrides"}
            print(json.dumps(shown), flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(previous | {"epochs": rows}, indent=2))
    summary = previous | {"epochs": rows, "exponents": {v: exponent(rows, v) for v in VARIANTS}}
    if args.train_all:
        summary["train_all_25m"] = train_all(args.epochs)
        print(json.dumps(summary["train_all_25m"], indent=2))
    args.out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary["exponents"], indent=2))


if __name__ == "__main__":
    main()
