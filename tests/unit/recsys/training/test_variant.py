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

CONFIG = TrainConfig(epochs=3, batch_size=128, lr=1e-2)


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
