"""Which neighbours would a film fan trust? Chooses how `recsys similar` finds them, on validation rows.

The measure: in held-out rows, pairs of movies the same user liked (both rated 4 or more); for each pair
(m, j) with m known to the model, is j among m's 10 nearest neighbours? (HR@10 of held-out co-liked pairs.)
It rewards neighbours that the same people like, which is what a "more like this" list is for; but alone it
also rewards listing the same blockbusters for every movie (the most popular movies score best of all), so
the choice is made on the same hit rate with each pair weighted by the inverse of how many held-out users
liked j (a popularity-debiased hit rate: a hit on a movie everybody likes says little about m).

Candidates: the cosine of mf's and Wide & Deep's movie embeddings and item-kNN's shrunk Pearson-baseline
similarity, each with the candidate's similarity shrunk by its support (s * n / (n + shrinkage)) and
candidates under a minimum support left out; and the most popular movies as a floor. Models train on the
seed-42 split's training rows at their defaults; the choice is made on the validation pairs, the test pairs
are only scored. Also reported: the neighbours' median support and the share with fewer than 20 ratings.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/neighbours.py
"""

import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch
from common import bench_parser, load_movies, load_ratings, parse_bench_args  # bench/common.py, beside this script

from recsys import columns as C
from recsys.data.split import SplitConfig, rows_of
from recsys.data.tensors import prepare_split
from recsys.models import get_variant
from recsys.pipeline.config import train_defaults
from recsys.serving import NeighbourConfig, movie_support, nearest_movies, similarity_rows
from recsys.training.variant import train_variant

RESULTS = Path(__file__).resolve().parent / "results" / "neighbours.json"
SHRINKAGE = (0.0, 10.0, 25.0, 50.0, 100.0)
MIN_SUPPORT = (0, 5, 20)
SOURCES = {"mf embedding": "mf", "wide_deep embedding": "wide_deep", "knn similarity": "knn"}


def liked_pairs(rows, movie_vocab) -> np.ndarray:
    """(P, 2) movie_idx pairs (m, j), m != j, that one user both rated 4 or more in ``rows``."""
    liked = rows[rows[C.RATING] >= 4.0]
    pairs = []
    for _, group in liked.groupby(C.USER_ID):
        movies = movie_vocab.encode(group[C.MOVIE_ID].to_numpy())
        movies = movies[movies > 0]
        pairs += [(m, j) for m, j in itertools.permutations(movies.tolist(), 2)]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def hit_rates(top: dict[int, np.ndarray], pairs: np.ndarray, likers: np.ndarray) -> dict[str, float]:
    """Plain and popularity-debiased HR@10: each pair weighted by 1 / (held-out users who liked j)."""
    hits = np.array([j in top[m] for m, j in pairs], dtype=float)
    weights = 1.0 / np.maximum(likers[pairs[:, 1]], 1)
    return {"hr_at_10": float(hits.mean()), "debiased_hr_at_10": float((hits * weights).sum() / weights.sum())}


def likers_per_movie(rows, movie_vocab) -> np.ndarray:
    """How many users liked each movie_idx (rated it 4 or more) in ``rows``."""
    liked = rows[rows[C.RATING] >= 4.0]
    return np.bincount(movie_vocab.encode(liked[C.MOVIE_ID].to_numpy()), minlength=movie_vocab.size)


def neighbour_lists(model, queries, support, config, source="model", n=10) -> dict[int, np.ndarray]:
    best = {}
    for start in range(0, len(queries), 512):
        chunk = queries[start : start + 512]
        found, _ = nearest_movies(similarity_rows(model, chunk, source), chunk, support, config, n)
        best |= dict(zip(chunk.tolist(), found, strict=True))
    return best


def popular_lists(queries, support, n=10) -> dict[int, np.ndarray]:
    order = np.argsort(-support, kind="stable")
    order = order[order > 0]
    return {m: order[order != m][:n] for m in queries.tolist()}


def train(prepared, name):
    settings = train_defaults(get_variant(name)).model_copy(update={"seed": 42})
    model, _ = train_variant(name, get_variant(name).config_cls(), settings, prepared)
    return model.cpu().eval()


def describe(top: dict[int, np.ndarray], support: np.ndarray) -> dict:
    chosen = np.concatenate(list(top.values()))
    return {"median_support": float(np.median(support[chosen])), "share_under_20": float(np.mean(support[chosen] < 20))}


def show(model, label, prepared, support, config, titles) -> None:
    """The Godfather's and Toy Story's neighbours, to look at (the choice is made by the measure)."""
    query = prepared.movie_vocab.encode(np.array([858, 1]))
    best, _ = nearest_movies(similarity_rows(model, query, "model"), query, support, config, 5)
    for q, near in zip(query, best, strict=True):
        names = [f"{titles[j][:28]} ({support[j]})" for j in near]
        print(f"{label:20} {titles[q][:20]}: {'; '.join(names)}")


def print_table(rows: list[dict]) -> None:
    print(
        f"{'part':5} {'source':20} {'shrink':>6} {'min n':>5} {'HR@10':>7} {'debiased':>8} {'median n':>8} {'<20':>5}"
    )
    for r in rows:
        cells = (
            f"{str(r['shrinkage']):>6} {str(r['min_support']):>5} {r['hr_at_10']:>7.4f} {r['debiased_hr_at_10']:>8.4f}"
        )
        print(f"{r['part']:5} {r['source']:20} {cells} {r['median_support']:>8.0f} {r['share_under_20']:>5.2f}")


def score_methods(models, pairs, likers, support) -> list[dict]:
    """Every candidate's hit rates on the validation and the test pairs."""
    rows = []
    for part, part_pairs in pairs.items():
        queries = np.unique(part_pairs[:, 0])

        def row(source, shrink, floor, top, part=part, part_pairs=part_pairs):
            scores = hit_rates(top, part_pairs, likers[part])
            return {"part": part, "source": source, "shrinkage": shrink, "min_support": floor, **scores}

        popular = popular_lists(queries, support)
        rows.append(row("most popular", None, None, popular) | describe(popular, support))
        for label, shrink, floor in itertools.product(SOURCES, SHRINKAGE, MIN_SUPPORT):
            top = neighbour_lists(models[label], queries, support, NeighbourConfig(shrinkage=shrink, min_support=floor))
            rows.append(row(label, shrink, floor, top) | describe(top, support))
    return rows


def main() -> None:
    args = parse_bench_args(bench_parser(__doc__, RESULTS))
    torch.set_num_threads(args.threads)
    movies = load_movies(Path(args.data))
    prepared = prepare_split(load_ratings(Path(args.data)), movies, SplitConfig())
    support = movie_support(prepared.tensors(C.TRAIN).movie_idx.numpy(), prepared.shape.n_movies)
    pairs = {part: liked_pairs(rows_of(prepared.split, part), prepared.movie_vocab) for part in (C.VAL, C.TEST)}
    likers = {part: likers_per_movie(rows_of(prepared.split, part), prepared.movie_vocab) for part in pairs}
    started = time.perf_counter()
    models = {label: train(prepared, name) for label, name in SOURCES.items()}
    rows = score_methods(models, pairs, likers, support)
    validation = [r for r in rows if r["part"] == C.VAL and r["source"] != "most popular"]
    best = max(validation, key=lambda r: r["debiased_hr_at_10"])
    same = ("source", "shrinkage", "min_support")
    on_test = next(r for r in rows if r["part"] == C.TEST and all(r[k] == best[k] for k in same))
    print_table(rows)
    print(f"chosen on validation: {best}\nits test score: {on_test}")
    known_titles = movies.set_index(C.MOVIE_ID)[C.TITLE].reindex(prepared.movie_vocab.ids).tolist()
    titles = ["(unknown)", *known_titles]  # by movie_idx
    chosen = NeighbourConfig(shrinkage=best["shrinkage"], min_support=best["min_support"])
    for label in SOURCES:
        show(models[label], label, prepared, support, chosen, titles)
    summary = {"pairs": {k: len(v) for k, v in pairs.items()}, "chosen": best, "chosen_on_test": on_test}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary | {"rows": rows, "seconds": time.perf_counter() - started}, indent=2))


if __name__ == "__main__":
    main()
