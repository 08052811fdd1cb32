"""Analysis tasks: read a finished run back from MLflow, analyze it with :mod:`recsys.analysis.run`, and publish
the tables, figures and report under the run's ``report/`` artifacts, with Prefect artifacts beside them.

Reading everything from MLflow (split, movies table, checkpoints, per-epoch history) rather than from the
flow's memory is what lets ``recsys analyze --run RUN_ID`` redo the analysis of any stored run.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.entities import Metric
from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from recsys.analysis.inputs import load_run_data
from recsys.analysis.run import analyze_run, read_report_table, save_analysis
from recsys.store import artifacts
from recsys.store.analysis import AnalysisFolder
from tasks import tracking
from tasks.runtime import work_folder


@dataclass(frozen=True)
class SeedHandle:
    """A further seed of a multi-seed run: its split and its variants' checkpoints."""

    seed: int
    split_path: str
    checkpoints: dict[str, str]  # variant -> checkpoint file


@dataclass(frozen=True)
class AnalysisHandle:
    run_id: str
    folder: str  # local copies of what the analysis reads
    split_path: str
    movies_path: str
    checkpoints: dict[str, str]  # variant -> checkpoint file, in training order
    variant_runs: dict[str, str]  # variant -> its MLflow run id
    seed: int
    run_info: dict[str, str]
    other_seeds: tuple[SeedHandle, ...] = ()
    rankers: tuple[dict, ...] = ()  # the first seed's rankers: variant and their logged metrics
    refit: bool = False  # the run refitted its models on training + validation rows (runs before it: no param)


def check_analyzable(run_id: str) -> None:
    """Raise unless ``run_id`` is a train-all run with a split and at least one finished variant."""
    client = tracking.client()
    parent = client.get_run(run_id)
    if "split_seed" not in parent.data.params:
        raise ValueError(f"run {run_id} is not a train-all run with a split (no split_seed param): nothing to analyze")
    finished = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}' and attributes.status = 'FINISHED'"
    )
    if not finished:
        raise ValueError(f"run {run_id} has no finished variant with a checkpoint to analyze")


@task(name="fetch-run-inputs", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def fetch_run_inputs(run_id: str) -> AnalysisHandle:
    """Download the run's split, movies table, each variant's checkpoint and per-epoch history (every seed's)."""
    client = tracking.client()
    parent = client.get_run(run_id)
    check_analyzable(run_id)
    seed = parent.data.params["split_seed"]
    folder = AnalysisFolder(work_folder().analysis(run_id))
    folder.path.mkdir(parents=True, exist_ok=True)
    split = client.download_artifacts(run_id, artifacts.SPLIT, str(folder.path))
    movies = client.download_artifacts(run_id, artifacts.MOVIES, str(folder.path))
    children = client.search_runs(  # the variants that finished (a failed one has no checkpoint)
        [parent.info.experiment_id],
        f"tags.mlflow.parentRunId = '{run_id}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time ASC"],
    )
    by_seed: dict[int, dict[str, str]] = {}
    runs = {}
    rankers = []
    for child in children:
        variant, child_seed = child.data.tags["variant"], int(child.data.tags["seed"])
        if child.data.tags.get("family") == "topn":  # a ranker: its top-N numbers go to the report's own section
            if child_seed == int(seed):
                rankers.append(
                    {"variant": variant} | {k.replace("_at_", "@"): v for k, v in child.data.metrics.items()}
                )
            continue
        target = folder.checkpoints(child_seed, variant)
        local = Path(client.download_artifacts(child.info.run_id, artifacts.CHECKPOINT, str(target)))
        by_seed.setdefault(child_seed, {})[variant] = str(artifacts.checkpoint_in(local))
        if child_seed == int(seed):
            runs[variant] = child.info.run_id
            folder.write_history(variant, history_of(client, child.info.run_id))
        else:  # a further seed's: the overfitting claims read every seed's curves
            folder.write_history(variant, history_of(client, child.info.run_id), seed=child_seed)
    others = tuple(
        SeedHandle(s, client.download_artifacts(run_id, artifacts.seed_split(s), str(folder.seed(s))), paths)
        for s, paths in sorted(by_seed.items())
        if s != int(seed)
    )
    info = {
        "run id": run_id,
        "data fingerprint": parent.data.params.get("data_fingerprint", "?"),
        "split": parent.data.params.get("split.kind", "?"),
        "seed": seed if not others else f"{seed} (and {', '.join(str(o.seed) for o in others)} for the claims)",
    }
    checkpoints = by_seed.get(int(seed), {})
    return AnalysisHandle(
        run_id,
        str(folder.path),
        split,
        movies,
        checkpoints,
        runs,
        int(seed),
        info,
        others,
        tuple(rankers),
        refit=parent.data.params.get("refit", "False") == "True",
    )


def history_of(client, run_id: str) -> pd.DataFrame:
    """The variant run's per-epoch train_mse and val_mse (epoch, train_mse, val_mse)."""
    history = {key: client.get_metric_history(run_id, key) for key in ("train_mse", "val_mse")}
    return pd.DataFrame(
        {"epoch": [m.step for m in sorted(history["val_mse"], key=lambda m: m.step)]}
        | {key: [m.value for m in sorted(ms, key=lambda m: m.step)] for key, ms in history.items()}
    )


@task(name="analyze-run", cache_policy=NO_CACHE)
def analyze_stored_run(inputs: AnalysisHandle, rating_matrix_map: bool = False) -> str:
    """Analyze the run and write tables, figures and ``report.html`` into a folder; returns its path.
    ``rating_matrix_map`` adds the study's t-SNE of the raw rating matrix."""
    logger = get_run_logger()
    folder = AnalysisFolder(Path(inputs.folder))
    others = [(o.seed, Path(o.split_path), {v: Path(p) for v, p in o.checkpoints.items()}) for o in inputs.other_seeds]
    checkpoints = {variant: Path(path) for variant, path in inputs.checkpoints.items()}
    data = load_run_data(
        folder, Path(inputs.split_path), Path(inputs.movies_path), checkpoints, inputs.seed, others, inputs.refit
    )
    out = folder.report
    analysis = analyze_run(data, out, log=logger.info, rating_matrix_map=rating_matrix_map)
    started = time.perf_counter()
    rankers = ranker_table(inputs.rankers)
    report = save_analysis(analysis, data, out, inputs.run_info, rankers=rankers)
    logger.info("analysis: tables and report took %.1fs: %s", time.perf_counter() - started, report)
    return str(out)


def ranker_table(rankers: tuple[dict, ...]) -> pd.DataFrame | None:
    """The rankers' logged test numbers as the report's table (variant, users, each metric and its interval)."""
    if not rankers:
        return None
    rows = []
    for logged in rankers:
        row = {"variant": logged["variant"], "users": int(logged.get("test_users", 0))}
        row |= {"val_ndcg@10": logged.get("best_val_ndcg@10")}
        for metric in ("ndcg@10", "precision@10", "recall@10", "recall@20", "map@10", "hit_rate@10"):
            row |= {metric: logged.get(f"test_{metric}"), f"{metric}_low": logged.get(f"test_{metric}_low")}
            row |= {f"{metric}_high": logged.get(f"test_{metric}_high")}
        row |= {"coverage": logged.get("test_coverage"), "novelty": logged.get("test_novelty")}
        rows.append(row)
    return pd.DataFrame(rows).sort_values("val_ndcg@10", ascending=False).reset_index(drop=True)


TOPN_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty", "gini")


@task(name="publish-report", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def publish_report(report_folder: str, inputs: AnalysisHandle) -> str:
    """Log the report folder as the run's ``report/`` artifacts and the headline numbers as metrics of each
    variant's run; a Prefect table artifact ``model-leaderboard`` and a link to the report."""
    client = tracking.client()
    folder = Path(report_folder)
    client.log_artifacts(inputs.run_id, str(folder), artifact_path=artifacts.REPORT)
    board = read_report_table(folder, "leaderboard")
    own = read_report_table(folder, "ranking").set_index("variant")
    topn = read_report_table(folder, "topn").set_index("model")
    now = int(time.time() * 1000)
    for row in board.to_dict("records"):
        variant = row["variant"]
        values = {f"test_{k}": row[k] for k in ("mse_low", "mse_high", "rmse_low", "rmse_high")}
        values |= {f"{k}_at_10": topn.loc[variant, k] for k in TOPN_METRICS}  # the catalogue, as the field ranks
        values |= {f"own_rows_{k}_at_10": own.loc[variant, k] for k in ("precision", "recall", "ndcg")}
        metrics = [Metric(name, float(value), now, 0) for name, value in values.items()]
        client.log_batch(inputs.variant_runs[variant], metrics=metrics)  # one call per run, not per metric
    create_table_artifact(
        key="model-leaderboard",
        table=board.round(4).to_dict("records"),
        description=f"test rows of run {inputs.run_id}: 95% bootstrap intervals, paired gaps to the best",
    )
    uri = f"{client.get_run(inputs.run_id).info.artifact_uri}/{artifacts.REPORT_PAGE}"
    create_link_artifact(key="analysis-report", link=uri, link_text=f"analysis report ({artifacts.REPORT_PAGE})")
    AnalysisFolder(Path(inputs.folder)).remove()  # local copies only: MLflow holds all of it
    return uri
