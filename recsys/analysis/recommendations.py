"""What a user of the run's models would see: top-10 lists over the whole catalogue, scored against held-out
ratings beside the baselines a recommender must beat, and the nearest neighbours of well-known movies.

Top-N (see :mod:`recsys.evaluation.metrics.topn`): a seeded sample of the users with at least one test
rating of 4 or more, the same users for every model; candidates are every movie the user has not rated in
the training or validation rows. One set of lists gives the accuracy and the diversity (coverage, novelty,
popularity, Gini) of what each model recommends.
"""

import hashlib
from collections.abc import Collection

import numpy as np
import pandas as pd
import torch

from recsys import columns as C
from recsys.analysis.inputs import RunData
from recsys.data.split import rows_of
from recsys.evaluation.metrics import diversity_metrics, movie_popularity, rated_movies, top_n_recommendations
from recsys.evaluation.metrics.recommend import module_device, score_all
from recsys.evaluation.metrics.topn import (
    RandomScores,
    popularity_scores,
    relevant_sets,
    shrunk_mean_scores,
    topn_accuracy,
)
from recsys.models import RatingModel
from recsys.models.blend import Blend
from recsys.serving import NeighbourConfig, movie_support, nearest_movies, similarity_rows

# Scoring every movie for every user of ml-latest-small costs about 110 s for the ten variants (the recurrent
# nets and kNN dominate), which would nearly double a run; 200 users take about 35 s.
TOPN_USERS = 200
REMEMBERED_SCORES = 1 << 25  # a variant's scores kept for a blend of it: 128 MB of float32 at most
BASELINES = ("most popular", "highest mean rating (shrunk)", "random")
WELL_KNOWN = (858, 1)  # The Godfather and Toy Story lead the sanity table whenever the data holds them


def encoded(data: RunData, part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """user_idx, movie_idx and rating (N,) of one part of the split."""
    rows = rows_of(data.split, part)
    user_idx = data.user_vocab.encode(rows[C.USER_ID].to_numpy())
    return user_idx, data.movie_vocab.encode(rows[C.MOVIE_ID].to_numpy()), rows[C.RATING].to_numpy()


def sample_users(relevant: dict[int, np.ndarray], sample: int | None, seed: int) -> np.ndarray:
    """The known users with a relevant test movie (sorted), or a seeded ``sample`` of them."""
    users = np.array(sorted(u for u in relevant if u > 0), dtype=np.int64)
    if sample is not None and sample < len(users):
        users = np.sort(np.random.default_rng(seed).choice(users, sample, replace=False))
    return users


def baselines(data: RunData) -> dict[str, object]:
    """The score providers every model is compared with, from the training rows only."""
    _, movie_idx, ratings = encoded(data, C.TRAIN)
    n_movies = data.movie_vocab.size
    return {
        "most popular": popularity_scores(movie_idx, n_movies),
        "highest mean rating (shrunk)": shrunk_mean_scores(movie_idx, ratings, n_movies),
        "random": RandomScores(n_movies, data.seed),
    }


def catalogue_topn(
    data: RunData, sample: int | None = TOPN_USERS, n: int = 10, variants: Collection[str] | None = None
) -> pd.DataFrame:
    """One row per variant and baseline: ``kind``, ``users``, precision, recall, NDCG, MAP and hit rate at
    ``n`` over the whole catalogue, and coverage, mean popularity, novelty and Gini of the same lists. With
    ``variants``, only those of the run's variants (and no baselines)."""
    train_u, train_m, _ = encoded(data, C.TRAIN)
    val_u, val_m, _ = encoded(data, C.VAL)
    known = rated_movies(np.concatenate([train_u, val_u]), np.concatenate([train_m, val_m]))
    relevant = relevant_sets(*encoded(data, C.TEST))
    users = sample_users(relevant, sample, data.seed)
    popularity = movie_popularity(train_m, data.movie_vocab.size)
    # the variants' models are read one at a time (a run's models are loaded as they are read: RunData.models)
    fixed = baselines(data) if variants is None else {}
    chosen = [name for name in data.models if variants is None or name in variants]
    providers = [(name, "variant") for name in chosen] + [(name, "baseline") for name in fixed]
    rows, scored = [], {}
    for name, kind in providers:
        if kind == "baseline":
            scores = fixed[name]
        elif isinstance(scores := RememberedScores.of(data.models[name], users, scored), RememberedScores):
            scored[name] = scores
        lists = top_n_recommendations(scores, users, data.movie_vocab.size, known, n=n)
        spread = diversity_metrics(lists, popularity, data.user_vocab.size - 1)
        rows.append(
            {"model": name, "kind": kind, "users": len(users), **topn_accuracy(lists, users, relevant), **spread}
        )
        del scores  # a variant's model goes before the next one loads, not after
    return pd.DataFrame(rows)


class RememberedScores:
    """A variant's scores of every movie for the sampled ``users`` (U, n_movies), computed once, and a
    fingerprint of the weights behind them; a score function for :func:`top_n_recommendations`. A blend whose
    members are the run's variants (the same weights: a blend takes its members' trained models) is blended
    from their remembered scores instead of scoring each member again (kNN and the recurrent nets were a
    third of the step's time)."""

    def __init__(self, matrix: torch.Tensor, users: np.ndarray, weights: str):
        self.matrix, self.users, self.weights = matrix, users, weights

    @classmethod
    def of(
        cls, model: RatingModel, users: np.ndarray, earlier: dict[str, "RememberedScores"]
    ) -> "RememberedScores | RatingModel":
        """``model``'s scores for ``users``; the model itself (scored as the lists are made) when the scores
        would pass :data:`REMEMBERED_SCORES` values (all users of a large release)."""
        if len(users) * model.shape.n_movies > REMEMBERED_SCORES:
            return model
        model.eval()
        members = model.members if isinstance(model, Blend) else {}
        if members and all(n in earlier and earlier[n].weights == weights_digest(m) for n, m in members.items()):
            matrix = model.blended([earlier[name].matrix for name in members])
        else:  # as top_n_recommendations scores, in the same chunks of users
            device, n_movies = module_device(model), model.shape.n_movies
            matrix = torch.cat(
                [score_all(model, users[i : i + 64], n_movies, device).cpu() for i in range(0, len(users), 64)]
            )
        return cls(matrix.float(), users, weights_digest(model))

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.matrix[torch.from_numpy(np.searchsorted(self.users, user_idx.cpu().numpy()))]


def weights_digest(model: RatingModel) -> str:
    """A fingerprint of what a model scores with: its class, its config (kNN's k and shrinkage are settings,
    not weights) and its weights and buffers (their names and bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    config = getattr(model, "config", None)
    digest.update(type(model).__name__.encode() + (config.model_dump_json() if config is not None else "").encode())
    for key, tensor in model.state_dict().items():
        digest.update(key.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def well_known_movies(data: RunData, n: int = 10, always: tuple[int, ...] = WELL_KNOWN) -> np.ndarray:
    """movie_idx of ``n`` well-known movies: those of ``always`` the run knows, then the most rated."""
    _, movie_idx, _ = encoded(data, C.TRAIN)
    counts = movie_popularity(movie_idx, data.movie_vocab.size)
    first = [int(i) for i in data.movie_vocab.encode(np.array(always)) if i > 0]
    rest = [int(i) for i in np.argsort(-counts, kind="stable") if i > 0 and i not in first]
    return np.array((first + rest)[:n], dtype=np.int64)


DEFAULT_NEIGHBOURS = NeighbourConfig()


def neighbour_sanity(
    data: RunData, model: RatingModel, config: NeighbourConfig = DEFAULT_NEIGHBOURS, n: int = 5
) -> pd.DataFrame:
    """The ``n`` nearest neighbours of each well-known movie, as `recsys similar` would list them: one row
    per movie, ``movie`` (title and training ratings), then ``1``..``n``: each neighbour's title, its
    training ratings and the similarity."""
    _, movie_idx, _ = encoded(data, C.TRAIN)
    support = movie_support(movie_idx, data.movie_vocab.size)
    query = well_known_movies(data)
    best, scores = nearest_movies(similarity_rows(model, query, config.source), query, support, config, n)
    titles = data.movies.set_index(C.MOVIE_ID)[C.TITLE]

    def label(idx: int) -> str:
        return f"{titles.get(int(data.movie_vocab.decode(np.array([idx]))[0]), '?')} ({support[idx]})"

    rows = []
    for q, neighbours, sims in zip(query, best, scores, strict=True):
        cells = {str(rank + 1): f"{label(j)} {s:.2f}" for rank, (j, s) in enumerate(zip(neighbours, sims, strict=True))}
        rows.append({"movie": label(int(q))} | cells)
    return pd.DataFrame(rows)
