"""``recsys tune``: an Optuna search over one variant's settings, chosen on validation MSE, each trial a nested
MLflow run; the best settings are written as a config file that ``recsys train-all --config`` takes."""

import sys

from cli import prefect_server
from cli.options import add_data_options, add_run_options, resolve_config

EPILOG = """examples:
  recsys tune --variant mf --trials 20                 writes tuned-mf.yaml
  recsys train-all --config tuned-mf.yaml              trains mf at the best settings found
  recsys tune --variant bfm --trials 10 --out bfm.yaml --data ~/ml-1m.zip
  recsys tune --variant lstm --trials 40 --set runner.kind=dask --set runner.workers=4
                                                       4 searches side by side, one study
"""


def add_parser(sub) -> None:
    command = sub.add_parser("tune", help="search a variant's settings on validation rows (Optuna)", epilog=EPILOG)
    command.add_argument("--variant", required=True, help="the variant to tune (mf, baseline, lstm, gru, bilstm, bfm)")
    command.add_argument("--trials", type=int, default=20, help="trials to run (default 20)")
    command.add_argument("--out", help="the config file to write (default: tuned-VARIANT.yaml)")
    add_run_options(command)
    add_data_options(command)


def run(args) -> int:
    from recsys.pipeline.tuning import space_of

    space_of(args.variant)  # an unknown or unsearched variant: one error before anything starts
    if args.trials < 1:
        raise ValueError(f"--trials must be at least 1, not {args.trials}")
    args.variants = args.variant
    config = resolve_config(args)
    from flows.tune import tune
    from tasks.ingest import check_source
    from tasks.runtime import one_writer_at_a_time

    check_source(config.data.source)
    out = args.out or f"tuned-{args.variant}.yaml"
    prefect_server.ready()  # the temporary server main() started: it booted while the flows were imported
    with one_writer_at_a_time(lambda line: print(line, file=sys.stderr)):
        best = tune(args.variant, args.trials, out, config)
    print(
        f"{args.variant}: best of {best['trials']} trials (trial {best['best_trial']}, {best['pruned']} pruned): "
        f"validation MSE {best['val_mse']:.4f}\nsettings: {best['config']}  "
        f"(recsys train-all --config {best['config']})"
    )
    return 0
