"""What the bench scripts share: reading the ratings of a MovieLens release folder given on the command line.

The bench reads ``ratings.csv`` with pandas directly rather than through :mod:`recsys.data.io`, so a timing run
depends on nothing but the file.
"""

import argparse
import os
from pathlib import Path

import pandas as pd

from recsys import columns as C

CSV_COLUMNS = {"userId": C.USER_ID, "movieId": C.MOVIE_ID, "rating": C.RATING, "timestamp": C.TIMESTAMP}


def load_ratings(folder: Path) -> pd.DataFrame:
    """ratings.csv of a MovieLens release (ml-latest-small layout) with the library's column names."""
    return pd.read_csv(Path(folder) / "ratings.csv").rename(columns=CSV_COLUMNS)[list(CSV_COLUMNS.values())]


def load_movies(folder: Path) -> pd.DataFrame:
    """The movies table as ingestion keeps it (movie_id, title, year, genres): what the feature tables read."""
    from recsys.data.ingest import ingest_release

    return ingest_release(Path(folder)).movies.kept


def bench_parser(doc: str, results: Path) -> argparse.ArgumentParser:
    """The options every training bench shares: --data (default ``RECSYS_DATA``), --threads, --out."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("RECSYS_DATA"), help="ml-latest-small folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=results)
    return parser


def parse_bench_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parsed options; an error that says how to give the data when there is none."""
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data or set RECSYS_DATA to the ml-latest-small folder")
    return args


def seeded_bench(doc: str, results: Path, seeds: str) -> tuple[argparse.Namespace, pd.DataFrame, pd.DataFrame, list]:
    """The options of a bench over split seeds (``--seeds``, default ``seeds``, with :func:`bench_parser`'s), torch
    set to ``--threads``, and the release's ratings and movies: (args, ratings, movies, seeds)."""
    import torch

    parser = bench_parser(doc, results)
    parser.add_argument("--seeds", default=seeds, help="comma-separated split seeds")
    args = parse_bench_args(parser)
    torch.set_num_threads(args.threads)
    chosen = [int(s) for s in args.seeds.split(",")]
    return args, load_ratings(Path(args.data)), load_movies(Path(args.data)), chosen
