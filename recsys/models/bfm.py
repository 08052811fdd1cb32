"""Bayesian factorization machine (Rendle 2012; the "flipped" feature groups of Rendle, Zhang and Koren 2019),
fitted by Gibbs sampling in `myfm <https://github.com/tohtsky/myFM>`_, not by a sampler of our own.

Each rating row is a user-side block (the user's one-hot, and optionally the movies the user rated,
``|N(u)|^-1/2`` each) and a movie-side block (the movie's one-hot, and optionally the users who rated it,
``|N(m)|^-1/2`` each), passed to myfm as two relation blocks, so the sampler never repeats a user's features
per row. The prediction is the mean over the kept posterior samples ``s`` of
``w0_s + Σ_i w_si x_i + Σ_{i<j} <v_si, v_sj> x_i x_j``. Because every row's features split into a user side
and a movie side, each sample's prediction is ``w0_s + a_s(u) + b_s(m) + <P_s(u), Q_s(m)>`` (``a``, ``P``: the
user side's linear and within-side terms and its summed factors), and the mean over samples is
``w0 + a(u) + b(m) + <P(u), Q(m)>`` with ``a``, ``b`` the sample means and ``P``, ``Q`` the samples' factors side
by side (``Q`` divided by the sample count), compressed by a truncated SVD of their product where that is
small (:func:`compressed`). The model keeps those tables as buffers: a checkpoint holds no
myfm object, and prediction, scoring and serving need only PyTorch.

The time bins of timeSVD++ flipped are not among the groups: a prediction here is asked for a (user, movie)
pair without a date. The implicit sets come from the rows the model is fitted on (training rows, or training +
validation for a refit), never from the rows it is scored on.
"""

import contextlib
import io
import logging
import warnings
from typing import Literal

import numpy as np
import scipy.sparse as sps
import torch
from pydantic import Field

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.models.base import ModelConfig, RatingModel

log = logging.getLogger(__name__)
DENSE_UP_TO = 30_000_000  # user-movie pairs up to which the factor tables are compressed (ml-latest-small: 6M)
MAX_TABLES = 2_000_000_000  # bytes of uncompressed factor tables a fit may keep
RMS_ERROR = 1e-4  # the compression's root mean square error over every user-movie pair, in rating points
Implicit = Literal["user_movies", "movie_users"]


class BFMConfig(ModelConfig):
    """Defaults chosen on the validation rows of ml-latest-small's seed-42 split by ``bench/bfm.py`` (groups x
    rank x chain length): both implicit groups, rank 16, the last 250 of 300 sweeps averaged."""

    rank: int = Field(16, ge=1, description="factor dimension of each posterior sample")
    sweeps: int = Field(300, ge=2, description="Gibbs sweeps in all, burn-in included")
    kept: int = Field(250, ge=1, description="last sweeps whose samples are averaged (kept as the model's tables)")
    implicit: tuple[Implicit, ...] = Field(
        ("user_movies", "movie_users"),
        description="implicit feature groups: user_movies (the movies the user rated), movie_users (the users "
        "who rated the movie)",
    )
    init_std: float = Field(0.1, gt=0, description="standard deviation of the factors' first draw")


def _myfm():
    """myfm, imported when a fit needs it (serving a fitted model does not): its 0.4.0 reads its own version
    through pkg_resources, whose deprecation warning is not ours to show."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import myfm
    return myfm


def _side(n_rows: int, rows: np.ndarray, others: np.ndarray, n_others: int, implicit: bool) -> sps.csr_matrix:
    """One side's feature matrix (n_rows, n_rows [+ n_others]): the one-hot, then, with ``implicit``, each row's
    rated set at ``|N|^-1/2``."""
    blocks = [sps.identity(n_rows, format="csr", dtype=np.float64)]
    if implicit:
        rated = sps.csr_matrix((np.ones(len(rows)), (rows, others)), shape=(n_rows, n_others))
        rated.data[:] = 1.0  # a pair rated twice (summed by the constructor) counts once
        counts = np.asarray(rated.sum(axis=1)).ravel()
        blocks.append(sps.diags(1 / np.sqrt(np.maximum(counts, 1))) @ rated)
    return sps.hstack(blocks, format="csr")


def _side_terms(
    features: sps.csr_matrix, squared: sps.csr_matrix, w: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For one sample and one side: each row's linear + within-side pairwise term (n,), and summed factors (n, r);
    ``squared`` is ``features`` squared elementwise, the same for every sample."""
    summed = features @ v
    pairwise = 0.5 * ((summed**2).sum(axis=1) - squared @ (v**2).sum(axis=1))
    return features @ w + pairwise, summed


class BayesianFM(RatingModel):
    fits_directly = True
    sized_buffers = ("user_factors", "movie_factors")

    def __init__(self, config: BFMConfig, shape: ModelShape):
        super().__init__(shape)
        self.config = config
        self.register_buffer("w0", torch.tensor(shape.rating_mean))
        self.register_buffer("user_bias", torch.zeros(shape.n_users))
        self.register_buffer("movie_bias", torch.zeros(shape.n_movies))
        self.register_buffer("user_factors", torch.zeros(shape.n_users, 0))
        self.register_buffer("movie_factors", torch.zeros(shape.n_movies, 0))

    def fit_directly(self, train: RatingTensors, val: RatingTensors) -> None:
        """Gibbs sampling on the training rows (ids dropped to the unknown slot left out); the kept samples
        become the tables. The seed is drawn from PyTorch's generator, which the trainer seeds."""
        myfm = _myfm()
        c, n_users, n_movies = self.config, self.shape.n_users, self.shape.n_movies
        tables = (n_users + n_movies) * min(c.kept, c.sweeps) * c.rank * 4
        if n_users * n_movies > DENSE_UP_TO and tables > MAX_TABLES:
            raise ValueError(
                f"bfm would keep {tables / 1e9:.1f} GB of factor tables for {n_users:,} users and {n_movies:,} movies "
                f"(kept x rank = {min(c.kept, c.sweeps) * c.rank:,} columns each, too many pairs to compress); "
                f"lower variants.bfm.model.kept or rank"
            )
        known = (train.user_idx > 0) & (train.movie_idx > 0)
        users, movies = train.user_idx[known].cpu().numpy(), train.movie_idx[known].cpu().numpy()
        ratings = train.rating[known].cpu().double().numpy()
        user_side = _side(n_users, users, movies, n_movies, "user_movies" in c.implicit)
        movie_side = _side(n_movies, movies, users, n_users, "movie_users" in c.implicit)
        blocks = [myfm.RelationBlock(users, user_side), myfm.RelationBlock(movies, movie_side)]
        groups = [n_users] + ([n_movies] if "user_movies" in c.implicit else [])
        groups += [n_movies] + ([n_users] if "movie_users" in c.implicit else [])
        seed = int(torch.randint(0, 2**31 - 1, ()).item())
        fm = myfm.MyFMRegressor(rank=c.rank, init_stdev=c.init_std, random_seed=seed)
        with contextlib.redirect_stderr(io.StringIO()):  # myfm's own progress bar; _progress logs instead
            fm.fit(
                None,
                ratings,
                X_rel=blocks,
                n_iter=c.sweeps,
                n_kept_samples=min(c.kept, c.sweeps),
                group_shapes=groups,
                callback=_progress(c.sweeps),
            )
        self._keep(fm.predictor_.samples, user_side, movie_side)

    def _keep(self, samples, user_side: sps.csr_matrix, movie_side: sps.csr_matrix) -> None:
        """The sample means and side-by-side factors of the kept samples (see the module's docstring)."""
        n_user_features = user_side.shape[1]
        user_squared, movie_squared = user_side.multiply(user_side).tocsr(), movie_side.multiply(movie_side).tocsr()
        a, b, p, q = 0.0, 0.0, [], []
        for sample in samples:
            w, v = np.asarray(sample.w), np.asarray(sample.V)
            a_s, p_s = _side_terms(user_side, user_squared, w[:n_user_features], v[:n_user_features])
            b_s, q_s = _side_terms(movie_side, movie_squared, w[n_user_features:], v[n_user_features:])
            a, b = a + a_s, b + b_s
            p.append(p_s)
            q.append(q_s)
        n = len(samples)
        device = self.w0.device
        self.w0.fill_(float(np.mean([s.w0 for s in samples])))
        user_bias, user_factors = a / n, np.hstack(p)
        user_bias[0], user_factors[0] = 0.0, 0.0  # the unknown slot: no draws of its own, the movie's terms alone
        movie_bias, movie_factors = b / n, np.hstack(q) / n
        movie_bias[0], movie_factors[0] = 0.0, 0.0
        self.user_bias.copy_(torch.from_numpy(user_bias))
        self.movie_bias.copy_(torch.from_numpy(movie_bias))
        user_factors, movie_factors = compressed(user_factors, movie_factors)
        self.user_factors = torch.from_numpy(user_factors).float().to(device)
        self.movie_factors = torch.from_numpy(movie_factors).float().to(device)

    def _clamped(self, out: torch.Tensor) -> torch.Tensor:
        return out.clamp(float(self.low), float(self.low + self.span))

    def forward(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        interaction = (self.user_factors[user_idx] * self.movie_factors[movie_idx]).sum(-1)
        return self._clamped(self.w0 + self.user_bias[user_idx] + self.movie_bias[movie_idx] + interaction)

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        out = self.user_factors[user_idx] @ self.movie_factors.T
        out += self.w0 + self.user_bias[user_idx, None] + self.movie_bias[None, :]
        return self._clamped(out)

    def movie_embedding(self) -> torch.Tensor | None:
        return self.movie_factors


def compressed(
    p: np.ndarray, q: np.ndarray, dense_up_to: int = DENSE_UP_TO, rms_error: float = RMS_ERROR
) -> tuple[np.ndarray, np.ndarray]:
    """Tables of fewer columns whose products give ``p @ q.T`` to within ``rms_error`` (root mean square over
    every user-movie pair), where that product has at most ``dense_up_to`` entries; else ``p``, ``q`` as they
    are. The side-by-side factors of many samples have more columns than the product has rank (ml-latest-small:
    671 users against 300 samples x rank 8 = 2,400 columns), so a truncated SVD of the product keeps them
    smaller with no measurable change."""
    n_users, n_movies = len(p), len(q)
    if p.shape[1] <= 1 or n_users * n_movies > dense_up_to:
        return p, q
    u, sigma, vt = np.linalg.svd(p @ q.T, full_matrices=False)
    dropped = np.sqrt(np.cumsum((sigma**2)[::-1])[::-1] / (n_users * n_movies))  # error when keeping k = index
    keep = int(np.argmax(np.append(dropped, 0.0) <= rms_error))
    if keep >= p.shape[1]:
        return p, q
    root = np.sqrt(sigma[:keep])  # split between the sides: the movie table stays an embedding to compare by
    return u[:, :keep] * root, vt[:keep].T * root


def _progress(sweeps: int):
    """A myfm callback that logs every tenth of the sweeps (instead of myfm's own progress bar) and never stops."""
    step = max(1, sweeps // 10)

    def callback(i, fm, hyper, history):
        if (i + 1) % step == 0 or i + 1 == sweeps:
            log.info("bfm sweep %d/%d", i + 1, sweeps)
        return False, None

    return callback
