"""Wide & Deep (Cheng et al. 2016) for ratings.

Prediction: ``r(u, m) = squash(wide(u, m) + deep(u, m))`` with

- ``wide(u, m) = a_u + b_m + w_g · g_m + Σ_{j: g_mj = 1} c[hash(u, j)]``: a linear model over sparse one-hot
  user id, movie id, the movie's genres ``g_m`` (multi-hot) and the crossed user-by-genre features, hashed into
  ``cross_buckets`` weights (what the paper calls cross-product transformations, memorising "this user likes
  this genre");
- ``deep(u, m) = MLP([e_u, e_m, G g_m, y_{year_bucket(m)}])``: user and movie embeddings, a projection of the
  genres and an embedding of the release-year bucket, through ReLU layers with dropout (generalisation).

The reference study fed raw ids as two floats into its wide part; here the wide part is the sparse linear
model the paper describes. The paper trained the wide part with FTRL and the deep part with AdaGrad; our one
trainer uses Adam for both, with per-rating L2 on the rows each batch touches (``penalty``): on
ml-latest-small that trained better and more steadily than a plain weight decay on every row, and needed no
separate optimiser. Genre and year tables come from the training rows (``recsys.data.features``) and are held as
buffers, so a checkpoint carries them. The last hidden layer passes through ``deep_out`` (hook point for
activation analysis).
"""

import torch
from pydantic import Field
from torch import nn

from recsys.data.features import YEAR_EDGES, FeatureTables, cross_user_genre
from recsys.data.tensors import ModelShape
from recsys.models.base import Dropout, Embedding, ModelConfig, RatingModel

N_YEAR_BUCKETS = len(YEAR_EDGES) + 2  # unknown, before the first edge, and one per edge


class WideDeepConfig(ModelConfig):
    dim: int = Field(32, ge=1, description="embedding size of users, movies and the genre projection")
    year_dim: int = Field(8, ge=1, description="embedding size of the release-year bucket")
    hidden: tuple[int, ...] = Field((64, 32), min_length=1, description="units of the deep part's layers")
    dropout: float = Field(0.3, ge=0, lt=1)
    cross_buckets: int = Field(10_007, ge=1, description="hashed weights for user-by-genre crosses")
    wide_l2: float = Field(1e-3, ge=0, description="per-rating L2 on the wide weights the batch touches")
    deep_l2: float = Field(1e-2, ge=0, description="per-rating L2 on the batch's user and movie embeddings")
    init_std: float = Field(0.05, gt=0)


class WideDeep(RatingModel):
    def __init__(self, config: WideDeepConfig, shape: ModelShape):
        super().__init__(shape)
        self.config = config
        n_genres = shape.n_genres
        # feature tables by movie_idx, filled by read_data (training) or load_state_dict (a checkpoint)
        self.register_buffer("genres", torch.zeros(shape.n_movies, n_genres))
        self.register_buffer("year_bucket", torch.zeros(shape.n_movies, dtype=torch.long))
        self.register_buffer("genre_ids", torch.arange(n_genres), persistent=False)
        # wide: sparse linear weights
        self.user_w, self.movie_w = Embedding(shape.n_users, 1), Embedding(shape.n_movies, 1)
        self.genre_w = nn.Linear(n_genres, 1, bias=False)
        self.cross_w = Embedding(config.cross_buckets, 1)
        for weights in (self.user_w, self.movie_w, self.cross_w):
            nn.init.zeros_(weights.weight)
        nn.init.zeros_(self.genre_w.weight)
        # deep: embeddings and a multi-layer perceptron
        self.user_emb, self.movie_emb = (
            Embedding(shape.n_users, config.dim),
            Embedding(shape.n_movies, config.dim),
        )
        self.year_emb = Embedding(N_YEAR_BUCKETS, config.year_dim)
        for table in (self.user_emb, self.movie_emb, self.year_emb):
            nn.init.normal_(table.weight, std=config.init_std)
        self.genre_proj = nn.Linear(n_genres, config.dim, bias=False)
        layers, width = [], 3 * config.dim + config.year_dim
        for units in config.hidden:
            layers += [nn.Linear(width, units), nn.ReLU(), Dropout(config.dropout)]
            width = units
        self.mlp = nn.Sequential(*layers[:-1])  # no dropout after the last layer: deep_out sees it whole
        self.deep_out = nn.Identity()  # (B, hidden[-1]): hook here for activation analysis
        self.deep_dropout = Dropout(config.dropout)
        self.deep_head = nn.Linear(width, 1)

    def read_data(self, features: FeatureTables, interactions) -> None:
        """Copy the genre and year-bucket tables (rows by movie_idx) into the model's buffers."""
        genres = torch.tensor(features.genre_matrix(), dtype=torch.float32)
        if genres.shape != self.genres.shape:
            raise ValueError(f"feature tables have shape {tuple(genres.shape)}, the model {tuple(self.genres.shape)}")
        self.genres.copy_(genres)
        self.year_bucket.copy_(torch.tensor(features.movie_features["year_bucket"].to_numpy(), dtype=torch.long))

    def hidden_layer(self) -> nn.Module:
        return self.deep_out

    def movie_embedding(self) -> torch.Tensor:
        return self.movie_emb.weight

    def forward(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        g = self.genres[movie_idx]  # (B, G) multi-hot
        return self.squash(self.wide(user_idx, movie_idx, g) + self.deep(user_idx, movie_idx, g))  # (B,)

    def wide(self, user_idx: torch.Tensor, movie_idx: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        crosses = self.cross_w(self.cross_index(user_idx))[..., 0]  # (B, G)
        return (
            self.user_w(user_idx)[:, 0] + self.movie_w(movie_idx)[:, 0] + self.genre_w(g)[:, 0] + (crosses * g).sum(1)
        )

    def deep(self, user_idx: torch.Tensor, movie_idx: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        x = torch.cat(
            [
                self.user_emb(user_idx),
                self.movie_emb(movie_idx),
                self.genre_proj(g),
                self.year_emb(self.year_bucket[movie_idx]),
            ],
            dim=1,
        )  # (B, 3*dim + year_dim)
        h = self.deep_out(self.mlp(x))  # (B, hidden[-1])
        return self.deep_head(self.deep_dropout(h))[:, 0]  # (B,)

    def cross_index(self, user_idx: torch.Tensor) -> torch.Tensor:
        """(B, G) hashed bucket of each (user, genre) pair."""
        return cross_user_genre(user_idx[:, None], self.genre_ids[None, :], self.config.cross_buckets)

    def penalty(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        g = self.genres[movie_idx]
        wide = self.user_w(user_idx)[:, 0] ** 2 + self.movie_w(movie_idx)[:, 0] ** 2
        wide = wide + ((self.cross_w(self.cross_index(user_idx))[..., 0] ** 2) * g).sum(1)
        deep = (self.user_emb(user_idx) ** 2).sum(1) + (self.movie_emb(movie_idx) ** 2).sum(1)
        return self.config.wide_l2 * wide.mean() + self.config.deep_l2 * deep.mean()
