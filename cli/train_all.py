"""``recsys train-all``: ingest, split, train, register and promote every variant of a config, then print the
results table."""

import sys

from cli import prefect_server
from cli.options import add_data_options, add_run_options, resolve_config

RESULT_COLUMNS = (  # (heading, key, width, format) of the results table
    ("variant", "variant", 12, ""),
    ("best epoch", "best_epoch", 11, ""),
    ("test MSE", "test_mse", 10, ".4f"),
    ("RMSE", "test_rmse", 8, ".4f"),
    ("MAE", "test_mae", 8, ".4f"),
    ("train-only MSE", "test_mse_train_only", 15, ".4f"),  # before the refit on training + validation rows
    ("seconds", "fit_seconds", 9, ".1f"),
)
TOPN_COLUMNS = (  # the rankers (movielens-topn): chosen on validation NDCG@10, tested once over every user
    ("ranker", "variant", 12, ""),
    ("val NDCG@10", "val_ndcg@10", 12, ".4f"),
    ("test NDCG@10", "ndcg@10", 13, ".4f"),
    ("95% from", "ndcg@10_low", 9, ".4f"),
    ("to", "ndcg@10_high", 8, ".4f"),
    ("prec@10", "precision@10", 9, ".4f"),
    ("hit rate", "hit_rate@10", 9, ".3f"),
    ("coverage", "coverage", 9, ".3f"),
    ("seconds", "fit_seconds", 9, ".1f"),
)
SEED_COLUMNS = (
    ("variant", "variant", 12, ""),
    ("seeds", "seeds", 6, ""),
    ("test MSE mean", "test_mse_mean", 15, ".4f"),
    ("std", "test_mse_std", 8, ".4f"),
    ("RMSE mean", "test_rmse_mean", 11, ".4f"),
)


EPILOG = """examples:
  recsys train-all                                   every variant on $RECSYS_DATA (else ml-latest-small)
  recsys train-all --data ml-25m                     a GroupLens release by name (downloaded, cached)
  recsys train-all --data ~/ml-1m.zip --variants mf,blend --epochs 5
  recsys train-all --set variants.mf.train.lr=0.01   any config field
  recsys train-all --json > run.json                 results and decisions as JSON, for scripts
"""


def add_parser(sub) -> None:
    command = sub.add_parser(
        "train-all",
        help="ingest, split, train and register every variant",
        epilog=EPILOG,
    )
    add_run_options(command)
    add_data_options(command)
    command.add_argument("--json", action="store_true", help="print the results and the run's summary as JSON")


FOLLOWER_WAIT = 3600  # seconds a process beside rank 0 waits for each split rank 0 publishes


def run(args) -> int:
    config = resolve_config(args)  # fails before any server starts if a setting is wrong
    from recsys.training.variant import process_group

    group = process_group()
    if group is not None and config.runner.kind != "local":
        raise ValueError("under torchrun the variants train in turn (runner.kind: local), each over every process")
    if group is not None and group.rank != 0:
        return follow_rank_zero(config, group)
    from flows.train_all import train_all
    from tasks.ingest import check_source
    from tasks.runtime import one_writer_at_a_time

    check_source(config.data.source)  # a missing folder or an unreachable URL: one error before any flow starts
    prefect_server.ready()  # the temporary server main() started: it booted while the flows were imported
    with one_writer_at_a_time(lambda line: print(line, file=sys.stderr)):
        everything = [r.to_dict() for r in train_all(config)]
    results = [r for r in everything if "test_mse" in r]  # the rating models
    ranked = [r for r in everything if "ndcg@10" in r and r["seed"] == config.split.seed]
    summary = end_of_run()
    if getattr(args, "json", False):
        import json

        shown = {"run": summary.to_dict() if summary else None, "rating": results, "topn": ranked}
        print(json.dumps(shown, indent=2, default=str))
        return 0
    if results:
        print(format_table([r for r in results if r["seed"] == config.split.seed], RESULT_COLUMNS))
    if ranked:
        print(("\n" if results else "") + "top-N over the whole catalogue (movielens-topn):")
        print(format_table(ranked, TOPN_COLUMNS))
    if config.seeds > 1 and results:
        from recsys.evaluation.seeds import summarise_over_seeds

        print(f"\nover {config.seeds} seeds")
        print(format_table(summarise_over_seeds(results), SEED_COLUMNS))
    if summary is not None:
        print("\n" + summary.text())
    return 0


def end_of_run():
    """The summary of the train-all run this process just made (None if it cannot be found)."""
    from tasks.runs import latest_of_this_process, summarise
    from tasks.tracking import client

    run_id = latest_of_this_process("train-all")
    return None if run_id is None else summarise(client().get_run(run_id))


def follow_rank_zero(config, group) -> int:
    """A process beside rank 0 under torchrun: train with it what trains data-parallel (rank 0 runs the
    pipeline: validation, the split, tracking, the registry)."""
    from recsys.data import io
    from recsys.pipeline.recipe import follow
    from tasks.ingest import check_source
    from tasks.runtime import work_folder

    work = work_folder()
    fingerprint = io.release_fingerprint(check_source(config.data.source))
    trained = follow(config, work, fingerprint, group, FOLLOWER_WAIT)
    print(f"rank {group.rank} of {group.world}: trained {', '.join(trained) or 'nothing'} beside rank 0")
    return 0


def format_table(rows: list[dict], columns) -> str:
    """``rows`` as a fixed-width text table: the first column left-aligned, the others right-aligned."""
    align = ["<"] + [">"] * (len(columns) - 1)
    lines = ["".join(f"{head:{a}{width}}" for (head, _, width, _), a in zip(columns, align, strict=True))]
    for row in rows:
        cells = (_cell(row.get(key), a, width, fmt) for (_, key, width, fmt), a in zip(columns, align, strict=True))
        lines.append("".join(cells))
    return "\n".join(lines)


def _cell(value, align: str, width: int, fmt: str) -> str:
    return f"{'-':{align}{width}}" if value is None else f"{value:{align}{width}{fmt}}"
