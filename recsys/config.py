"""Typed configuration: every setting of a run, validated, with unknown keys rejected.

Model-specific settings live beside each model (see :mod:`recsys.models`); this module holds what every
run shares: the split and the trainer. Deployments override these through flow parameters.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StrictConfig(BaseModel):
    """Base for every config: unknown keys are an error, values are immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitConfig(StrictConfig):
    """How ratings are divided into train, validation and test rows.

    - ``random``: a seeded random ``test_fraction``, then ``val_fraction`` of the rest (seed 42 and 80/20
      follow the reference study's protocol);
    - ``temporal_global``: one time cut: the latest ``test_fraction`` of ratings are the test rows, the
      latest ``val_fraction`` of the rest are the validation rows;
    - ``temporal_user``: each user's last ``last_n`` ratings are test rows and the ``last_n`` before them
      validation rows (a user keeps at least one training rating).
    """

    kind: Literal["random", "temporal_global", "temporal_user"] = "random"
    seed: int = 42
    test_fraction: float = Field(0.2, gt=0, lt=1)
    val_fraction: float = Field(0.1, ge=0, lt=1, description="share of the training part held out")
    last_n: int = Field(5, ge=1, description="temporal_user: ratings per user held out for test (and val)")

    @property
    def name(self) -> str:
        if self.kind == "temporal_user":
            return f"{self.kind}-{self.last_n}"
        if self.kind == "temporal_global":
            return f"{self.kind}-{self.test_fraction:g}-{self.val_fraction:g}"
        return f"{self.kind}-{self.seed}-{self.test_fraction:g}-{self.val_fraction:g}"


class TrainConfig(StrictConfig):
    """The shared trainer's settings: Adam on MSE with early stopping on validation MSE."""

    epochs: int = Field(20, ge=1)
    batch_size: int = Field(1024, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    patience: int = Field(3, ge=1, description="epochs without a better validation MSE before stopping")
    unknown_id_rate: float = Field(
        0.02, ge=0, lt=1, description="share of training ids replaced by the unknown slot, so it learns"
    )
    seed: int = 42
    device: Literal["auto", "cpu", "cuda"] = "auto"
    restore_best: bool = Field(
        True, description="end with the best validation epoch's weights (False: the last epoch's, for a refit)"
    )
