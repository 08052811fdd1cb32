"""The library side of `recsys tune`: trials train through the one training entry and are judged on validation
MSE; a trial worse than the median of earlier ones at the same epoch is pruned; the best trial's settings make
a config that train-all resolves."""

import optuna
import pytest

from recsys.models import get_variant
from recsys.pipeline import tuning
from recsys.pipeline.config import PipelineConfig, VariantSettings, train_defaults


def base(variant: str, **train) -> VariantSettings:
    variant_ = get_variant(variant)
    return VariantSettings(model=variant_.config_cls(), train=train_defaults(variant_).model_copy(update=train))


def test_three_trials_give_a_config_that_train_all_resolves_with_the_best_settings(tiny_prepared):
    study = tuning.study(seed=0)
    study.optimize(tuning.objective("mf", base("mf", epochs=3, batch_size=256), tiny_prepared), n_trials=3)
    assert len(study.trials) == 3 and study.best_value == min(t.value for t in study.trials if t.value is not None)
    config = PipelineConfig.model_validate(tuning.tuned_config("mf", study.best_trial))
    mf = config.selected()["mf"]
    assert list(config.selected()) == ["mf"]
    assert mf.model.dim == study.best_params["dim"] and mf.train.lr == pytest.approx(study.best_params["lr"])
    assert mf.train.epochs == 3 and mf.train.batch_size == 256  # the base settings the search left alone


def test_a_trial_worse_than_the_median_at_an_epoch_is_pruned(tiny_prepared):
    study = tuning.study(seed=0, warmup_epochs=0)
    for value in (0.5, 0.6):  # two finished trials whose every epoch was good
        trial = study.ask()
        for epoch in range(1, 4):
            trial.report(value, epoch)
        study.tell(trial, value)
    trial = study.ask()
    callback = tuning.PruneOnValidation(trial)
    from recsys.training.trainer import EpochStats

    with pytest.raises(optuna.TrialPruned):
        callback.on_epoch_end(EpochStats(1, 1.0, 2.0, 0.1, 1000.0), None)


def test_a_variant_without_a_search_space_is_named_with_those_that_have_one():
    with pytest.raises(ValueError, match="no search space for 'knn'; recsys tune searches mf, baseline"):
        tuning.space_of("knn")


@pytest.mark.parametrize("variant", sorted(tuning.SPACES))
def test_every_space_proposes_settings_its_variant_accepts(variant):
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1)).ask()
    settings = tuning.trial_settings(variant, base(variant), trial)
    assert isinstance(settings.model, get_variant(variant).config_cls)


@pytest.mark.parametrize(
    ("trials", "searches", "dealt"), [(10, 3, [4, 3, 3]), (4, 2, [2, 2]), (1, 4, [1]), (5, 1, [5])]
)
def test_trials_are_dealt_evenly_to_searches_and_none_is_left_empty(trials, searches, dealt):
    assert tuning.shares(trials, searches) == dealt


def test_searches_in_two_processes_share_one_study_through_its_journal(tmp_path):
    """Two searches, as two Dask workers run them (each its own storage object on one file, its own sampler
    seed): one study of every trial, numbered once, and the second search proposes other settings."""
    path = str(tmp_path / "study.journal")
    proposed = {}

    def objective(search):
        def value(trial):
            x = trial.suggest_float("x", -1, 1)
            proposed.setdefault(search, x)
            return x * x

        return value

    for search in (0, 1):  # each search joins the study the first created
        tuning.study(42 + search, storage=tuning.journal(path), name="tune-mf").optimize(objective(search), n_trials=3)
    study = optuna.load_study(study_name="tune-mf", storage=tuning.journal(path))
    assert sorted(t.number for t in study.trials) == list(range(6))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert proposed[0] != proposed[1]
    assert study.best_value == min(t.value for t in study.trials)
