"""myfm's ordered probit against its regressor for ``bfm``, on validation rows: both fitted with bfm's default
feature groups, rank and chain on the training rows of a split; the probit's prediction is the posterior
expected rating (each half-star level weighted by its probability), the regressor's its posterior mean. Scored
on the validation rows whose user and movie the training rows know (the others are scored alike by both, from
the unknown slot). Test rows are not read. Writes ``bench/results/bfm_probit.json``.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/bfm_probit.py [--seeds 42,43]
"""

import contextlib
import io
import json
import time
from pathlib import Path

import numpy as np
from common import seeded_bench  # bench/common.py, beside this script

from recsys import columns as C
from recsys.data.split import SplitConfig
from recsys.data.tensors import prepare_split
from recsys.models.bfm import BFMConfig, _myfm, _side

RESULTS = Path(__file__).resolve().parent / "results" / "bfm_probit.json"


def blocks(myfm, users, movies, user_side, movie_side):
    """Relation blocks of rows (users, movies): each row points at its user's and its movie's feature row."""
    return [myfm.RelationBlock(users, user_side), myfm.RelationBlock(movies, movie_side)]


def trial(prepared, seed: int) -> dict:
    myfm, c = _myfm(), BFMConfig()
    train, val = prepared.tensors(C.TRAIN), prepared.tensors(C.VAL)
    n_users, n_movies = prepared.shape.n_users, prepared.shape.n_movies
    known = (train.user_idx > 0) & (train.movie_idx > 0)
    users, movies = train.user_idx[known].numpy(), train.movie_idx[known].numpy()
    ratings = train.rating[known].double().numpy()
    user_side = _side(n_users, users, movies, n_movies, "user_movies" in c.implicit)
    movie_side = _side(n_movies, movies, users, n_users, "movie_users" in c.implicit)
    groups = [n_users, n_movies, n_movies, n_users]
    seen = ((val.user_idx > 0) & (val.movie_idx > 0)).numpy()
    v_users, v_movies, v_ratings = val.user_idx.numpy()[seen], val.movie_idx.numpy()[seen], val.rating.numpy()[seen]
    fit = {"n_iter": c.sweeps, "n_kept_samples": c.kept, "group_shapes": groups}
    out = {"seed": seed, "validation_rows": int(seen.sum()), "settings": c.model_dump(mode="json")}
    with contextlib.redirect_stderr(io.StringIO()):
        started = time.perf_counter()
        regressor = myfm.MyFMRegressor(rank=c.rank, init_stdev=c.init_std, random_seed=seed)
        regressor.fit(None, ratings, X_rel=blocks(myfm, users, movies, user_side, movie_side), **fit)
        mean = regressor.predict(None, blocks(myfm, v_users, v_movies, user_side, movie_side))
        out["regressor"] = {"seconds": time.perf_counter() - started}
        started = time.perf_counter()
        levels = np.unique(ratings)  # the half-star levels, as classes 0..K-1
        classes = np.searchsorted(levels, ratings)
        probit = myfm.MyFMOrderedProbit(rank=c.rank, init_stdev=c.init_std, random_seed=seed)
        probit.fit(None, classes, X_rel=blocks(myfm, users, movies, user_side, movie_side), **fit)
        proba = probit.predict_proba(None, blocks(myfm, v_users, v_movies, user_side, movie_side))
        out["probit"] = {"seconds": time.perf_counter() - started}
    low, high = float(levels[0]), float(levels[-1])
    for name, predicted in (("regressor", np.clip(mean, low, high)), ("probit", proba @ levels)):
        out[name]["val_rmse"] = float(np.sqrt(np.mean((predicted - v_ratings) ** 2)))
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    args, ratings, movies, seeds = seeded_bench(__doc__, RESULTS, "42")
    runs = [trial(prepare_split(ratings, movies, SplitConfig(seed=s)), s) for s in seeds]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
