"""``ials``: implicit alternating least squares (Hu, Koren, Volinsky 2008), fitted by the ``implicit`` library.

Every (user, movie) pair is a preference p = 1 if the user interacted with the movie, else 0, weighted by a
confidence c = 1 + alpha for the interactions and 1 for the rest; user and movie factors minimise
sum c (p - x_u . y_m)^2 + regularization (|x|^2 + |y|^2), alternately solved in closed form. A user's scores
are x_u . y_m; a new user's factors are solved against the fixed movie factors (``implicit``'s
``recalculate_user``), so they are scored without refitting. Memory is (users + movies) x factors, so this is
the ranker for catalogues past EASE's dense limit."""

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import Field
from threadpoolctl import threadpool_limits

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.ranking.base import Ranker, RankerConfig, interaction_matrix


class IALSConfig(RankerConfig):
    """Defaults chosen on validation NDCG@10 of ml-latest-small's seed-42 split (bench/topn.py's grid)."""

    min_rating: float | None = Field(4.0, description="count only ratings of this or more as interactions")
    factors: int = Field(128, ge=1, description="latent factors of users and movies")
    regularization: float = Field(50.0, ge=0, description="L2 penalty on the factors")
    alpha: float = Field(
        10.0, gt=0, description="confidence weight of an interaction (implicit multiplies the interactions by it)"
    )
    iterations: int = Field(15, ge=1, description="alternating sweeps")


def _library_model(config: IALSConfig, seed: int):
    from implicit.cpu.als import AlternatingLeastSquares  # imported when used: the library loads its BLAS checks

    with warnings.catch_warnings():  # its BLAS-threads warning: every call here runs under threadpool_limits(1)
        warnings.filterwarnings("ignore", "OpenBLAS is configured", RuntimeWarning)
        return AlternatingLeastSquares(
            factors=config.factors,
            regularization=config.regularization,
            alpha=config.alpha,
            iterations=config.iterations,
            random_state=seed,
            num_threads=torch.get_num_threads(),
        )


class IALS(Ranker):
    """score(u, m) = x_u . y_m, the factors fitted by ``implicit.cpu.als.AlternatingLeastSquares``."""

    def __init__(self, config: IALSConfig, shape: ModelShape):
        super().__init__(config, shape)
        self.register_buffer("user_factors", torch.zeros(shape.n_users, config.factors))
        self.register_buffer("movie_factors", torch.zeros(shape.n_movies, config.factors))

    def fit(self, interactions: RatingTensors, *, seed: int = 0) -> "IALS":
        matrix = interaction_matrix(interactions, self.n_users, self.n_movies, self.config.min_rating)
        with threadpool_limits(1, "blas"):  # implicit runs its own threads; BLAS's pool beside them slows it
            model = _library_model(self.config, seed)
            model.fit(matrix, show_progress=False)
        self.user_factors = torch.from_numpy(np.asarray(model.user_factors, dtype=np.float32))
        self.movie_factors = torch.from_numpy(np.asarray(model.item_factors, dtype=np.float32))
        return self

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.unknown_last(self.user_factors[user_idx.cpu()] @ self.movie_factors.T)

    def movie_embedding(self) -> torch.Tensor:
        return self.movie_factors

    def fold_in(self, movie_idx: torch.Tensor, rating: torch.Tensor) -> torch.Tensor:
        row = sp.csr_matrix(self.given_row(movie_idx, rating).numpy())
        with threadpool_limits(1, "blas"):
            model = _library_model(self.config, seed=0)
            model.item_factors = self.movie_factors.numpy()
            factors = model.recalculate_user(0, row)
        return self.unknown_last(self.movie_factors @ torch.from_numpy(np.asarray(factors, dtype=np.float32)))
