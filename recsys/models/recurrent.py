"""What the recurrent variants (``lstm``, ``gru``, ``bilstm``) share: the fast.ai 2017 baseline net with its
dense layer of 70 units replaced by a recurrent layer of 50 units, after the reference study.

Prediction: ``r(u, m) = squash(w · drop(h) + b)``, where ``h`` is the recurrent layer's final hidden state,
from a zero initial state, over a sequence made of the user and movie embeddings ``e_u``, ``e_m`` (50 each):

- ``single_step`` (the reference study's layout): ONE step of 100 features, ``x_1 = drop([e_u, e_m])``. From a
  zero state one step never recurs, so the layer acts as a gated dense layer (each variant's module spells
  out its formula).
- ``two_step``: two steps of 50 features, ``x_1 = drop(e_u)`` then ``x_2 = drop(e_m)``.

Each variant's config sets the default mode that trained better on the validation rows: one step for
``lstm`` and ``gru``, two steps for ``bilstm``.

``h`` is the hidden state after the last step (for the bidirectional layer: the forward direction's state
after the movie step beside the backward direction's state after the user step). Why not the concatenation
of both steps' outputs in ``two_step``: the first step's output is a function of the user alone, so it would
add a user-only term rather than interaction features, and it is not what the single-step layout produces;
the final state is the one representation that has read both the user and the movie, in both modes and
for both directions, so activation analysis compares like with like. Dropout (0.75 by default) is applied
elementwise to the step inputs and to ``h``.

The hidden representation ``h`` (B, hidden × directions) flows through the identity submodule
``recurrent_out``: a forward hook on ``model.recurrent_out`` captures it.
"""

from typing import ClassVar, Literal

import torch
from pydantic import Field
from torch import nn

from recsys.data.tensors import ModelShape
from recsys.models.base import Dropout, ModelConfig, RatingModel, user_movie_embeddings

Mode = Literal["single_step", "two_step"]


class RecurrentConfig(ModelConfig):
    dim: int = Field(50, ge=1, description="embedding size of users and of movies")
    hidden: int = Field(50, ge=1, description="units of the recurrent layer, per direction")
    mode: Mode = Field("single_step", description="[user, movie] as one step of 2*dim, or user then movie")
    input_dropout: float = Field(0.75, ge=0, lt=1, description="on the embeddings fed to the recurrent layer")
    output_dropout: float = Field(0.75, ge=0, lt=1, description="on the recurrent layer's output")
    init_std: float = Field(0.05, gt=0, description="standard deviation of the initial embeddings")


class RecurrentNet(RatingModel):
    """Base of the recurrent variants; a subclass names its recurrent layer class and direction count."""

    layer_cls: ClassVar[type[nn.RNNBase]]
    bidirectional: ClassVar[bool] = False

    def __init__(self, config: RecurrentConfig, shape: ModelShape):
        super().__init__(shape)
        self.config = config
        self.user_emb, self.movie_emb = user_movie_embeddings(shape, config.dim, config.init_std)
        step_features = 2 * config.dim if config.mode == "single_step" else config.dim
        self.input_dropout = Dropout(config.input_dropout)
        self.recurrent = self.layer_cls(
            step_features, config.hidden, batch_first=True, bidirectional=self.bidirectional
        )
        self.recurrent_out = nn.Identity()  # h (B, hidden * directions): hook here for activation analysis
        self.output_dropout = Dropout(config.output_dropout)
        self.out = nn.Linear(config.hidden * (2 if self.bidirectional else 1), 1)

    def hidden_layer(self) -> nn.Module:
        return self.recurrent_out

    def movie_embedding(self) -> torch.Tensor:
        return self.movie_emb.weight

    def forward(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        steps = self.input_dropout(self.steps(user_idx, movie_idx))  # (B, T, F)
        h = self.recurrent_out(self.final_state(steps))  # (B, hidden * directions)
        return self.squash(self.out(self.output_dropout(h))[:, 0])  # (B,)

    def steps(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        """The input sequence: (B, 1, 2*dim) in ``single_step`` mode, (B, 2, dim) in ``two_step`` mode."""
        e_u, e_m = self.user_emb(user_idx), self.movie_emb(movie_idx)  # (B, dim) each
        if self.config.mode == "single_step":
            return torch.cat([e_u, e_m], dim=1).unsqueeze(1)  # (B, 1, 2*dim)
        return torch.stack([e_u, e_m], dim=1)  # (B, 2, dim)

    def final_state(self, steps: torch.Tensor) -> torch.Tensor:
        """Each direction's hidden state after its last step, side by side: (B, hidden * directions)."""
        _, final = self.recurrent(steps)
        h_n = final[0] if isinstance(final, tuple) else final  # an LSTM returns (h_n, c_n); (directions, B, hidden)
        return torch.cat(list(h_n), dim=1)
