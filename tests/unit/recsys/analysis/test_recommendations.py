"""The analysis's top-10 lists: a blend of the run's own variants is blended from the scores those variants
already gave (not scored a second time through its members), and gives what its own scoring gives."""

import copy

import numpy as np
import torch

from recsys.analysis.recommendations import RememberedScores
from recsys.models import build_model
from recsys.models.blend import BlendConfig
from recsys.training.config import TrainConfig
from recsys.training.ensembles import Member, fit_ensemble
from recsys.training.trainer import train_model


def trained(prepared) -> dict:
    train, val = prepared.tensors("train"), prepared.tensors("val")
    out = {}
    for name, config in (("mf", TrainConfig(epochs=3, batch_size=128, lr=1e-2)), ("knn", TrainConfig(epochs=1))):
        model = build_model(name, None, prepared.shape, seed=0)
        result = train_model(model, train, val, config)
        out[name] = (model.cpu().eval(), config, result.best_epoch)
    return out


def test_a_blend_of_the_runs_variants_is_blended_from_their_remembered_scores(tiny_prepared):
    variants = trained(tiny_prepared)
    members = [Member(name, copy.deepcopy(model), config, epoch) for name, (model, config, epoch) in variants.items()]
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    blend, _ = fit_ensemble(
        "blend", BlendConfig(members=("mf", "knn")), members, train, val, features=tiny_prepared.features
    )
    blend.eval()
    users = np.array([1, 2, 3, 5], dtype=np.int64)
    # the run's variants are what the blend holds (in a run, the blend takes its members' refits)
    earlier = {name: RememberedScores.of(copy.deepcopy(m), users, {}) for name, m in blend.members.items()}
    with torch.no_grad():
        own = blend.score_matrix(torch.from_numpy(users))
    assert torch.allclose(RememberedScores.of(blend, users, earlier).matrix, own, atol=1e-6)

    # what it blends is the remembered scores: a doctored matrix under the members' fingerprint shows through
    threes = torch.full_like(earlier["mf"].matrix, 3.0)
    doctored = dict(earlier, mf=RememberedScores(threes, users, earlier["mf"].weights))
    expected = blend.blended([doctored["mf"].matrix, earlier["knn"].matrix])
    assert torch.equal(RememberedScores.of(blend, users, doctored).matrix, expected)
    assert not torch.allclose(expected, own)

    # a member with other weights than the run's variant of that name: the blend scores its members itself
    other = dict(earlier, mf=RememberedScores(doctored["mf"].matrix, users, "other weights"))
    assert torch.allclose(RememberedScores.of(blend, users, other).matrix, own, atol=1e-6)
    rows = RememberedScores.of(blend, users, earlier).score_matrix(torch.tensor([5, 1]))
    assert torch.equal(rows, RememberedScores.of(blend, users, earlier).matrix[[3, 0]])
