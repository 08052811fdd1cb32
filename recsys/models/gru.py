"""The GRU variant: the baseline net with a GRU of 50 units in place of its dense layer.

Prediction: ``r(u, m) = squash(w · drop(h) + b)`` with ``h`` the GRU's final hidden state (B, 50); see
:mod:`recsys.models.recurrent` for the two input layouts. In ``single_step`` mode, from a zero state, with
``x = drop([e_u, e_m])`` (B, 100): ``r = σ(W_r x + b_ir + b_hr)``, ``z = σ(W_z x + b_iz + b_hz)``,
``n = tanh(W_n x + b_in + r ⊙ b_hn)``, ``h = (1 - z) ⊙ n``. In ``two_step`` mode the same cell runs over
``drop(e_u)`` then ``drop(e_m)``: ``h_2 = (1 - z_2) ⊙ n_2 + z_2 ⊙ h_1``, the update gate blending the user
step's state into the movie step's.
"""

from torch import nn

from recsys.models.recurrent import RecurrentConfig, RecurrentNet


class GRUConfig(RecurrentConfig):
    """Settings of the ``gru`` variant (defaults: 50 units, single step, dropout 0.75 before and after).

    One step by default: at the registry's train defaults its validation MSE on the seed-42 split averaged
    0.7815 over three training seeds against 0.7969 for two steps.
    """


class GRUNet(RecurrentNet):
    layer_cls = nn.GRU
