"""The one interface every rating model implements, and the pieces they share.

A model maps a batch of ``user_idx`` (B,) and ``movie_idx`` (B,) int64 tensors to predicted ratings (B,)
float32. Index 0 of both is the learned "unknown" slot (see :mod:`recsys.data.vocab`). Outputs are squashed by
a sigmoid into the rating range widened by :data:`SQUASH_MARGIN` on each side, so the extreme ratings
stay reachable; :func:`recsys.evaluation.predictions.predict` clips to the exact range.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from recsys.data.features import FeatureTables
from recsys.data.tensors import ModelShape, RatingTensors
from recsys.strict import StrictConfig

SQUASH_MARGIN = 0.25
SCORE_PAIRS = 65_536  # (user, movie) pairs one default score_matrix forward reads, as predict batches rows


class ModelConfig(StrictConfig):
    """Base of every model's config."""

    def member_names(self) -> tuple[str, ...]:
        """The variants an ensemble is built from, which must be trained before it; () for a single model."""
        return ()

    def refits_members(self) -> bool:
        """Whether an ensemble retrains its members on training + validation rows after fitting its weights."""
        return False


def user_movie_embeddings(shape: ModelShape, dim: int, init_std: float) -> tuple[nn.Embedding, nn.Embedding]:
    """User (n_users, dim) and movie (n_movies, dim) embedding tables, initialised N(0, init_std)."""
    tables = Embedding(shape.n_users, dim), Embedding(shape.n_movies, dim)
    for table in tables:
        nn.init.normal_(table.weight, std=init_std)
    return tables


class RatingModel(nn.Module):
    """Base class: holds the squashing into the rating range and an optional penalty term.

    - A model that reads the data beyond its shape (the feature tables, or the training ratings themselves:
      the movies each user rated, say) implements :meth:`read_data`, which training calls once after building
      it; it keeps what it needs in buffers (those whose length depends on the data are named in
      ``sized_buffers``, so loading a checkpoint resizes them first), so a loaded checkpoint needs no data.
    - A model fitted in closed form rather than by gradient steps sets ``fits_directly`` and implements
      ``fit_directly``; the one trainer then calls it once instead of running epochs.
    - What the analysis and the answers read of a model is declared here, not found by attribute names:
      :meth:`hidden_layer` (the module whose output is the hidden units), :meth:`movie_embedding` and
      :meth:`movie_similarity`.
    """

    fits_directly = False
    sized_buffers: tuple[str, ...] = ()

    def __init__(self, shape: ModelShape):
        super().__init__()
        self.shape = shape
        low, high = shape.rating_min - SQUASH_MARGIN, shape.rating_max + SQUASH_MARGIN
        start = (shape.rating_mean - low) / (high - low)
        self.register_buffer("low", torch.tensor(low, dtype=torch.float32), persistent=False)
        self.register_buffer("span", torch.tensor(high - low, dtype=torch.float32), persistent=False)
        # logit of the training mean: a raw output of 0 predicts the mean, so training starts there
        self.register_buffer(
            "offset", torch.tensor(math.log(start / (1 - start)), dtype=torch.float32), persistent=False
        )

    def squash(self, raw: torch.Tensor) -> torch.Tensor:
        """Map unbounded scores (B,) into the widened rating range (B,)."""
        return self.low + self.span * torch.sigmoid(raw + self.offset)

    def penalty(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        """Regularisation added to the batch loss (a scalar); none unless a model says otherwise."""
        return torch.zeros((), device=self.low.device)

    def forward(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        """Predicted ratings of every movie_idx for each user (U, n_movies), as ``forward`` gives them; the
        default runs ``forward`` on all pairs, at most :data:`SCORE_PAIRS` at a time (64 users of ml-25m's 59k
        movies in one forward of the LSTM took the analysis past 20 GB); models with a cheaper way (a matrix
        product) override it."""
        n = self.shape.n_movies
        per = max(1, SCORE_PAIRS // n)  # users per forward
        parts = []
        for start in range(0, len(user_idx), per):
            users = user_idx[start : start + per]
            movies = torch.arange(n, device=user_idx.device).repeat(len(users))  # (u * n,)
            parts.append(self(users.repeat_interleave(n), movies).view(len(users), n))
        return torch.cat(parts) if parts else torch.zeros(0, n, device=user_idx.device)

    def hidden_layer(self) -> nn.Module | None:
        """The module whose output (B, units) is the model's hidden layer, for activation analysis: an
        ``nn.Identity`` the hidden layer's output flows through, so a forward hook sees it; None without one."""
        return None

    def movie_embedding(self) -> torch.Tensor | None:
        """The learned movie vectors (n_movies, d), row ``movie_idx``, to compare movies by; None without."""
        return None

    def movie_similarity(self, query_idx: torch.Tensor) -> torch.Tensor | None:
        """The model's own item-item similarity (Q, n_movies) of each query movie_idx (Q,) to every movie, for
        a model that has one (item-kNN); None for the others, whose embedding's cosine serves instead."""
        return None

    def read_data(self, features: FeatureTables, interactions: RatingTensors) -> None:
        """Keep what the model reads of the data it is fitted on: the feature tables, and ``interactions``, the
        ratings it learns from (the training rows, or training + validation rows for a refit). None by
        default."""

    def fit_directly(self, train: RatingTensors, val: RatingTensors) -> float | None:
        """Fit in closed form (only where ``fits_directly``); may return an honest validation MSE when the
        validation rows took part in the fit (a blend fitted on them, say), else None."""
        raise NotImplementedError

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in self.sized_buffers:  # data-sized buffers take the saved size before the copy
            saved, current = state_dict.get(prefix + name), getattr(self, name)
            if saved is not None and saved.shape != current.shape:
                setattr(self, name, torch.empty(saved.shape, dtype=saved.dtype, device=current.device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class Dropout(nn.Dropout):
    """Inverted dropout, as :class:`torch.nn.Dropout`, that draws its CPU mask with ``torch.rand``.

    Same distribution and scaling; only the random stream differs. Why: on the CPU ``nn.Dropout`` draws its
    mask with ``bernoulli_``, which took 2 to 4 times as long as this (forward and backward, 1024 to 16384
    rows of 100 on 2 cores) and up to half of the baseline net's training step; on CUDA the fused
    ``F.dropout`` is already fast and is used as is.
    """

    def __init__(self, p: float = 0.5):
        super().__init__(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if x.is_cuda or self.p == 1:
            return F.dropout(x, self.p, training=True)
        keep = torch.rand_like(x).ge_(self.p).mul_(1 / (1 - self.p))  # same shape as x: 0 or 1/(1-p)
        return x * keep


def distinct_rows(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct values (R,) of ``idx``, sorted, and each entry's position among them (N,)."""
    return torch.unique(idx.reshape(-1), return_inverse=True)


class StepRows:
    """The distinct rows of each index tensor that one training step's lazy lookups read, each found once: a
    model's tables read the same batch (a user's factors and bias both read user_idx), and ``torch.unique`` of
    a batch of 8192 took a third of a millisecond on the CPU (on CUDA it also waits for the device). Shared by
    the tables of one optimiser (:class:`recsys.training.lazy.LazyAdam`), which clears it after each step."""

    def __init__(self) -> None:
        self._found: list[tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]] = []  # (index tensor, its rows)

    def of(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`distinct_rows` of ``idx``, found once per index tensor until :meth:`clear`."""
        for seen, found in self._found:
            if seen is idx:  # the tensor object itself: held here, so its id cannot pass to another
                return found
        found = distinct_rows(idx)
        self._found.append((idx, found))
        return found

    def clear(self) -> None:
        self._found.clear()


class Embedding(nn.Embedding):
    """An embedding table, as :class:`torch.nn.Embedding`, that looks rows up with ``weight.index_select`` on
    the CPU: the same rows forward and the same gradient (up to rounding), but its backward, an
    ``index_add``, took 1.5 to 5 times less time than ``nn.Embedding``'s row-by-row one (4096 indices, tables
    of 672 to 8092 rows of 1 to 50, 2 cores): a quarter of an ``mf`` training step. On CUDA, and with the
    options this path does not implement, ``nn.Embedding``'s own (deterministic) lookup is used.
    """

    # Lazy updates (set by the trainer for large tables, see recsys.training.lazy): while training, a lookup reads
    # the batch's distinct rows into a small leaf tensor and the optimiser updates only those rows, so a step
    # costs O(rows in the batch) instead of O(table) (the dense gradient and dense Adam over 11M values of an
    # ml-25m-sized model were most of each step). A second lookup of the same index tensor in the same step
    # (the penalty after forward) reuses the leaf, so its gradient adds up there.
    lazy: bool = False
    step_rows: StepRows | None = None  # set with ``lazy`` by the optimiser: the step's distinct rows, shared

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        if self.lazy and self.training and torch.is_grad_enabled():
            return self._lazy_lookup(idx)
        plain = self.padding_idx is None and self.max_norm is None and not self.scale_grad_by_freq
        if idx.is_cuda or self.sparse or not plain:
            return super().forward(idx)
        return self.weight.index_select(0, idx.reshape(-1)).view(*idx.shape, self.embedding_dim)  # (*idx, dim)

    def _lazy_lookup(self, idx: torch.Tensor) -> torch.Tensor:
        leaf, inverse = self._lazy_leaf(idx)
        return leaf.index_select(0, inverse).view(*idx.shape, self.embedding_dim)

    def _lazy_leaf(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The step's leaf (R, dim) of the distinct rows of ``idx`` and each entry's position among them (N,)."""
        pending = self.__dict__.setdefault("pending", [])  # (index tensor, rows (R,), leaf (R, dim), inverse (N,))
        for seen, _, leaf, inverse in pending:
            if seen is idx:
                return leaf, inverse
        rows, inverse = distinct_rows(idx) if self.step_rows is None else self.step_rows.of(idx)
        leaf = self.weight.detach().index_select(0, rows).requires_grad_()
        pending.append((idx, rows, leaf, inverse))
        return leaf, inverse

    def weighted_bag_sums(self, idx: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """For each bag ``b`` (entries ``offsets[b]`` up to the next offset of ``idx`` (T,)), the sum of its rows
        times their ``weights`` (T,): (B, dim). Through ``embedding_bag``, which holds no (T, dim) row per entry
        forward or backward, as a lookup followed by a sum does (for I-AutoRec at 25M ratings a batch reads a few
        hundred thousand ratings: several copies of (T, 500) floats were its 10.4 GB peak)."""
        plain = self.padding_idx is None and self.max_norm is None and not self.scale_grad_by_freq
        if not plain or self.sparse:
            raise NotImplementedError("weighted_bag_sums reads a plain table (no padding_idx, max_norm or sparse)")
        if self.lazy and self.training and torch.is_grad_enabled():
            leaf, idx = self._lazy_leaf(idx)
        else:
            leaf = self.weight
        return F.embedding_bag(idx, leaf, offsets, mode="sum", per_sample_weights=weights)

    def summed_squares(self, idx: torch.Tensor) -> torch.Tensor:
        """The sum over the entries of ``idx`` of their rows' squared norms, each distinct row read once and
        counted as often as it occurs."""
        if self.lazy and self.training and torch.is_grad_enabled():
            leaf, inverse = self._lazy_leaf(idx)
        else:
            rows, inverse = distinct_rows(idx)
            leaf = self(rows)
        counts = torch.bincount(inverse.reshape(-1), minlength=len(leaf)).to(leaf.dtype)  # (R,)
        return (leaf.square().sum(1) * counts).sum()

    def take_pending(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The (rows, leaf) of this step's lazy lookups, cleared for the next step."""
        pending = self.__dict__.pop("pending", [])
        return [(rows, leaf) for _, rows, leaf, _ in pending]
