"""Vocabularies: the mapping between external ids (``*_id``) and embedding positions (``*_idx``).

A vocabulary is fitted on the training rows only. Position 0 is reserved for ids the training rows
never showed (a movie rated only in the test rows, say); real ids take positions 1..n in sorted order.
Models learn an explicit "unknown" embedding in slot 0 (the trainer feeds it by id dropout), so a
cold user or movie is predicted as an average one, and the number of such rows is always reported.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

UNKNOWN_IDX = 0


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Sorted unique external ids; the id at position ``i`` of ``ids`` has index ``i + 1``."""

    ids: np.ndarray

    @property
    def size(self) -> int:
        """Number of embedding rows needed: every known id plus the unknown slot."""
        return len(self.ids) + 1

    def encode(self, ids: np.ndarray | pd.Series) -> np.ndarray:
        """External ids to indices (int64, same shape); ids not in the vocabulary map to 0."""
        values = np.asarray(ids)
        if len(self.ids) == 0:
            return np.full(values.shape, UNKNOWN_IDX, dtype=np.int64)
        pos = np.searchsorted(self.ids, values)
        pos_clipped = np.minimum(pos, len(self.ids) - 1)
        known = (pos < len(self.ids)) & (self.ids[pos_clipped] == values)
        return np.where(known, pos_clipped + 1, UNKNOWN_IDX).astype(np.int64)

    def decode(self, idx: np.ndarray) -> np.ndarray:
        """Indices back to external ids; the unknown slot has no id and raises."""
        idx = np.asarray(idx)
        if (idx == UNKNOWN_IDX).any():
            raise ValueError("index 0 is the unknown slot and has no external id")
        return self.ids[idx - 1]

    def to_frame(self, id_column: str, idx_column: str) -> pd.DataFrame:
        """The vocabulary as a two-column frame (for Parquet and for logging)."""
        return pd.DataFrame({id_column: self.ids, idx_column: np.arange(1, len(self.ids) + 1)})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, id_column: str, idx_column: str) -> "Vocabulary":
        ordered = frame.sort_values(idx_column)
        if not np.array_equal(ordered[idx_column].to_numpy(), np.arange(1, len(frame) + 1)):
            raise ValueError(f"column {idx_column!r} must hold 1..n exactly once each")
        return cls(ordered[id_column].to_numpy(dtype=np.int64))


def fit_vocabulary(ids: pd.Series | np.ndarray) -> Vocabulary:
    """A vocabulary over the distinct values of ``ids`` (the training rows' ids)."""
    return Vocabulary(np.unique(np.asarray(ids, dtype=np.int64)))
