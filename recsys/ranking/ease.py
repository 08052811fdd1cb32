"""``ease``: EASE^R (Steck 2019, "Embarrassingly shallow autoencoders for sparse data"), a linear item-item
model in closed form.

With X the binary (users, movies) interaction matrix and G = X^T X, the item-item weights are
B = argmin ||X - X B||^2 + l2 ||B||^2 subject to diag(B) = 0, whose solution is P = (G + l2 I)^-1,
B_ij = -P_ij / P_jj (i != j), B_jj = 0; a user's scores are x_u B (the row of X times B).

B is dense: n_movies^2 float32 (9k movies: 0.33 GB; 59k: 14 GB). Past ``max_movies`` the fit is refused with
a clear message rather than exhausting memory: for catalogues that large, use a factor model (iALS)."""

import numpy as np
import torch

from recsys.data.tensors import RatingTensors
from recsys.ranking.base import Ranker, interaction_matrix

MAX_MOVIES = 20_000  # B alone is 1.6 GB of float32 here, its float64 inverse 3.2 GB


class EASE(Ranker):
    """score(u, m) = sum over the movies j that u interacted with of B_jm."""

    sized_buffers = ("seen_movies",)

    def __init__(
        self, n_users: int, n_movies: int, l2: float = 400.0, min_rating: float | None = None, max_movies=MAX_MOVIES
    ):
        super().__init__(n_users, n_movies)
        if n_movies > max_movies:
            gb = n_movies**2 * 4 / 1e9
            raise ValueError(
                f"EASE keeps a dense {n_movies} x {n_movies} item-item matrix ({gb:.1f} GB of float32), past its "
                f"limit of {max_movies} movies: use a factor ranker (iALS) for a catalogue this large, or raise "
                "max_movies if the memory is there"
            )
        self.l2, self.min_rating = l2, min_rating
        self.register_buffer("weights", torch.zeros(n_movies, n_movies))  # B
        self.register_buffer("seen_ptr", torch.zeros(n_users + 1, dtype=torch.long))  # X as CSR rows
        self.register_buffer("seen_movies", torch.zeros(0, dtype=torch.long))

    def fit(self, interactions: RatingTensors) -> "EASE":
        matrix = interaction_matrix(interactions, self.n_users, self.n_movies, self.min_rating)
        gram = (matrix.T @ matrix).toarray().astype(np.float64)  # G (n_movies, n_movies)
        gram[np.diag_indices_from(gram)] += self.l2
        inverse = np.linalg.inv(gram)  # P
        weights = inverse / -np.diag(inverse)  # column j divided by -P_jj
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights = torch.from_numpy(weights.astype(np.float32))
        self.seen_ptr = torch.from_numpy(matrix.indptr.astype(np.int64))
        self.seen_movies = torch.from_numpy(matrix.indices.astype(np.int64))
        return self

    def rows(self, user_idx: torch.Tensor) -> torch.Tensor:
        """The users' interaction rows (U, n_movies) float32, from the stored CSR."""
        out = torch.zeros(len(user_idx), self.n_movies)
        for row, user in enumerate(user_idx.tolist()):
            out[row, self.seen_movies[self.seen_ptr[user] : self.seen_ptr[user + 1]]] = 1.0
        return out

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.unknown_last(self.rows(user_idx.cpu()) @ self.weights)
