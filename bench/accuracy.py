"""Test RMSE of every rating model as train-all makes it (epochs chosen on validation, then refitted on training +
validation rows), over split seeds, against the reference study's own figures and the issue's targets.

The default variants, ``bfm``, the default blend and the blend with ``bfm`` as a sixth member are trained
through the library's one entry (:func:`recsys.training.variant.train_variant`, ``refit=True``) at their
registry defaults, as ``recsys train-all`` trains them, without the tracking around it. For each seed and
model: validation MSE and best epoch (what was chosen), test RMSE of the refitted model and of the model of
the training rows alone; over the seeds, the mean and standard deviation. Results go to
``bench/results/accuracy.json``. Never run it beside another training or test run.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/accuracy.py [--seeds 42,43,44,45,46]
"""

import json
import statistics
import time
from pathlib import Path

import numpy as np
from common import seeded_bench  # bench/common.py, beside this script

from recsys import columns as C
from recsys.data.split import SplitConfig
from recsys.data.tensors import prepare_split
from recsys.evaluation.predictions import predict
from recsys.models import DEFAULT_VARIANTS
from recsys.pipeline.config import PipelineConfig
from recsys.training.ensembles import Member
from recsys.training.variant import train_variant

RESULTS = Path(__file__).resolve().parent / "results" / "accuracy.json"
# the reference study's test MSE on its own unseeded 80/20 splits (../shared/FACTS.md); its GRU had 70 units
STUDY_MSE = {"baseline": 0.783, "lstm": 0.769, "gru": 0.766, "wide_deep": 0.789}
TARGETS = {"best single model RMSE": 0.860, "blend RMSE": 0.845, "blend RMSE (stretch)": 0.840}
WITH_BFM = "blend+bfm"  # the blend with bfm as a sixth member


def rmse(model, rows) -> float:
    return float(np.sqrt(np.mean((predict(model, rows) - rows.rating.numpy()) ** 2)))


def one_seed(ratings, movies, seed: int) -> dict[str, dict]:
    prepared = prepare_split(ratings, movies, SplitConfig(seed=seed))
    test = prepared.tensors(C.TEST)
    singles = [v for v in DEFAULT_VARIANTS if v != "blend"] + ["bfm"]
    blend_members = PipelineConfig().selected()["blend"].model.members
    config = PipelineConfig(variants={**{v: {} for v in singles}, "blend": {}}).for_seed(seed)
    settings = config.selected()
    out, members = {}, {}
    for name in singles:
        kept, started = [], time.perf_counter()
        model, result = train_variant(
            name, settings[name].model, settings[name].train, prepared, refit=True, keep=kept.append
        )
        first = kept[0].cpu().eval()
        refitted = model.cpu().eval()
        out[name] = {
            "val_mse": result.best_val_mse,
            "best_epoch": result.best_epoch,
            "test_rmse": rmse(refitted, test),
            "test_rmse_train_only": rmse(first, test),
            "seconds": time.perf_counter() - started,
        }
        members[name] = (first, refitted, settings[name].train, result.best_epoch)
        print(f"seed {seed} {name}: {json.dumps(out[name])}", flush=True)
    for label, names in (("blend", blend_members), (WITH_BFM, (*blend_members, "bfm"))):
        blend_config = settings["blend"].model.model_copy(update={"members": tuple(names)})

        def handed(names=names) -> list[Member]:
            return [Member(n, members[n][0], members[n][2], members[n][3], lambda n=n: members[n][1]) for n in names]

        started = time.perf_counter()
        model, result = train_variant(
            "blend", blend_config, settings["blend"].train, prepared, members=handed, refit=True
        )
        out[label] = {
            "val_mse": result.best_val_mse,  # cross-fitted over the validation rows
            "test_rmse": rmse(model.eval(), test),
            "members": list(names),
            "seconds": time.perf_counter() - started,
        }
        print(f"seed {seed} {label}: {json.dumps(out[label])}", flush=True)
    return out


def summarise(per_seed: dict[int, dict[str, dict]]) -> dict[str, dict]:
    names = list(next(iter(per_seed.values())))
    summary = {}
    for name in names:
        values = [per_seed[s][name]["test_rmse"] for s in per_seed]
        row = {
            "test_rmse_mean": statistics.mean(values),
            "test_rmse_std": statistics.stdev(values) if len(values) > 1 else 0.0,
        }
        row["test_mse_mean"] = statistics.mean(v**2 for v in values)
        first = [per_seed[s][name].get("test_rmse_train_only") for s in per_seed]
        if None not in first:
            row["test_rmse_train_only_mean"] = statistics.mean(first)
        if name in STUDY_MSE:
            row["study_mse"] = STUDY_MSE[name]
        summary[name] = row
    return summary


def main() -> None:
    args, ratings, movies, seeds = seeded_bench(__doc__, RESULTS, "42,43,44,45,46")
    per_seed = {}
    for seed in seeds:
        per_seed[seed] = one_seed(ratings, movies, seed)
        summary = summarise(per_seed)
        singles = {n: r for n, r in summary.items() if not n.startswith("blend")}
        best = min(singles, key=lambda n: singles[n]["test_rmse_mean"])
        result = {
            "seeds": list(per_seed),
            "summary": summary,
            "best_single": best,
            "targets": TARGETS,
            "per_seed": per_seed,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    for name, row in summary.items():
        print(
            f"{name:12s} RMSE {row['test_rmse_mean']:.4f} +- {row['test_rmse_std']:.4f}  MSE {row['test_mse_mean']:.4f}"
        )


if __name__ == "__main__":
    main()
