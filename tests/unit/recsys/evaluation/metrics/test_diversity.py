import numpy as np
import pytest

from recsys.evaluation.metrics import diversity_metrics, gini, movie_popularity

# two lists of two; popularity of movie_idx 0 (unknown slot) .. 4 among 4 training users
RECOMMENDED = np.array([[1, 2], [1, 3]])
POPULARITY = np.array([0, 4, 2, 1, 1])


def test_diversity_on_four_slots_by_hand():
    # catalogue: movies 1..4 (slot 0 left out); recommended {1, 2, 3} -> coverage 3/4
    # popularity of the four slots 4, 2, 4, 1 -> mean 11/4
    # p(i) = 4/4, 2/4, 4/4, 1/4 -> -log2: 0, 1, 0, 2 -> novelty 3/4 bits
    # exposure of movies 1..4 = 2, 1, 1, 0 -> sorted 0, 1, 1, 2 with weights 2i - m - 1 = -3, -1, 1, 3:
    #   (0 - 1 + 1 + 6) / (m 4 * total 4) = 6/16
    m = diversity_metrics(RECOMMENDED, POPULARITY, n_users_total=4)
    assert m["coverage"] == pytest.approx(0.75) and (m["n_recommended"], m["n_catalogue"]) == (3, 4)
    assert m["mean_popularity"] == pytest.approx(2.75)
    assert m["novelty"] == pytest.approx(0.75)
    assert m["gini"] == pytest.approx(0.375)


def test_gini_of_equal_and_of_single_movie_exposure():
    assert gini(np.full(5, 7)) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 0, 9])) == pytest.approx(4 / 5)  # (m - 1) / m
    # every catalogue movie recommended once: equal exposure
    assert diversity_metrics(np.array([[1, 2], [3, 4]]), POPULARITY, 4)["gini"] == pytest.approx(0.0)


def test_popularity_from_training_indices():
    assert movie_popularity(np.array([1, 1, 3, 1]), 5).tolist() == [0, 3, 0, 1, 0]
    with pytest.raises(ValueError, match="outside 0..4"):
        movie_popularity(np.array([5]), 5)


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="movie_idx 0 is the unknown slot"):
        diversity_metrics(np.array([[0, 1]]), POPULARITY, 4)
    with pytest.raises(ValueError, match="movie_idx 7 is the unknown slot or out of range"):
        diversity_metrics(np.array([[7, 1]]), POPULARITY, 4)
    with pytest.raises(ValueError, match="movie_idx 2 has no training rating"):
        diversity_metrics(np.array([[2, 1]]), np.array([0, 4, 0]), 4)
    with pytest.raises(ValueError, match="between 0 and 3 users"):
        diversity_metrics(RECOMMENDED, POPULARITY, 3)
    with pytest.raises(ValueError, match="non-empty"):
        diversity_metrics(np.array([1, 2]), POPULARITY, 4)
    with pytest.raises(ValueError, match="not all zero"):
        gini(np.zeros(3))
