"""Answers from a trained model: a user's top movies among those the pipeline knows they rated, with the
user's own movies that explain each; and a movie's nearest neighbours. External ids in and out; the
vocabularies do the mapping.

Neighbours: a model's similarity of movies is its own item-item similarity where it has one (item-kNN's
shrunk Pearson-baseline correlation over co-raters) or the cosine of its movie embedding. Rarely rated
movies have small, noisy vectors whose cosine can be high by accident, so :class:`NeighbourConfig` can shrink
a candidate's similarity by its support (training ratings ``n``: ``s * n / (n + shrinkage)``) and leave out
candidates under ``min_support``. The defaults were chosen on validation rows by ``bench/neighbours.py``:
how often a movie's neighbours are movies the same users liked in held-out rows, each such pair weighted by
the inverse of how many liked the neighbour (else listing the same blockbusters for every movie wins).
item-kNN's similarity, which already shrinks by co-raters, with a minimum support of 5, came out best.
"""

from typing import Literal

import numpy as np
import pandas as pd
import torch
from pydantic import Field

from recsys import columns as C
from recsys.data.vocab import UNKNOWN_IDX, Vocabulary
from recsys.models import RatingModel
from recsys.strict import StrictConfig

NEIGHBOUR_VARIANT = "knn"  # the variant `recsys similar` answers with by default (chosen on validation rows)


class NeighbourConfig(StrictConfig):
    """How a movie's neighbours are found (defaults chosen on validation rows: see the module docstring)."""

    source: Literal["model", "embedding"] = Field(
        "model", description="model: the model's own item similarity when it has one, else its embedding's cosine"
    )
    shrinkage: float = Field(0.0, ge=0, description="similarity times n / (n + shrinkage), n = training ratings")
    min_support: int = Field(5, ge=0, description="candidates with fewer training ratings are left out")


def movie_vectors(model: RatingModel) -> np.ndarray | None:
    """The model's learned movie embedding (n_movies, d) as it declares it (for a blend, that of its first
    member with one); None for a model without any."""
    vectors = model.movie_embedding()
    return None if vectors is None else vectors.detach().cpu().numpy()


def gives_neighbours(model: RatingModel) -> bool:
    """Whether ``model`` can say which movies are alike: it has its own item-item similarity (item-kNN) or
    learned movie vectors to compare."""
    from recsys.ranking import Ranker

    has_similarity = type(model).movie_similarity not in (RatingModel.movie_similarity, Ranker.movie_similarity)
    return has_similarity or model.movie_embedding() is not None


def movie_support(movie_idx: np.ndarray, n_movies: int) -> np.ndarray:
    """Training ratings per movie_idx (n_movies,), from the training rows' movie_idx (N,)."""
    return np.bincount(np.asarray(movie_idx, dtype=np.int64), minlength=n_movies)


@torch.no_grad()
def similarity_rows(model: RatingModel, query_idx: np.ndarray, source: str = "model") -> np.ndarray:
    """Similarity (Q, n_movies) of each query movie_idx (Q,) to every movie: the model's own item similarity
    (``source="model"`` and it has one), else the cosine of its movie embedding; raises without either."""
    query = torch.as_tensor(np.asarray(query_idx, dtype=np.int64))
    own = model.movie_similarity(query) if source == "model" else None
    if own is not None:
        return own.detach().cpu().numpy().astype(np.float64)
    vectors = movie_vectors(model)
    if vectors is None:
        raise ValueError(f"a {type(model).__name__} model has no movie embedding or similarity to compare movies by")
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)  # (n_movies, d)
    return unit[query.numpy()] @ unit.T  # (Q, n_movies)


def nearest_movies(
    similarity: np.ndarray, query_idx: np.ndarray, support: np.ndarray, config: NeighbourConfig, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best movie_idx (Q, n) for each query row of ``similarity`` (Q, n_movies) and their adjusted
    similarities (Q, n): shrunk by support, candidates under ``min_support``, the unknown slot and the query
    itself left out. Ties go to the lower movie_idx."""
    weight = support / (support + config.shrinkage) if config.shrinkage else np.ones(len(support))
    scores = similarity * weight[None, :]
    scores[:, support < config.min_support] = -np.inf
    scores[:, UNKNOWN_IDX] = -np.inf
    scores[np.arange(len(query_idx)), query_idx] = -np.inf
    best = np.argsort(-scores, axis=1, kind="stable")[:, :n]  # (Q, n)
    return best, np.take_along_axis(scores, best, axis=1)


def similar_movies(
    model: RatingModel,
    movie_vocab: Vocabulary,
    support: np.ndarray,
    movie_id: int,
    n: int = 10,
    config: NeighbourConfig = NeighbourConfig(),  # noqa: B008
) -> pd.DataFrame:
    """The ``n`` movies nearest to ``movie_id``: movie_id, similarity and support (training ratings), nearest
    first. Raises for a movie the model never saw."""
    movie_idx = int(movie_vocab.encode(np.array([movie_id]))[0])
    if movie_idx == UNKNOWN_IDX:
        raise ValueError(f"movie {movie_id} has no training ratings, so the model learned nothing about it")
    query = np.array([movie_idx])
    best, scores = nearest_movies(similarity_rows(model, query, config.source), query, support, config, n)
    keep = np.isfinite(scores[0])
    chosen = best[0][keep]
    return pd.DataFrame(
        {C.MOVIE_ID: movie_vocab.decode(chosen), "similarity": scores[0][keep], "support": support[chosen]}
    )


@torch.no_grad()
def recommend(
    model: RatingModel, user_vocab: Vocabulary, movie_vocab: Vocabulary, user_id: int, known: np.ndarray, n: int = 10
) -> pd.DataFrame:
    """The ``n`` movies with the highest predicted rating for ``user_id`` among those not in ``known`` (the
    movie ids the user rated in the rows the model learned from): movie_id and predicted_rating, best first."""
    user_idx = int(user_vocab.encode(np.array([user_id]))[0])
    if user_idx == UNKNOWN_IDX:
        raise ValueError(f"user {user_id} has no training ratings, so there is nothing to go on")
    model.eval()
    scores = model.score_matrix(torch.tensor([user_idx], device=model.low.device))[0].cpu().numpy()
    scores = np.clip(scores.astype(np.float64), model.shape.rating_min, model.shape.rating_max)
    scores[UNKNOWN_IDX] = -np.inf
    scores[movie_vocab.encode(np.asarray(known))] = -np.inf  # an unknown id lands on slot 0, already out
    best = np.argsort(-scores, kind="stable")[:n]
    best = best[np.isfinite(scores[best])]
    return pd.DataFrame({C.MOVIE_ID: movie_vocab.decode(best), "predicted_rating": scores[best]})


def movie_by_title(movies: pd.DataFrame, text: str) -> int:
    """The movie_id whose title is ``text`` or, failing that, the one title containing it (case ignored);
    an unknown or ambiguous title is an error listing the closest titles with their ids."""
    import difflib

    titles = movies[C.TITLE].astype(str)
    wanted = text.strip().lower()
    exact = movies[titles.str.lower() == wanted]
    if len(exact) == 1:
        return int(exact[C.MOVIE_ID].iloc[0])
    named = movies[titles.str.lower().str.replace(r"\s*\(\d{4}\)\s*$", "", regex=True) == wanted]
    if len(exact) == 0 and len(named) == 1:  # the title without its year
        return int(named[C.MOVIE_ID].iloc[0])
    containing = movies[titles.str.lower().str.contains(wanted, regex=False)]
    if len(containing) == 1 and len(exact) == 0:
        return int(containing[C.MOVIE_ID].iloc[0])
    if len(exact) + len(containing):
        shown = (exact if len(exact) else containing).head(10)
        why = f"{len(exact) or len(containing)} movies match {text!r}"
    else:
        close = difflib.get_close_matches(text, titles.tolist(), n=8, cutoff=0.4)
        shown = movies[titles.isin(close)].head(10)
        why = f"no movie is titled {text!r}"
    listing = "; ".join(f"{row[C.MOVIE_ID]}: {row[C.TITLE]}" for row in shown.to_dict("records"))
    raise ValueError(f"{why}; " + (f"closest: {listing}" if listing else "no close title") + " (use the movie id)")


def best_of(scores: np.ndarray, movie_vocab: Vocabulary, leave_out: np.ndarray, n: int) -> pd.DataFrame:
    """The ``n`` best movies of ``scores`` (n_movies,) but the unknown slot and the movie ids ``leave_out``:
    movie_id and score, best first (ties to the lower movie_idx)."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    scores[UNKNOWN_IDX] = -np.inf
    scores[movie_vocab.encode(np.asarray(leave_out))] = -np.inf
    best = np.argsort(-scores, kind="stable")[:n]
    best = best[np.isfinite(scores[best])]
    return pd.DataFrame({C.MOVIE_ID: movie_vocab.decode(best), "score": scores[best]})


@torch.no_grad()
def recommend_ranked(ranker, user_vocab: Vocabulary, movie_vocab: Vocabulary, user_id: int, known, n: int = 10):
    """A ranker's top ``n`` for ``user_id``, the movies ``known`` (ids the user rated in the rows the model
    learned from) left out: movie_id and score, best first."""
    user_idx = int(user_vocab.encode(np.array([user_id]))[0])
    if user_idx == UNKNOWN_IDX:
        raise ValueError(
            f"user {user_id} has no training ratings: give the user's ratings instead (--ratings 858=5,1196=4.5)"
        )
    ranker.eval()
    return best_of(ranker.score_matrix(torch.tensor([user_idx]))[0].numpy(), movie_vocab, known, n)


@torch.no_grad()
def recommend_new_user(ranker, movie_vocab: Vocabulary, given: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """A ranker's top ``n`` for a user it never saw, from ``given`` (movie_id, rating, in the order rated)
    alone, none of the given movies among them (fold-in: no refit). Movies the model does not know are
    refused by name."""
    idx = movie_vocab.encode(given[C.MOVIE_ID].to_numpy())
    unknown = given[C.MOVIE_ID].to_numpy()[idx == UNKNOWN_IDX]
    if len(unknown):
        raise ValueError(f"movie ids the model never saw in training: {', '.join(map(str, unknown.tolist()))}")
    threshold = getattr(ranker.config, "min_rating", None)
    if threshold is not None and not (given[C.RATING].to_numpy() >= threshold).any():
        raise ValueError(
            f"none of the given ratings is {threshold:g} or more, which this {type(ranker).__name__} counts as an "
            "interaction: give at least one movie the user liked"
        )
    ranker.eval()
    scores = ranker.fold_in(torch.from_numpy(idx), torch.from_numpy(given[C.RATING].to_numpy(np.float32)))
    return best_of(scores.numpy(), movie_vocab, given[C.MOVIE_ID].to_numpy(), n)


@torch.no_grad()
def recommend_everyone(
    model, user_vocab: Vocabulary, movie_vocab: Vocabulary, known: pd.DataFrame, n: int = 10, batch_users: int = 256
) -> pd.DataFrame:
    """Every known user's top ``n`` (LensKit's batch recommend): user_id, rank (1 = best), movie_id, score;
    each user's ``known`` rows (user_id, movie_id) left out. Users are scored ``batch_users`` at a time, so
    memory stays at ``batch_users * n_movies`` scores."""
    from recsys.evaluation.metrics.recommend import exclusion_mask, rated_movies

    users = np.arange(1, user_vocab.size, dtype=np.int64)
    exclude = rated_movies(
        user_vocab.encode(known[C.USER_ID].to_numpy()), movie_vocab.encode(known[C.MOVIE_ID].to_numpy())
    )
    model.eval()
    best, values = [], []
    for start in range(0, len(users), batch_users):
        chunk = users[start : start + batch_users]
        scores = model.score_matrix(torch.from_numpy(chunk)).float().cpu()
        scores[exclusion_mask(chunk, exclude, movie_vocab.size)] = float("-inf")
        top = torch.topk(scores, min(n, movie_vocab.size - 1), dim=1)
        best.append(top.indices.numpy())
        values.append(top.values.numpy())
    lists, scores = np.concatenate(best), np.concatenate(values)
    keep = np.isfinite(scores).ravel()
    return pd.DataFrame(
        {
            C.USER_ID: np.repeat(user_vocab.decode(users), lists.shape[1])[keep],
            "rank": np.tile(np.arange(1, lists.shape[1] + 1), len(users))[keep],
            C.MOVIE_ID: movie_vocab.decode(lists.ravel()[keep]),
            "score": scores.ravel()[keep],
        }
    )


def explain(
    model: RatingModel,
    movie_vocab: Vocabulary,
    recommended: np.ndarray,
    rated: pd.DataFrame,
    per_movie: int = 3,
    source: str = "model",
) -> pd.DataFrame:
    """For each recommended movie_id: the user's own rated movies (``rated``: movie_id, rating) most similar
    to it, ``per_movie`` of them, with the similarity and the user's rating: the "because you rated" list."""
    mine = movie_vocab.encode(rated[C.MOVIE_ID].to_numpy())
    known = mine != UNKNOWN_IDX
    mine, ratings = mine[known], rated[C.RATING].to_numpy()[known]
    query = movie_vocab.encode(np.asarray(recommended))
    similarity = similarity_rows(model, query, source)[:, mine]  # (R, rated)
    rows = []
    for i, movie_id in enumerate(recommended):
        order = np.argsort(-similarity[i], kind="stable")[:per_movie]
        for j in order:
            rows.append((movie_id, int(movie_vocab.decode(mine[j : j + 1])[0]), similarity[i, j], ratings[j]))
    return pd.DataFrame(rows, columns=[C.MOVIE_ID, "because_of", "similarity", "your_rating"])


def served_lists(model, user_vocab: Vocabulary, movie_vocab: Vocabulary, frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """Top-``k`` lists for a served model's request (``frame``: user_id, movie_id and an optional rating),
    one per user_id, in the order first seen: a user whose rows carry ratings is a new user folded in from
    them (rankers only); otherwise the user must be known, and the movies of its rows are left out (the
    caller names what the user has seen; movie_id 0 leaves nothing out). A ranker's list is by its score, a
    rating model's by predicted rating. Returns user_id, rank (1..k), movie_id, score."""
    from recsys.evaluation.predictions import predict_ids
    from recsys.ranking import Ranker

    lists = []
    rated = C.RATING in frame.columns
    for user_id, rows in frame.groupby(C.USER_ID, sort=False):
        given = rows[rows[C.RATING].notna()] if rated else rows.iloc[:0]
        if len(given) and isinstance(model, Ranker):
            top = recommend_new_user(model, movie_vocab, given[[C.MOVIE_ID, C.RATING]], k)
        elif len(given):
            raise ValueError("a rating model cannot fold in a new user's ratings: ask the top-N model (movielens-topn)")
        elif isinstance(model, Ranker):
            top = recommend_ranked(model, user_vocab, movie_vocab, int(user_id), rows[C.MOVIE_ID].to_numpy(), k)
        else:
            if user_vocab.encode(np.array([user_id]))[0] == UNKNOWN_IDX:
                raise ValueError(f"user {user_id} has no training ratings: the model cannot rank movies for it")
            every = movie_vocab.decode(np.arange(1, movie_vocab.size))  # every known movie (0: the unknown slot)
            pairs = pd.DataFrame({C.USER_ID: np.full(len(every), user_id), C.MOVIE_ID: every})
            scores = np.full(movie_vocab.size, -np.inf)
            scores[1:] = predict_ids(model, user_vocab, movie_vocab, pairs)
            top = best_of(scores, movie_vocab, rows[C.MOVIE_ID].to_numpy(), k)
        lists.append(top.assign(**{C.USER_ID: user_id, "rank": np.arange(1, len(top) + 1)}))
    return pd.concat(lists, ignore_index=True)[[C.USER_ID, "rank", C.MOVIE_ID, "score"]]
