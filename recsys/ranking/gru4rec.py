"""``gru4rec``: a session-style recurrent ranker (Hidasi et al. 2016, with the full cross-entropy loss of
Hidasi and Karatzoglou 2018 and RecBole): each user's movies in time order, a GRU reads them and after every
step predicts the next movie with a softmax over the whole catalogue.

This is where the study's recurrent idea belongs: the study's ``lstm``/``gru`` rating nets run a recurrent
layer over one (user, movie) pair's two embeddings, a sequence of length two with no time in it; here the
sequence is the user's own history, and the model learns what comes next. A user is scored from the hidden
state after their last movie; a new user from the movies they give, in the order given. Its setting is the
``temporal_user`` split (each user's last movies held out), where "next" is what the test rows are.

Histories longer than ``max_len`` are cut into windows of ``max_len`` steps for training (the hidden state
starts fresh in each), and a user is scored from their last ``max_len`` movies."""

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.data.vocab import UNKNOWN_IDX
from recsys.ranking.base import Ranker, RankerConfig, kept

IGNORE = -100  # cross-entropy's ignore_index: padded steps


class GRU4RecConfig(RankerConfig):
    embedding: int = Field(64, ge=1, description="movie embedding size")
    hidden: int = Field(128, ge=1, description="GRU hidden units")
    dropout: float = Field(0.25, ge=0, lt=1, description="dropout on the embeddings and the GRU output")
    max_len: int = Field(50, ge=2, description="steps per training window, and movies a user is scored from")
    epochs: int = Field(10, ge=1, description="passes over the windows")
    lr: float = Field(2e-3, gt=0, description="Adam learning rate")
    batch_windows: int = Field(64, ge=1, description="windows per step")


class GRU4Rec(Ranker):
    """Embedding -> GRU -> linear over the catalogue, trained on next-movie cross-entropy."""

    def __init__(self, config: GRU4RecConfig, shape: ModelShape):
        super().__init__(config, shape)
        self.embed = nn.Embedding(shape.n_movies, config.embedding, padding_idx=UNKNOWN_IDX)
        self.gru = nn.GRU(config.embedding, config.hidden, batch_first=True)
        self.out = nn.Linear(config.hidden, shape.n_movies)
        self.keeps_history()

    def hidden_states(self, sequences: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The GRU's output at every step (B, T, hidden) and after each sequence's last step (B, hidden)."""
        device = self.embed.weight.device
        lengths = torch.tensor([max(len(s), 1) for s in sequences])
        padded = pad_sequence([s if len(s) else torch.zeros(1, dtype=torch.long) for s in sequences], batch_first=True)
        inputs = F.dropout(self.embed(padded.to(device)), self.config.dropout, self.training)
        packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        outputs, last = self.gru(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True)
        return outputs, last[0]

    def windows(self) -> list[torch.Tensor]:
        """Every user's history cut into windows of max_len + 1 movies (inputs and the next ones), overlapping
        by one movie so every movie after the first is a target once."""
        step = self.config.max_len
        out = []
        for user in range(self.n_users):
            history = self.history(user)
            out += [history[start : start + step + 1] for start in range(0, max(len(history) - 1, 0), step)]
        return [w for w in out if len(w) >= 2]

    def fit(self, interactions: RatingTensors, *, seed: int = 0) -> "GRU4Rec":
        config = self.config
        self.remember_history(kept(interactions, config.min_rating))  # in the time order given
        windows = self.windows()
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.to(device).train()
            optimiser = torch.optim.Adam(self.parameters(), lr=config.lr)
            for _ in range(config.epochs):
                for batch in torch.randperm(len(windows), generator=generator).split(config.batch_windows):
                    chosen = [windows[i] for i in batch.tolist()]
                    outputs, _ = self.hidden_states([w[:-1] for w in chosen])
                    targets = pad_sequence([w[1:] for w in chosen], batch_first=True, padding_value=IGNORE)
                    logits = self.out(F.dropout(outputs, config.dropout, self.training))
                    loss = F.cross_entropy(logits.flatten(0, 1), targets.to(device).flatten(), ignore_index=IGNORE)
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
        self.cpu().eval()
        return self

    def scores_after(self, sequences: list[torch.Tensor]) -> torch.Tensor:
        _, last = self.hidden_states([s[-self.config.max_len :] for s in sequences])
        return self.unknown_last(self.out(last))

    def movie_embedding(self) -> torch.Tensor:
        return self.embed.weight

    @torch.no_grad()
    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.scores_after([self.history(user) for user in user_idx.tolist()])

    @torch.no_grad()
    def fold_in(self, movie_idx: torch.Tensor, rating: torch.Tensor) -> torch.Tensor:
        movies, rating = torch.as_tensor(movie_idx, dtype=torch.long), torch.as_tensor(rating, dtype=torch.float32)
        keep = movies != UNKNOWN_IDX
        if self.config.min_rating is not None:
            keep &= rating >= self.config.min_rating
        return self.scores_after([movies[keep]])[0]
