from recsys.models import build_model
from tests.unit.recsys.models.contract import SHAPE, ModelContract


class TestBaselineNet(ModelContract):
    variant = "baseline"


def test_baseline_has_the_fastai_2017_layout():
    model = build_model("baseline", None, SHAPE, seed=0)
    assert model.user_emb.weight.shape == (SHAPE.n_users, 50)
    assert (model.hidden.in_features, model.hidden.out_features) == (100, 70)
    assert model.out.out_features == 1
    assert (model.emb_dropout.p, model.hidden_dropout.p) == (0.3, 0.75)
