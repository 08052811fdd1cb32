"""Item-kNN with baselines (Koren 2010; Surprise's ``KNNBaseline``), fitted in closed form.

Prediction: ``r(u, m) = μ + b_u + b_m + Σ_j s_mj (r_uj - μ - b_u - b_j) / Σ_j s_mj`` over the ``k`` movies ``j``
the user rated in training that are most similar to ``m`` (positive similarities only; the baseline alone
when there are none). Baselines by alternating least squares with ridge ``reg_user`` / ``reg_movie``;
similarity the shrunk Pearson-baseline correlation of the baseline residuals over co-rating users,
``s_mj = ρ_mj · (n_mj - 1) / (n_mj - 1 + shrinkage)``.

Up to ``dense_up_to`` movies, a checkpoint holds the baselines and the training residuals (a few MB), and
the dense movie-by-movie similarity (``n_movies²`` floats: 330 MB for ml-latest-small's 9,066 movies) is
recomputed from them on first use. Beyond (ml-25m's 59k movies would need 14 GB), each movie keeps only its
``keep`` most similar movies, computed in blocks and saved with the model (:mod:`recsys.models.neighbours`).
"""

import hashlib
from collections import OrderedDict
from typing import Literal

import torch
from pydantic import Field

from recsys.data.tensors import ModelShape, spread_square
from recsys.models.base import ModelConfig, RatingModel
from recsys.models.biases import fit_biases
from recsys.models.interactions import group_by
from recsys.models.neighbours import neighbour_offsets, top_neighbours


class KNNConfig(ModelConfig):
    based_on: Literal["movie", "user"] = Field(
        "movie", description="neighbours among the user's rated movies, or among the users who rated the movie"
    )
    k: int = Field(40, ge=1, description="neighbours per prediction")
    shrinkage: float = Field(100.0, ge=0, description="pseudo co-raters that pull a similarity to 0")
    reg_user: float = Field(15.0, ge=0)
    reg_movie: float = Field(10.0, ge=0)
    baseline_iterations: int = Field(10, ge=1)
    dense_up_to: int = Field(20_000, ge=0, description="movies up to which the similarity is kept dense")
    keep: int = Field(200, ge=1, description="large catalogues: the most similar movies each movie keeps")
    max_user_ratings: int = Field(
        1000, ge=1, description="large catalogues: a user's ratings (a seeded sample) entering the similarity"
    )


class ItemKNN(RatingModel):
    fits_directly = True
    sized_buffers = ("train_user", "train_movie", "residual", "nbr_ptr", "nbr_idx", "nbr_sim", "train_keys")

    def __init__(self, config: KNNConfig, shape: ModelShape):
        super().__init__(shape)
        self.sparse = shape.n_movies > config.dense_up_to  # a large catalogue: each movie's best neighbours only
        if self.sparse and config.based_on == "user":
            raise ValueError(
                f"knn based on users keeps a dense user-by-user similarity: with {shape.n_movies:,} movies use "
                "based_on: movie, which keeps each movie's best neighbours only"
            )
        self.config = config
        for name, dtype in (
            ("nbr_ptr", torch.long),
            ("nbr_idx", torch.long),
            ("nbr_sim", None),
            ("train_keys", torch.long),
        ):
            self.register_buffer(name, torch.zeros(0, dtype=dtype or torch.float32))
        self.register_buffer("mean", torch.tensor(shape.rating_mean))
        self.register_buffer("user_bias", torch.zeros(shape.n_users))
        self.register_buffer("movie_bias", torch.zeros(shape.n_movies))
        self.register_buffer("train_user", torch.zeros(0, dtype=torch.long))
        self.register_buffer("train_movie", torch.zeros(0, dtype=torch.long))
        self.register_buffer("residual", torch.zeros(0))
        self._cache: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def fit_directly(self, train, val) -> None:
        """Baselines, then residuals, from the training rows (ids dropped to the unknown slot excluded)."""
        known = (train.user_idx > 0) & (train.movie_idx > 0)
        users, movies, ratings = train.user_idx[known], train.movie_idx[known], train.rating[known].double()
        mean = ratings.mean()
        c = self.config
        bu, bm = fit_biases(users, movies, ratings - mean, self.shape, c.reg_user, c.reg_movie, c.baseline_iterations)
        device = self.mean.device
        self.mean.fill_(float(mean))
        self.user_bias.copy_(bu.float())
        self.movie_bias.copy_(bm.float())
        self.train_user, self.train_movie = users.to(device), movies.to(device)
        self.residual = (ratings - mean - bu[users] - bm[movies]).float().to(device)
        self._cache = None
        if self.sparse:
            self._fit_neighbours()
        return None

    def _fit_neighbours(self) -> None:
        """The sparse neighbour table and the sorted (user, movie) keys of the training rows (see
        :mod:`recsys.models.neighbours`); residuals are reordered to follow the keys."""
        c, size = self.config, (self.shape.n_users, self.shape.n_movies)
        users, movies, residual = self.train_user.cpu(), self.train_movie.cpu(), self.residual.cpu()
        table = top_neighbours(users, movies, residual, size, c.shrinkage, c.keep, c.max_user_ratings)
        self.nbr_ptr, self.nbr_idx, self.nbr_sim = table
        keys = users * self.shape.n_movies + movies
        order = torch.argsort(keys)
        self.train_keys, self.residual = keys[order], residual[order]
        self.train_user, self.train_movie = users[order], movies[order]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self._cache = None  # the similarity belongs to the residuals being replaced
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def tables(self) -> tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]:
        """The training residuals grouped by the entity whose rated neighbours are searched (the user for
        movie neighbours, the movie for user neighbours): row pointers (as a list), neighbour indices and
        residuals; and the shrunk similarity of the neighbours. Built once from the buffers."""
        if self._cache is None or self._cache[2].device != self.residual.device:
            side = self.shape.n_movies if self.config.based_on == "movie" else self.shape.n_users
            if side**2 > KEEP_TABLES_UP_TO:
                self._cache = self._build_tables()  # too large to keep beside the model
                return self._cache
            key = self._tables_key()
            self._cache = _TABLES.get(key) or self._build_tables()
            _TABLES[key] = self._cache
            _TABLES.move_to_end(key)
            while len(_TABLES) > TABLES_KEPT:
                _TABLES.popitem(last=False)
        return self._cache

    def _tables_key(self) -> tuple:
        """What the tables are a function of: the settings, the shape, the device and the training residuals."""
        digest = hashlib.blake2b(digest_size=16)
        for tensor in (self.train_keys, self.residual):
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        shape = (self.shape.n_users, self.shape.n_movies)
        return self.config.based_on, self.config.shrinkage, shape, str(self.residual.device), digest.hexdigest()

    def _build_tables(self) -> tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]:
        """Build the tables of :meth:`tables` from the buffers."""
        by_user = self.config.based_on == "movie"
        rows, cols = (self.train_user, self.train_movie) if by_user else (self.train_movie, self.train_user)
        n_rows, n_cols = (self.shape.n_users, self.shape.n_movies)[:: 1 if by_user else -1]
        z = torch.zeros(n_rows, n_cols, device=self.residual.device).index_put_((rows, cols), self.residual)
        rated = torch.zeros_like(z).index_put_((rows, cols), torch.ones_like(self.residual))
        # a movie rated once has at most one co-rater with any other, and (n - 1) shrinks its similarities to
        # exactly 0: they are left out of the products (ml-latest-small: 3k of 8k movies; the products are
        # quadratic in the movies kept) and their rows and columns stay 0
        kept = torch.nonzero(rated.sum(0) >= 2).flatten()
        if len(kept) == n_cols:
            sim = similarity(z, rated, self.config.shrinkage)
        else:
            block = similarity(z[:, kept], rated[:, kept], self.config.shrinkage)
            del z
            sim = spread_square(block, kept, n_cols)
        ptr, neighbours, residuals = group_by(rows, n_rows, cols, self.residual)
        return ptr.tolist(), neighbours, residuals, sim

    def movie_similarity(self, query_idx: torch.Tensor) -> torch.Tensor | None:
        """Rows of the shrunk Pearson-baseline similarity (Q, n_movies), 0 beyond a large catalogue's kept
        neighbours; None when neighbours are users."""
        if self.config.based_on != "movie":
            return None
        if not self.sparse:
            return self.tables()[3].index_select(0, query_idx.to(self.residual.device))
        rows = torch.zeros(len(query_idx), self.shape.n_movies)
        for i, movie in enumerate(query_idx.tolist()):
            first, last = int(self.nbr_ptr[movie]), int(self.nbr_ptr[movie + 1])
            rows[i, self.nbr_idx[first:last]] = self.nbr_sim[first:last]
        return rows

    def _predict(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        """A large catalogue's prediction from each movie's kept neighbours (B,), in the widened range."""
        table = (self.nbr_ptr, self.nbr_idx, self.nbr_sim)
        rated = (self.train_keys, self.residual, self.shape.n_movies)
        users, movies = user_idx.cpu(), movie_idx.cpu()
        offset = (
            torch.cat(
                [
                    neighbour_offsets(users[s : s + 4096], movies[s : s + 4096], table, rated, self.config.k)
                    for s in range(0, len(users), 4096)
                ]
            )
            if len(users)
            else torch.zeros(0)
        )
        out = self.mean.cpu() + self.user_bias.cpu()[users] + self.movie_bias.cpu()[movies] + offset
        return out.clamp(float(self.low), float(self.low + self.span)).to(user_idx.device)

    def forward(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        """Rows grouped by user (or by movie for user neighbours): each group reads the similarities of its
        targets to its own rated neighbours only, (rows, |N|) rather than (rows, all movies)."""
        if self.sparse:
            return self._predict(user_idx, movie_idx)
        ptr, neighbours, residuals, sim = self.tables()
        rows, targets = (user_idx, movie_idx) if self.config.based_on == "movie" else (movie_idx, user_idx)
        order = torch.argsort(rows, stable=True)
        groups, counts = torch.unique_consecutive(rows[order], return_counts=True)
        offset = torch.zeros(len(rows), device=sim.device)
        start = 0
        for row, n in zip(groups.tolist(), counts.tolist(), strict=True):
            positions, start = order[start : start + n], start + n
            first, last = ptr[row], ptr[row + 1]
            if last > first:
                s = similarities(sim, targets[positions], neighbours[first:last])  # (n, |N|)
                offset[positions] = self.weighted_residual(s, residuals[first:last])
        out = self.mean + self.user_bias[user_idx] + self.movie_bias[movie_idx] + offset
        return out.clamp(self.low, self.low + self.span)  # (B,) inside the widened range, as squash would keep it

    def weighted_residual(self, s: torch.Tensor, residuals: torch.Tensor) -> torch.Tensor:
        """For similarities ``s`` (n, |N|) to neighbours with ``residuals`` (|N|,): the similarity-weighted mean
        residual of the ``k`` most similar, positive similarities only (n,); 0 where there is none."""
        top, best = s.topk(min(self.config.k, s.shape[1]), dim=1)  # (n, k)
        weights = top.clamp(min=0)
        total = weights.sum(1)
        return (weights * residuals[best]).sum(1) / total.clamp(min=1e-9) * (total > 0)

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        """All movies for each user (U, n_movies): per user, the similarity of every movie to the user's rated
        movies (n_movies, |N|), one column gather."""
        if self.config.based_on == "user":
            return super().score_matrix(user_idx)
        if self.sparse:
            movies = torch.arange(self.shape.n_movies)
            return torch.stack([self._predict(u.repeat(len(movies)), movies) for u in user_idx.cpu()])
        ptr, neighbours, residuals, sim = self.tables()
        offset = torch.zeros(len(user_idx), self.shape.n_movies, device=sim.device)
        for i, user in enumerate(user_idx.tolist()):
            first, last = ptr[user], ptr[user + 1]
            if last > first:
                offset[i] = self.weighted_residual(sim.index_select(1, neighbours[first:last]), residuals[first:last])
        out = self.mean + self.user_bias[user_idx, None] + self.movie_bias[None, :] + offset
        return out.clamp(self.low, self.low + self.span)


# The tables of the last models whose tables were built, by what they are a function of: a run loads the same
# trained knn (and the blend's knn member) from its checkpoint again and again (its test, the blend's, each step of
# the analysis), and building the similarity took 1.8 s of ml-latest-small's dense 8k x 8k each time (16 times
# in a train-all). Kept for the refit's and the first fit's tables, while the similarity is at most 100M values
# (0.4 GB: 10k movies).
TABLES_KEPT = 2
KEEP_TABLES_UP_TO = 100_000_000
_TABLES: OrderedDict[tuple, tuple] = OrderedDict()


def similarities(sim: torch.Tensor, targets: torch.Tensor, neighbours: torch.Tensor) -> torch.Tensor:
    """``sim[targets][:, neighbours]`` (n, |N|), gathering along the cheaper axis first."""
    if len(targets) * 4 < sim.shape[0]:
        return sim.index_select(0, targets).index_select(1, neighbours)
    return sim.index_select(1, neighbours).index_select(0, targets)


def similarity(z: torch.Tensor, rated: torch.Tensor, shrinkage: float) -> torch.Tensor:
    """Shrunk Pearson-baseline similarity (n_movies, n_movies) of residual columns ``z`` over the users who
    rated both movies; the diagonal is 0 (a movie is not its own neighbour)."""
    dot = z.T @ z  # (M, M): Σ_u z_um z_uj over co-raters (z is 0 where unrated)
    squares = (z * z).T @ rated  # (M, M): Σ over co-raters of z_um²
    norm = (squares * squares.T).sqrt_()
    co_raters = rated.T @ rated  # (M, M)
    del z
    sim = dot.div_(norm.clamp_(min=1e-12))
    co_raters.sub_(1).clamp_(min=0)
    sim.mul_(co_raters / (co_raters + shrinkage).clamp_(min=1e-12))
    sim.fill_diagonal_(0.0)
    return sim
