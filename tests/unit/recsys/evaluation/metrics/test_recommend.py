import numpy as np
import pytest
import torch
from torch import nn

from recsys.evaluation.metrics import rated_movies, top_n_recommendations

# scores of user_idx 0..2 (rows) for movie_idx 0..5 (columns); slot 0 scores highest, and must never come back
TABLE = torch.tensor(
    [
        [9.0, 1.0, 5.0, 3.0, 4.0, 2.0],
        [9.0, 5.0, 4.0, 3.0, 2.0, 1.0],
        [9.0, 2.0, 2.0, 2.0, 2.0, 2.0],
    ]
)


class TableModel(nn.Module):
    """Scores from a fixed (users, movies) table."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(TABLE.clone())

    def forward(self, user_idx, movie_idx):
        return self.table[user_idx, movie_idx]


class BufferModel(nn.Module):
    """The same table as a buffer: a model without parameters."""

    def __init__(self):
        super().__init__()
        self.register_buffer("table", TABLE.clone())

    def forward(self, user_idx, movie_idx):
        return self.table[user_idx, movie_idx]


class Csr:
    """The two fields of a scipy CSR matrix that top_n_recommendations reads."""

    indptr = np.array([0, 0, 2, 2])
    indices = np.array([1, 3])


def test_best_first_leaving_out_slot_0_and_rated_movies():
    # user 0: 2 (5), 4 (4), 3 (3); user 1 rated 1 and 3 -> 2 (4), 4 (2), 5 (1); user 2: all tie, lower idx first
    out = top_n_recommendations(TableModel(), [0, 1, 2], 6, {1: np.array([1, 3])}, n=3)
    assert out.dtype == np.int64
    assert out.tolist() == [[2, 4, 3], [2, 4, 5], [1, 2, 3]]


def test_batches_csr_and_plain_callables_give_the_same_lists():
    expected = top_n_recommendations(TableModel(), [0, 1, 2], 6, {1: [1, 3]}, n=3)
    assert np.array_equal(top_n_recommendations(TableModel(), [0, 1, 2], 6, {1: [1, 3]}, n=3, batch_users=1), expected)
    assert np.array_equal(top_n_recommendations(TableModel(), [0, 1, 2], 6, Csr(), n=3, batch_users=2), expected)
    assert np.array_equal(top_n_recommendations(BufferModel(), [0, 1, 2], 6, {1: [1, 3]}, n=3), expected)
    assert np.array_equal(top_n_recommendations(lambda u, m: TABLE[u, m], [0, 1, 2], 6, {1: [1, 3]}, n=3), expected)


def test_rated_movies_from_training_indices():
    rated = rated_movies(np.array([2, 1, 2, 1, 2]), np.array([5, 3, 1, 3, 4]))
    assert list(rated) == [1, 2]
    assert rated[1].tolist() == [3] and rated[2].tolist() == [1, 4, 5]


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="user_idx 1 has fewer than n=4"):
        top_n_recommendations(TableModel(), [0, 1], 6, {1: [1, 3]}, n=4)
    with pytest.raises(ValueError, match="ids instead of indices"):
        top_n_recommendations(TableModel(), [0], 6, {0: [17]}, n=2)
    with pytest.raises(ValueError, match="NaN"):
        top_n_recommendations(lambda u, m: torch.full(u.shape, float("nan")), [0], 6, {}, n=2)
    with pytest.raises(ValueError, match="n must be"):
        top_n_recommendations(TableModel(), [0], 6, {}, n=0)
    with pytest.raises(ValueError, match="exclude must be"):
        top_n_recommendations(TableModel(), [0], 6, [[1]], n=2)


def test_rated_movies_of_no_rows_is_empty_and_negative_indices_are_refused():
    assert rated_movies(np.array([], dtype=np.int64), np.array([], dtype=np.int64)) == {}
    with pytest.raises(ValueError, match="vocabulary indices"):
        rated_movies(np.array([1, 2]), np.array([3, -1]))
