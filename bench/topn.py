"""Top-N quality of the ranking family and the rating models on a MovieLens release, by the one protocol
(recsys.pipeline.topn): each ranker's settings chosen on validation NDCG@10 over a grid wider than train-all's
(fitted on the training rows, scored on the validation rows), the chosen one refitted on training + validation
rows and scored once on the test rows; every eligible user, 95% intervals from a bootstrap over users. Rating
models are trained as train-all trains them (training rows, early-stopped on validation) and ranked by their
predicted ratings. Writes ``bench/results/topn.json``.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/topn.py [--seeds 42,43] [--temporal]
        [--scale-25m]

--temporal adds the temporal_user table (each user's last movies held out): gru4rec there against the study's
lstm/gru rating nets. --scale-25m fits pop, ease and ials on a 25M-rating synthetic release of ml-25m's shape,
each in its own process (its peak memory).
"""

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from common import bench_parser, load_movies, load_ratings, parse_bench_args  # bench/common.py, beside this script

from recsys import columns as C
from recsys.data.split import SplitConfig
from recsys.data.tensors import prepare_split
from recsys.models import get_variant
from recsys.pipeline.config import train_defaults
from recsys.pipeline.topn import Protocol, choose_and_test, in_time_order
from recsys.training.variant import train_variant

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "topn.json"
THRESHOLDS = [None, 4.0]  # what counts as an interaction: every rating, or ratings of 4 and more
GRIDS = {  # wider than train-all's defaults (recsys.models registers those)
    "pop": {"min_rating": THRESHOLDS},
    "ease": {"l2": [100.0, 200.0, 400.0, 800.0, 1600.0], "min_rating": THRESHOLDS},
    "ials": {
        "factors": [32, 64, 128],
        "regularization": [10.0, 50.0, 200.0],
        "alpha": [3.0, 10.0, 30.0],
        "min_rating": THRESHOLDS,
    },
    "multvae": {"min_rating": THRESHOLDS},
    "gru4rec": {},
}
SCALE_CHILD = """
import json, resource, sys, time
import pandas as pd, torch
from recsys.data.split import SplitConfig
from recsys.data.synthetic import make_movies
from recsys.data.tensors import prepare_split
from recsys.models import build_model, get_variant
from recsys.pipeline.topn import in_time_order
name, path = sys.argv[1], sys.argv[2]
torch.set_num_threads(2)
prepared = prepare_split(pd.read_parquet(path), make_movies(59_047, 0), SplitConfig())
rows = in_time_order(prepared, ("train", "val"))
out = {"interactions": len(rows), "n_movies": prepared.shape.n_movies, "n_users": prepared.shape.n_users}
started = time.perf_counter()
try:
    ranker = build_model(name, get_variant(name).config_cls(), prepared.shape, seed=42).fit(rows, seed=42)
    out["fit_seconds"] = time.perf_counter() - started
    users = torch.arange(1, 1025)
    started = time.perf_counter()
    ranker.score_matrix(users)
    out["scoring_seconds_1024_users"] = time.perf_counter() - started
except ValueError as exc:
    out["refused"] = str(exc)
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def scores_dict(scores) -> dict:
    return {"test": scores.metrics, "low": scores.low, "high": scores.high, "users": scores.users}


def rank_with_rating_model(name: str, prepared, seed: int) -> dict:
    """A rating model trained as train-all trains it, its predicted ratings ranked by the same protocol."""
    started = time.perf_counter()
    settings = train_defaults(get_variant(name)).model_copy(update={"seed": seed})
    model, _ = train_variant(name, get_variant(name).config_cls(), settings, prepared)
    fitted = time.perf_counter()
    known = in_time_order(prepared, (C.TRAIN, C.VAL))
    protocol = Protocol.of(known, prepared.tensors(C.TEST), prepared.shape.n_movies)
    scores = protocol.score(model.cpu().eval(), seed=seed)
    out = scores_dict(scores) | {"fit_seconds": fitted - started, "scoring_seconds": time.perf_counter() - fitted}
    print(f"seed {seed} {name} (rating model): test NDCG@10 {scores.metrics['ndcg@10']:.4f}", flush=True)
    return out


def run_split(ratings, movies, split: SplitConfig, rankers: list[str], rating_models: list[str]) -> dict:
    prepared = prepare_split(ratings, movies, split)
    out = {}
    for name in rankers:
        result = choose_and_test(
            name,
            get_variant(name).config_cls(),
            GRIDS[name],
            prepared,
            seed=split.seed,
            progress=lambda line: print(f"seed {split.seed} {split.kind} {line}", flush=True),
        )
        out[name] = {
            "chosen": result.config.model_dump(),
            "validation": [t.row() for t in result.tried],
            "fit_seconds": result.fit_seconds,
            "scoring_seconds": result.scoring_seconds,
        } | scores_dict(result.test)
        test = result.test
        print(
            f"seed {split.seed} {split.kind} {name}: test NDCG@10 {test.metrics['ndcg@10']:.4f} "
            f"[{test.low['ndcg@10']:.4f}, {test.high['ndcg@10']:.4f}] over {test.users} users, "
            f"fit {result.fit_seconds:.1f}s, scoring {result.scoring_seconds:.1f}s",
            flush=True,
        )
    for name in rating_models:
        out[name] = rank_with_rating_model(name, prepared, split.seed)
    ranked = [n for n in rankers if n != "pop"]
    if "pop" in out and ranked:
        best = max(ranked, key=lambda n: max(t["val_ndcg@10"] for t in out[n]["validation"]))  # chosen on validation
        out["best_ranker_by_validation"] = best
        out["best_over_pop_ndcg@10"] = out[best]["test"]["ndcg@10"] / out["pop"]["test"]["ndcg@10"]
        out["best_interval_clear_of_pop"] = out[best]["low"]["ndcg@10"] > out["pop"]["high"]["ndcg@10"]
        out["ratio_to_pop_ndcg@10"] = {
            n: out[n]["test"]["ndcg@10"] / out["pop"]["test"]["ndcg@10"]
            for n in out
            if isinstance(out[n], dict) and "test" in out[n]
        }
    return out


def over_seeds(by_seed: dict) -> dict:
    names = {n for r in by_seed.values() for n, v in r.items() if isinstance(v, dict) and "test" in v}
    summary = {}
    for name in sorted(names):
        values = [r[name]["test"]["ndcg@10"] for r in by_seed.values() if name in r]
        ratios = [
            r["ratio_to_pop_ndcg@10"][name] for r in by_seed.values() if name in r.get("ratio_to_pop_ndcg@10", {})
        ]
        summary[name] = {
            "ndcg@10_mean": float(np.mean(values)),
            "ndcg@10_std": float(np.std(values)),
            "seeds": len(values),
        }
        if ratios:
            summary[name] |= {"over_pop_mean": float(np.mean(ratios)), "over_pop_std": float(np.std(ratios))}
    ratios = [r.get("ratio_to_pop_ndcg@10", {}) for r in by_seed.values()]
    orders = [tuple(sorted(r, key=r.get)) for r in ratios]
    summary["same_order_every_seed"] = len(set(orders)) == 1
    return summary


def scale_25m() -> dict:
    sys.path.insert(0, str(HERE))
    from scale import ratings_file  # bench/scale.py: the 25M synthetic ratings of ml-25m's shape, made once

    path = ratings_file(25_000_000)
    out = {}
    for name in ("pop", "ease", "ials"):
        done = subprocess.run([sys.executable, "-c", SCALE_CHILD, name, str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            out[name] = {"error": done.stderr[-2000:]}
        else:
            out[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"25M {name}: {out[name]}", flush=True)
    return out


def main() -> None:
    parser = bench_parser(__doc__, RESULTS)
    parser.add_argument("--seeds", default="42", help="comma-separated split seeds")
    parser.add_argument("--rankers", default="pop,ease,ials,multvae", help="rankers on the random split")
    parser.add_argument("--rating-models", default="mf,autorec", help="rating models ranked by predicted rating")
    parser.add_argument("--temporal", action="store_true", help="also the temporal_user table (gru4rec, lstm, gru)")
    parser.add_argument("--scale-25m", action="store_true", help="also fit pop, ease and ials at 25M ratings")
    args = parse_bench_args(parser)
    torch.set_num_threads(args.threads)
    ratings, movies = load_ratings(Path(args.data)), load_movies(Path(args.data))
    rankers = [n for n in args.rankers.split(",") if n]
    rating_models = [n for n in args.rating_models.split(",") if n]
    started = time.perf_counter()
    by_seed = {
        seed: run_split(ratings, movies, SplitConfig(seed=seed), rankers, rating_models)
        for seed in (int(s) for s in args.seeds.split(","))
    }
    summary = {"random": {"seeds": by_seed, "over_seeds": over_seeds(by_seed)}}
    if args.temporal:
        split = SplitConfig(kind="temporal_user", seed=int(args.seeds.split(",")[0]))
        summary["temporal_user"] = run_split(
            ratings, movies, split, ["pop", "ease", "ials", "gru4rec"], ["lstm", "gru"]
        )
    if args.scale_25m:
        summary["scale_25m"] = scale_25m()
    summary["seconds"] = time.perf_counter() - started
    summary["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary["threads"] = args.threads
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, default=str))
    print(json.dumps(summary["random"]["over_seeds"], indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
