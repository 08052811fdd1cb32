"""train-all: raw MovieLens files to tracked, evaluated, registered models, as one Prefect flow."""

from typing import Literal

from prefect import flow

from flows.analyze import analyze
from recsys.config import SplitConfig
from recsys.models import DEFAULT_VARIANTS, settings_fingerprint
from tasks.evaluate import evaluate_variant, summarise_seeds
from tasks.ingest import fetch_data, ingest, report_ingestion
from tasks.pipeline_run import end_pipeline_run, start_pipeline_run
from tasks.prepare import split_and_index
from tasks.register import promote_challenger, register_models
from tasks.train import blend_variants, train_variant


@flow(name="train-all")
def train_all(
    data: str | None = None,
    variants: list[str] = DEFAULT_VARIANTS,
    epochs: int | None = None,
    seed: int = 42,
    seeds: int = 1,
    split: Literal["random", "temporal_global", "temporal_user"] = "random",
    max_quarantine_share: float = 0.01,
    refresh: bool = False,
    analysis: bool = True,
    promotion_margin: float = 0.0,
) -> list[dict]:
    """Ingest and validate ``data``, split it (``split`` kind, ``seed``), train and test each variant,
    register them.

    ``data`` is a folder, .zip or URL (default: ``RECSYS_DATA``, else the GroupLens download);
    ``epochs`` overrides each variant's epoch budget; ``seeds`` > 1 repeats split and training with seeds
    ``seed``, ``seed + 1``, ... and logs each variant's mean and standard deviation of test MSE (models of
    the first seed are registered). The flow fails when more than ``max_quarantine_share`` of the rows are
    quarantined; ``refresh`` re-ingests unchanged data; ``analysis`` runs the ``analyze`` flow on the run
    (report under the run's ``report/``). The best variant by validation MSE becomes ``challenger`` and
    replaces ``champion`` only if its test MSE beats the champion's on the same test rows by more than
    ``promotion_margin``. Returns one result row per variant and seed.
    """
    params = {
        "data": data,
        "variants": variants,
        "epochs": epochs,
        "seed": seed,
        "seeds": seeds,
        "split": split,
        "max_quarantine_share": max_quarantine_share,
        "refresh": refresh,
        "analysis": analysis,
        "promotion_margin": promotion_margin,
    }
    parent = start_pipeline_run("train-all", params, settings_fingerprint(variants, epochs, seed, split))
    try:
        dataset = ingest.with_options(refresh_cache=refresh)(fetch_data(data))
        report_ingestion(dataset, parent, max_quarantine_share)
        results = []
        splits = [
            split_and_index(dataset, SplitConfig(kind=split, seed=run_seed), parent, run_seed == seed)
            for run_seed in range(seed, seed + seeds)
        ]
        for prepared in splits:
            trained = [train_variant(prepared, name, epochs, parent) for name in variants if name != "blend"]
            if "blend" in variants:  # fitted over the members trained just above
                trained.append(blend_variants(prepared, trained, epochs, parent))
            results += [evaluate_variant(one, prepared) for one in trained]
        summarise_seeds(results, parent)
        best = register_models([row for row in results if row["seed"] == seed], parent)
        promote_challenger(best, splits[0], parent, promotion_margin)
        if analysis:
            analyze(parent)
    except BaseException:
        end_pipeline_run(parent, "FAILED")
        raise
    end_pipeline_run(parent, "FINISHED")
    return results
