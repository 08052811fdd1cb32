"""Random search over the study's nets (baseline, lstm, gru) on ml-latest-small, seed-42 80/20 split, chosen
on the validation rows only; every trial is an MLflow run of the ``movielens-tuning`` experiment (params,
per-epoch val_mse, best val_mse, and the test MSE for the record), and ``bench/results/tune.json`` keeps them.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/tune.py --trials 12 [--variants lstm]

The point is evidence: how close each study variant gets to the study's own figure (baseline 0.783, LSTM
0.769, GRU 0.766) under a fair search, not a tuned number picked on the test rows.
"""

import json
import os
import random
from pathlib import Path

import torch
from common import bench_parser, load_movies, load_ratings, parse_bench_args  # bench/common.py, beside this script
from defaults import train_and_score  # bench/defaults.py: train at given settings, score val and test

from recsys.data.split import SplitConfig
from recsys.data.tensors import prepare_split
from recsys.models import VARIANTS, get_variant
from recsys.pipeline.config import train_defaults
from recsys.training.config import TrainConfig

RESULTS = Path(__file__).resolve().parent / "results" / "tune.json"
STUDY = {"baseline": 0.783, "lstm": 0.769, "gru": 0.766}
RECURRENT_SPACE = {
    "model": {
        "dim": [32, 50, 64],
        "hidden": [50, 70, 100],
        "mode": ["single_step", "two_step"],
        "input_dropout": [0.3, 0.5, 0.75],
        "output_dropout": [0.3, 0.5, 0.75],
    },
    "train": {"lr": [2e-3, 4e-3, 6e-3, 1e-2], "weight_decay": [3e-5, 1e-4, 3e-4], "batch_size": [2048, 4096]},
}
SPACE = {
    "baseline": {
        "model": {
            "dim": [32, 50, 64],
            "hidden": [50, 70, 100],
            "emb_dropout": [0.1, 0.3, 0.5],
            "hidden_dropout": [0.5, 0.75],
        },
        "train": {"lr": [1e-3, 2e-3, 4e-3], "weight_decay": [8e-4, 1.6e-3, 3e-3], "batch_size": [1024, 2048]},
    },
    "lstm": RECURRENT_SPACE,
    "gru": RECURRENT_SPACE,
}


def draw(space: dict, rng: random.Random) -> tuple[dict, dict]:
    """One random point of a variant's space: model overrides and trainer overrides."""
    return (
        {k: rng.choice(v) for k, v in space["model"].items()},
        {k: rng.choice(v) for k, v in space["train"].items()},
    )


def log_trial(client, experiment_id: str, row: dict, history: list) -> None:
    run = client.create_run(
        experiment_id, run_name=row["variant"], tags={"variant": row["variant"], "search": "random"}
    )
    for section in ("model", "train"):
        for key, value in row[section].items():
            client.log_param(run.info.run_id, f"{section}.{key}", str(value))
    for stats in history:
        client.log_metric(run.info.run_id, "val_mse", stats.val_mse, step=stats.epoch)
    for key in ("val_mse", "test_mse", "best_epoch", "seconds"):
        client.log_metric(run.info.run_id, key if key != "val_mse" else "best_val_mse", float(row[key]))
    client.set_terminated(run.info.run_id)


def main() -> None:
    parser = bench_parser(__doc__, RESULTS)
    parser.add_argument("--variants", default="baseline,lstm,gru")
    parser.add_argument("--trials", type=int, default=12)
    args = parse_bench_args(parser)
    from mlflow.tracking import MlflowClient

    import mlflow

    torch.set_num_threads(args.threads)
    uri = os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{Path('mlflow/mlflow.db').resolve()}")
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    found = client.get_experiment_by_name("movielens-tuning")
    experiment_id = found.experiment_id if found else client.create_experiment("movielens-tuning")
    prepared = prepare_split(load_ratings(Path(args.data)), load_movies(Path(args.data)), SplitConfig())
    rng, rows = random.Random(0), []
    for variant in args.variants.split(","):
        for trial in range(args.trials):
            model, train = draw(SPACE[variant], rng)
            base = train_defaults(get_variant(variant)).model_dump()
            config = TrainConfig(**(base | train))
            row = train_and_score(variant, model, prepared, config)
            log_trial(client, experiment_id, row, row.pop("history"))
            rows.append(row)
            print(f"{variant} {trial}: val {row['val_mse']:.4f} test {row['test_mse']:.4f} {model} {train}", flush=True)
    best = {}
    for variant in args.variants.split(","):
        mine = [r for r in rows if r["variant"] == variant]
        chosen = min(mine, key=lambda r: r["val_mse"])
        best[variant] = {
            "val_mse": chosen["val_mse"],
            "test_mse": chosen["test_mse"],
            "study": STUDY.get(variant),
            "model": chosen["model"],
            "train": chosen["train"],
            "trials": len(mine),
        }
        print(
            f"best by validation, {variant}: val {chosen['val_mse']:.4f} test {chosen['test_mse']:.4f} "
            f"(study {STUDY.get(variant)})"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"best": best, "trials": rows}, indent=2))
    print(f"wrote {args.out}; variants known: {sorted(VARIANTS)}")


if __name__ == "__main__":
    main()
