"""What the recurrent variants (``lstm``, ``gru``, ``bilstm``) share: the fast.ai 2017 baseline net with its
dense layer of 70 units replaced by a recurrent layer of 50 units, after the reference study.

Prediction: ``r(u, m) = squash(w · drop(h) + b)``, where ``h`` is the recurrent layer's final hidden state,
from a zero initial state, over a sequence made of the user and movie embeddings ``e_u``, ``e_m`` (50 each):

- ``single_step`` (the reference study's layout): ONE step of 100 features, ``x_1 = drop([e_u, e_m])``. From a
  zero state one step never recurs, so the layer acts as a gated dense layer (each variant's module spells
  out its formula).
- ``two_step``: two steps of 50 features, ``x_1 = drop(e_u)`` then ``x_2 = drop(e_m)``.

All three default to one step, which trained as well as two or better on the validation rows (each
variant's config says by how much).

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
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from recsys.data.tensors import ModelShape
from recsys.models.base import Dropout, ModelConfig, RatingModel, user_movie_embeddings

Mode = Literal["single_step", "two_step"]
SCORE_CELLS = 8_000_000  # gate values one block of score_matrix holds (32 MB of float32: 2.5 times as fast as 256 MB)


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

    @torch.no_grad()
    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        """Every movie for each user (U, n_movies), as ``forward`` scores them in eval mode, without running the
        recurrent layer on every pair: each step's input projection is a sum of a user part and a movie part,
        and a step that reads the user (or the movie) alone gives one state per user (per movie), so the gates
        of every pair are those parts broadcast together, a few users at a time (the analysis scored 1.6M pairs
        per net through the layer: 10 s for the three nets)."""
        if self.training:
            return super().score_matrix(user_idx)
        e_u, e_m = self.user_emb(user_idx), self.movie_emb.weight  # (U, dim), (M, dim)
        per = max(1, SCORE_CELLS // (self.shape.n_movies * 4 * self.config.hidden))  # users per block
        single = self.config.mode == "single_step"
        if single:  # each direction's user and movie parts, once for all blocks
            user_parts, movie_parts = self._single_step_parts(e_u, e_m)
        parts = []
        for start in range(0, len(user_idx), per):
            block = slice(start, start + per)
            if single:
                states = [self._single_step_state(user_parts[d][block], movie_parts[d], d) for d in self._directions()]
            else:
                states = [self._pair_state(e_u[block], e_m, direction) for direction in self._directions()]
            h = torch.cat(states, dim=-1)  # (u, M, hidden * directions)
            parts.append(self.squash(self.out(h)[..., 0]))
        return torch.cat(parts) if parts else torch.zeros(0, self.shape.n_movies, device=user_idx.device)

    def _directions(self) -> list[str]:
        return ["", "_reverse"] if self.bidirectional else [""]

    def _single_step_parts(self, e_u: torch.Tensor, e_m: torch.Tensor) -> tuple[dict, dict]:
        """For one step of [e_u, e_m] from a zero state, each direction's gate inputs split into a user part
        (U, G') and a movie part with both biases (M, G'), so a pair's gates are one sum. An LSTM's forget gate
        is left out (it multiplies the zero state), and a GRU's candidate keeps its hidden bias apart (the reset
        gate multiplies it): the columns are i, g, o for an LSTM and r, z, n for a GRU."""
        users, movies, dim, hidden = {}, {}, e_u.shape[1], self.config.hidden
        lstm = isinstance(self.recurrent, nn.LSTM)
        for direction in self._directions():
            w_ih = getattr(self.recurrent, f"weight_ih_l0{direction}")
            b_ih, b_hh = (
                getattr(self.recurrent, f"bias_ih_l0{direction}"),
                getattr(self.recurrent, f"bias_hh_l0{direction}"),
            )
            bias = b_ih + b_hh
            if lstm:  # gates i, f, g, o: keep i, g, o
                keep = torch.cat([torch.arange(0, hidden), torch.arange(2 * hidden, 4 * hidden)]).to(w_ih.device)
                w_ih, bias = w_ih[keep], bias[keep]
            else:  # r, z with both biases; n with its input bias only
                bias = torch.cat([bias[: 2 * hidden], b_ih[2 * hidden :]])
            users[direction] = e_u @ w_ih[:, :dim].T  # (U, G')
            movies[direction] = e_m @ w_ih[:, dim:].T + bias  # (M, G')
        return users, movies

    def _single_step_state(self, users: torch.Tensor, movies: torch.Tensor, direction: str) -> torch.Tensor:
        """One direction's state (u, M, hidden) after one step from a zero state, from the user parts (u, G')
        and movie parts (M, G') of :meth:`_single_step_parts`."""
        x = users[:, None, :] + movies[None, :, :]  # (u, M, G')
        if isinstance(self.recurrent, nn.LSTM):
            i, g, o = x.chunk(3, dim=-1)
            return torch.sigmoid(o) * torch.tanh(torch.sigmoid(i) * torch.tanh(g))
        x_r, x_z, x_n = x.chunk(3, dim=-1)
        b_hn = getattr(self.recurrent, f"bias_hh_l0{direction}")[2 * self.config.hidden :]
        return (1 - torch.sigmoid(x_z)) * torch.tanh(x_n + torch.sigmoid(x_r) * b_hn)

    def _pair_state(self, e_u: torch.Tensor, e_m: torch.Tensor, direction: str) -> torch.Tensor:
        """``two_step``: one direction's final state for every (user, movie) pair (u, M, hidden)."""
        layer = self.recurrent
        w_ih, w_hh = getattr(layer, f"weight_ih_l0{direction}"), getattr(layer, f"weight_hh_l0{direction}")
        b_ih, b_hh = getattr(layer, f"bias_ih_l0{direction}"), getattr(layer, f"bias_hh_l0{direction}")
        first, second = (e_u, e_m) if direction == "" else (e_m, e_u)  # the backward direction reads the movie first
        h1, c1 = self._cell(first @ w_ih.T + b_ih, b_hh, None, None)  # (n1, hidden): one state per user or movie
        x2 = second @ w_ih.T + b_ih  # (n2, G)
        h1_proj = h1 @ w_hh.T + b_hh  # (n1, G)
        if direction == "":  # users first: (u, 1, .) against movies (1, M, .)
            x, h_proj, h_prev, c_prev = x2[None], h1_proj[:, None], h1[:, None], (None if c1 is None else c1[:, None])
        else:  # movies first: movies (1, M, .) against users (u, 1, .)
            x, h_proj, h_prev, c_prev = x2[:, None], h1_proj[None], h1[None], (None if c1 is None else c1[None])
        return self._cell(x, h_proj, h_prev, c_prev)[0]

    def _cell(self, x, h_proj, h_prev, c_prev):
        """One step of the layer's cell from the input projection ``x`` (W_ih x + b_ih) and the state's
        (W_hh h + b_hh), broadcast together; a zero state when ``h_prev`` is None. Returns (h, c)."""
        if isinstance(self.recurrent, nn.LSTM):
            i, f, g, o = (x + h_proj).chunk(4, dim=-1)
            c = torch.sigmoid(i) * torch.tanh(g)
            if c_prev is not None:
                c = c + torch.sigmoid(f) * c_prev
            return torch.sigmoid(o) * torch.tanh(c), c
        x_r, x_z, x_n = x.chunk(3, dim=-1)  # a GRU
        h_r, h_z, h_n = h_proj.chunk(3, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h = (1 - z) * n if h_prev is None else (1 - z) * n + z * h_prev
        return h, None

    def final_state(self, steps: torch.Tensor) -> torch.Tensor:
        """Each direction's hidden state after its last step, side by side: (B, hidden * directions).

        On the CPU the steps are unrolled here through :meth:`_cell` with the layer's own weights (same
        values to float rounding): for sequences of one or two steps ``nn.LSTM``'s CPU kernel spent more time
        on its own bookkeeping than on the arithmetic (bilstm's training epoch 0.72 s through it, 0.55 s
        unrolled, on 2 cores). On CUDA the fused cuDNN layer runs as is."""
        if steps.is_cuda:
            _, final = self.recurrent(steps)
            h_n = final[0] if isinstance(final, tuple) else final  # an LSTM returns (h_n, c_n); (dirs, B, hidden)
            return torch.cat(list(h_n), dim=1)
        layer, states = self.recurrent, []
        for direction in self._directions():
            w_ih, w_hh = getattr(layer, f"weight_ih_l0{direction}"), getattr(layer, f"weight_hh_l0{direction}")
            b_ih, b_hh = getattr(layer, f"bias_ih_l0{direction}"), getattr(layer, f"bias_hh_l0{direction}")
            order = range(steps.shape[1]) if direction == "" else reversed(range(steps.shape[1]))
            h = c = None
            for t in order:  # the first step from a zero state: its hidden projection is the bias alone
                h_proj = b_hh if h is None else F.linear(h, w_hh, b_hh)
                h, c = self._cell(F.linear(steps[:, t], w_ih, b_ih), h_proj, h, c)
            states.append(h)
        return torch.cat(states, dim=1)
