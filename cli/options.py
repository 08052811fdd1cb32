"""The options that several commands share: the train-all config flags, the data flags, their value types,
and the config they resolve to."""

import argparse


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


def add_run_options(command: argparse.ArgumentParser) -> None:
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


def add_data_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--data",
        help="a release by name (ml-latest-small, ml-latest, ml-100k, ml-1m, ml-10m, ml-20m, ml-25m, ml-32m: "
        "downloaded from GroupLens into the cache), or a MovieLens folder, .zip, URL or s3://, gs://, hdfs:// URI "
        "(default: $RECSYS_DATA, else ml-latest-small)",
    )
    command.add_argument("--refresh", action="store_true", help="ingest again even if the data is unchanged")
    command.add_argument(
        "--max-quarantine-share",
        type=share,
        help="fail when more than this share of a table's rows is quarantined (default 0.01)",
    )


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
