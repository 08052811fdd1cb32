"""Answers from a trained model: a user's top movies among those they have not rated, and a movie's nearest
neighbours in a learned embedding. External ids in and out; the vocabularies do the mapping."""

import numpy as np
import pandas as pd
import torch

from recsys import columns as C
from recsys.data.vocab import UNKNOWN_IDX, Vocabulary
from recsys.models import RatingModel


def movie_vectors(model: RatingModel) -> np.ndarray | None:
    """The model's learned movie embedding (n_movies, d) as it declares it (for a blend, that of its first
    member with one); None for a model without any."""
    vectors = model.movie_embedding()
    return None if vectors is None else vectors.detach().cpu().numpy()


@torch.no_grad()
def recommend(
    model: RatingModel, user_vocab: Vocabulary, movie_vocab: Vocabulary, user_id: int, rated: np.ndarray, n: int = 10
) -> pd.DataFrame:
    """The ``n`` movies with the highest predicted rating for ``user_id`` among those not in ``rated`` (the
    movie ids the user rated in training): movie_id and predicted_rating, best first."""
    user_idx = int(user_vocab.encode(np.array([user_id]))[0])
    if user_idx == UNKNOWN_IDX:
        raise ValueError(f"user {user_id} has no training ratings, so there is nothing to go on")
    model.eval()
    scores = model.score_matrix(torch.tensor([user_idx], device=model.low.device))[0].cpu().numpy()
    scores = np.clip(scores.astype(np.float64), model.shape.rating_min, model.shape.rating_max)
    scores[UNKNOWN_IDX] = -np.inf
    scores[movie_vocab.encode(np.asarray(rated))] = -np.inf  # rated ones (an unknown id lands on slot 0, already out)
    best = np.argsort(-scores, kind="stable")[:n]
    best = best[np.isfinite(scores[best])]
    return pd.DataFrame({C.MOVIE_ID: movie_vocab.decode(best), "predicted_rating": scores[best]})


def similar_movies(model: RatingModel, movie_vocab: Vocabulary, movie_id: int, n: int = 10) -> pd.DataFrame:
    """The ``n`` movies nearest to ``movie_id`` by cosine similarity of the model's movie embedding:
    movie_id and cosine, nearest first."""
    vectors = movie_vectors(model)
    if vectors is None:
        raise ValueError(f"a {type(model).__name__} model has no movie embedding to compare movies by")
    movie_idx = int(movie_vocab.encode(np.array([movie_id]))[0])
    if movie_idx == UNKNOWN_IDX:
        raise ValueError(f"movie {movie_id} has no training ratings, so it has no learned embedding")
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)  # (n_movies, d)
    cosine = unit @ unit[movie_idx]  # (n_movies,)
    cosine[[UNKNOWN_IDX, movie_idx]] = -np.inf
    best = np.argsort(-cosine, kind="stable")[:n]
    return pd.DataFrame({C.MOVIE_ID: movie_vocab.decode(best), "cosine": cosine[best]})
