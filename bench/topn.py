"""Top-N quality of the ranking family on a MovieLens release, by the one protocol (recsys.evaluation.ranking):
each ranker's settings chosen on validation NDCG@10 (fitted on the training rows, scored on the validation
rows), the chosen one refitted on training + validation rows and scored once on the test rows, every eligible
user, 95% intervals from a bootstrap over users. Writes ``bench/results/topn.json``.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/topn.py [--seeds 42,43]
"""

import json
import time
from pathlib import Path

import numpy as np
import torch
from common import bench_parser, load_movies, load_ratings, parse_bench_args  # bench/common.py, beside this script

from recsys import columns as C
from recsys.data.split import SplitConfig
from recsys.data.tensors import RatingTensors, prepare_split
from recsys.evaluation.metrics.recommend import rated_movies
from recsys.evaluation.metrics.topn import relevant_sets
from recsys.evaluation.ranking import score_topn
from recsys.ranking import EASE, Popularity
from recsys.training.ensembles import concat

RESULTS = Path(__file__).resolve().parent / "results" / "topn.json"
THRESHOLDS = (None, 4.0)  # what counts as an interaction: every rating, or ratings of 4 and more
GRIDS = {
    "pop": [{"min_rating": t} for t in THRESHOLDS],
    "ease": [{"l2": l2, "min_rating": t} for t in THRESHOLDS for l2 in (100.0, 200.0, 400.0, 800.0, 1600.0)],
}
MAKERS = {"pop": Popularity, "ease": EASE}


def setting(known: RatingTensors, held_out: RatingTensors, n_movies: int) -> dict:
    """The protocol's inputs: eligible users, their relevant held-out movies, what to exclude, popularity."""
    relevant = relevant_sets(held_out.user_idx.numpy(), held_out.movie_idx.numpy(), held_out.rating.numpy())
    popularity = np.bincount(known.movie_idx.numpy(), minlength=n_movies)
    popularity[0] = 0
    return {
        "users": np.array(sorted(relevant), dtype=np.int64),
        "relevant": relevant,
        "exclude": rated_movies(known.user_idx.numpy(), known.movie_idx.numpy()),
        "popularity": popularity,
        "n_users_total": int(len(np.unique(known.user_idx.numpy()))),
    }


def evaluate(name: str, params: dict, fit_on: RatingTensors, on: dict, shape, n_boot: int) -> tuple[object, dict]:
    started = time.perf_counter()
    ranker = MAKERS[name](shape.n_users, shape.n_movies, **params).fit(fit_on)
    fitted = time.perf_counter()
    scores = score_topn(
        ranker, on["users"], on["relevant"], on["exclude"], on["popularity"], on["n_users_total"], n_boot=n_boot
    )
    timing = {"fit_seconds": fitted - started, "scoring_seconds": time.perf_counter() - fitted}
    return scores, timing


def run_seed(ratings, movies, seed: int) -> dict:
    prepared = prepare_split(ratings, movies, SplitConfig(seed=seed))
    train, val, test = (prepared.tensors(part) for part in (C.TRAIN, C.VAL, C.TEST))
    known = concat(train, val)
    on_val, on_test = setting(train, val, prepared.shape.n_movies), setting(known, test, prepared.shape.n_movies)
    out = {}
    for name, grid in GRIDS.items():
        tried = []
        for params in grid:
            scores, _ = evaluate(name, params, train, on_val, prepared.shape, n_boot=100)
            tried.append({"params": params, "val_ndcg@10": scores.metrics["ndcg@10"]})
            print(f"seed {seed} {name} {params}: validation NDCG@10 {scores.metrics['ndcg@10']:.4f}", flush=True)
        chosen = max(tried, key=lambda t: t["val_ndcg@10"])["params"]
        scores, timing = evaluate(name, chosen, known, on_test, prepared.shape, n_boot=1000)
        out[name] = {
            "chosen": chosen,
            "validation": tried,
            "test": scores.metrics,
            "low": scores.low,
            "high": scores.high,
            "users": scores.users,
        } | timing
        print(
            f"seed {seed} {name} {chosen}: test NDCG@10 {scores.metrics['ndcg@10']:.4f} "
            f"[{scores.low['ndcg@10']:.4f}, {scores.high['ndcg@10']:.4f}] over {scores.users} users",
            flush=True,
        )
    out["ease_over_pop_ndcg@10"] = out["ease"]["test"]["ndcg@10"] / out["pop"]["test"]["ndcg@10"]
    out["ease_interval_clear_of_pop"] = out["ease"]["low"]["ndcg@10"] > out["pop"]["high"]["ndcg@10"]
    return out


def main() -> None:
    parser = bench_parser(__doc__, RESULTS)
    parser.add_argument("--seeds", default="42", help="comma-separated split seeds")
    args = parse_bench_args(parser)
    torch.set_num_threads(args.threads)
    ratings, movies = load_ratings(Path(args.data)), load_movies(Path(args.data))
    by_seed = {seed: run_seed(ratings, movies, seed) for seed in (int(s) for s in args.seeds.split(","))}
    ratios = [r["ease_over_pop_ndcg@10"] for r in by_seed.values()]
    summary = {
        "seeds": by_seed,
        "ease_over_pop_ndcg@10": {"mean": float(np.mean(ratios)), "std": float(np.std(ratios))},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, default=str))
    print(f"EASE / pop NDCG@10: {summary['ease_over_pop_ndcg@10']}; wrote {args.out}")


if __name__ == "__main__":
    main()
