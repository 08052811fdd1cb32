"""``recsys config show``: the fully resolved train-all config that a config file and the flags describe."""

from cli.options import add_data_options, add_run_options, resolve_config


def add_parser(sub) -> None:
    config = sub.add_parser("config", help="the resolved train-all config").add_subparsers(dest="action", required=True)
    show = config.add_parser("show", help="print the fully resolved config as YAML")
    add_run_options(show)
    add_data_options(show)


def run(args) -> int:
    from recsys.pipeline.config import config_to_yaml

    print(config_to_yaml(resolve_config(args)), end="")
    return 0
