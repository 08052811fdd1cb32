"""The peers' rows of docs/reports.md, reproduced: Surprise (BaselineOnly, SVD tuned by 3-fold grid search on
the training + validation rows, KNNBaseline item-item with pearson_baseline) and LensKit (damped biases, biased
MF by ALS) fitted on the training + validation rows of train-all's split and scored on its test rows.

They run in their own venv (``--venv``, default ``bench/.venv-peers``, made on first use with pinned
scikit-surprise and lenskit), never in the project's: the split goes to them as a Parquet file
(``bench/peers/fit.py`` reads it, imports nothing of this repository, and prints JSON). The split is made by
the library exactly as ``train-all`` makes it (ingestion's kept rows, ``--seed``), or read from a run's
``data/split.parquet`` with ``--split``. Writes ``bench/results/peers.json``.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/peers.py [--seed 42] [--split FILE]
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import bench_parser, parse_bench_args  # bench/common.py, beside this script

HERE = Path(__file__).resolve().parent
PINS = ["scikit-surprise==1.1.5", "lenskit==2025.8.1", "pandas==2.3.3", "pyarrow==26.0.1"]  # lenskit 2026 needs 3.12


def peers_python(venv: Path) -> Path:
    """The peers' venv's python, the venv made (about 2 minutes) when it is not there."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *PINS], check=True)
    return python


def split_file(args, folder: Path) -> Path:
    """The split as a Parquet file: ``--split`` as given, else made here as train-all makes it."""
    if args.split:
        return Path(args.split)
    from recsys.data.ingest import ingest_release
    from recsys.data.split import SplitConfig, make_split

    ratings = ingest_release(Path(args.data)).ratings.kept
    split = make_split(ratings, SplitConfig(kind="random", seed=args.seed))
    path = folder / "split.parquet"
    split[["user_id", "movie_id", "rating", "split"]].to_parquet(path)
    return path


def main() -> None:
    parser = bench_parser(__doc__, HERE / "results" / "peers.json")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--split", help="a run's data/split.parquet (default: made here, as train-all makes it)")
    parser.add_argument("--venv", type=Path, default=HERE / ".venv-peers")
    args = parse_bench_args(parser)
    python = peers_python(args.venv)
    with tempfile.TemporaryDirectory(prefix="peers-") as folder:
        path = split_file(args, Path(folder))
        started = time.perf_counter()
        done = subprocess.run(
            [str(python), str(HERE / "peers" / "fit.py"), str(path), str(args.seed)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        sys.exit(f"the peers' run failed:\n{done.stderr[-3000:]}")
    rows = json.loads(done.stdout.splitlines()[-1])
    result = {"seed": args.seed, "split": args.split or "made by recsys (random 80/20)", "peers": rows}
    result["seconds"] = time.perf_counter() - started
    versions = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True).stdout
    result["versions"] = [
        line for line in versions.splitlines() if line.lower().startswith(("scikit-surprise", "lenskit"))
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    for name, row in sorted(rows.items(), key=lambda item: item[1]["test_mse"]):
        print(f"{name:<24}{row['test_mse']:.4f}")


if __name__ == "__main__":
    main()
