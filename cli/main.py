"""The ``recsys`` command: runs the pipeline's flows embedded (no Prefect server needed).

With ``PREFECT_API_URL`` set, the same flows report to that server instead. Every setting of a train-all
run lives in one :class:`~recsys.pipeline.config.PipelineConfig`: ``--config FILE.yaml`` reads one, the
flags override single fields of it, ``--set section.field=value`` any field, and ``recsys config show``
prints the result.
"""

import argparse
import os
import signal
import sys
import threading

from cli import (
    analyze,
    champion,
    config,
    ingest,
    prefect_server,
    recommend,
    report,
    runs,
    services,
    similar,
    train_all,
    tune,
)
from cli.environment import apply_defaults
from cli.errors import fail, report_failure
from cli.watchdog import guard_children

COMMANDS = {  # name: the module with its add_parser and run
    "train-all": train_all,
    "tune": tune,
    "config": config,
    "ingest": ingest,
    "analyze": analyze,
    "recommend": recommend,
    "similar": similar,
    "champion": champion,
    "runs": runs,
    "report": report,
    "services": services,
}
FLOW_COMMANDS = {"train-all", "tune", "ingest", "analyze"}  # they run flows in this process, with child processes


class Parser(argparse.ArgumentParser):
    """argparse, with a bad flag reported on one ``error:`` line (exit 2) instead of the usage and the error."""

    def error(self, message: str):
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


class CommandParser(Parser):
    """A command's parser: its ``epilog`` (usage examples) printed as written."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("movielens-pipeline")
    except PackageNotFoundError:  # run from a checkout that is not installed
        from recsys import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="recsys", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--version", action="version", version=f"recsys {version()}")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument(
        "-q", "--quiet", action="store_true", help="warnings and errors only (Prefect's and MLflow's too)"
    )
    loud.add_argument("-v", "--verbose", action="store_true", help="debug messages too")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def loudness(args) -> str | None:
    """The log level ``-q`` / ``-v`` ask for, or None (each library's default)."""
    return "WARNING" if getattr(args, "quiet", False) else "DEBUG" if getattr(args, "verbose", False) else None


class Stopped(BaseException):
    """The process was asked to stop (SIGTERM): unwinds like Ctrl-C, so every cleanup runs."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def _stop(signum: int, frame) -> None:
    from recsys.training.stopping import request_stop

    request_stop()  # training in a worker thread stops at its next batch; this thread unwinds now
    raise Stopped(signum)


TORCHRUN = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")  # what torchrun gives each process it starts


def join_process_group() -> bool:
    """Under torchrun (its variables in the environment), join its process group (NCCL on GPUs, else gloo):
    ``train-all`` then trains data-parallel, rank 0 running the pipeline. Returns whether it joined."""
    if not all(name in os.environ for name in TORCHRUN):
        return False
    import torch
    import torch.distributed as dist

    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    apply_defaults(loudness(args))  # before prefect or mlflow is imported
    if argv is None and args.command in FLOW_COMMANDS:  # the `recsys` process itself, not a test calling main()
        guard_children()  # Prefect's temporary server (and Dask's workers) end with it, even after a SIGKILL
        if os.environ.get("RANK", "0") == "0":  # not a torchrun follower: those run no flow
            prefect_server.start()  # boots while the command imports torch, MLflow and its flows
    joined = join_process_group()
    try:
        return run(args)
    finally:
        if joined:
            import torch.distributed as dist

            # every rank tears the group down together: a follower that finished training destroyed it while
            # rank 0 was still in its last collective, and one in three runs aborted (SIGABRT) there
            dist.barrier()
            dist.destroy_process_group()


def run(args) -> int:
    """Run the command; a failure ends as one ``error:`` line and an exit status."""
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a worker shutdown, a cancelled run, `kill`) unwinds the stack like Ctrl-C: the runs are marked
        # KILLED, Prefect's temporary server is stopped at exit, the checkpoints stay for the next run to resume
        signal.signal(signal.SIGTERM, _stop)
    from pydantic import ValidationError

    from recsys.pipeline.config import describe_errors

    try:
        return COMMANDS[args.command].run(args)
    except (Stopped, KeyboardInterrupt) as exc:
        what = exc if isinstance(exc, Stopped) else "stopped by Ctrl-C (SIGINT)"
        print(f"error: {what}; the same command resumes from the last epoch checkpoints", file=sys.stderr)
        return 128 + (exc.signum if isinstance(exc, Stopped) else signal.SIGINT)
    except ValidationError as exc:
        return fail(exc, f"config: {describe_errors(exc)}", 2)
    except Exception as exc:
        return report_failure(exc)


if __name__ == "__main__":
    sys.exit(main())
