"""The fast.ai 2017 "baseline" net the reference study started from.

Prediction: ``r(u, m) = squash(W2 · drop(relu(W1 · drop([e_u, e_m]) + c1)) + c2)``: user and movie
embeddings of 50 concatenated (B, 100), dropout 0.3, dense 70 with ReLU, dropout 0.75, dense 1.
"""

import torch
from pydantic import Field
from torch import nn

from recsys.data.tensors import ModelShape
from recsys.models.base import Dropout, ModelConfig, RatingModel, user_movie_embeddings


class BaselineConfig(ModelConfig):
    dim: int = Field(50, ge=1, description="embedding size of users and of movies")
    hidden: int = Field(70, ge=1, description="units of the dense layer")
    emb_dropout: float = Field(0.3, ge=0, lt=1)
    hidden_dropout: float = Field(0.75, ge=0, lt=1)
    init_std: float = Field(0.05, gt=0)


class BaselineNet(RatingModel):
    def __init__(self, config: BaselineConfig, shape: ModelShape):
        super().__init__(shape)
        self.config = config
        self.user_emb, self.movie_emb = user_movie_embeddings(shape, config.dim, config.init_std)
        self.emb_dropout = Dropout(config.emb_dropout)
        self.hidden = nn.Linear(2 * config.dim, config.hidden)
        self.hidden_out = nn.Identity()  # (B, hidden): hook here for activation analysis (holds no parameters)
        self.hidden_dropout = Dropout(config.hidden_dropout)
        self.out = nn.Linear(config.hidden, 1)

    def hidden_layer(self) -> nn.Module:
        return self.hidden_out

    def movie_embedding(self) -> torch.Tensor:
        return self.movie_emb.weight

    def forward(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.user_emb(user_idx), self.movie_emb(movie_idx)], dim=1)  # (B, 2*dim)
        h = self.hidden_out(torch.relu(self.hidden(self.emb_dropout(x))))  # (B, hidden): the units analysis reads
        return self.squash(self.out(self.hidden_dropout(h))[:, 0])  # (B,)
