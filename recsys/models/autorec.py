"""I-AutoRec (Sedhain et al. 2015): an autoencoder over each movie's vector of training ratings.

Prediction: ``r(u, m) = squash(W_u · sigmoid(Σ_{v rated m} V_v r_vm + b) + c_u)``: the encoder reads all of
movie ``m``'s training ratings (kept as buffers, so a checkpoint carries them), the decoder reads the
hidden code back out at user ``u``. The paper fits whole movie vectors at a time; here the one trainer feeds
single ratings, which is the same objective (the squared error over observed entries) sampled by rating,
and only the batch's distinct movies are encoded. From 500k training rows the batches follow movies
(``batch_order: movies``): a batch then reads few movies' vectors, near the paper's whole-vector batches, and
an epoch reads each training rating about once instead of once per batch its movie appears in.
Per-rating L2 on the decoder rows and encoder weights. AutoRec is weak alone but its errors differ from
the factor models', which is what a blend needs.
"""

import torch
from pydantic import Field
from torch import nn

from recsys.data.tensors import ModelShape
from recsys.models.base import Embedding, ModelConfig, RatingModel
from recsys.models.interactions import group_by, segment_sums, segments

CHUNK_INPUTS = 1 << 18  # training ratings one no-grad encoding step reads: 262k x hidden floats (0.5 GB at 500)


class AutoRecConfig(ModelConfig):
    # 250: validation MSE 0.7870 against 0.7896 for the paper's 500 and 0.7894 for 150 (training seeds 42 and 43
    # of the seed-42 split, at the registry's decaying rate), in half 500's time
    hidden: int = Field(250, ge=1, description="units of the code")
    l2: float = Field(3.0, ge=0, description="L2 on the weights each batch reads, per rating")
    input_dropout: float = Field(0.0, ge=0, lt=1, description="share of a movie's input ratings hidden")
    init_std: float = Field(0.03, gt=0)


class AutoRec(RatingModel):
    sized_buffers = ("rater_users", "rater_ratings")

    def __init__(self, config: AutoRecConfig, shape: ModelShape):
        super().__init__(shape)
        self.config = config
        self.encoder = Embedding(shape.n_users, config.hidden)  # V: one column per user, as rows
        self.encoder_bias = nn.Parameter(torch.zeros(config.hidden))
        self.decoder = Embedding(shape.n_users, config.hidden)  # W
        self.decoder_bias = Embedding(shape.n_users, 1)  # c
        for table in (self.encoder, self.decoder):
            nn.init.normal_(table.weight, std=config.init_std)
        nn.init.zeros_(self.decoder_bias.weight)
        self.register_buffer("rater_ptr", torch.zeros(shape.n_movies + 1, dtype=torch.long))
        self.register_buffer("rater_users", torch.zeros(0, dtype=torch.long))
        self.register_buffer("rater_ratings", torch.zeros(0))
        self.register_buffer("rating_centre", torch.tensor(shape.rating_mean), persistent=False)
        self._last_reads = None  # (movie_idx tensor, its reads): see reads
        self._catalogue = None  # (state, codes (n_movies, hidden)): every movie's code, kept in eval mode

    def read_data(self, features, interactions) -> None:
        """Keep, for each movie, the users who rated it in ``interactions`` and their ratings."""
        train = interactions
        known = (train.user_idx > 0) & (train.movie_idx > 0)
        ptr, users, ratings = group_by(
            train.movie_idx[known], self.shape.n_movies, train.user_idx[known], train.rating[known].float()
        )
        self.rater_ptr.copy_(ptr)
        device = self.rater_ptr.device
        self.rater_users, self.rater_ratings = users.to(device), ratings.to(device)
        self._last_reads = None

    def reads(self, movie_idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The batch's distinct movies (M,) and each row's position among them (B,); the positions of the
        training ratings their codes read (T,), grouped by movie, where each movie's group starts (M,), and the
        user of each (T,). Kept for the last batch: ``penalty`` reads the same batch as ``forward`` did."""
        # valid for the same batch tensor over the same rating buffers
        state = (self.rater_ptr.data_ptr(), self.rater_ptr._version, self.rater_users.data_ptr())
        if self._last_reads is not None and self._last_reads[0] is movie_idx and self._last_reads[1] == state:
            return self._last_reads[2]
        movies, inverse = torch.unique(movie_idx, return_inverse=True)  # (M,), (B,)
        positions, _ = segments(self.rater_ptr, movies)  # (T,), grouped by movie in the order of movies
        lengths = self.rater_ptr[movies + 1] - self.rater_ptr[movies]  # (M,)
        offsets = torch.cumsum(lengths, 0) - lengths  # (M,)
        self._last_reads = (movie_idx, state, (movies, inverse, positions, offsets, self.rater_users[positions]))
        return self._last_reads[2]

    def encode(self, movie_idx: torch.Tensor) -> torch.Tensor:
        """The code of each row's movie (B, hidden), from its training ratings centred on the mean. Without
        gradients (validation, scoring) the distinct movies are encoded in chunks of at most ``CHUNK_INPUTS``
        ratings, so scoring a large release never holds every rating's (hidden,) term at once."""
        if torch.is_grad_enabled():
            movies, inverse, positions, offsets, users = self.reads(movie_idx)
            sums = self.encoder.weighted_bag_sums(users, offsets, self._input_weights(positions))  # (M, hidden)
        elif not self.training:
            return self.catalogue_codes()[movie_idx]
        else:
            movies, inverse = torch.unique(movie_idx, return_inverse=True)  # (M,), (B,)
            sums = segment_sums(self.rater_ptr, movies, self._terms, self.config.hidden, CHUNK_INPUTS)
        return torch.sigmoid(sums + self.encoder_bias)[inverse]  # (B, hidden)

    def catalogue_codes(self) -> torch.Tensor:
        """Every movie's code (n_movies, hidden), computed once for as long as the weights and rating buffers
        stay as they are: validation and test batches each read most of the catalogue, and re-encoding it
        per batch read every training rating again (100 s of a 237 s epoch at 10M ratings)."""
        weights = (self.encoder.weight, self.encoder_bias, self.rater_ptr, self.rater_users, self.rater_ratings)
        state = tuple((t.data_ptr(), t._version) for t in weights)
        if self._catalogue is None or self._catalogue[0] != state:
            movies = torch.arange(self.shape.n_movies, device=self.rater_ptr.device)
            sums = segment_sums(self.rater_ptr, movies, self._terms, self.config.hidden, CHUNK_INPUTS)
            self._catalogue = (state, torch.sigmoid(sums + self.encoder_bias))
        return self._catalogue[1]

    def train(self, mode: bool = True):
        self._catalogue = None  # optimisers may write the weights in place without a version bump
        return super().train(mode)

    def _input_weights(self, positions: torch.Tensor) -> torch.Tensor:
        """Each read training rating's weight in its movie's code (T,): the centred rating (input dropout in
        training)."""
        weights = self.rater_ratings[positions] - self.rating_centre  # (T,)
        if self.training and self.config.input_dropout > 0:
            keep = torch.rand_like(weights) >= self.config.input_dropout
            weights = weights * keep / (1 - self.config.input_dropout)
        return weights

    def _terms(self, positions: torch.Tensor) -> torch.Tensor:
        """Each read training rating's input to its movie's code (T, hidden): V_v times its weight."""
        return self.encoder(self.rater_users[positions]) * self._input_weights(positions)[:, None]

    def forward(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        code = self.encode(movie_idx)  # (B, hidden)
        raw = (self.decoder(user_idx) * code).sum(1) + self.decoder_bias(user_idx)[:, 0]
        return self.squash(raw)  # (B,)

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        """All movies for each user (U, n_movies): every movie's code once, then one matrix product."""
        codes = self.encode(torch.arange(self.shape.n_movies, device=user_idx.device))  # (n_movies, hidden)
        return self.squash(self.decoder(user_idx) @ codes.T + self.decoder_bias(user_idx))

    def penalty(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        """``l2`` times the batch mean of the squared decoder row of each rating's user, plus the encoder's
        squared norm per training rating (it is read by every movie's code)."""
        decoder = self.decoder(user_idx).square().sum(1).mean()
        if self.encoder.lazy and self.training:  # lazy updates: the encoder rows this batch's codes read
            users = self.reads(movie_idx)[-1]  # each distinct user's row once, times how often the batch read it
            encoder = self.encoder.summed_squares(users) / max(len(self.rater_users), 1)
            return self.config.l2 * (decoder + encoder)
        encoder = self.encoder.weight.square().sum() / max(len(self.rater_users), 1)
        return self.config.l2 * (decoder + encoder)
