"""``recsys ingest``: validate a release and write its Parquet tables and quarantine, without training."""

from cli import prefect_server
from cli.options import add_data_options


def add_parser(sub) -> None:
    command = sub.add_parser(
        "ingest",
        epilog="""examples:
  recsys ingest --data ml-1m               validate a release by name (downloaded, cached)
  recsys ingest --data ~/ml-25m.zip --out ./ml-25m-parquet
  recsys ingest --data ./ratings-folder --json   the ingestion report for scripts
""",
        help="validate a release and write its Parquet tables and quarantine",
    )
    add_data_options(command)
    command.add_argument(
        "--out",
        help="output folder: new, empty, or an earlier ingestion's (default: under $RECSYS_WORKDIR, keyed by content)",
    )
    command.add_argument("--json", action="store_true", help="print the ingestion report as JSON")


def run(args) -> int:
    from pathlib import Path

    from flows.ingest import ingest_data
    from recsys.pipeline.config import DataConfig
    from recsys.store.ingestion import check_output_folder
    from tasks.ingest import check_source, summarise

    if args.out:
        check_output_folder(Path(args.out))  # before any server starts: the folder's own files are never replaced
    check_source(args.data)
    settings = {"source": args.data, "refresh": args.refresh, "max_quarantine_share": args.max_quarantine_share}
    prefect_server.ready()  # the temporary server main() started: it booted while the flows were imported
    report = ingest_data(data=DataConfig(**{k: v for k, v in settings.items() if v is not None}), out=args.out)
    if args.json:
        import json

        print(json.dumps(report, indent=2, default=str))
        return 0
    print(summarise(report))
    return 0
