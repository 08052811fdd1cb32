"""``recsys recommend``: a user's top movies among those the user has not rated, from the top-N champion (the
ranking family, ``movielens-topn``) unless asked for the rating champion; for a user the models never saw,
from the ratings given on the command line (fold-in, no retraining); or every user's list into a file."""

import argparse
import time

from cli.options import positive_int


def given_ratings(text: str) -> list[tuple[int, float]]:
    """``858=5,1196=4.5`` as [(858, 5.0), (1196, 4.5)], in the order given (the order rated)."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        movie, sep, rating = part.partition("=")
        try:
            out.append((int(movie), float(rating) if sep else 5.0))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected movie_id=rating, got {part!r}") from None
    if not out:
        raise argparse.ArgumentTypeError("give at least one movie_id=rating")
    return out


def add_parser(sub) -> None:
    command = sub.add_parser(
        "recommend",
        epilog="""examples:
  recsys recommend --user 1                 user 1's top 10 from the top-N champion
  recsys recommend --user 1 --by rating -n 5 --explain
  recsys recommend --ratings 858=5,1196=4.5  a new user from these ratings (no retraining)
  recsys recommend --title "Toy Story" --json
  recsys recommend --all-users --out recs.parquet
""",
        help="a user's top movies among those not rated (the top-N champion answers by default)",
    )
    who = command.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", type=int, help="user_id")
    who.add_argument(
        "--ratings", type=given_ratings, help="a new user's ratings, movie_id=rating,... (fold-in: no retraining)"
    )
    who.add_argument("--title", help="a movie title (or part of one): recommend to someone who loved that movie")
    who.add_argument("--all-users", action="store_true", help="every user's top-n, written to --out")
    command.add_argument("--out", help="--all-users: the Parquet file to write (user_id, rank, movie_id, score)")
    command.add_argument("--explain", action="store_true", help="for each, the user's most similar rated movies")
    command.add_argument("-n", type=positive_int, default=10, help="how many (default 10)")
    command.add_argument(
        "--by",
        choices=["topn", "rating"],
        default="topn",
        help="topn: the ranking family's champion (default); rating: the rating champion (highest predicted rating)",
    )
    command.add_argument("--variant", help="the registered variant that answers (default: the champion)")
    command.add_argument("--json", action="store_true", help="print the answer as JSON (not with --all-users)")


def run(args) -> int:
    import pandas as pd

    from recsys import columns as C
    from recsys.models import get_variant
    from recsys.serving import movie_by_title
    from tasks.champion import has_champion, load_variant
    from tasks.runtime import REGISTERED_MODEL, TOPN_MODEL

    if args.all_users and not args.out:
        raise ValueError("--all-users writes every user's list to a file: give --out recs.parquet")
    if args.out and not args.all_users:
        raise ValueError("--out is where --all-users writes every user's list: give --all-users too")
    by = get_variant(args.variant).family if args.variant else args.by
    name = TOPN_MODEL if by == "topn" else REGISTERED_MODEL
    note = ""
    if name == TOPN_MODEL and not args.variant and not has_champion(TOPN_MODEL):
        if args.ratings is not None or args.title is not None:  # a rating model cannot fold a new user in
            raise ValueError("no top-N champion yet, and only a ranker scores a new user: run recsys train-all")
        name, note = REGISTERED_MODEL, " (no top-N champion yet: train-all trains the rankers by default)"
    answering = load_variant(args.variant, name=name)
    if args.title is not None:
        movie = movie_by_title(answering.movies, args.title)
        args.ratings = [(movie, 5.0)]  # one loved movie: a new user's list from it alone
    if args.all_users:
        return everyone(answering, args)
    if args.ratings is not None:
        given = pd.DataFrame(args.ratings, columns=[C.MOVIE_ID, C.RATING])
        return for_new_user(answering, given, args, note)
    return for_user(answering, args, note)


def for_user(answering, args, note: str) -> int:
    from recsys import columns as C
    from recsys.ranking import Ranker
    from recsys.serving import recommend, recommend_ranked
    from tasks.champion import with_titles

    known = answering.known()
    mine = known[known[C.USER_ID] == args.user]
    vocabs = answering.user_vocab, answering.movie_vocab
    if isinstance(answering.model, Ranker):
        top = recommend_ranked(answering.model, *vocabs, args.user, mine[C.MOVIE_ID].to_numpy(), args.n)
    else:
        top = recommend(answering.model, *vocabs, args.user, mine[C.MOVIE_ID].to_numpy(), args.n)
    if getattr(args, "json", False):
        return print_json(
            answering, {"user_id": args.user, "known_ratings": len(mine)}, with_titles(top, answering.movies)
        )
    print(f"user {args.user} ({len(mine)} ratings the model knows), answered by {answering.describe()}{note}:")
    print(with_titles(top, answering.movies).round(3).to_string(index=False))
    if args.explain and len(top):
        explain_list(answering, top, mine)
    return 0


def for_new_user(answering, given, args, note: str) -> int:
    from recsys import columns as C
    from recsys.ranking import Ranker
    from recsys.serving import recommend_new_user
    from tasks.champion import with_titles

    if not isinstance(answering.model, Ranker):
        raise ValueError(
            f"{answering.describe()} is a rating model, which knows users only by their training rows: "
            "recommend for new ratings with a ranker (--by topn)"
        )
    top = recommend_new_user(answering.model, answering.movie_vocab, given, args.n)
    if getattr(args, "json", False):
        asked = {"given": given.to_dict("records")}
        return print_json(answering, asked, with_titles(top, answering.movies))
    print(f"a new user who rated {len(given)} movies, answered by {answering.describe()}{note} (fold-in):")
    print(with_titles(given, answering.movies).to_string(index=False))
    print()
    print(with_titles(top, answering.movies).round(3).to_string(index=False))
    if args.explain and len(top):
        explain_list(answering, top, given[[C.MOVIE_ID, C.RATING]])
    return 0


def print_json(answering, asked: dict, answer) -> int:
    """An answer for scripts: what was asked, which model answered, and the rows (a DataFrame)."""
    import json

    model = {"registered_model": answering.registered, "version": answering.version, "variant": answering.variant}
    shown = asked | {"answered_by": model | {"run_id": answering.pipeline_run_id}, "items": answer.to_dict("records")}
    print(json.dumps(shown, indent=2, default=float))
    return 0


def everyone(answering, args) -> int:
    from pathlib import Path

    from recsys.data import io
    from recsys.serving import recommend_everyone

    started = time.perf_counter()
    lists = recommend_everyone(answering.model, answering.user_vocab, answering.movie_vocab, answering.known(), args.n)
    io.write_parquet(lists, Path(args.out))
    seconds = time.perf_counter() - started
    users = lists["user_id"].nunique()
    print(f"{users} users' top-{args.n} by {answering.describe()} written to {args.out} ({seconds:.1f}s)")
    return 0


def explain_list(answering, top, mine) -> None:
    from recsys import columns as C
    from recsys.serving import explain, gives_neighbours
    from tasks.champion import with_titles

    if not gives_neighbours(answering.model):
        print(f"\nwhy: {answering.variant} has no notion of which movies are alike (it ranks by popularity alone)")
        return
    because = explain(answering.model, answering.movie_vocab, top[C.MOVIE_ID].to_numpy(), mine)
    because = with_titles(because, answering.movies).rename(columns={C.TITLE: "recommended"})
    named = answering.movies.rename(columns={C.MOVIE_ID: "because_of", C.TITLE: "because you rated"})
    because = because.merge(named[["because_of", "because you rated"]], on="because_of", how="left")
    columns = ["recommended", "because you rated", "your_rating", "similarity"]
    print("\nwhy: the movies you rated that are most like each one")
    print(because[columns].round(3).to_string(index=False))
