"""The shared trainer's settings. Each variant's defaults are overrides of these, declared beside the
variant in :mod:`recsys.models`; a run's resolved settings live in :class:`recsys.pipeline.config.PipelineConfig`."""

from typing import Literal

from pydantic import Field

from recsys.strict import StrictConfig


class TrainConfig(StrictConfig):
    """The shared trainer's settings: Adam on MSE with early stopping on validation MSE."""

    epochs: int = Field(20, ge=1)
    batch_size: int = Field(1024, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    lr_decay: float = Field(
        1.0, gt=0, le=1, description="the learning rate is lr * lr_decay ** (epochs done): 1 keeps it constant"
    )
    patience: int = Field(3, ge=1, description="epochs without a better validation MSE before stopping")
    unknown_id_rate: float = Field(
        0.02, ge=0, lt=1, description="share of training ids replaced by the unknown slot, so it learns"
    )
    seed: int = 42
    device: Literal["auto", "cpu", "cuda"] = "auto"
    restore_best: bool = Field(
        True, description="end with the best validation epoch's weights (False: the last epoch's, for a refit)"
    )
    batch_order: Literal["rows", "movies", "users"] = Field(
        "rows",
        description="rows: each epoch in a random row order; movies (users): the movies (users) in a random "
        "order, each one's rows together, so a batch reads few movies' (users') rating lists (I-AutoRec's "
        "whole-vector batches, SVD++'s implicit sums); applies from order_from training rows",
    )
    order_from: int = Field(
        500_000, ge=0, description="training rows from which batch_order applies (below: a random row order)"
    )
    embedding_updates: Literal["auto", "dense", "lazy"] = Field(
        "auto",
        description="lazy: Adam on the rows each batch reads (large tables); auto: lazy above 4M embedding values",
    )
