"""Seeded, named splits of the ratings into train, validation and test rows.

The split is a column on the ratings frame (``split`` in {train, val, test}) and is stored as a file, so
every variant and every outside tool scores exactly the same test rows. The validation rows that early
stopping watches are carved from the training part, never from the test rows.
"""

import numpy as np
import pandas as pd

from recsys import columns as C


def split_random(
    ratings: pd.DataFrame, seed: int, test_fraction: float = 0.2, val_fraction: float = 0.1
) -> pd.DataFrame:
    """Return a copy of ``ratings`` with a ``split`` column: a seeded random test share, then a
    validation share of what remains; row order is kept."""
    if not 0 < test_fraction < 1 or not 0 <= val_fraction < 1:
        raise ValueError(f"fractions must lie in (0, 1): test={test_fraction}, val={val_fraction}")
    n = len(ratings)
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    n_val = int(round((n - n_test) * val_fraction))
    labels = np.full(n, C.TRAIN, dtype=object)
    labels[order[:n_test]] = C.TEST
    labels[order[n_test : n_test + n_val]] = C.VAL
    out = ratings.copy()
    out[C.SPLIT] = pd.Categorical(labels, categories=[C.TRAIN, C.VAL, C.TEST])
    return out


def rows_of(split: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one part (``train``, ``val`` or ``test``) of a split frame."""
    return split[split[C.SPLIT] == name]
