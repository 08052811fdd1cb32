"""``ease``: EASE^R (Steck 2019, "Embarrassingly shallow autoencoders for sparse data"), a linear item-item
model in closed form.

With X the binary (users, movies) interaction matrix and G = X^T X, the item-item weights are
B = argmin ||X - X B||^2 + l2 ||B||^2 subject to diag(B) = 0, whose solution is P = (G + l2 I)^-1,
B_ij = -P_ij / P_jj (i != j), B_jj = 0; a user's scores are x_u B (the row of X times B), a new user's the
same from the row of the movies they give.

B is dense: n_movies^2 float32 (9k movies: 0.33 GB; 59k: 14 GB). Past ``max_movies`` the fit is refused with
a clear message rather than exhausting memory: for catalogues that large, use a factor model (``ials``)."""

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import Field

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.ranking.base import Ranker, RankerConfig, interaction_matrix

MAX_MOVIES = 20_000  # B alone is 1.6 GB of float32 here, its float64 inverse 3.2 GB
GRAM_BLOCK = 1 << 25  # values of the dense block of users gram_matrix multiplies at a time (128 MB of float32)


class EASEConfig(RankerConfig):
    l2: float = Field(400.0, gt=0, description="L2 penalty on the item-item weights")
    max_movies: int = Field(MAX_MOVIES, ge=1, description="refuse catalogues larger than this (B is dense)")


class EASE(Ranker):
    """score(u, m) = sum over the movies j that u interacted with of B_jm."""

    def __init__(self, config: EASEConfig, shape: ModelShape):
        super().__init__(config, shape)
        if shape.n_movies > config.max_movies:
            gb = shape.n_movies**2 * 4 / 1e9
            raise ValueError(
                f"EASE keeps a dense {shape.n_movies} x {shape.n_movies} item-item matrix ({gb:.1f} GB of float32), "
                f"past its limit of {config.max_movies} movies: use the factor ranker `ials` for a catalogue this "
                "large, or raise max_movies if the memory is there"
            )
        self.register_buffer("weights", torch.zeros(shape.n_movies, shape.n_movies))  # B
        self.keeps_history()

    def fit(self, interactions: RatingTensors, *, seed: int = 0) -> "EASE":
        matrix = interaction_matrix(interactions, self.n_users, self.n_movies, self.config.min_rating)
        # a movie nobody interacted with has a zero row and column in G: P is block-diagonal around it and its
        # row and column of B are zero, so only the movies with interactions are inverted (5.4k of 8.1k for
        # ratings of 4 and more on ml-latest-small: 1.2 s against 2.9 s), the same B to float rounding
        active = np.flatnonzero(np.bincount(matrix.indices, minlength=self.n_movies))  # (A,) movie_idx
        everyone = len(active) == self.n_movies
        gram = gram_matrix(matrix if everyone else matrix[:, active])  # G (A, A) float32
        gram.diagonal().add_(self.config.l2)
        # G + l2 I is symmetric positive definite: its inverse from the Cholesky factor, in float32, takes 3.2 s
        # for ml-latest-small's 9k movies against 12.4 s for NumPy's float64 LU inverse, B within 1e-7 of it
        inverse = torch.cholesky_inverse(torch.linalg.cholesky(gram))  # P
        del gram
        block = inverse / -inverse.diagonal()  # column j divided by -P_jj
        del inverse
        block.diagonal().zero_()
        if everyone:
            self.weights = block
        else:  # rows, then columns, into place: two copies rather than one index over A^2 pairs
            active = torch.from_numpy(active)
            rows = torch.zeros(len(active), self.n_movies).index_copy_(1, active, block)
            del block
            self.weights = torch.zeros(self.n_movies, self.n_movies).index_copy_(0, active, rows)
        self.history_ptr = torch.from_numpy(matrix.indptr.astype(np.int64))
        self.history_movies = torch.from_numpy(matrix.indices.astype(np.int64))
        return self

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.unknown_last(self.history_rows(user_idx.cpu()) @ self.weights)

    def movie_similarity(self, query_idx: torch.Tensor) -> torch.Tensor:
        """How much having seen a query movie raises each other movie's score, both ways: (B_qm + B_mq) / 2."""
        query = torch.as_tensor(query_idx)
        return (self.weights[query] + self.weights[:, query].T) / 2

    def fold_in(self, movie_idx: torch.Tensor, rating: torch.Tensor) -> torch.Tensor:
        return self.unknown_last((self.given_row(movie_idx, rating) @ self.weights)[0])


def gram_matrix(matrix: sp.csr_matrix) -> torch.Tensor:
    """G = X^T X (movies, movies) float32 of the interactions ``matrix`` (users, movies), as sparse X^T times
    dense X over blocks of users (:data:`GRAM_BLOCK` values each): 0.2 s on ml-latest-small's training rows
    against 1.2 s for scipy's sparse-times-sparse product, the same counts (exact in float32)."""
    n_users, n_movies = matrix.shape
    gram = torch.zeros(n_movies, n_movies)
    per = max(1, GRAM_BLOCK // max(n_movies, 1))
    for start in range(0, n_users, per):
        block = matrix[start : start + per]
        if block.nnz == 0:
            continue
        transposed = block.T.tocsr()  # (movies, users in the block)
        with warnings.catch_warnings():  # torch calls its CSR support beta; products with dense are what we use
            warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta")
            sparse = torch.sparse_csr_tensor(
                torch.from_numpy(transposed.indptr.astype(np.int64)),
                torch.from_numpy(transposed.indices.astype(np.int64)),
                torch.from_numpy(transposed.data.astype(np.float32)),
                size=transposed.shape,
                check_invariants=False,  # scipy's CSR is valid; checking costs a pass over it
            )
        gram += sparse @ torch.from_numpy(block.toarray().astype(np.float32, copy=False))
    return gram
