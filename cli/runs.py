"""``recsys runs``: the newest pipeline runs with their champion decisions; and the summary that ends every
``train-all`` (what happened, where the report is, what to run next)."""

import json

EPILOG = """examples:
  recsys runs                 the ten newest runs, newest first
  recsys runs -n 3 --json     the three newest, as JSON for scripts
"""


def add_parser(sub) -> None:
    command = sub.add_parser(
        "runs",
        help="the newest pipeline runs and their champion decisions",
        epilog=EPILOG,
    )
    command.add_argument("-n", type=int, default=10, metavar="N", help="how many runs (default 10)")
    command.add_argument("--json", action="store_true", help="print JSON (one object per run) instead of a table")


def run(args) -> int:
    from tasks.runs import recent_runs, summarise

    found = [summarise(r, with_report=False) for r in recent_runs(args.n)]
    if args.json:
        print(json.dumps([s.to_dict() for s in found], indent=2))
        return 0
    if not found:
        print("no runs yet: recsys train-all starts one")
        return 0
    print(f"{'started':<20}{'run':<10}{'pipeline':<11}{'status':<10}{'seconds':>8}  {'best':<11}decision")
    for s in found:
        seconds = f"{s.seconds:.0f}" if s.seconds is not None else "-"
        decision = (s.promotion or "-").split(" (")[0][:70]
        line = f"{s.started:<20}{s.run_id[:8]:<10}{s.pipeline:<11}{s.status:<10}{seconds:>8}  "
        print(line + f"{s.challenger or '-':<11}{decision}")
    return 0
