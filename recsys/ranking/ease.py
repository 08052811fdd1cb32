"""``ease``: EASE^R (Steck 2019, "Embarrassingly shallow autoencoders for sparse data"), a linear item-item
model in closed form.

With X the binary (users, movies) interaction matrix and G = X^T X, the item-item weights are
B = argmin ||X - X B||^2 + l2 ||B||^2 subject to diag(B) = 0, whose solution is P = (G + l2 I)^-1,
B_ij = -P_ij / P_jj (i != j), B_jj = 0; a user's scores are x_u B (the row of X times B), a new user's the
same from the row of the movies they give.

B is kept dense over the movies with at least ``min_support`` interactions (the others have no weights): A^2
float32 for A of them (ml-latest-small: 4.3k of 9k movies, 74 MB; every movie of 59k would be 14 GB). Past
``max_movies`` in the catalogue the fit is refused with a clear message rather than exhausting memory: for
catalogues that large, use a factor model (``ials``)."""

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import Field

from recsys.data.tensors import ModelShape, RatingTensors, spread_square
from recsys.ranking.base import Ranker, RankerConfig, interaction_matrix

MAX_MOVIES = 20_000  # B alone is 1.6 GB of float32 here, its float64 inverse 3.2 GB
GRAM_BLOCK = 1 << 25  # values of the dense block of users gram_matrix multiplies at a time (128 MB of float32)


class EASEConfig(RankerConfig):
    l2: float = Field(400.0, gt=0, description="L2 penalty on the item-item weights")
    max_movies: int = Field(MAX_MOVIES, ge=1, description="refuse catalogues larger than this (B is dense)")
    min_support: int = Field(
        3, ge=1, description="movies with fewer training interactions take no part (no weights to or from them)"
    )


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
        self.register_buffer("kept", torch.zeros(0, dtype=torch.long))  # (A,) ascending movie_idx with weights
        self.register_buffer("kept_weights", torch.zeros(0, 0))  # B among the kept movies (A, A)
        self.sized_buffers = ("kept", "kept_weights")
        self.keeps_history()

    def fit(self, interactions: RatingTensors, *, seed: int = 0) -> "EASE":
        matrix = interaction_matrix(interactions, self.n_users, self.n_movies, self.config.min_rating)
        # a movie nobody interacted with has a zero row and column in G: P is block-diagonal around it and its
        # row and column of B are zero, so only the movies with interactions are inverted (5.4k of 8.1k for
        # ratings of 4 and more on ml-latest-small: 1.2 s against 2.9 s), the same B to float rounding. A movie
        # with fewer than min_support interactions is left out too, as if it were not in the data: its weights
        # would be tiny (G_jj of 1 or 2 against l2 in the hundreds), and the inverse is cubic in the movies kept
        # (ml-latest-small, all ratings, l2 400: 7.5k movies in 3.6 s, validation NDCG@10 0.1691; from 3
        # interactions 4.3k movies in 0.85 s, NDCG@10 0.1698; from 2, 0.1697)
        support = np.bincount(matrix.indices, minlength=self.n_movies)
        active = np.flatnonzero(support >= self.config.min_support)  # (A,) movie_idx
        gram = gram_matrix(matrix[:, active])  # G (A, A) float32
        gram.diagonal().add_(self.config.l2)
        # G + l2 I is symmetric positive definite: its inverse from the Cholesky factor, in float32, takes 3.2 s
        # for ml-latest-small's 9k movies against 12.4 s for NumPy's float64 LU inverse, B within 1e-7 of it
        inverse = torch.cholesky_inverse(torch.linalg.cholesky(gram))  # P
        del gram
        block = inverse / -inverse.diagonal()  # column j divided by -P_jj
        del inverse
        block.diagonal().zero_()
        self.kept, self.kept_weights = torch.from_numpy(active.astype(np.int64)), block
        self.history_ptr = torch.from_numpy(matrix.indptr.astype(np.int64))
        self.history_movies = torch.from_numpy(matrix.indices.astype(np.int64))
        return self

    @property
    def weights(self) -> torch.Tensor:
        """B over every movie (n_movies, n_movies): zero rows and columns for the movies without weights."""
        return spread_square(self.kept_weights, self.kept, self.n_movies)

    def _scores(self, rows: torch.Tensor) -> torch.Tensor:
        """x B for binary rows x (U, n_movies): the kept movies' part, zero elsewhere."""
        scores = torch.zeros_like(rows)
        scores[:, self.kept] = rows[:, self.kept] @ self.kept_weights
        return self.unknown_last(scores)

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self._scores(self.history_rows(user_idx.cpu()))

    def movie_similarity(self, query_idx: torch.Tensor) -> torch.Tensor:
        """How much having seen a query movie raises each other movie's score, both ways: (B_qm + B_mq) / 2."""
        query = torch.as_tensor(query_idx, dtype=torch.long).reshape(-1)
        place = torch.searchsorted(self.kept, query).clamp(max=max(len(self.kept) - 1, 0))
        found = (place < len(self.kept)) & (self.kept[place] == query) if len(self.kept) else query < 0
        out = torch.zeros(len(query), self.n_movies)
        at = place[found]
        both = (self.kept_weights[at] + self.kept_weights[:, at].T) / 2  # (F, A)
        out[found] = torch.zeros(len(at), self.n_movies).index_copy_(1, self.kept, both)
        return out

    def fold_in(self, movie_idx: torch.Tensor, rating: torch.Tensor) -> torch.Tensor:
        return self._scores(self.given_row(movie_idx, rating))[0]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        legacy = state_dict.get(prefix + "weights")
        if legacy is not None and prefix + "kept" not in state_dict:  # saved before min_support: B over every movie
            kept = torch.nonzero(legacy.abs().sum(0) + legacy.abs().sum(1)).flatten()
            state_dict[prefix + "kept"], state_dict[prefix + "kept_weights"] = kept, legacy[kept][:, kept]
            del state_dict[prefix + "weights"]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


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
