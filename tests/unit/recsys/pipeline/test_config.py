"""The typed run config: defaults from the registry, partial sections, overrides, ensembles, YAML round trip,
errors that name the field, and the fingerprint of what a run learns."""

import pytest
from pydantic import ValidationError

from recsys.models import DEFAULT_VARIANTS, get_variant
from recsys.models.blend import DEFAULT_MEMBERS
from recsys.pipeline.config import (
    PipelineConfig,
    apply_overrides,
    config_to_yaml,
    flat_params,
    load_config,
    select_variants,
    settings_fingerprint,
    train_defaults,
)


def test_defaults_train_every_default_variant_with_its_registered_settings():
    config = PipelineConfig()
    assert list(config.selected()) == list(DEFAULT_VARIANTS)
    assert config.variants.mf.train.lr == 1.5e-2 and config.variants.mf.train.batch_size == 4096
    assert config.variants.lstm.train.epochs == 40 and config.variants.knn.train.epochs == 1
    assert config.variants.lstm.train.lr_decay == 0.88 and config.variants.mf.train.lr_decay == 1.0
    assert config.variants.wide_deep.model.hidden == (64, 32)
    assert config.training_order()[-1] == "blend" and config.members_of("blend") == DEFAULT_MEMBERS


def test_a_partial_train_section_changes_only_the_fields_it_names():
    config = PipelineConfig.model_validate({"variants": {"baseline": {"train": {"epochs": 3}}}})
    assert list(config.selected()) == ["baseline"]
    expected = train_defaults(get_variant("baseline")).model_copy(update={"epochs": 3})
    assert config.variants.baseline.train == expected


def test_epochs_and_seed_reach_every_variant():
    config = apply_overrides(PipelineConfig(), {"epochs": 2, "split.seed": 7})
    assert {s.train.epochs for n, s in config.selected().items() if n not in ("knn", "blend")} == {2}
    assert config.variants.knn.train.epochs == 1  # a closed-form fit has no epochs to cap
    assert {s.train.seed for s in config.selected().values()} == {7}
    assert config.for_seed(9).variants.mf.train.seed == 9 and config.run_seeds() == [7]


def test_unknown_keys_and_bad_values_are_refused_naming_the_field():
    with pytest.raises(ValidationError, match=r"variants\.mf\.train\.lrr"):
        PipelineConfig.model_validate({"variants": {"mf": {"train": {"lrr": 0.1}}}})
    with pytest.raises(ValidationError, match=r"seeds"):
        PipelineConfig(seeds=0)
    with pytest.raises(ValueError, match="unknown model variant 'svd'"):
        PipelineConfig.model_validate({"variants": {"svd": {}}})


def test_an_ensemble_needs_its_members_among_the_variants():
    with pytest.raises(ValidationError, match=r"'blend' is an ensemble of .* add \['mf', 'svdpp'"):
        select_variants(PipelineConfig(), ["blend", "knn"])
    config = apply_overrides(
        select_variants(PipelineConfig(), ["knn", "mf"]), {"variants.blend.model.members": ["mf", "knn"]}
    )
    assert config.training_order() == ["mf", "knn", "blend"]


def test_yaml_round_trip_gives_the_same_config_and_fingerprint(tmp_path):
    config = apply_overrides(select_variants(PipelineConfig(), ["mf", "wide_deep"]), {"epochs": 2, "seeds": 3})
    path = tmp_path / "config.yaml"
    path.write_text(config_to_yaml(config))
    again = load_config(path)
    assert again == config and settings_fingerprint(again) == settings_fingerprint(config)


def test_the_fingerprint_follows_what_is_learned_not_where_the_data_is():
    base = PipelineConfig()
    assert settings_fingerprint(base.with_source("/elsewhere")) == settings_fingerprint(base)
    assert settings_fingerprint(apply_overrides(base, {"analysis": False})) == settings_fingerprint(base)
    assert settings_fingerprint(apply_overrides(base, {"variants.mf.model.dim": 20})) != settings_fingerprint(base)
    assert settings_fingerprint(apply_overrides(base, {"split.test_fraction": 0.1})) != settings_fingerprint(base)


def test_a_bad_config_file_names_the_file_and_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("split:\n  kind: sideways\n")
    with pytest.raises(ValueError, match=r"bad.yaml: split.kind: Input should be 'random'"):
        load_config(path)
    path.write_text("split: [unclosed\n")
    with pytest.raises(ValueError, match=r"bad.yaml, line 2, column 1: not valid YAML"):
        load_config(path)


def test_flat_params_name_every_leaf():
    params = flat_params(select_variants(PipelineConfig(), ["mf"]))
    assert params["variants.mf.train.lr"] == "0.015" and params["split.kind"] == "random"
    assert params["data.source"] == "None" and "variants.baseline.train.lr" not in params


def test_an_override_through_an_unknown_section_is_an_error():
    with pytest.raises(ValueError, match="config has no section 'splitt'"):
        apply_overrides(PipelineConfig(), {"splitt.seed": 1})


def test_rankers_train_by_default_are_chosen_by_name_and_their_grid_names_real_settings():
    config = PipelineConfig()
    assert list(config.selected_rankers()) == ["pop", "ease", "ials"]  # multvae, gru4rec: asked for by name
    assert config.selected_rankers()["ease"].grid == {"l2": [200.0, 400.0], "min_rating": [None, 4.0]}
    both = select_variants(config, ["mf", "ease", "gru4rec"])
    assert list(both.selected()) == ["mf"] and list(both.selected_rankers()) == ["ease", "gru4rec"]
    assert not select_variants(config, ["mf"]).selected_rankers()  # --variants mf trains no ranker
    assert PipelineConfig.model_validate({"rankers": {}}).selected_rankers() == {}
    changed = apply_overrides(both, {"rankers.ease.model.l2": 50.0, "rankers.ease.grid": {}})
    assert changed.selected_rankers()["ease"].model.l2 == 50.0 and changed.selected_rankers()["ease"].grid == {}
    with pytest.raises(ValidationError, match="not settings of EASEConfig"):
        PipelineConfig.model_validate({"rankers": {"ease": {"grid": {"l3": [1.0]}}}})
    with pytest.raises(ValidationError, match="is a rating model; list it under variants"):
        PipelineConfig.model_validate({"rankers": {"mf": {}}})
    assert settings_fingerprint(config) != settings_fingerprint(PipelineConfig.model_validate({"rankers": {}}))
