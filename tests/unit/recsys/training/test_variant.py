"""The one training entry: the same variant trained from the split in memory and from its stored folder gives
the same weights (the data object round-trips whole); an ensemble's members are handed over and freed; epoch
checkpoints are written while training and gone once it ends."""

import weakref

import torch

from recsys.models import get_variant
from recsys.models.blend import BlendConfig
from recsys.store.splits import SplitFolder, write_split
from recsys.training.callbacks import Callback
from recsys.training.config import TrainConfig
from recsys.training.ensembles import Member
from recsys.training.variant import train_variant

CONFIG = TrainConfig(epochs=3, batch_size=128, lr=1e-2, lr_decay=0.8)  # a refit must follow the same schedule


def defaults(variant: str):
    return get_variant(variant).config_cls()


def test_the_stored_split_trains_exactly_as_the_split_in_memory(tiny_prepared, tmp_path):
    folder = SplitFolder(tmp_path / "split")
    write_split(folder, tiny_prepared, "fingerprint")
    assert folder.shape == tiny_prepared.shape and folder.shape.n_genres == len(tiny_prepared.features.genres) > 0
    for variant in ("wide_deep", "svdpp"):  # one reads the feature tables, one the training ratings
        in_memory, _ = train_variant(variant, defaults(variant), CONFIG, tiny_prepared)
        stored, _ = train_variant(variant, defaults(variant), CONFIG, folder)
        for name, tensor in in_memory.state_dict().items():
            assert torch.equal(tensor, stored.state_dict()[name]), (variant, name)


def test_an_ensemble_frees_the_members_it_is_handed(tiny_prepared):
    refs = []

    def members() -> list[Member]:  # made in the call: the ensemble holds them alone
        out = []
        for name in ("mf", "knn"):
            model, result = train_variant(name, defaults(name), CONFIG, tiny_prepared)
            refs.append(weakref.ref(model))
            out.append(Member(name, model.cpu().eval(), CONFIG, result.best_epoch))
        return out

    blend, result = train_variant("blend", BlendConfig(members=("mf", "knn")), CONFIG, tiny_prepared, members=members)
    assert set(blend.members) == {"mf", "knn"} and result.best_epoch == 1
    assert [ref() for ref in refs] == [None, None]  # refitted on training + validation rows: the trained ones went


def test_epoch_checkpoints_are_written_while_training_and_removed_at_the_end(tiny_prepared, tmp_path):
    folder, seen = tmp_path / "checkpoints", []

    class Peek(Callback):
        def on_epoch_end(self, stats, model) -> bool:
            seen.append(len(list(folder.glob("*.pt"))))
            return False

    train_variant("mf", defaults("mf"), CONFIG, tiny_prepared, callbacks=(Peek(),), checkpoints=folder)
    assert len(seen) == 3 and max(seen) > 0 and not folder.exists()


def test_only_variants_trained_by_gradient_steps_train_data_parallel():
    from recsys.training.variant import trains_data_parallel

    assert trains_data_parallel("mf", defaults("mf")) and trains_data_parallel("wide_deep", defaults("wide_deep"))
    assert not trains_data_parallel("knn", defaults("knn"))  # a closed-form fit
    assert not trains_data_parallel("blend", BlendConfig(members=("mf", "knn")))  # an ensemble of trained members


def test_a_refit_equals_a_fresh_fit_on_training_and_validation_rows_for_the_chosen_epoch_count(tiny_prepared, tmp_path):
    config = CONFIG.model_copy(update={"epochs": 6, "patience": 2})
    for variant in ("mf", "svdpp"):  # svdpp also reads the ratings it learns from: all of them in the refit
        kept = []
        first, first_result = train_variant(variant, defaults(variant), config, tiny_prepared)
        refitted, result = train_variant(
            variant,
            defaults(variant),
            config,
            tiny_prepared,
            refit=True,
            keep=kept.append,
            checkpoints=tmp_path / variant,
        )
        assert result.best_epoch == first_result.best_epoch and result.best_val_mse == first_result.best_val_mse
        assert result.refit_seconds > 0 and not (tmp_path / variant).exists()  # the refit's checkpoints went too
        for name, tensor in first.state_dict().items():  # keep got the model of the training rows alone
            assert torch.equal(tensor, kept[0].state_dict()[name]), (variant, name)
        fresh = _fresh_fit(variant, tiny_prepared, config, result.best_epoch)
        for name, tensor in fresh.state_dict().items():
            assert torch.equal(tensor, refitted.state_dict()[name]), (variant, name)
        assert not all(torch.equal(t, first.state_dict()[n]) for n, t in refitted.state_dict().items())


def _fresh_fit(variant, prepared, config, epochs):
    """What a refit must equal, written out here without the entry: ``variant`` built with the seed, given
    training + validation rows, trained on them for exactly ``epochs`` epochs and ending with the last one."""
    from recsys import columns as C
    from recsys.models import build_model
    from recsys.training.ensembles import concat
    from recsys.training.trainer import train_model

    rows = concat(prepared.tensors(C.TRAIN), prepared.tensors(C.VAL))
    fixed = TrainConfig(**config.model_dump() | {"epochs": epochs, "patience": epochs, "restore_best": False})
    model = build_model(variant, defaults(variant), prepared.shape, seed=fixed.seed)
    model.read_data(prepared.features, rows)
    train_model(model, rows, prepared.tensors(C.VAL), fixed)
    return model


def test_an_ensemble_takes_its_members_refits_instead_of_refitting_them_again(tiny_prepared):
    def members(refitted: bool) -> list[Member]:
        out = []
        for name in ("mf", "knn"):
            kept = []
            model, result = train_variant(name, defaults(name), CONFIG, tiny_prepared, refit=True, keep=kept.append)
            loader = (lambda model=model: model) if refitted else None
            out.append(Member(name, kept[0].cpu().eval(), CONFIG, result.best_epoch, loader))
        return out

    config, kept = BlendConfig(members=("mf", "knn")), []

    def keep(model) -> None:  # as the train task does: stored at once (the ensemble's members change next)
        kept.append({name: tensor.clone() for name, tensor in model.state_dict().items()})

    handed, _ = train_variant(
        "blend", config, CONFIG, tiny_prepared, members=lambda: members(True), refit=True, keep=keep
    )
    own, _ = train_variant("blend", config, CONFIG, tiny_prepared, members=lambda: members(False))
    for name, tensor in own.state_dict().items():  # the blend's own refits are the members' refits
        assert torch.equal(tensor, handed.state_dict()[name]), name
    before = kept[0]  # keep had the blend over the members of the training rows
    assert torch.equal(before["weights"], handed.state_dict()["weights"])
    assert not torch.equal(
        before["members.mf.user_factors.weight"], handed.state_dict()["members.mf.user_factors.weight"]
    )
