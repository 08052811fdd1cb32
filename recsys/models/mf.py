"""Biased matrix factorisation.

Prediction: ``r(u, m) = squash(b_u + b_m + p_u · q_m)``, where the squash starts at the training mean, so
the global mean is built in. L2 on the biases and factors of the rows in each batch (per rating, as in
Koren's SGD formulation) rather than weight decay on every row, which would shrink rarely-seen movies
on every step.
"""

import torch
from pydantic import Field
from torch import nn

from recsys.models.base import ModelConfig, ModelShape, RatingModel


class MFConfig(ModelConfig):
    dim: int = Field(50, ge=1, description="latent factors per user and movie")
    l2: float = Field(0.05, ge=0, description="per-rating L2 weight on the batch's biases and factors")
    init_std: float = Field(0.01, gt=0)


class MatrixFactorization(RatingModel):
    def __init__(self, config: MFConfig, shape: ModelShape):
        super().__init__(shape)
        self.config = config
        self.user_bias = nn.Embedding(shape.n_users, 1)
        self.movie_bias = nn.Embedding(shape.n_movies, 1)
        self.user_factors = nn.Embedding(shape.n_users, config.dim)
        self.movie_factors = nn.Embedding(shape.n_movies, config.dim)
        for table in (self.user_bias, self.movie_bias):
            nn.init.zeros_(table.weight)
        for table in (self.user_factors, self.movie_factors):
            nn.init.normal_(table.weight, std=config.init_std)

    def forward(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        p, q = self.user_factors(user_idx), self.movie_factors(movie_idx)  # (B, dim) each
        raw = (p * q).sum(1) + self.user_bias(user_idx)[:, 0] + self.movie_bias(movie_idx)[:, 0]
        return self.squash(raw)  # (B,)

    def penalty(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        p, q = self.user_factors(user_idx), self.movie_factors(movie_idx)
        bu, bm = self.user_bias(user_idx), self.movie_bias(movie_idx)
        squares = (p * p).sum(1) + (q * q).sum(1) + (bu * bu)[:, 0] + (bm * bm)[:, 0]
        return self.config.l2 * squares.mean()
