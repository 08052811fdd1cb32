"""``recsys recommend``: a user's top movies among those the user has not rated, optionally with why."""

from cli.options import positive_int


def add_parser(sub) -> None:
    command = sub.add_parser("recommend", help="a user's top movies among those the user has not rated")
    command.add_argument("--user", type=int, required=True, help="user_id")
    command.add_argument("--explain", action="store_true", help="for each, the user's most similar rated movies")
    command.add_argument("-n", type=positive_int, default=10, help="how many (default 10)")
    command.add_argument("--variant", help="the registered variant that answers (default: the champion)")


def run(args) -> int:
    from recsys import columns as C
    from recsys.serving import explain, recommend
    from tasks.champion import load_variant, with_titles

    answering = load_variant(args.variant)
    known = answering.known()
    mine = known[known[C.USER_ID] == args.user]
    vocabs = answering.user_vocab, answering.movie_vocab
    top = recommend(answering.model, *vocabs, args.user, mine[C.MOVIE_ID].to_numpy(), args.n)
    print(f"user {args.user} ({len(mine)} ratings the model knows), answered by {answering.describe()}:")
    print(with_titles(top, answering.movies).round(3).to_string(index=False))
    if args.explain and len(top):
        because = explain(answering.model, answering.movie_vocab, top[C.MOVIE_ID].to_numpy(), mine)
        because = with_titles(because, answering.movies).rename(columns={C.TITLE: "recommended"})
        named = answering.movies.rename(columns={C.MOVIE_ID: "because_of", C.TITLE: "because you rated"})
        because = because.merge(named[["because_of", "because you rated"]], on="because_of", how="left")
        columns = ["recommended", "because you rated", "your_rating", "similarity"]
        print("\nwhy: the movies you rated that are most like each one")
        print(because[columns].round(3).to_string(index=False))
    return 0
