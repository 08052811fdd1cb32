"""The ``recsys`` command: runs the pipeline's flows embedded (no Prefect server needed).

With ``PREFECT_API_URL`` set, the same flows report to that server instead. Every setting of a train-all
run lives in one :class:`~recsys.pipeline.config.PipelineConfig`: ``--config FILE.yaml`` reads one, the
flags below override single fields of it, ``--set section.field=value`` any field, and ``recsys config
show`` prints the result.
"""

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path


def _quiet_defaults() -> None:
    """Offline-friendly settings, applied before prefect or mlflow are imported."""
    for key, value in {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GX_ANALYTICS_ENABLED": "false",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "recsys",  # the library's warnings in the run logs
    }.items():
        os.environ.setdefault(key, value)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def assignment(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected section.field=value, got {text!r}")
    return key.strip(), value


def _add_run_options(command: argparse.ArgumentParser) -> None:
    """The flags that override fields of a train-all config (none set: the config's own values)."""
    command.add_argument("--config", help="a config file (YAML, as `recsys config show` prints or a run logs)")
    command.add_argument("--variants", help="comma-separated variants to train (default: all ten, the blend included)")
    command.add_argument("--epochs", type=positive_int, help="every variant's epoch budget (early stopping applies)")
    command.add_argument("--seed", type=int, help="split and training seed (default 42)")
    command.add_argument("--seeds", type=positive_int, help="repeat with seeds seed, seed+1, ...: mean and std")
    command.add_argument(
        "--split",
        choices=["random", "temporal_global", "temporal_user"],
        help="random 80/20 (default), one global time cut, or each user's last ratings",
    )
    command.add_argument("--no-analysis", action="store_true", help="skip the analysis step and its report")
    command.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=assignment,
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="set any config field, e.g. --set variants.mf.train.lr=0.01 (repeatable; values read as YAML)",
    )


def _add_data_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--data", help="MovieLens folder, .zip, URL or s3://, gs://, hdfs:// URI (default: $RECSYS_DATA, else download)"
    )
    command.add_argument("--refresh", action="store_true", help="ingest again even if the data is unchanged")
    command.add_argument(
        "--max-quarantine-share",
        type=share,
        help="fail when more than this share of a table's rows is quarantined (default 0.01)",
    )


class Parser(argparse.ArgumentParser):
    """argparse, with a bad flag reported on one ``error:`` line (exit 2) instead of the usage and the error."""

    def error(self, message: str):
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="recsys", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train-all", help="ingest, split, train and register every variant")
    _add_run_options(train)
    _add_data_options(train)
    config = sub.add_parser("config", help="the resolved train-all config").add_subparsers(dest="action", required=True)
    show = config.add_parser("show", help="print the fully resolved config as YAML")
    _add_run_options(show)
    _add_data_options(show)
    ingest = sub.add_parser("ingest", help="validate a release and write its Parquet tables and quarantine")
    _add_data_options(ingest)
    ingest.add_argument("--out", help="output folder (default: under $RECSYS_WORKDIR, keyed by content)")
    analyze = sub.add_parser("analyze", help="evaluate and analyse a stored train-all run; report to MLflow")
    analyze.add_argument("--run", required=True, help="the train-all run's MLflow run id")
    analyze.add_argument("--rating-matrix-map", action="store_true", help="add the study's t-SNE of the raw ratings")
    recommend = sub.add_parser("recommend", help="a user's top movies among those the user has not rated")
    recommend.add_argument("--user", type=int, required=True, help="user_id")
    recommend.add_argument("--explain", action="store_true", help="for each, the user's most similar rated movies")
    similar = sub.add_parser("similar", help="a movie's nearest neighbours, with their support")
    similar.add_argument("--movie", type=int, required=True, help="movie_id")
    for command, default in ((recommend, "the champion"), (similar, "knn from the champion's run")):
        command.add_argument("-n", type=positive_int, default=10, help="how many (default 10)")
        command.add_argument("--variant", help=f"the registered variant that answers (default: {default})")
    services = sub.add_parser("services", help="the real Prefect and MLflow servers and a worker, on 127.0.0.1")
    services.add_argument("action", choices=["start", "stop", "status"])
    return parser


def resolve_config(args):
    """The train-all config the arguments describe: ``--config`` (or the defaults), then each flag."""
    import yaml

    from recsys.pipeline.config import PipelineConfig, apply_overrides, load_config, select_variants

    config = load_config(args.config) if args.config else PipelineConfig()
    if args.variants:
        config = select_variants(config, [v.strip() for v in args.variants.split(",") if v.strip()])
    flags = {
        "data.source": args.data,
        "data.max_quarantine_share": args.max_quarantine_share,
        "split.seed": args.seed,
        "split.kind": args.split,
        "seeds": args.seeds,
        "epochs": args.epochs,
    }
    overrides = {key: value for key, value in flags.items() if value is not None}
    overrides |= {"data.refresh": True} if args.refresh else {}
    overrides |= {"analysis": False} if args.no_analysis else {}
    overrides |= {key: yaml.safe_load(value) for key, value in args.overrides}
    return apply_overrides(config, overrides) if overrides else config


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


class Stopped(BaseException):
    """The process was asked to stop (SIGTERM): unwinds like Ctrl-C, so every cleanup runs."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def _stop(signum: int, frame) -> None:
    from recsys.training.stopping import request_stop

    request_stop()  # training in a worker thread stops at its next batch; this thread unwinds now
    raise Stopped(signum)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _quiet_defaults()
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a worker shutdown, a cancelled run, `kill`) unwinds the stack like Ctrl-C: the runs are marked
        # KILLED, Prefect's temporary server is stopped at exit, the checkpoints stay for the next run to resume
        signal.signal(signal.SIGTERM, _stop)
    from pydantic import ValidationError

    from recsys.pipeline.config import describe_errors

    commands = {"train-all": _train_all, "config": _config_show, "ingest": _ingest, "analyze": _analyze}
    commands |= {"recommend": _recommend, "similar": _similar, "services": _services}
    try:
        return commands[args.command](args)
    except (Stopped, KeyboardInterrupt) as exc:
        what = exc if isinstance(exc, Stopped) else "stopped by Ctrl-C (SIGINT)"
        print(f"error: {what}; the same command resumes from the last epoch checkpoints", file=sys.stderr)
        return 128 + (exc.signum if isinstance(exc, Stopped) else signal.SIGINT)
    except ValidationError as exc:
        return fail(exc, f"config: {describe_errors(exc)}", 2)
    except Exception as exc:
        return fail(exc, explain_error(exc), 2 if _is_user_error(exc) else 1)


def explain_error(exc: BaseException) -> str:
    """One line a user can act on: the tracking server named when it is the one that failed."""
    from mlflow.exceptions import MlflowException

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, MlflowException) and ("Connection" in str(exc) or "Max retries" in str(exc)):
        from tasks.runtime import tracking_uri

        return f"the MLflow tracking server at {tracking_uri()} did not answer: {first}"
    return first


def fail(exc: BaseException, message: str, code: int) -> int:
    """Print ``error: message`` (one line) and write the traceback to a log file that the line names."""
    import tempfile
    import time
    import traceback

    from tasks.runtime import work_dir

    text = "".join(traceback.format_exception(exc))
    name = f"recsys-error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (work_dir() / "logs", Path(tempfile.gettempdir())):  # a full work folder: the temp folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
            print(f"error: {message} (traceback: {folder / name})", file=sys.stderr)
            return code
        except OSError:
            with contextlib.suppress(OSError):  # a read-only folder cannot have it removed either
                (folder / name).unlink(missing_ok=True)
    print(f"error: {message}", file=sys.stderr)
    return code


def _is_user_error(exc: Exception) -> bool:
    """Errors a user can act on from the message alone: bad data, bad settings, an unknown run."""
    from mlflow.exceptions import MlflowException

    from recsys.data.ingest import QuarantineLimitError
    from recsys.data.io import DataFormatError
    from recsys.data.io.download import DownloadError
    from tasks.validation import DataValidationError

    known = (DataFormatError, DataValidationError, QuarantineLimitError, FileNotFoundError, MlflowException, ValueError)
    return isinstance(exc, known + (DownloadError,))


def _train_all(args) -> int:
    config = resolve_config(args)  # fails before any server starts if a setting is wrong
    from flows.train_all import train_all
    from tasks.ingest import check_source
    from tasks.runtime import one_writer_at_a_time

    check_source(config.data.source)  # a missing folder or an unreachable URL: one error before any flow starts
    with one_writer_at_a_time(lambda line: print(line, file=sys.stderr)):
        results = [r.to_dict() for r in train_all(config)]
    print(format_table([r for r in results if r["seed"] == config.split.seed], RESULT_COLUMNS))
    if config.seeds > 1:
        from recsys.evaluation.seeds import summarise_over_seeds

        print(f"\nover {config.seeds} seeds")
        print(format_table(summarise_over_seeds(results), SEED_COLUMNS))
    return 0


def _config_show(args) -> int:
    from recsys.pipeline.config import config_to_yaml

    print(config_to_yaml(resolve_config(args)), end="")
    return 0


def _ingest(args) -> int:
    from flows.ingest import ingest_data
    from recsys.pipeline.config import DataConfig
    from tasks.ingest import check_source, summarise

    check_source(args.data)
    settings = {"source": args.data, "refresh": args.refresh, "max_quarantine_share": args.max_quarantine_share}
    report = ingest_data(data=DataConfig(**{k: v for k, v in settings.items() if v is not None}), out=args.out)
    print(summarise(report))
    return 0


def _analyze(args) -> int:
    from flows.analyze import analyze
    from tasks.analyze import check_analysable

    check_analysable(args.run)  # an unknown run, or one with nothing to analyse: one error before the flow
    print(f"report: {analyze(run_id=args.run, rating_matrix_map=args.rating_matrix_map)}")
    return 0


def _recommend(args) -> int:
    from recsys import columns as C
    from recsys.serving import explain, recommend
    from tasks.champion import load_variant, with_titles

    answering = load_variant(args.variant)
    known = answering.known()
    mine = known[known[C.USER_ID] == args.user]
    vocabs = answering.user_vocab, answering.movie_vocab
    top = recommend(answering.model, *vocabs, args.user, mine[C.MOVIE_ID].to_numpy(), args.n)
    print(f"user {args.user} ({len(mine)} ratings the model knows), answered by {answering.describe()}:")
    print(with_titles(top, answering.movies).round(3).to_string(index=False))
    if args.explain and len(top):
        because = explain(answering.model, answering.movie_vocab, top[C.MOVIE_ID].to_numpy(), mine)
        because = with_titles(because, answering.movies).rename(columns={C.TITLE: "recommended"})
        named = answering.movies.rename(columns={C.MOVIE_ID: "because_of", C.TITLE: "because you rated"})
        because = because.merge(named[["because_of", "because you rated"]], on="because_of", how="left")
        columns = ["recommended", "because you rated", "your_rating", "similarity"]
        print("\nwhy: the movies you rated that are most like each one")
        print(because[columns].round(3).to_string(index=False))
    return 0


def _similar(args) -> int:
    import pandas as pd

    from recsys.serving import NEIGHBOUR_VARIANT, similar_movies
    from tasks.champion import load_variant, with_titles

    answering = load_variant(args.variant or NEIGHBOUR_VARIANT, fall_back=args.variant is None)
    near = similar_movies(answering.model, answering.movie_vocab, answering.support(), args.movie, args.n)
    title = with_titles(pd.DataFrame({"movie_id": [args.movie]}), answering.movies)["title"].iloc[0]
    print(f"movies nearest to {args.movie} ({title}), by {answering.describe()}:")
    print(
        with_titles(near, answering.movies)[["movie_id", "title", "similarity", "support"]]
        .round(3)
        .to_string(index=False)
    )
    return 0


def _services(args) -> int:
    from flows.services import run_services

    return run_services(args.action)


if __name__ == "__main__":
    sys.exit(main())
