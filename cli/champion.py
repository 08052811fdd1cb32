"""``recsys champion``: which versions serve (``show``), and going back to the one before (``rollback``)."""

import getpass
import socket


def add_parser(sub) -> None:
    command = sub.add_parser(
        "champion",
        epilog="""examples:
  recsys champion show                 which versions serve, and the previous ones
  recsys champion rollback             rating champion back to the previous version (again: forward)
  recsys champion rollback --topn      the same for the top-N model
""",
        help="show the champions, or roll one back to the previous version",
    )
    actions = command.add_subparsers(dest="action", required=True)
    actions.add_parser("show", help="the champion and previous versions of both registered models")
    back = actions.add_parser("rollback", help="point champion back at the previous version (again: forward)")
    back.add_argument("--topn", action="store_true", help="the top-N model (movielens-topn), not the rating one")


def run(args) -> int:
    from tasks import tracking
    from tasks.register import roll_back
    from tasks.runtime import REGISTERED_MODEL, TOPN_MODEL

    client = tracking.client()
    if args.action == "rollback":
        name = TOPN_MODEL if args.topn else REGISTERED_MODEL
        who = f"{getpass.getuser()}@{socket.gethostname()} (recsys champion rollback)"
        was, now = roll_back(client, name, who)
        print(f"{name}: champion v{was} -> v{now} (v{was} is now 'previous': rolling back again goes forward)")
        return 0
    for name in (REGISTERED_MODEL, TOPN_MODEL):
        print(f"{name}: {describe_aliases(client, name)}")
    return 0


def describe_aliases(client, name: str) -> str:
    from tasks.champion import champion_of
    from tasks.runtime import PREVIOUS

    champion = champion_of(name, client)
    if champion is None:
        return "no champion"
    shown = f"champion v{champion.version} ({champion.tags.get('variant', '?')})"
    previous = champion_of(name, client, PREVIOUS)
    return shown + (
        f", previous v{previous.version} ({previous.tags.get('variant', '?')})" if previous else ", no previous"
    )
