"""The analysis of one train-all run: what each variant gets right on the test rows, what it recommends,
and what its hidden units learned; tables, figures and one self-contained HTML report in a folder.

Everything is computed from the run's stored split, movies table and trained models; nothing trains.
Test rows are only scored here, never used to choose anything. The steps, each its own function:
:func:`score_variants` (errors with intervals, breakdowns, ranking), :func:`recommendation_diversity`,
:func:`analyze_hidden_units`, :func:`draw_movie_maps`, and :func:`study_claims` for the verdicts.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from recsys import columns as C
from recsys import files
from recsys.analysis.activations import collect_activations, hidden_layer, hidden_layer_name, movie_catalogue
from recsys.analysis.claims import DIVERSITY_NETS, claims_as_text, study_claims
from recsys.analysis.inputs import BOOTSTRAP_ROWS, MAP_MOVIES, UNIT_ROWS, RunData, sampled, seed_run_data
from recsys.analysis.maps import hover_details, plot_map_png, rating_matrix_tsne, tsne_map, write_map_html
from recsys.analysis.recommendations import TOPN_USERS, catalogue_topn, neighbour_sanity
from recsys.analysis.units import UnitAnalysis, analyze_units, unit_markdown
from recsys.data import io
from recsys.data.split import rows_of
from recsys.evaluation.metrics import (
    breakdown_metrics,
    compare_to_best,
    ranking_metrics,
)
from recsys.evaluation.predictions import predict_ids
from recsys.models import RatingModel
from recsys.serving import NEIGHBOUR_VARIANT, gives_neighbours, movie_vectors

RATING_MATRIX = "rating matrix"  # the maps entry of the study's t-SNE of the raw ratings
MAP_MIN_RATINGS = 30  # movies on the t-SNE maps: those with 30+ training ratings (588 on ml-latest-small)


@dataclass
class Analysis:
    """Every table the analysis makes, and the timings of its steps in seconds."""

    leaderboard: pd.DataFrame
    breakdown: pd.DataFrame
    ranking: pd.DataFrame  # each user's own test rows ranked
    topn: pd.DataFrame  # top-10 over the whole catalogue, variants and baselines
    neighbours: pd.DataFrame | None = None  # the sanity table: neighbours of well-known movies
    units: dict[str, UnitAnalysis] = field(default_factory=dict)
    maps: dict[str, dict[str, Path]] = field(default_factory=dict)  # variant -> colouring -> PNG (and "html")
    claims: pd.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    predictions: dict[str, np.ndarray] = field(default_factory=dict)  # on the test rows, in split order
    other_seeds: tuple["SeedAnalysis", ...] = ()  # a multi-seed run's further seeds, for the claims


@dataclass(frozen=True)
class SeedAnalysis:
    """What the claims read of a further seed beyond its predictions and curves: each net's hidden-unit
    summary and the study nets' top-10 lists (their accuracy and diversity rows)."""

    seed: int
    units: dict[str, dict]  # variant -> UnitAnalysis.summary
    topn: pd.DataFrame  # catalogue_topn's rows of DIVERSITY_NETS


def analyze_run(
    data: RunData,
    out: Path,
    log: Callable[[str], None] = print,
    n_boot: int = 1000,
    topn_users: int | None = TOPN_USERS,
    rating_matrix_map: bool = False,
) -> Analysis:
    """All the steps, writing figures under ``out``; ``log`` hears one line per step (progress). With
    ``rating_matrix_map``, also the study's own t-SNE of the raw rating matrix (a minute on 9k movies)."""
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    def step(name: str, fn, *args):
        started = time.perf_counter()
        result = fn(*args)
        seconds[name] = time.perf_counter() - started
        log(f"analysis: {name} took {seconds[name]:.1f}s")
        return result

    predictions = step("predictions", predict_test_rows, data)
    leaderboard, breakdown, ranking = step("scores", score_variants, data, predictions, n_boot)
    topn = step("top-10 over the catalogue", catalogue_topn, data, topn_users)
    neighbours = step("neighbours", neighbour_sanity, data, neighbour_model(data))
    catalogue = movie_catalogue(data.movie_vocab, data.movies, data.features)
    units = step("hidden units", analyze_hidden_units, data, catalogue)
    maps = step("movie maps", draw_movie_maps, data, catalogue, units, out / "maps")
    if rating_matrix_map:
        maps[RATING_MATRIX] = step("rating-matrix map", draw_rating_matrix_map, data, catalogue, out / "maps")
    others = step("further seeds' units and top-10", analyze_other_seeds, data, topn_users) if data.other_seeds else ()
    tables = (leaderboard, breakdown, ranking, topn, neighbours)
    result = Analysis(*tables, units, maps, seconds=seconds, predictions=predictions, other_seeds=others)
    result.claims = step("claims", study_claims, result, data)
    return result


def neighbour_model(data: RunData, preferred: str = NEIGHBOUR_VARIANT) -> RatingModel:
    """The model `recsys similar` would answer with: ``preferred`` when the run has it, else the variant with
    the lowest validation MSE that has a movie embedding or similarity."""
    if preferred in data.models:
        return data.models[preferred]
    best_first = sorted(data.histories, key=lambda name: data.histories[name]["val_mse"].min())
    usable = [n for n in best_first if gives_neighbours(data.models[n])]
    return data.models[(usable or best_first)[0]]


def predict_test_rows(data: RunData) -> dict[str, np.ndarray]:
    """Each variant's clipped predictions (N,) of the test rows."""
    test = rows_of(data.split, C.TEST)
    # by name, not .items(): the loop would still hold the last model while the next one loads (two at once)
    return {name: predict_ids(data.models[name], data.user_vocab, data.movie_vocab, test) for name in data.models}


def score_variants(
    data: RunData, predictions: dict[str, np.ndarray], n_boot: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Leaderboard with 95% bootstrap intervals and paired gaps to the best, error by user activity and
    movie popularity bucket, and precision/recall/NDCG at 10, from the test rows' ``predictions``."""
    test, train = rows_of(data.split, C.TEST), rows_of(data.split, C.TRAIN)
    rows = sampled(len(test), BOOTSTRAP_ROWS, data.seed)  # all of them unless the release is large
    sample = {name: p[rows] for name, p in predictions.items()}
    leaderboard = compare_to_best(test[C.RATING].to_numpy()[rows], sample, n_boot=n_boot, seed=data.seed)
    breakdown = pd.concat(
        [breakdown_metrics(test, p, train).assign(variant=name) for name, p in predictions.items()], ignore_index=True
    )
    ranking = pd.DataFrame([{"variant": name, **ranking_metrics(test, p)} for name, p in predictions.items()])
    return leaderboard, breakdown, ranking


def analyze_other_seeds(data: RunData, topn_users: int | None) -> tuple[SeedAnalysis, ...]:
    """Each further seed's hidden-unit summaries and the study nets' top-10 lists, its models read one at a
    time: the units and diversity claims take every seed of the run as parts."""
    out = []
    for seed in data.other_seeds:
        if not seed.checkpoints:
            continue
        seed_data = seed_run_data(data, seed)
        catalogue = movie_catalogue(seed_data.movie_vocab, seed_data.movies, seed_data.features)
        units = {name: unit.summary for name, unit in analyze_hidden_units(seed_data, catalogue).items()}
        out.append(SeedAnalysis(seed.seed, units, catalogue_topn(seed_data, topn_users, variants=DIVERSITY_NETS)))
    return tuple(out)


def analyze_hidden_units(data: RunData, catalogue: pd.DataFrame) -> dict[str, UnitAnalysis]:
    """For each variant with a hidden layer: its activations on the validation rows (hooks removed after),
    per-unit top movies, correlations with rating, year and genre, and movie clusters."""
    val = rows_of(data.split, C.VAL)
    user_idx = torch.from_numpy(data.user_vocab.encode(val[C.USER_ID].to_numpy()))
    movie_idx = torch.from_numpy(data.movie_vocab.encode(val[C.MOVIE_ID].to_numpy()))
    known = (user_idx > 0) & (movie_idx > 0)  # unknown movies have no title, year or genre to compare
    known[torch.from_numpy(np.setdiff1d(np.arange(len(known)), sampled(len(known), UNIT_ROWS, data.seed)))] = False
    out = {}
    for name in data.models:
        model = data.models[name]
        layer = hidden_layer(model)
        if layer is not None:
            acts = collect_activations(model, layer, user_idx[known], movie_idx[known])
            out[name] = analyze_units(acts, movie_idx[known].numpy(), catalogue)
        del model, layer  # let it go before the next one loads
    return out


def draw_movie_maps(
    data: RunData, catalogue: pd.DataFrame, units: dict[str, UnitAnalysis], folder: Path, min_ratings: int = 0
) -> dict[str, dict[str, Path]]:
    """Seeded t-SNE maps of the movie embeddings of the variants with hidden units (the ones with clusters
    to colour by), over movies with at least :data:`MAP_MIN_RATINGS` training ratings: PNGs coloured by
    average rating, release year, main genre and activation cluster, and one interactive HTML map each."""
    shown = catalogue[catalogue["popularity"] >= (min_ratings or MAP_MIN_RATINGS)]
    shown = shown.nlargest(MAP_MOVIES, "popularity").sort_index() if len(shown) > MAP_MOVIES else shown
    folder.mkdir(parents=True, exist_ok=True)
    maps = {}
    for name in units:
        vectors = None  # the last one is a view of its model's table: let it go before the next model loads
        vectors = movie_vectors(data.models[name])
        if vectors is None or len(shown) < 10:
            continue
        perplexity = min(30.0, (len(shown) - 1) / 3)  # t-SNE needs fewer neighbours than points
        coords = tsne_map(
            vectors[shown.index.to_numpy()], data.seed, perplexity, max_iter=500, threads=torch.get_num_threads()
        )
        clusters = units[name].clusters.set_index(C.MOVIE_IDX)["cluster"].reindex(shown.index)
        colourings = movie_colourings(shown) | {
            "activation cluster": clusters.map(lambda c: "none" if pd.isna(c) else f"unit {int(c)}").to_numpy(),
        }
        heading = f"{name}: learned movie embeddings (t-SNE)"
        maps[name] = write_maps(coords, shown, colourings, folder / name, heading)
    return maps


def draw_rating_matrix_map(data: RunData, catalogue: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """The study's map, reproduced: t-SNE of each known movie's raw training ratings (after a truncated SVD),
    coloured by average rating, release year and main genre; PNGs and an interactive HTML map."""
    folder.mkdir(parents=True, exist_ok=True)
    coords = rating_matrix_tsne(
        rows_of(data.split, C.TRAIN), data.user_vocab, data.movie_vocab, data.seed
    )  # row i: idx i+1
    heading = "The study's map: t-SNE of the raw rating matrix"
    return write_maps(coords, catalogue, movie_colourings(catalogue), folder / "ratings", heading)


CATEGORICAL_COLOURINGS = ("main genre", "activation cluster")


def movie_colourings(movies: pd.DataFrame) -> dict[str, np.ndarray]:
    """What every map is coloured by, for the catalogue rows shown: average rating, year, main genre."""
    return {
        "average rating": movies["mean_rating"].to_numpy(),
        "release year": movies[C.YEAR].to_numpy(),
        "main genre": movies["main_genre"].astype(str).to_numpy(),
    }


def write_maps(
    coords: np.ndarray, movies: pd.DataFrame, colourings: dict[str, np.ndarray], prefix: Path, heading: str
) -> dict[str, Path]:
    """One PNG per colouring (``<prefix>-<colouring>.png``) and one interactive ``<prefix>-map.html`` of the
    ``movies`` (catalogue rows) at ``coords``; colouring name -> PNG path, plus "html"."""
    categorical = [key for key in colourings if key in CATEGORICAL_COLOURINGS]
    pngs = {
        key: plot_map_png(
            coords,
            values,
            f"{prefix.name}: {key}",
            prefix.with_name(f"{prefix.name}-{key.replace(' ', '_')}.png"),
            categorical=key in categorical,
        )
        for key, values in colourings.items()
    }
    details = hover_details(movies[C.YEAR].to_numpy(), movies["mean_rating"].to_numpy())
    html = prefix.with_name(f"{prefix.name}-map.html")
    pngs["html"] = write_map_html(coords, movies[C.TITLE].tolist(), colourings, html, categorical, details, heading)
    return pngs


def save_analysis(
    analysis: Analysis, data: RunData, out: Path, run_info: dict[str, str], rankers: pd.DataFrame | None = None
) -> Path:
    """Write every table as Parquet and CSV, a Markdown summary per variant with hidden units, the learning
    curves, and the self-contained ``report.html`` into ``out``; returns the report's path."""
    from recsys.analysis.report import ReportContent, UnitSection, plot_learning_curves, plot_rankers, write_report

    tables = {
        "leaderboard": analysis.leaderboard,
        "breakdown": analysis.breakdown,
        "ranking": analysis.ranking,
        "topn": analysis.topn,
        "neighbours": analysis.neighbours,
        "claims": claims_as_text(analysis.claims),
    }
    for name, table in tables.items():
        io.write_parquet(table, out / f"{name}.parquet")
        files.write_text(out / f"{name}.csv", table.to_csv(index=False))
    sections = {}
    for variant, units in analysis.units.items():
        folder = out / "units" / variant
        markdown = unit_markdown(units, variant, hidden_layer_name(data.models[variant]))
        for name in ("units", "movies", "clusters"):
            io.write_parquet(getattr(units, name), folder / f"{name}.parquet")
            files.write_text(folder / f"{name}.csv", getattr(units, name).to_csv(index=False))
        files.write_text(folder / "summary.md", markdown)
        maps = dict(analysis.maps.get(variant, {}))
        html = maps.pop("html", None)
        sections[variant] = UnitSection(markdown, units.summary, maps, html and str(Path(html).relative_to(out)))
    if RATING_MATRIX in analysis.maps:
        maps = dict(analysis.maps[RATING_MATRIX])
        html = str(Path(maps.pop("html")).relative_to(out))
        text = "The study's own map: each movie's raw training ratings, cut to 50 dimensions, then t-SNE."
        sections["raw rating matrix (study)"] = UnitSection(text, {}, maps, html)
    curves = plot_learning_curves(data.histories, out / "learning_curves.png")
    if rankers is not None:
        io.write_parquet(rankers, out / "rankers.parquet")
        files.write_text(out / "rankers.csv", rankers.to_csv(index=False))
        plot_rankers(rankers, out / "rankers.png")
    notes = [f"{step}: {seconds:.1f} s" for step, seconds in analysis.seconds.items()]
    sizes = {part: int((data.split[C.SPLIT] == part).sum()) for part in (C.TEST, C.VAL)}
    users = int(analysis.topn["users"].iloc[0]) if len(analysis.topn) else 0
    samples = (
        f"Samples (seeded, the same for every variant): intervals, gaps and claims on "
        f"{min(sizes[C.TEST], BOOTSTRAP_ROWS):,} of {sizes[C.TEST]:,} test rows; hidden units on "
        f"{min(sizes[C.VAL], UNIT_ROWS):,} of {sizes[C.VAL]:,} validation rows; movie maps of at most "
        f"{MAP_MOVIES:,} movies (the most rated of those with {MAP_MIN_RATINGS}+ ratings); "
        f"top-10 lists of {users} users."
    )
    content = ReportContent(
        title="movielens-pipeline: train-all analysis",
        run=run_info,
        claims=analysis.claims,
        leaderboard=analysis.leaderboard,
        curves_png=curves,
        breakdown=analysis.breakdown,
        topn=analysis.topn,
        rankers=rankers,
        rankers_png=out / "rankers.png" if rankers is not None else None,
        ranking=analysis.ranking,
        neighbours=analysis.neighbours,
        units=sections,
        seeds=seed_table(analysis, data) if data.other_seeds else None,
        notes=[samples, "Seconds per analysis step: " + ", ".join(notes)],
    )
    return write_report(out / "report.html", content)


def seed_table(analysis: Analysis, data: RunData) -> pd.DataFrame:
    """Each variant's test MSE on each seed's split: variant, seed, mse (the run's own seed first)."""
    rows = []
    runs = [(data.seed, data.split, analysis.predictions)] + [
        (s.seed, s.split, s.predictions) for s in data.other_seeds
    ]
    for seed, split, predictions in runs:
        truth = rows_of(split, C.TEST)[C.RATING].to_numpy()
        for variant, predicted in predictions.items():
            rows.append({"variant": variant, "seed": seed, "mse": float(np.mean((predicted - truth) ** 2))})
    return pd.DataFrame(rows)


def read_report_table(out: Path, name: str) -> pd.DataFrame:
    """The table ``name`` (leaderboard, ranking, topn, ...) that :func:`save_analysis` wrote into ``out``."""
    return io.read_parquet(out / f"{name}.parquet")
