"""The base of every typed configuration: unknown keys are an error, values are immutable once built."""

from pydantic import BaseModel, ConfigDict


class StrictConfig(BaseModel):
    """Base for every config: unknown keys are an error, values are immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)
