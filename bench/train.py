"""Speed of the one trainer against a minimal plain-PyTorch loop, per variant, on ml-latest-small.

For each variant the script prepares the pipeline's split (80/20, seed 42, ``prepare_split``)
and the training tensors once, then times, in the same process and alternating, (a) ``train_model``
with the variant's train defaults for ``--epochs`` epochs (patience beyond that, so every epoch runs; its
per-epoch validation, early-stopping copies and unknown-id dropout included) and (b) a minimal loop over the
same model class: batches cut from tensors shuffled once per epoch, the same batch size and the same
optimiser (``recsys.training.trainer.make_optimizer``), nothing else. Each run starts from a fresh model. Medians over
``--repeats`` runs (after one warm-up of each) of seconds per epoch and ratings per second go to
``bench/results/train.json``; the ratio is trainer / reference seconds per epoch (1.0 = no overhead), of the
medians and, steadier on a shared machine, the median of the ratios of runs made back to back.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/train.py [--variants mf,baseline]
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from common import load_movies, load_ratings  # bench/common.py, beside this script

from recsys import columns as C
from recsys.data.split import SplitConfig
from recsys.data.tensors import prepare_split
from recsys.models import build_model, get_variant
from recsys.pipeline.config import train_defaults
from recsys.training.config import TrainConfig
from recsys.training.trainer import make_optimizer, resolve_device, train_model

VARIANTS = ["mf", "baseline", "lstm", "gru", "bilstm"]
TARGETS = {"mf": 1_000_000, "baseline": 400_000}  # ratings per second the trainer should reach on 2 CPU cores
RESULTS = Path(__file__).resolve().parent / "results" / "train.json"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("RECSYS_DATA"), help="ml-latest-small folder")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--epochs", type=int, default=5, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs of each, after one warm-up")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data or set RECSYS_DATA to the ml-latest-small folder")
    return args


def run_trainer(variant, shape, train, val, config) -> float:
    """Seconds per epoch of ``train_model`` on a fresh model."""
    model = build_model(variant, None, shape, seed=config.seed)
    started = time.perf_counter()
    result = train_model(model, train, val, config)
    _sync(config.device)
    assert len(result.history) == config.epochs, "early stopping cut a timed run short"
    return (time.perf_counter() - started) / config.epochs


def run_reference(variant, shape, train, config) -> float:
    """Seconds per epoch of the plainest loop that trains the same model the same way."""
    device = resolve_device(config.device)
    model = build_model(variant, None, shape, seed=config.seed).to(device)
    optimizer = make_optimizer(model, config)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    users, movies, ratings = train.user_idx.to(device), train.movie_idx.to(device), train.rating.to(device)
    n, batch = len(ratings), config.batch_size
    started = time.perf_counter()
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=generator, device=device)
        u, m, r = users[order], movies[order], ratings[order]
        model.train()
        for start in range(0, n, batch):
            bu, bm = u[start : start + batch], m[start : start + batch]
            loss = torch.nn.functional.mse_loss(model(bu, bm), r[start : start + batch]) + model.penalty(bu, bm)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    _sync(config.device)
    return (time.perf_counter() - started) / config.epochs


def _sync(device: str) -> None:
    if resolve_device(device).type == "cuda":
        torch.cuda.synchronize()


def bench_variant(variant: str, prepared, args) -> dict:
    """Alternate trainer and reference runs; medians, ratio and every run's seconds per epoch."""
    defaults = train_defaults(get_variant(variant))
    config = TrainConfig(
        **(defaults.model_dump() | {"epochs": args.epochs, "patience": args.epochs + 1, "device": args.device})
    )
    train, val = prepared.tensors(C.TRAIN), prepared.tensors(C.VAL)
    runs = {
        "trainer": lambda: run_trainer(variant, prepared.shape, train, val, config),
        "reference": lambda: run_reference(variant, prepared.shape, train, config),
    }
    times = {"trainer": [], "reference": []}
    for i in range(args.repeats + 1):  # the first pair warms up and is dropped; the order alternates
        for name in ("trainer", "reference") if i % 2 else ("reference", "trainer"):
            seconds = runs[name]()
            if i:
                times[name].append(seconds)
    return summarise(variant, len(train), config, times["trainer"], times["reference"])


def summarise(variant: str, n_train: int, config: TrainConfig, trainer: list, reference: list) -> dict:
    t, r = statistics.median(trainer), statistics.median(reference)
    return {
        "variant": variant,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "n_train": n_train,
        "trainer_sec_per_epoch": t,
        "reference_sec_per_epoch": r,
        "trainer_ratings_per_s": n_train / t,
        "reference_ratings_per_s": n_train / r,
        "ratio": t / r,  # of the medians
        "ratio_paired_median": statistics.median(a / b for a, b in zip(trainer, reference, strict=True)),
        "target_ratings_per_s": TARGETS.get(variant),
        "trainer_runs": trainer,
        "reference_runs": reference,
    }


def print_table(rows: list[dict]) -> None:
    print(
        f"{'variant':9} {'batch':>6} {'trainer s/ep':>12} {'ref s/ep':>9} {'trainer r/s':>12} {'ref r/s':>10} "
        f"{'ratio':>6} {'paired':>6} {'target r/s':>11}"
    )
    for row in rows:
        target = f"{row['target_ratings_per_s']:,}" if row["target_ratings_per_s"] else "-"
        print(
            f"{row['variant']:9} {row['batch_size']:>6} {row['trainer_sec_per_epoch']:>12.4f} "
            f"{row['reference_sec_per_epoch']:>9.4f} {row['trainer_ratings_per_s']:>12,.0f} "
            f"{row['reference_ratings_per_s']:>10,.0f} {row['ratio']:>6.3f} {row['ratio_paired_median']:>6.3f} "
            f"{target:>11}"
        )


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    prepared = prepare_split(load_ratings(Path(args.data)), load_movies(Path(args.data)), SplitConfig())
    rows = []
    for variant in args.variants.split(","):
        rows.append(bench_variant(variant, prepared, args))
        print_table(rows[-1:])
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    machine = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor(),
        "cuda": torch.cuda.get_device_name() if resolve_device(args.device).type == "cuda" else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": settings, "machine": machine, "variants": rows}, indent=2))
    print()
    print_table(rows)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
