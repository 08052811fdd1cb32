"""``recsys similar``: a movie's nearest neighbours, with their support."""

from cli.options import positive_int


def add_parser(sub) -> None:
    command = sub.add_parser(
        "similar",
        epilog="""examples:
  recsys similar --movie 1                  Toy Story's nearest neighbours
  recsys similar --title "Godfather" -n 5 --json
""",
        help="a movie's nearest neighbours, with their support",
    )
    which = command.add_mutually_exclusive_group(required=True)
    which.add_argument("--movie", type=int, help="movie_id")
    which.add_argument("--title", help="a movie title, or a part of one that names one movie")
    command.add_argument("-n", type=positive_int, default=10, help="how many (default 10)")
    command.add_argument("--variant", help="the registered variant that answers (default: knn from the champion's run)")
    command.add_argument("--json", action="store_true", help="print the answer as JSON")


def run(args) -> int:
    import pandas as pd

    from recsys.serving import NEIGHBOUR_VARIANT, movie_by_title, similar_movies
    from tasks.champion import load_variant, with_titles

    answering = load_variant(args.variant or NEIGHBOUR_VARIANT, fall_back=args.variant is None)
    if args.title is not None:
        args.movie = movie_by_title(answering.movies, args.title)
    near = similar_movies(answering.model, answering.movie_vocab, answering.support(), args.movie, args.n)
    title = with_titles(pd.DataFrame({"movie_id": [args.movie]}), answering.movies)["title"].iloc[0]
    if getattr(args, "json", False):
        from cli.recommend import print_json

        return print_json(answering, {"movie_id": args.movie, "title": title}, with_titles(near, answering.movies))
    print(f"movies nearest to {args.movie} ({title}), by {answering.describe()}:")
    print(
        with_titles(near, answering.movies)[["movie_id", "title", "similarity", "support"]]
        .round(3)
        .to_string(index=False)
    )
    return 0
