"""SVD++-style factorisation (Koren 2008): biased MF whose user vector also reads which movies the user
rated in training, the implicit feedback that explicit ratings carry.

Prediction: ``r(u, m) = squash(b_u + b_m + q_m · (p_u + |N(u)|^-1/2 Σ_{j ∈ N(u)} y_j))``, with ``N(u)`` the
movies ``u`` rated in the training rows (kept as buffers, so a checkpoint carries them; the unknown user has
none). Per-rating L2 as in :mod:`recsys.models.mf`, plus ``implicit_l2`` on the ``y`` rows each batch reads.
"""

import torch
from pydantic import Field
from torch import nn

from recsys.data.tensors import ModelShape
from recsys.models.base import Embedding
from recsys.models.interactions import cap_segments, group_by, segment_sums, segments
from recsys.models.mf import MatrixFactorization, MFConfig

CHUNK_INPUTS = 1 << 20  # rated movies one no-grad step reads: 1M x dim floats


class SVDppConfig(MFConfig):
    implicit_l2: float = Field(60.0, ge=0, description="L2 on the implicit factors y, per use in a batch")
    max_implicit: int | None = Field(
        32,
        ge=1,
        description="from implicit_cap_from training rows, at most this many of a user's rated movies (a fixed "
        "random subset) make the implicit sum: a heavy rater of a large release has thousands, read on every "
        "batch; None: all of them",
    )
    implicit_cap_from: int = Field(500_000, ge=0, description="training rows from which max_implicit applies")


class SVDpp(MatrixFactorization):
    sized_buffers = ("rated_movies",)

    def __init__(self, config: SVDppConfig, shape: ModelShape):
        super().__init__(config, shape)
        self.implicit_factors = Embedding(shape.n_movies, config.dim)
        nn.init.normal_(self.implicit_factors.weight, std=config.init_std)
        self.register_buffer("rated_ptr", torch.zeros(shape.n_users + 1, dtype=torch.long))
        self.register_buffer("rated_movies", torch.zeros(0, dtype=torch.long))
        self._last_reads = None  # (user_idx tensor, buffer state, its reads): see reads

    def read_data(self, features, interactions) -> None:
        """Keep, for each user, the movies they rated in ``interactions`` (ids dropped to the unknown slot
        excluded; on a large release at most ``max_implicit`` of them)."""
        train = interactions
        known = (train.user_idx > 0) & (train.movie_idx > 0)
        users, movies = train.user_idx[known], train.movie_idx[known]
        cap = self.config.max_implicit if len(train) >= self.config.implicit_cap_from else None
        if cap is not None:  # a fixed random subset of each heavy rater's movies
            kept, _, _ = cap_segments(torch.arange(len(users)), users, self.shape.n_users, cap)
            users, movies = users[kept], movies[kept]
        ptr, movies = group_by(users, self.shape.n_users, movies)
        self.rated_ptr.copy_(ptr)
        self.rated_movies = movies.to(self.rated_ptr.device)
        self._last_reads = None

    def reads(self, user_idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The batch's distinct users (U,) and each row's position among them (B,); the positions in
        ``rated_movies`` of those users' rated movies (T,), and which of the U users owns each (T,).
        Kept for the last batch: the trainer's ``penalty`` call reads the same batch as ``forward`` did."""
        # valid for the same batch tensor, unchanged, over the same rated-movie buffers (not reloaded or moved)
        state = (user_idx._version, self.rated_ptr.data_ptr(), self.rated_ptr._version, self.rated_movies.data_ptr())
        if self._last_reads is not None and self._last_reads[0] is user_idx and self._last_reads[1] == state:
            return self._last_reads[2]
        users, inverse = torch.unique(user_idx, return_inverse=True)
        positions, owner = segments(self.rated_ptr, users)
        self._last_reads = (user_idx, state, (users, inverse, positions, owner))
        return self._last_reads[2]

    def implicit(self, user_idx: torch.Tensor) -> torch.Tensor:
        """``|N(u)|^-1/2 Σ_{j ∈ N(u)} y_j`` for each row (B, dim); zeros for a user with no rated movies.
        Without gradients (validation, scoring) the users are summed in chunks of ``CHUNK_INPUTS`` movies."""
        dim = self.config.dim
        if torch.is_grad_enabled():
            users, inverse, positions, owner = self.reads(user_idx)
            y = self.implicit_factors(self.rated_movies[positions])  # (T, dim)
            sums = torch.zeros(len(users), dim, dtype=y.dtype, device=y.device).index_add(0, owner, y)
        else:
            users, inverse = torch.unique(user_idx, return_inverse=True)
            rated = lambda positions: self.implicit_factors(self.rated_movies[positions])  # noqa: E731
            sums = segment_sums(self.rated_ptr, users, rated, dim, CHUNK_INPUTS)  # (U, dim)
        sizes = (self.rated_ptr[users + 1] - self.rated_ptr[users]).clamp(min=1).to(sums.dtype)  # (U,)
        return (sums * sizes.rsqrt()[:, None])[inverse]  # (B, dim)

    def forward(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        p, q = self.user_factors(user_idx) + self.implicit(user_idx), self.movie_factors(movie_idx)  # (B, dim) each
        raw = (p * q).sum(1) + self.user_bias(user_idx)[:, 0] + self.movie_bias(movie_idx)[:, 0]
        return self.squash(raw)  # (B,)

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.scores_with(self.user_factors(user_idx) + self.implicit(user_idx), user_idx)

    def penalty(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        """MF's per-rating L2, plus ``implicit_l2`` times the squared norm of every y row the batch reads,
        counted once per reading row and divided by the rows' total rated movies (a heavy rater's many
        y rows are not each penalised as hard as a single movie factor)."""
        users, inverse, positions, owner = self.reads(user_idx)
        rows_per_user = torch.bincount(inverse, minlength=len(users)).to(self.implicit_factors.weight.dtype)  # (U,)
        movies = self.rated_movies[positions]  # (T,)
        if self.implicit_factors.lazy and self.training:  # the same sum from the rows read (lazy updates)
            weights = rows_per_user[owner]  # (T,)
            implicit = (weights * self.implicit_factors(movies).square().sum(1)).sum() / weights.sum().clamp(min=1)
            return super().penalty(user_idx, movie_idx) + self.config.implicit_l2 * implicit
        uses = torch.zeros_like(self.implicit_factors.weight[:, 0]).index_add(0, movies, rows_per_user[owner])
        implicit = uses @ self.implicit_factors.weight.square().sum(1) / uses.sum().clamp(min=1)
        return super().penalty(user_idx, movie_idx) + self.config.implicit_l2 * implicit


__all__ = ["SVDpp", "SVDppConfig"]
