"""Validation and test MSE of each variant at its registry defaults on ml-latest-small (80/20 split, seed 42).

The recurrent variants run in both input modes. The defaults were chosen on the validation rows only; the
test MSE is printed beside it for the record. Results go to ``bench/results/defaults.json``.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/defaults.py [--variants lstm,gru]
"""

import json
import time
from pathlib import Path

import torch
from common import bench_parser, load_movies, load_ratings, parse_bench_args  # bench/common.py, beside this script

from recsys import columns as C
from recsys.data.split import SplitConfig
from recsys.data.tensors import prepare_split
from recsys.evaluation.predictions import predict, regression_metrics
from recsys.models import get_variant
from recsys.pipeline.config import train_defaults
from recsys.training.variant import train_variant

RUNS = [
    ("mf", {}),
    ("baseline", {}),
    *((v, {"mode": m}) for v in ("lstm", "gru", "bilstm") for m in ("single_step", "two_step")),
]
RESULTS = Path(__file__).resolve().parent / "results" / "defaults.json"


def train_and_score(variant: str, overrides: dict, prepared, config=None) -> dict:
    """Train at the variant's defaults (seed 42) or ``config``; best-epoch validation MSE, test MSE, epochs,
    seconds and the per-epoch history."""
    config = config or train_defaults(get_variant(variant))
    started = time.perf_counter()
    model, result = train_variant(variant, get_variant(variant).config_cls(**(overrides or {})), config, prepared)
    seconds = time.perf_counter() - started
    test = prepared.tensors(C.TEST)
    scores = regression_metrics(test.rating.numpy(), predict(model, test))
    return {
        "variant": variant,
        "model": model.config.model_dump(),
        "train": config.model_dump(),
        "val_mse": result.best_val_mse,
        "test_mse": scores["mse"],
        "test_rmse": scores["rmse"],
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "seconds": seconds,
        "history": result.history,
    }


def main() -> None:
    parser = bench_parser(__doc__, RESULTS)
    parser.add_argument("--variants", default=None, help="comma-separated; default: all of them")
    args = parse_bench_args(parser)
    torch.set_num_threads(args.threads)
    prepared = prepare_split(load_ratings(Path(args.data)), load_movies(Path(args.data)), SplitConfig())
    wanted = set(args.variants.split(",")) if args.variants else None
    rows = []
    print(f"{'variant':9} {'mode':12} {'val MSE':>8} {'test MSE':>9} {'best':>5} {'epochs':>6} {'seconds':>8}")
    for variant, overrides in RUNS:
        if wanted is None or variant in wanted:
            row = train_and_score(variant, overrides, prepared)
            row.pop("history")
            rows.append(row)
            mode = row["model"].get("mode", "-")
            print(
                f"{variant:9} {mode:12} {row['val_mse']:>8.4f} {row['test_mse']:>9.4f} {row['best_epoch']:>5} "
                f"{row['epochs_run']:>6} {row['seconds']:>8.1f}",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
