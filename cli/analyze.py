"""``recsys analyze``: evaluate and analyze a stored train-all run again and report to MLflow."""

from cli import prefect_server


def add_parser(sub) -> None:
    command = sub.add_parser(
        "analyze",
        epilog="""examples:
  recsys analyze --run 3f2a9c0e...          redo the analysis of a stored run (ids: recsys runs)
  recsys analyze --run ID --rating-matrix-map  also the study's t-SNE of the raw rating matrix
""",
        help="evaluate and analyze a stored train-all run; report to MLflow",
    )
    command.add_argument("--run", required=True, help="the train-all run's MLflow run id")
    command.add_argument("--rating-matrix-map", action="store_true", help="add the study's t-SNE of the raw ratings")


def run(args) -> int:
    from flows.analyze import analyze
    from tasks.analyze import check_analyzable

    check_analyzable(args.run)  # an unknown run, or one with nothing to analyze: one error before the flow
    prefect_server.ready()  # the temporary server main() started: it booted while the flows were imported
    print(f"report: {analyze(run_id=args.run, rating_matrix_map=args.rating_matrix_map)}")
    return 0
