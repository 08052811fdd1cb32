"""One variant trained data-parallel over several processes with torch's DistributedDataParallel, launched
by torchrun (gloo on the CPU, NCCL on GPUs):

    torchrun --standalone --nproc_per_node 2 -m flows.distributed --data SRC --variant mf [--epochs N]

Every process reads and splits the data the same way (the split is seeded), takes every N-th row of each
batch, and DDP averages the gradients, so each step is the whole batch's step and the result matches one
process up to the order of floating-point sums. Only rank 0 logs: one MLflow run (tag ``distributed``, the
world size as a param, per-epoch metrics, test metrics); ``MLFLOW_RUN_ID`` makes it log into a given run.
For ``mf`` and ``baseline`` (the variants that need no feature tables or training rows of their own).
"""

import argparse
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from recsys import columns as C
from recsys.data.ingest import ingest_release
from recsys.data.io import resolve_source
from recsys.data.tensors import prepare_split
from recsys.evaluation.predictions import predict, regression_metrics
from recsys.pipeline.config import PipelineConfig, apply_overrides, select_variants
from recsys.training.callbacks import Callback, EpochStats
from recsys.training.variant import ProcessGroup, train_variant

SUPPORTED = ("mf", "baseline")


class RankZeroLogger(Callback):
    """Per-epoch train_mse and val_mse to MLflow and one progress line, from rank 0 only."""

    def __init__(self, client, run_id: str, variant: str):
        self.client, self.run_id, self.variant = client, run_id, variant

    def on_epoch_end(self, stats: EpochStats, model) -> bool:
        for key in ("train_mse", "val_mse"):
            self.client.log_metric(self.run_id, key, getattr(stats, key), step=stats.epoch)
        print(
            f"{self.variant} epoch {stats.epoch}: train_mse {stats.train_mse:.4f} val_mse {stats.val_mse:.4f}",
            flush=True,
        )
        return False


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="flows.distributed", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("RECSYS_DATA"), help="MovieLens folder or .zip")
    parser.add_argument("--variant", choices=SUPPORTED, default="mf")
    parser.add_argument("--epochs", type=int, help="the variant's epoch budget (early stopping applies)")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def open_run(rank: int, variant: str, world: int, config) -> tuple[object, str] | tuple[None, None]:
    """Rank 0's MLflow client and run (``MLFLOW_RUN_ID``, else a new one tagged ``distributed``)."""
    if rank != 0:
        return None, None
    from tasks import tracking

    client = tracking.client()
    run_id = os.environ.get("MLFLOW_RUN_ID")
    if run_id is None:
        tags = {"variant": variant, "distributed": "torch-ddp"} | tracking.process_tags()
        run_id = client.create_run(tracking.experiment_id(client), run_name=f"{variant}-ddp", tags=tags).info.run_id
    settings = config.selected()[variant]
    params = {"world_size": world, "variant": variant, "model": settings.model.model_dump()}
    tracking.log_params(client, run_id, params | {"train": settings.train.model_dump()})
    return client, run_id


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    try:
        config = select_variants(PipelineConfig(), [args.variant])
        overrides = {"split.seed": args.seed} | ({"epochs": args.epochs} if args.epochs else {})
        config = apply_overrides(config, overrides)
        release = ingest_release(resolve_source(args.data, Path(os.environ.get("RECSYS_WORKDIR", ".recsys")) / "cache"))
        prepared = prepare_split(release.ratings.kept, release.movies.kept, config.split)
        settings = config.selected()[args.variant]
        client, run_id = open_run(rank, args.variant, world, config)
        callbacks = (RankZeroLogger(client, run_id, args.variant),) if rank == 0 else ()
        group = ProcessGroup(rank, world)
        model, result = train_variant(
            args.variant, settings.model, settings.train, prepared, callbacks=callbacks, group=group
        )
        if rank == 0:
            scores = regression_metrics(
                prepared.tensors(C.TEST).rating.numpy(), predict(model.cpu(), prepared.tensors(C.TEST))
            )
            for key, value in scores.items():
                client.log_metric(run_id, f"test_{key}", value)
            client.log_metric(run_id, "best_epoch", result.best_epoch)
            client.set_terminated(run_id, "FINISHED")
            print(f"{args.variant} on {world} processes: best epoch {result.best_epoch}, test MSE {scores['mse']:.6f}")
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
