"""``recsys report``: a run's analysis report as a local page (and opened in the browser with ``--open``)."""

EPILOG = """examples:
  recsys report               the newest train-all run's report: prints its path
  recsys report --open        ...and opens it in the browser
  recsys report --run 3f2a9c  a given run (its id, or a prefix of it from `recsys runs`)
"""


def add_parser(sub) -> None:
    command = sub.add_parser(
        "report",
        help="a run's report as a local page",
        epilog=EPILOG,
    )
    command.add_argument("--run", default="latest", help="a run id or its prefix, or 'latest' (default)")
    command.add_argument("--open", action="store_true", help="open the page in the web browser")


def run(args) -> int:
    from tasks.runs import recent_runs, report_path

    runs = recent_runs(200, "train-all")
    if args.run == "latest":
        chosen = next((r for r in runs if r.info.status == "FINISHED"), None) or (runs[0] if runs else None)
    else:
        matching = [r for r in runs if r.info.run_id.startswith(args.run)]
        chosen = matching[0] if len(matching) == 1 else None
        if len(matching) > 1:
            raise ValueError(f"run {args.run!r} matches {len(matching)} runs: give more of its id")
    if chosen is None:
        raise ValueError(f"no train-all run {args.run!r} found (recsys runs lists them)")
    page = report_path(chosen.info.run_id)
    if page is None:
        raise ValueError(f"run {chosen.info.run_id[:8]} has no report (it ran with --no-analysis, or failed first)")
    print(page)
    if args.open:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())
    return 0
