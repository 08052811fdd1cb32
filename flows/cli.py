"""The ``recsys`` command: runs the pipeline's flows embedded (no Prefect server needed).

With ``PREFECT_API_URL`` set, the same flows report to that server instead.
"""

import argparse
import os
import sys


def _quiet_defaults() -> None:
    """Offline-friendly settings, applied before prefect or mlflow are imported."""
    for key, value in {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GX_ANALYTICS_ENABLED": "false",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }.items():
        os.environ.setdefault(key, value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recsys", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train-all", help="ingest, split, train and register every variant")
    train.add_argument("--variants", help="comma-separated variant names (default: all ten, the blend included)")
    train.add_argument("--no-analysis", action="store_true", help="skip the analysis step and its report")
    train.add_argument("--epochs", type=int, help="epoch budget per variant (early stopping still applies)")
    train.add_argument("--seed", type=int, default=42, help="split and training seed")
    train.add_argument("--seeds", type=int, default=1, help="repeat with seeds seed, seed+1, ...: mean and std")
    train.add_argument(
        "--split",
        default="random",
        choices=["random", "temporal_global", "temporal_user"],
        help="random 80/20 (default), one global time cut, or each user's last ratings",
    )
    ingest = sub.add_parser("ingest", help="validate a release and write its Parquet tables and quarantine")
    for command in (train, ingest):
        command.add_argument("--data", help="MovieLens folder, .zip or URL (default: $RECSYS_DATA, else download)")
        command.add_argument("--refresh", action="store_true", help="ingest again even if the data is unchanged")
        command.add_argument(
            "--max-quarantine-share",
            type=float,
            default=0.01,
            help="fail when more than this share of a table's rows is quarantined (default 0.01)",
        )
    ingest.add_argument("--out", help="output folder (default: under $RECSYS_WORKDIR, keyed by content)")
    analyze = sub.add_parser("analyze", help="evaluate and analyse a stored train-all run; report to MLflow")
    analyze.add_argument("--run", required=True, help="the train-all run's MLflow run id")
    analyze.add_argument("--rating-matrix-map", action="store_true", help="add the study's t-SNE of the raw ratings")
    recommend = sub.add_parser("recommend", help="the champion's top movies for a user, among those unrated")
    recommend.add_argument("--user", type=int, required=True, help="user_id")
    similar = sub.add_parser("similar", help="movies nearest to a movie in the champion's embedding")
    similar.add_argument("--movie", type=int, required=True, help="movie_id")
    for command in (recommend, similar):
        command.add_argument("-n", type=int, default=10, help="how many (default 10)")
    return parser


RESULT_COLUMNS = (  # (heading, key, width, format) of the results table
    ("variant", "variant", 12, ""),
    ("best epoch", "best_epoch", 11, ""),
    ("test MSE", "test_mse", 10, ".4f"),
    ("RMSE", "test_rmse", 8, ".4f"),
    ("MAE", "test_mae", 8, ".4f"),
    ("seconds", "fit_seconds", 9, ".1f"),
)
SEED_COLUMNS = (
    ("variant", "variant", 12, ""),
    ("seeds", "seeds", 6, ""),
    ("test MSE mean", "test_mse_mean", 15, ".4f"),
    ("std", "test_mse_std", 8, ".4f"),
    ("RMSE mean", "test_rmse_mean", 11, ".4f"),
)


def format_table(rows: list[dict], columns) -> str:
    """``rows`` as a fixed-width text table: the first column left-aligned, the others right-aligned."""
    align = ["<"] + [">"] * (len(columns) - 1)
    lines = ["".join(f"{head:{a}{width}}" for (head, _, width, _), a in zip(columns, align, strict=True))]
    for row in rows:
        cells = (f"{row[key]:{a}{width}{fmt}}" for (_, key, width, fmt), a in zip(columns, align, strict=True))
        lines.append("".join(cells))
    return "\n".join(lines)


def format_results(rows: list[dict]) -> str:
    """The results table: variant, best epoch, test MSE, RMSE, MAE and fit seconds."""
    return format_table(rows, RESULT_COLUMNS)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _quiet_defaults()
    from mlflow.exceptions import MlflowException

    from recsys.ingest import QuarantineLimitError
    from recsys.io import DataFormatError
    from tasks.validation import DataValidationError

    try:
        commands = {"train-all": _train_all, "ingest": _ingest, "analyze": _analyze}
        return (commands | {"recommend": _recommend, "similar": _similar})[args.command](args)
    except (
        DataFormatError,
        DataValidationError,
        QuarantineLimitError,
        FileNotFoundError,
        MlflowException,
        ValueError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _train_all(args) -> int:
    from recsys.models import DEFAULT_VARIANTS, get_variant

    variants = [v.strip() for v in args.variants.split(",") if v.strip()] if args.variants else DEFAULT_VARIANTS
    for name in variants:
        get_variant(name)  # fail before any server starts if a name is wrong
    from flows.train_all import train_all

    rows = train_all(
        data=args.data,
        variants=variants,
        epochs=args.epochs,
        seed=args.seed,
        seeds=args.seeds,
        split=args.split,
        max_quarantine_share=args.max_quarantine_share,
        refresh=args.refresh,
        analysis=not args.no_analysis,
    )
    print(format_results([r for r in rows if r["seed"] == args.seed]))
    if args.seeds > 1:
        from recsys.evaluate import summarise_over_seeds

        print(f"\nover {args.seeds} seeds")
        print(format_seed_summary(summarise_over_seeds(rows)))
    return 0


def format_seed_summary(summary: list[dict]) -> str:
    """Variant, seeds, mean and standard deviation of test MSE, mean RMSE."""
    return format_table(summary, SEED_COLUMNS)


def _ingest(args) -> int:
    from flows.ingest import ingest_data
    from tasks.ingest import summarise

    report = ingest_data(
        data=args.data, out=args.out, max_quarantine_share=args.max_quarantine_share, refresh=args.refresh
    )
    print(summarise(report))
    return 0


def _analyze(args) -> int:
    from flows.analyze import analyze

    print(f"report: {analyze(run_id=args.run, rating_matrix_map=args.rating_matrix_map)}")
    return 0


def _recommend(args) -> int:
    from recsys import columns as C
    from recsys.serving import recommend
    from tasks.champion import load_champion, with_titles

    champion = load_champion()
    rated = champion.train.loc[champion.train[C.USER_ID] == args.user, C.MOVIE_ID].to_numpy()
    top = recommend(champion.model, champion.users, champion.movies, args.user, rated, args.n)
    source = f"movielens-rating v{champion.version} ({champion.variant})"
    print(f"user {args.user} ({len(rated)} training ratings), by {source}:")
    print(with_titles(top, champion.titles).round(3).to_string(index=False))
    return 0


def _similar(args) -> int:
    import pandas as pd

    from recsys.serving import similar_movies
    from tasks.champion import load_champion, with_titles

    champion = load_champion()
    near = similar_movies(champion.model, champion.movies, args.movie, args.n)
    title = with_titles(pd.DataFrame({"movie_id": [args.movie]}), champion.titles)["title"].iloc[0]
    print(f"movies nearest to {args.movie} ({title}), by movielens-rating v{champion.version} ({champion.variant}):")
    print(with_titles(near, champion.titles).round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
