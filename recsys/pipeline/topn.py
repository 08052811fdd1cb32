"""The ranking family's training, by the one top-N protocol (:mod:`recsys.evaluation.ranking`): a ranker's
settings chosen on validation NDCG@10 (each candidate fitted on the training rows, scored against the
validation rows), the chosen one refitted on training + validation rows (what the run knows) and scored once on
the test rows. The flow's rank task, the bench and the champion's recipe refitted for promotion all call this.

Rankers are given their interactions in time order (``gru4rec`` reads each user's history as a sequence)."""

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from recsys import columns as C
from recsys.data.tensors import RatingTensors, SplitData
from recsys.data.vocab import UNKNOWN_IDX
from recsys.evaluation.metrics.recommend import rated_movies
from recsys.evaluation.metrics.topn import relevant_sets
from recsys.evaluation.ranking import TopNScores, score_topn
from recsys.models import build_model, get_variant
from recsys.ranking import Ranker, RankerConfig

SELECTION_METRIC = "ndcg@10"


def in_time_order(data: SplitData, parts: tuple[str, ...]) -> RatingTensors:
    """The rows of ``parts`` as one set of tensors, oldest first (ties in the order the parts are given)."""
    tensors = [data.tensors(part) for part in parts]
    stamps = torch.cat([data.timestamps(part) for part in parts])
    order = torch.from_numpy(np.argsort(stamps.numpy(), kind="stable"))
    return RatingTensors(
        torch.cat([t.user_idx for t in tensors])[order],
        torch.cat([t.movie_idx for t in tensors])[order],
        torch.cat([t.rating for t in tensors])[order],
    )


@dataclass(frozen=True)
class Protocol:
    """The top-N protocol's inputs for one held-out part: the eligible users (a held-out movie rated
    ``relevant_at`` or more), their relevant movies, what each user's list leaves out (the known rows' movies),
    and the known rows' popularity (for novelty)."""

    users: np.ndarray
    relevant: dict[int, np.ndarray]
    exclude: dict[int, np.ndarray]
    popularity: np.ndarray
    n_users_total: int

    @classmethod
    def of(cls, known: RatingTensors, held_out: RatingTensors, n_movies: int, relevant_at: float = 4.0) -> "Protocol":
        relevant = relevant_sets(
            held_out.user_idx.numpy(), held_out.movie_idx.numpy(), held_out.rating.numpy(), relevant_at
        )
        relevant.pop(UNKNOWN_IDX, None)  # users without a training row: index 0 would merge them into one
        popularity = np.bincount(known.movie_idx.numpy(), minlength=n_movies)
        popularity[0] = 0
        return cls(
            np.array(sorted(relevant), dtype=np.int64),
            relevant,
            rated_movies(known.user_idx.numpy(), known.movie_idx.numpy()),
            popularity,
            int(len(np.unique(known.user_idx.numpy()))),
        )

    def score(self, ranker, *, n_boot: int = 1000, seed: int = 0) -> TopNScores:
        return score_topn(
            ranker,
            self.users,
            self.relevant,
            self.exclude,
            self.popularity,
            self.n_users_total,
            n_boot=n_boot,
            seed=seed,
        )


def candidates(config: RankerConfig, grid: Mapping[str, list]) -> list[RankerConfig]:
    """``config`` with every combination of the ``grid``'s values (field -> values) set; just ``config`` when
    the grid is empty."""
    if not grid:
        return [config]
    keys = list(grid)
    return [  # validated like any config: a grid value out of its field's bounds is an error naming it
        type(config).model_validate(config.model_dump() | dict(zip(keys, values, strict=True)))
        for values in itertools.product(*grid.values())
    ]


def fit_ranker(name: str, config: RankerConfig, data: SplitData, interactions: RatingTensors, *, seed: int) -> Ranker:
    """Ranker ``name`` built with ``config`` (seeded) and fitted on ``interactions``."""
    if get_variant(name).family != "topn":
        raise ValueError(f"{name!r} is a rating model, not a ranker")
    ranker = build_model(name, config, data.shape, seed=seed)
    return ranker.fit(interactions, seed=seed)


@dataclass(frozen=True)
class Tried:
    config: RankerConfig
    validation: TopNScores
    fit_seconds: float

    def row(self) -> dict:
        return {
            "params": self.config.model_dump(),
            "val_" + SELECTION_METRIC: self.validation.metrics[SELECTION_METRIC],
            "fit_seconds": self.fit_seconds,
        }


@dataclass(frozen=True)
class RankerResult:
    """A ranker chosen on validation and tested once: its settings, every candidate tried, the ranker refitted
    on training + validation rows, and its test scores."""

    name: str
    config: RankerConfig
    tried: list[Tried]
    ranker: Ranker
    test: TopNScores
    fit_seconds: float
    scoring_seconds: float

    @property
    def validation(self) -> TopNScores:
        return max(self.tried, key=lambda t: t.validation.metrics[SELECTION_METRIC]).validation


def choose_and_test(
    name: str,
    config: RankerConfig,
    grid: Mapping[str, list],
    data: SplitData,
    *,
    seed: int,
    n_boot: int = 1000,
    progress: Callable[[str], None] = lambda line: None,
) -> RankerResult:
    """Every candidate of ``config`` and ``grid`` fitted on ``data``'s training rows and scored on its
    validation rows; the best by validation NDCG@10 refitted on training + validation rows, scored once on the
    test rows."""
    n_movies = data.shape.n_movies
    train = in_time_order(data, (C.TRAIN,))
    on_val = Protocol.of(train, data.tensors(C.VAL), n_movies)
    tried = []
    for candidate in candidates(config, grid):
        started = time.perf_counter()
        ranker = fit_ranker(name, candidate, data, train, seed=seed)
        seconds = time.perf_counter() - started
        scores = on_val.score(ranker, n_boot=100, seed=seed)
        del ranker
        tried.append(Tried(candidate, scores, seconds))
        changed = {k: v for k, v in candidate.model_dump().items() if k in grid}
        value = scores.metrics[SELECTION_METRIC]
        progress(f"{name} {changed or 'defaults'}: validation NDCG@10 {value:.4f} ({seconds:.1f}s)")
    chosen = max(tried, key=lambda t: t.validation.metrics[SELECTION_METRIC]).config
    del train
    known = in_time_order(data, (C.TRAIN, C.VAL))
    started = time.perf_counter()
    ranker = fit_ranker(name, chosen, data, known, seed=seed)
    fitted = time.perf_counter()
    test = Protocol.of(known, data.tensors(C.TEST), n_movies).score(ranker, n_boot=n_boot, seed=seed)
    return RankerResult(name, chosen, tried, ranker, test, fitted - started, time.perf_counter() - fitted)
