"""Named splits of the ratings into train, validation and test rows: random (seeded) or temporal.

The split is a column on the ratings frame (``split`` in {train, val, test}) and is stored as a file, so
every variant and every outside tool scores exactly the same test rows. The validation rows that early
stopping watches are carved from the training part, never from the test rows. A random split cuts
rating sessions in two (most test rows share a user and a day with a training row); temporal splits
measure what a deployed model faces, so report them beside random-split results.
"""

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from recsys import columns as C
from recsys.strict import StrictConfig


class SplitConfig(StrictConfig):
    """How ratings are divided into train, validation and test rows.

    - ``random``: a seeded random ``test_fraction``, then ``val_fraction`` of the rest (seed 42 and 80/20
      follow the reference study's protocol);
    - ``temporal_global``: one time cut: the latest ``test_fraction`` of ratings are the test rows, the
      latest ``val_fraction`` of the rest are the validation rows;
    - ``temporal_user``: each user's last ``last_n`` ratings are test rows and the ``last_n`` before them
      validation rows (a user keeps at least one training rating).
    """

    kind: Literal["random", "temporal_global", "temporal_user"] = "random"
    seed: int = 42
    test_fraction: float = Field(0.2, gt=0, lt=1)
    val_fraction: float = Field(0.1, ge=0, lt=1, description="share of the training part held out")
    last_n: int = Field(5, ge=1, description="temporal_user: ratings per user held out for test (and val)")

    @property
    def name(self) -> str:
        if self.kind == "temporal_user":
            return f"{self.kind}-{self.last_n}"
        if self.kind == "temporal_global":
            return f"{self.kind}-{self.test_fraction:g}-{self.val_fraction:g}"
        return f"{self.kind}-{self.seed}-{self.test_fraction:g}-{self.val_fraction:g}"


def make_split(ratings: pd.DataFrame, config: SplitConfig) -> pd.DataFrame:
    """Return a copy of ``ratings`` with a ``split`` column, as ``config`` names it; row order is kept."""
    if config.kind == "random":
        return split_random(ratings, config.seed, config.test_fraction, config.val_fraction)
    if config.kind == "temporal_global":
        return split_temporal_global(ratings, config.test_fraction, config.val_fraction)
    return split_temporal_user(ratings, config.last_n)


def split_random(
    ratings: pd.DataFrame, seed: int, test_fraction: float = 0.2, val_fraction: float = 0.1
) -> pd.DataFrame:
    """A seeded random test share, then a validation share of what remains."""
    _check_fractions(test_fraction, val_fraction)
    n = len(ratings)
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    n_val = int(round((n - n_test) * val_fraction))
    return _labelled(ratings, order[:n_test], order[n_test : n_test + n_val])


def split_temporal_global(ratings: pd.DataFrame, test_fraction: float = 0.2, val_fraction: float = 0.1) -> pd.DataFrame:
    """One time cut: the latest ratings are test rows, the latest of the rest validation rows (ties by row)."""
    _check_fractions(test_fraction, val_fraction)
    n = len(ratings)
    newest_first = np.argsort(-ratings[C.TIMESTAMP].to_numpy(), kind="stable")
    n_test = int(round(n * test_fraction))
    n_val = int(round((n - n_test) * val_fraction))
    return _labelled(ratings, newest_first[:n_test], newest_first[n_test : n_test + n_val])


def split_temporal_user(ratings: pd.DataFrame, last_n: int = 5) -> pd.DataFrame:
    """Each user's ``last_n`` latest ratings are test rows, the ``last_n`` before them validation rows;
    users with few ratings give up fewer, always keeping at least one training rating."""
    order = np.lexsort((-ratings[C.TIMESTAMP].to_numpy(), ratings[C.USER_ID].to_numpy()))
    users = ratings[C.USER_ID].to_numpy()[order]
    rank = np.arange(len(order)) - np.searchsorted(users, users)  # 0 = the user's newest rating
    _, inverse, counts = np.unique(users, return_inverse=True, return_counts=True)
    held = np.minimum(2 * last_n, counts[inverse] - 1)  # ratings held out per user, test first
    test = order[(rank < np.minimum(last_n, held))]
    val = order[(rank >= np.minimum(last_n, held)) & (rank < held)]
    return _labelled(ratings, test, val)


def learned_parts(refit: bool) -> tuple[str, ...]:
    """The parts of a split a run's rating models learn from: training rows, and validation rows when they are
    refitted on them (a run's ``refit``). A reference model (the biases-only gate, the claims' biases) learns
    from the same, to be compared like for like."""
    return (C.TRAIN, C.VAL) if refit else (C.TRAIN,)


def rows_of(split: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one part (``train``, ``val`` or ``test``) of a split frame."""
    return split[split[C.SPLIT] == name]


def _check_fractions(test_fraction: float, val_fraction: float) -> None:
    if not 0 < test_fraction < 1 or not 0 <= val_fraction < 1:
        raise ValueError(f"fractions must lie in (0, 1): test={test_fraction}, val={val_fraction}")


def _labelled(ratings: pd.DataFrame, test: np.ndarray, val: np.ndarray) -> pd.DataFrame:
    labels = np.full(len(ratings), C.TRAIN, dtype=object)
    labels[test] = C.TEST
    labels[val] = C.VAL
    out = ratings.copy()
    out[C.SPLIT] = pd.Categorical(labels, categories=[C.TRAIN, C.VAL, C.TEST])
    return out
