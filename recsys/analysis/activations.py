"""Activations of a model's hidden layer, and the per-unit tables built from them.

A forward hook on the hidden layer a model declares (:meth:`recsys.models.base.RatingModel.hidden_layer`, an
``nn.Identity`` its hidden layer's output flows through) records its output while the model predicts a set of
(user, movie) rows; the hook removes itself when the collection ends, also when ``forward`` raises. From the
activations (rows, units) and each row's ``movie_idx``: each unit's highest rows and the distinct movies among
them (with title, release year and mean training rating beside the dataset's averages), and a catalogue that
joins the vocabulary, the movies table and the feature tables. Statistics over units live in
:mod:`recsys.analysis.units`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from recsys import columns as C
from recsys.data.features import FeatureTables
from recsys.data.ingest import release_year
from recsys.data.vocab import Vocabulary
from recsys.models.base import RatingModel

MEAN_RATING, POPULARITY, MAIN_GENRE = "mean_rating", "popularity", "main_genre"  # columns of the feature tables
NO_GENRE = "(no genres listed)"
UNIT, RANK, ROW, ACTIVATION = "unit", "rank", "row", "activation"


def hidden_layer(model: nn.Module) -> nn.Module | None:
    """The module to hook for ``model``'s hidden units, as the model declares it
    (:meth:`recsys.models.base.RatingModel.hidden_layer`); None for a model without a hidden layer."""
    return model.hidden_layer() if isinstance(model, RatingModel) else None


def hidden_layer_name(model: nn.Module) -> str | None:
    """The module path of ``model``'s declared hidden layer (``recurrent_out``, say), for labels; None without."""
    layer = hidden_layer(model)
    return next((name for name, module in model.named_modules() if module is layer), None) if layer else None


@contextmanager
def recorded_outputs(layer: nn.Module) -> Iterator[list[torch.Tensor]]:
    """A list that collects ``layer``'s outputs (detached, on the CPU) while the block runs; the forward hook
    is removed on leaving the block, whether it ends normally or by an exception."""
    outputs: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _module, _inputs, out: outputs.append(out.detach().cpu()))
    try:
        yield outputs
    finally:
        handle.remove()


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode inside the block, its previous mode restored after (dropout off, so the
    activations are the ones predictions use)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def collect_activations(model: nn.Module, layer: nn.Module, user_idx, movie_idx, batch_size: int = 8192) -> np.ndarray:
    """Output of ``layer`` (a submodule of ``model``) for each (user_idx, movie_idx) row: (rows, units) float32,
    row i from row i of the int64 index arrays (B,). Eval mode, no gradients; the model keeps its mode."""
    users, movies = torch.as_tensor(user_idx, dtype=torch.long), torch.as_tensor(movie_idx, dtype=torch.long)
    if users.shape != movies.shape or users.ndim != 1:
        raise ValueError(f"user_idx {tuple(users.shape)} and movie_idx {tuple(movies.shape)} must be equal 1-D")
    device = next(model.parameters()).device
    with evaluating(model), torch.no_grad(), recorded_outputs(layer) as outputs:
        for start in range(0, len(users), batch_size):
            part = slice(start, start + batch_size)
            model(users[part].to(device), movies[part].to(device))
    if len(outputs) != -(-len(users) // batch_size):
        raise ValueError(f"the layer ran {len(outputs)} times for {len(users)} rows: is it used in model.forward?")
    acts = torch.cat(outputs) if outputs else torch.zeros(0, 0)  # (rows, units)
    if acts.ndim != 2:
        raise ValueError(f"the layer's output has shape {tuple(acts.shape[1:])} per row, not (units,)")
    return acts.numpy().astype(np.float32, copy=False)


def movie_catalogue(movie_vocab: Vocabulary, movies: pd.DataFrame, features: FeatureTables) -> pd.DataFrame:
    """One row per known movie, indexed by movie_idx 1..n: movie_id, title, year (float, NaN where unknown;
    from the ``year`` column, or the title's trailing "(YYYY)" when there is none), mean_rating and popularity
    (training rows), main_genre (the first listed) and the ``genre:<name>`` multi-hot columns."""
    info = movies.set_index(C.MOVIE_ID)
    missing = np.setdiff1d(movie_vocab.ids, info.index.to_numpy())
    if len(missing):
        raise ValueError(f"{len(missing)} vocabulary movies are not in the movies table, e.g. {missing[:5].tolist()}")
    if len(features.movie_features) != movie_vocab.size:
        raise ValueError(
            f"feature tables have {len(features.movie_features)} movie rows, the vocabulary {movie_vocab.size}"
        )
    info = info.loc[movie_vocab.ids]
    years = info[C.YEAR] if C.YEAR in info else release_year(info[C.TITLE].astype(str))
    idx = np.arange(1, movie_vocab.size)
    table = features.movie_features.iloc[idx]
    frame = pd.DataFrame(
        {
            C.MOVIE_IDX: idx,
            C.MOVIE_ID: movie_vocab.ids,
            C.TITLE: info[C.TITLE].astype(str).to_numpy(),
            C.YEAR: pd.to_numeric(years, errors="coerce").astype(float).to_numpy(),
            MEAN_RATING: table[MEAN_RATING].to_numpy(float),
            POPULARITY: table[POPULARITY].to_numpy(),
            MAIN_GENRE: [gs[0] if len(gs) else NO_GENRE for gs in info[C.GENRES]],
        },
        index=pd.Index(idx, name=C.MOVIE_IDX),
    )
    genre_columns = [f"genre:{g}" for g in features.genres]
    return pd.concat([frame, table[genre_columns].set_axis(frame.index)], axis=1)


def catalogue_rows(catalogue: pd.DataFrame, movie_idx) -> pd.DataFrame:
    """The catalogue's rows for ``movie_idx`` in that order; raises, naming them, for indices it lacks."""
    movie_idx = np.asarray(movie_idx)
    absent = np.setdiff1d(movie_idx, catalogue.index.to_numpy())
    if len(absent):
        raise ValueError(
            f"movie_idx {absent[:5].tolist()} not in the catalogue: index 0 is the unknown slot (collect "
            "activations on rows of known movies), or the catalogue comes from another vocabulary"
        )
    return catalogue.loc[movie_idx]


def dataset_averages(catalogue: pd.DataFrame) -> dict[str, float]:
    """Averages over the movies rated in training: mean release year (known years) and mean of the movies'
    mean ratings (each movie counts once, as in the per-unit averages)."""
    rated = catalogue[catalogue[POPULARITY] > 0]
    return {C.YEAR: float(np.nanmean(rated[C.YEAR])), C.RATING: float(np.nanmean(rated[MEAN_RATING]))}


def check_rows(acts: np.ndarray, movie_idx) -> np.ndarray:
    """``movie_idx`` as an int64 array (rows,) after checking it matches ``acts`` (rows, units), all finite."""
    movie_idx = np.asarray(movie_idx, dtype=np.int64)
    if acts.ndim != 2 or movie_idx.shape != (acts.shape[0],):
        raise ValueError(f"activations {acts.shape} need one movie_idx per row, got {movie_idx.shape}")
    if not np.isfinite(acts).all():
        raise ValueError("activations hold NaN or infinite values: check the model's weights")
    return movie_idx


def unit_top_rows(acts: np.ndarray, movie_idx, top: int = 20) -> pd.DataFrame:
    """For each unit the ``top`` rows with the highest activation, long: unit, rank (0 = highest; ties keep
    row order), row (position in ``acts``), movie_idx, activation. ``acts`` (rows, units), ``movie_idx``
    (rows,)."""
    movie_idx = check_rows(acts, movie_idx)
    k = min(top, len(acts))
    order = np.argsort(-acts, axis=0, kind="stable")[:k].T  # (units, k) row numbers, highest first
    units = np.repeat(np.arange(acts.shape[1]), k)
    rows = order.ravel()
    return pd.DataFrame(
        {UNIT: units, RANK: np.tile(np.arange(k), acts.shape[1]), ROW: rows, C.MOVIE_IDX: movie_idx[rows]}
    ).assign(**{ACTIVATION: acts[rows, units].astype(float)})


@dataclass(frozen=True)
class UnitTables:
    units: pd.DataFrame  # one row per unit: unit, n_movies, avg_year, avg_rating, the dataset's, differences
    movies: pd.DataFrame  # one row per (unit, distinct movie among its top rows), by best rank


def unit_table(top_rows: pd.DataFrame, catalogue: pd.DataFrame) -> UnitTables:
    """Per unit, the distinct movies among its top rows (``unit_top_rows``): the long table (unit, movie_idx,
    movie_id, title, year, mean_rating, main_genre, rows, best_rank, max_activation), and per unit the average
    release year and average mean rating of those movies beside the dataset's (``dataset_averages``)."""
    movies = (
        top_rows.groupby([UNIT, C.MOVIE_IDX], as_index=False)
        .agg(rows=(ROW, "size"), best_rank=(RANK, "min"), max_activation=(ACTIVATION, "max"))
        .sort_values([UNIT, "best_rank"], ignore_index=True)
    )
    columns = [C.MOVIE_ID, C.TITLE, C.YEAR, MEAN_RATING, MAIN_GENRE]
    movies = pd.concat([movies, catalogue_rows(catalogue, movies[C.MOVIE_IDX])[columns].reset_index(drop=True)], axis=1)
    units = movies.groupby(UNIT, as_index=False).agg(
        n_movies=(C.MOVIE_IDX, "size"), avg_year=(C.YEAR, "mean"), avg_rating=(MEAN_RATING, "mean")
    )
    base = dataset_averages(catalogue)
    units = units.assign(dataset_year=base[C.YEAR], dataset_rating=base[C.RATING])
    units["year_vs_dataset"] = units["avg_year"] - units["dataset_year"]
    units["rating_vs_dataset"] = units["avg_rating"] - units["dataset_rating"]
    return UnitTables(units, movies)


def movie_means(acts: np.ndarray, movie_idx) -> pd.DataFrame:
    """Mean activation of each movie's rows: (movies, units), indexed by movie_idx in ascending order."""
    movie_idx = check_rows(acts, movie_idx)
    return pd.DataFrame(acts, dtype=float).groupby(pd.Index(movie_idx, name=C.MOVIE_IDX)).mean()


def movie_clusters(acts: np.ndarray, movie_idx, standardise: bool = False) -> pd.DataFrame:
    """Each movie's cluster: the unit with its highest mean activation (``movie_means``). Columns movie_idx,
    cluster (unit; -1 when all units tie, e.g. every ReLU unit silent), strength (the winner's mean
    activation). ``standardise`` z-scores each unit over movies first, so units of a larger scale do not
    win every movie (constant units get 0)."""
    means = movie_means(acts, movie_idx)
    values = means.to_numpy()  # (movies, units)
    if standardise:
        spread = values.std(0)
        values = np.divide(values - values.mean(0), spread, out=np.zeros_like(values), where=spread > 0)
    cluster = np.where(values.max(1) > values.min(1), values.argmax(1), -1)
    return pd.DataFrame({C.MOVIE_IDX: means.index.to_numpy(), "cluster": cluster, "strength": values.max(1)})
