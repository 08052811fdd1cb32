"""Named splits of the ratings into train, validation and test rows: random (seeded) or temporal.

The split is a column on the ratings frame (``split`` in {train, val, test}) and is stored as a file, so
every variant and every outside tool scores exactly the same test rows. The validation rows that early
stopping watches are carved from the training part, never from the test rows. A random split cuts
rating sessions in two (most test rows share a user and a day with a training row); temporal splits
measure what a deployed model faces, so report them beside random-split results.
"""

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.config import SplitConfig


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
