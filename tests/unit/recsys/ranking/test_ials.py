"""iALS through the ``implicit`` library on a tiny set whose answer is known: two groups of users who watch
disjoint movies; a user is recommended the movie of their own group they have not seen."""

import torch

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.ranking import IALS, IALSConfig


def test_ials_recommends_within_the_users_own_group():
    pairs = []
    for user in range(1, 9):  # users 1-4 watch movies 1-4, users 5-8 movies 5-8, each missing one
        group = range(1, 5) if user <= 4 else range(5, 9)
        missing = group[(user - 1) % 4]
        pairs += [(user, movie) for movie in group if movie != missing]
    users, movies = zip(*pairs, strict=True)
    rows = RatingTensors(torch.tensor(users), torch.tensor(movies), torch.full((len(pairs),), 5.0))
    config = IALSConfig(factors=4, regularization=0.01, alpha=10.0, iterations=20, min_rating=None)
    ranker = IALS(config, ModelShape(9, 9, 0.5, 5.0, 3.5)).fit(rows, seed=0)
    scores = ranker.score_matrix(torch.arange(1, 9))
    for row, user in enumerate(range(1, 9)):
        group = set(range(1, 5)) if user <= 4 else set(range(5, 9))
        other = set(range(1, 9)) - group
        missing = sorted(group)[(user - 1) % 4]
        assert scores[row, missing] > max(scores[row, m] for m in other)
    again = IALS(config, ModelShape(9, 9, 0.5, 5.0, 3.5)).fit(rows, seed=0)
    assert torch.equal(again.movie_factors, ranker.movie_factors)  # seeded: the same factors
