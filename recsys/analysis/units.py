"""Do hidden units divide movies by rating and release year, or by genre? Statistics over a layer's units.

Each unit is described at the movie level by its mean activation over the movie's rows
(:func:`recsys.analysis.activations.movie_means`), over the movies with a known release year and a mean training
rating (so every measure below uses the same movies):

- ``corr_rating``, ``corr_year``: Pearson correlation with the movie's mean rating, and with its year;
- ``r_rating_year`` and ``r_genre``: the multiple correlation R of an ordinary least-squares fit (with an
  intercept) of the unit on {rating, year} (2 predictors), and on the genre multi-hot (one predictor per
  genre), each adjusted for its number of predictors: ``sqrt(max(0, adjusted R²))``. These two are the
  comparable pair: both are "how much of the unit's variation across movies a linear model of that
  description explains", on one scale, and the adjustment removes what ~20 genre columns would explain by
  chance. Genre still gets the richer model (a free weight per genre against two slopes), so a verdict for
  rating and year is conservative. ``max_genre_corr`` (the largest point-biserial |r| with one genre
  indicator) is shown as a description only: a maximum over ~20 genres is biased upward against a single r.
- genre lift among the unit's top movies (the distinct movies among its top rows): share of those movies in
  a genre / share of all rated movies in it, for genres held by at least ``min_count`` of them.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.analysis.activations import (
    MEAN_RATING,
    POPULARITY,
    UNIT,
    UnitTables,
    catalogue_rows,
    dataset_averages,
    movie_clusters,
    movie_means,
    unit_table,
    unit_top_rows,
)


def genre_columns(catalogue: pd.DataFrame) -> list[str]:
    return [c for c in catalogue.columns if c.startswith("genre:")]


def pearson(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``values`` (n, units) with ``target`` (n,): (units,), NaN where a
    column or the target is constant."""
    x = values - values.mean(0)
    y = target - target.mean()
    scale = np.sqrt((x**2).sum(0) * (y**2).sum())
    return np.divide(x.T @ y, scale, out=np.full(x.shape[1], np.nan), where=scale > 1e-12)


def adjusted_r(values: np.ndarray, predictors: np.ndarray) -> np.ndarray:
    """Multiple correlation of each column of ``values`` (n, units) with ``predictors`` (n, p) by least squares
    with an intercept, adjusted for the predictors' rank k: ``sqrt(max(0, 1 - (1 - R²)(n - 1)/(n - k - 1)))``;
    (units,), NaN for a constant column or too few rows."""
    x = predictors - predictors.mean(0)
    y = values - values.mean(0)
    coef, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    total = (y**2).sum(0)
    r2 = 1 - np.divide(((y - x @ coef) ** 2).sum(0), total, out=np.full(y.shape[1], np.nan), where=total > 1e-12)
    dof = len(y) - rank - 1
    if dof <= 0:
        return np.full(y.shape[1], np.nan)
    return np.sqrt(np.clip(1 - (1 - r2) * (len(y) - 1) / dof, 0, None))


def max_genre_corr(values: np.ndarray, genres: np.ndarray, names: list[str]) -> tuple[np.ndarray, list]:
    """Largest point-biserial |r| of each unit (column of ``values`` (n, units)) with any one genre indicator
    (column of ``genres`` (n, G)), and that genre's name: (units,) each; NaN and None for a constant unit."""
    corr = np.abs(np.stack([pearson(values, g) for g in genres.T], axis=1))  # (units, G), NaN: constant genre
    filled = np.nan_to_num(corr, nan=-1.0)
    peak, best = filled.max(1), filled.argmax(1)
    return np.where(peak < 0, np.nan, peak), [names[j] if p >= 0 else None for j, p in zip(best, peak, strict=True)]


def genre_lift(unit_movies: pd.DataFrame, catalogue: pd.DataFrame, min_count: int = 2, show: int = 3):
    """Per unit: ``top_genres`` ("Horror ×3.1, Thriller ×2.0", the ``show`` highest lifts), ``max_lift`` and
    ``max_lift_genre``, over the unit's movies in ``unit_movies`` (``UnitTables.movies``) and genres held by at
    least ``min_count`` of them; lift = share among the unit's movies / share among all rated movies."""
    columns = genre_columns(catalogue)
    names = [c.split(":", 1)[1] for c in columns]
    base = catalogue.loc[catalogue[POPULARITY] > 0, columns].mean().to_numpy(float)  # (G,) base rates
    held = catalogue_rows(catalogue, unit_movies[C.MOVIE_IDX])[columns].to_numpy(float)  # (unit movies, G)
    rows = []
    for unit, positions in unit_movies.groupby(UNIT).indices.items():
        count = held[positions].sum(0)  # (G,)
        lift = np.where((count >= min_count) & (base > 0), count / len(positions) / np.maximum(base, 1e-12), np.nan)
        order = [j for j in np.argsort(-np.nan_to_num(lift, nan=-1.0))[:show] if lift[j] == lift[j]]  # not NaN
        shown = ", ".join(f"{names[j]} ×{lift[j]:.1f}" for j in order)
        rows.append((unit, shown, lift[order[0]] if order else np.nan, names[order[0]] if order else None))
    return pd.DataFrame(rows, columns=[UNIT, "top_genres", "max_lift", "max_lift_genre"])


def unit_correlations(
    acts: np.ndarray, movie_idx, catalogue: pd.DataFrame, unit_movies: pd.DataFrame, min_count: int = 2
) -> pd.DataFrame:
    """One row per unit: n_movies_used, corr_rating, corr_year, r_rating_year, r_genre, max_genre_corr(_genre),
    and the genre lift of its top movies (``genre_lift``); see the module docstring for each measure."""
    means = movie_means(acts, movie_idx)
    info = catalogue_rows(catalogue, means.index)
    usable = (info[C.YEAR].notna() & info[MEAN_RATING].notna()).to_numpy()
    values, info = means.to_numpy()[usable], info[usable]
    rating, year = info[MEAN_RATING].to_numpy(float), info[C.YEAR].to_numpy(float)
    columns = genre_columns(catalogue)
    genres = info[columns].to_numpy(float)
    peak, peak_genre = max_genre_corr(values, genres, [c.split(":", 1)[1] for c in columns])
    out = pd.DataFrame(
        {
            UNIT: np.arange(values.shape[1]),
            "n_movies_used": len(values),
            "corr_rating": pearson(values, rating),
            "corr_year": pearson(values, year),
            "r_rating_year": adjusted_r(values, np.column_stack([rating, year])),
            "r_genre": adjusted_r(values, genres),
            "max_genre_corr": peak,
            "max_genre_corr_genre": peak_genre,
        }
    )
    return out.merge(genre_lift(unit_movies, catalogue, min_count), on=UNIT, how="left")


def summarise_units(correlations: pd.DataFrame) -> dict[str, float]:
    """Numbers that answer "do units divide movies by rating and year more than by genre?", over the live
    units (those with a defined correlation): mean |corr| with rating and with year, mean adjusted R of
    {rating, year} and of genres, the share of units where rating and year explain more than genres, and
    the descriptive mean max point-biserial |r| with one genre and mean max lift."""
    live = correlations[correlations["r_genre"].notna() & correlations["r_rating_year"].notna()]
    return {
        "n_units": float(len(correlations)),
        "n_live_units": float(len(live)),
        "n_movies_used": float(correlations["n_movies_used"].max()) if len(correlations) else 0.0,
        "mean_abs_corr_rating": float(live["corr_rating"].abs().mean()),
        "mean_abs_corr_year": float(live["corr_year"].abs().mean()),
        "mean_r_rating_year": float(live["r_rating_year"].mean()),
        "mean_r_genre": float(live["r_genre"].mean()),
        "share_rating_year_above_genre": float((live["r_rating_year"] > live["r_genre"]).mean()),
        "mean_max_genre_corr": float(live["max_genre_corr"].mean()),
        "mean_max_lift": float(live["max_lift"].mean()),
    }


@dataclass(frozen=True)
class UnitAnalysis:
    units: pd.DataFrame  # one row per unit: the unit table's averages and the correlations
    movies: pd.DataFrame  # one row per (unit, distinct movie among its top rows)
    clusters: pd.DataFrame  # movie_idx, cluster, strength
    summary: dict[str, float]  # summarise_units' numbers, and the dataset's average year and rating


def analyze_units(
    acts: np.ndarray, movie_idx, catalogue: pd.DataFrame, top: int = 20, standardise_clusters: bool = True
) -> UnitAnalysis:
    """Everything above for activations ``acts`` (rows, units) of rows with ``movie_idx`` (rows,): unit tables
    from each unit's ``top`` rows, correlations, movie clusters and the summary. Clusters z-score the units by
    default: a unit of a larger scale (ReLU units differ a lot) would otherwise take most movies."""
    tables: UnitTables = unit_table(unit_top_rows(acts, movie_idx, top), catalogue)
    correlations = unit_correlations(acts, movie_idx, catalogue, tables.movies)
    units = tables.units.merge(correlations, on=UNIT, how="outer")
    clusters = movie_clusters(acts, movie_idx, standardise=standardise_clusters)
    averages = {f"dataset_{k}": v for k, v in dataset_averages(catalogue).items()}  # dataset_year, dataset_rating
    return UnitAnalysis(units, tables.movies, clusters, summarise_units(correlations) | averages)


def unit_markdown(analysis: UnitAnalysis, variant: str, layer: str, strongest: int = 10, titles: int = 4) -> str:
    """A Markdown section for one variant: the summary in words, then a table of the ``strongest`` live units
    (those a description explains best: the larger of ``r_rating_year`` and ``r_genre``) with their top movies."""
    s, units = analysis.summary, analysis.units
    lines = [
        f"## `{variant}`: hidden units of `{layer}`",
        "",
        f"{s['n_live_units']:.0f} of {s['n_units']:.0f} units vary across the {s['n_movies_used']:.0f} movies. "
        f"Mean |r| of a unit's mean activation with the movie's average rating {_num(s['mean_abs_corr_rating'])}, "
        f"with its release year {_num(s['mean_abs_corr_year'])}. Adjusted R of rating and year together "
        f"{_num(s['mean_r_rating_year'])}, of genres {_num(s['mean_r_genre'])}: rating and year explain more "
        f"than genre in {_num(100 * s['share_rating_year_above_genre'], 0)}% of the units.",
        "",
        f"| unit | top movies | avg year (all: {_num(s['dataset_year'], 0)}) | "
        f"avg rating (all: {_num(s['dataset_rating'])}) | top genre lift | r rating | r year | R rating+year | "
        "R genre |",
        "|---:|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    order = units.assign(_key=units[["r_rating_year", "r_genre"]].max(1)).dropna(subset="_key")  # dead units out
    order = order.sort_values("_key", ascending=False, kind="stable")
    for _, u in order.head(strongest).iterrows():
        lines.append(
            f"| {u[UNIT]:.0f} | {_titles(analysis.movies, u[UNIT], titles)} | {_num(u['avg_year'], 0)} | "
            f"{_num(u['avg_rating'])} | {_cell(u['top_genres'])} | {_num(u['corr_rating'])} | {_num(u['corr_year'])} | "
            f"{_num(u['r_rating_year'])} | {_num(u['r_genre'])} |"
        )
    return "\n".join(lines) + "\n"


def _titles(movies: pd.DataFrame, unit: int, show: int) -> str:
    names = movies.loc[movies[UNIT] == unit, C.TITLE].tolist()
    more = f" (+{len(names) - show} more)" if len(names) > show else ""
    return _cell("; ".join(names[:show]) + more)


def _cell(text) -> str:
    """Text safe inside a Markdown table cell."""
    return "" if not isinstance(text, str) else text.replace("|", "\\|").replace("\n", " ")


def _num(value, digits: int = 2) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"
