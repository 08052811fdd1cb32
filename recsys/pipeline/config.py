"""The one typed configuration of a train-all run, from the command line to a deployment.

:class:`PipelineConfig` holds every setting a run has: where the data comes from, how it is split, how many
seeds, which variants with which model and trainer settings, whether the analysis runs, and how promotion
decides. It is the one parameter of the ``train-all`` and ``retrain`` flows (Prefect validates it and shows
its schema), ``recsys train-all --config FILE.yaml`` reads it, CLI flags override single fields, and each run
logs the resolved config as ``config.yaml``, which given back to ``--config`` trains the same models.

Resolution rules, applied whenever a config is built:

- ``variants`` lists the variants to train; a variant missing from it is not trained; each variant given
  starts from its registered defaults (:mod:`recsys.models`), and a partial ``train`` section changes only
  the fields it names;
- ``epochs``, when set, is every gradient-trained variant's epoch budget;
- ``refit`` (default true): each rating model, its epoch count chosen by early stopping on the validation rows,
  is trained again from scratch on training + validation rows for that count, so single models learn from
  the same rows as the blend's members and the peer tools;
- each variant trains with the split's seed (``train.seed`` always equals ``split.seed``); with ``seeds`` > 1
  the run repeats with seeds ``split.seed + 1``, ... (see :meth:`PipelineConfig.for_seed`);
- an ensemble's members (the blend's ``members``) must be among the variants, and are trained before it.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, create_model, model_validator

from recsys.data.gate import ReleaseGateConfig
from recsys.data.split import SplitConfig
from recsys.evaluation.promotion import PromotionConfig
from recsys.models import DEFAULT_RANKERS, DEFAULT_VARIANTS, VARIANTS, ModelConfig, Variant, get_variant, variants_of
from recsys.ranking import RankerConfig
from recsys.strict import StrictConfig
from recsys.training.config import TrainConfig

# the parts of a config that decide what a run learns, besides the data itself: their hash is the settings
# fingerprint that ``retrain`` compares (where the data lives, the analysis, promotion and runner do not count)
LEARNING_FIELDS = ("split", "seeds", "epochs", "refit", "variants", "rankers")


class DataConfig(StrictConfig):
    """Where the ratings come from and how much bad data a run tolerates."""

    source: str | None = Field(
        None,
        description="MovieLens folder, .zip, URL or s3:// / gs:// / hdfs:// URI; empty: $RECSYS_DATA, "
        "else the GroupLens download",
    )
    max_quarantine_share: float = Field(
        0.01, ge=0, le=1, description="fail when more than this share of a table's rows is quarantined"
    )
    refresh: bool = Field(False, description="ingest again even when the data is unchanged")


class RunnerConfig(StrictConfig):
    """Where the variants train: one after another in this process, or in parallel on a Dask cluster."""

    kind: Literal["local", "dask"] = Field("local", description="local: in turn here; dask: on a Dask cluster")
    address: str | None = Field(
        None, description="dask: the scheduler to join (tcp://host:8786); empty: a local cluster"
    )
    workers: int = Field(
        2,
        ge=1,
        description="dask, no address: worker processes of the local cluster (1 thread each); tune: its searches",
    )


class VariantSettings(StrictConfig):
    """One variant's settings: its model config and its trainer config."""

    model: ModelConfig
    train: TrainConfig


def _train_defaults_merger(defaults: TrainConfig):
    """A before-validator that completes a partial ``train`` section from the variant's ``defaults``."""

    def merge(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("train"), Mapping):
            data = {**data, "train": defaults.model_dump() | dict(data["train"])}
        return data

    return model_validator(mode="before")(classmethod(merge))


def train_defaults(variant: Variant) -> TrainConfig:
    """The trainer settings that suit ``variant``: the trainer's defaults with the variant's overrides."""
    return TrainConfig(**variant.train_overrides)


def _settings_class(variant: Variant) -> type[VariantSettings]:
    defaults = train_defaults(variant)
    title = "".join(part.title() for part in variant.name.split("_"))
    return create_model(
        f"{title}Settings",
        __base__=VariantSettings,
        __validators__={"complete_train_section": _train_defaults_merger(defaults)},
        __doc__=f"Settings of the {variant.name!r} variant ({variant.model_cls.__name__}).",
        model=(variant.config_cls, Field(default_factory=variant.config_cls)),
        train=(TrainConfig, Field(default_factory=lambda: defaults)),
    )


SETTINGS: dict[str, type[VariantSettings]] = {name: _settings_class(VARIANTS[name]) for name in variants_of("rating")}

# one optional entry per registered variant: an entry given means "train this variant with these settings"
VariantsConfig = create_model(
    "VariantsConfig",
    __base__=StrictConfig,
    __doc__="The rating models to train, each with its model and trainer settings (absent: not trained).",
    **{name: (cls | None, None) for name, cls in SETTINGS.items()},
)


class RankerSettings(StrictConfig):
    """One ranker's settings: its model config, and the grid of alternatives its fit tries on validation
    NDCG@10 (field -> values; every combination is fitted on the training rows, the best refitted on training
    + validation rows). An empty grid fits the model config as it is."""

    model: RankerConfig
    grid: dict[str, list[Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _grid_names_model_fields(self) -> "RankerSettings":
        unknown = [key for key in self.grid if key not in type(self.model).model_fields]
        if unknown:
            raise ValueError(f"grid: {unknown} are not settings of {type(self.model).__name__}")
        empty = [key for key, values in self.grid.items() if not values]
        if empty:
            raise ValueError(f"grid: {empty} list no value to try")
        return self


def _ranker_settings_class(variant: Variant) -> type[RankerSettings]:
    title = "".join(part.title() for part in variant.name.split("_"))
    grid = {key: list(values) for key, values in variant.grid.items()}
    return create_model(
        f"{title}Settings",
        __base__=RankerSettings,
        __doc__=f"Settings of the {variant.name!r} ranker ({variant.model_cls.__name__}).",
        model=(variant.config_cls, Field(default_factory=variant.config_cls)),
        grid=(dict[str, list[Any]], Field(default_factory=lambda: dict(grid))),
    )


RANKER_SETTINGS: dict[str, type[RankerSettings]] = {
    name: _ranker_settings_class(VARIANTS[name]) for name in variants_of("topn")
}

RankersConfig = create_model(
    "RankersConfig",
    __base__=StrictConfig,
    __doc__="The rankers (the top-N family) to train, each with its settings (absent: not trained).",
    **{name: (cls | None, None) for name, cls in RANKER_SETTINGS.items()},
)


class PipelineConfig(StrictConfig):
    """Every setting of a train-all run (see the module docstring for how it is resolved)."""

    data: DataConfig = Field(default_factory=DataConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    seeds: int = Field(1, ge=1, description="repeat split and training with seeds split.seed, split.seed + 1, ...")
    epochs: int | None = Field(None, ge=1, description="when set, every gradient-trained variant's epoch budget")
    refit: bool = Field(
        True,
        description="train each rating model again on training + validation rows for the epoch count chosen on "
        "validation (the model registered and scored as test_mse; the first fit's score is test_mse_train_only)",
    )
    variants: VariantsConfig = Field(
        default_factory=lambda: VariantsConfig(**{name: SETTINGS[name]() for name in DEFAULT_VARIANTS}),
        description="the rating models to train and their settings",
    )
    rankers: RankersConfig = Field(
        default_factory=lambda: RankersConfig(**{name: RANKER_SETTINGS[name]() for name in DEFAULT_RANKERS}),
        description="the rankers (top-N family) to train and their settings; {} for none",
    )
    analysis: bool = Field(True, description="analyze the run and log its report (report/report.html)")
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)
    release_gate: ReleaseGateConfig = Field(default_factory=ReleaseGateConfig)
    runner: RunnerConfig = Field(default_factory=RunnerConfig)

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        seed = _split_seed(data.get("split"))
        given = data.get("variants")
        if given is None:
            given = {name: {} for name in DEFAULT_VARIANTS}
        elif isinstance(given, StrictConfig):
            given = given.model_dump(exclude_none=True)
        if not isinstance(given, Mapping):
            return data  # pydantic reports the wrong type
        data["variants"] = {
            name: _resolve_variant(name, entry, seed, data.get("epochs")) for name, entry in given.items()
        }
        rankers = data.get("rankers")
        if rankers is None:
            rankers = {name: {} for name in DEFAULT_RANKERS}
        elif isinstance(rankers, StrictConfig):
            rankers = rankers.model_dump(exclude_none=True)
        if isinstance(rankers, Mapping):
            for name in rankers:
                if get_variant(name).family != "topn":
                    raise ValueError(f"rankers: {name!r} is a rating model; list it under variants")
            data["rankers"] = {name: entry if entry is not None else {} for name, entry in rankers.items()}
        return data

    @model_validator(mode="after")
    def _members_are_trained(self) -> "PipelineConfig":
        if not self.selected() and not self.selected_rankers():
            raise ValueError("variants, rankers: name at least one model to train")
        chosen = set(self.selected())
        for name, settings in self.selected().items():
            missing = [m for m in settings.model.member_names() if m not in chosen]
            if missing:
                raise ValueError(
                    f"variants: {name!r} is an ensemble of {list(settings.model.member_names())}; "
                    f"add {missing} to the variants, or change variants.{name}.model.members"
                )
        return self

    def selected(self) -> dict[str, VariantSettings]:
        """The rating models this run trains, name -> settings, in registry order."""
        return {name: s for name in SETTINGS if (s := getattr(self.variants, name)) is not None}

    def selected_rankers(self) -> dict[str, RankerSettings]:
        """The rankers this run trains, name -> settings, in registry order."""
        return {name: s for name in RANKER_SETTINGS if (s := getattr(self.rankers, name)) is not None}

    def members_of(self, name: str) -> tuple[str, ...]:
        """The variants that ``name`` is built from (an ensemble's members), () for a single model."""
        return self.selected()[name].model.member_names()

    def training_order(self, roots: Iterable[str] | None = None) -> list[str]:
        """The selected variants (or ``roots`` and what they are built from), each after its members."""
        order: list[str] = []

        def visit(name: str) -> None:
            if name not in order:
                for member in self.members_of(name):
                    visit(member)
                order.append(name)

        for name in self.selected() if roots is None else roots:
            visit(name)
        return order

    def for_seed(self, seed: int) -> "PipelineConfig":
        """The same run with ``seed`` for the split and every variant's training."""
        return apply_overrides(self, {"split.seed": seed})

    def run_seeds(self) -> list[int]:
        """The seeds of the run: split.seed, split.seed + 1, ... (``seeds`` of them)."""
        return list(range(self.split.seed, self.split.seed + self.seeds))

    def with_source(self, source: str | None) -> "PipelineConfig":
        return apply_overrides(self, {"data.source": source})


def _split_seed(split: Any) -> int:
    if isinstance(split, SplitConfig):
        return split.seed
    if isinstance(split, Mapping) and "seed" in split:
        return split["seed"]
    return SplitConfig.model_fields["seed"].default


def _resolve_variant(name: str, entry: Any, seed: Any, epochs: Any) -> Any:
    """One variant's entry with the run's seed (and epoch budget) in its ``train`` section."""
    if get_variant(name).family != "rating":  # raises for an unknown name, naming the known variants
        raise ValueError(f"variants: {name!r} is a ranker; list it under rankers")
    if entry is None:
        entry = {}
    if isinstance(entry, StrictConfig):
        entry = entry.model_dump()
    if not isinstance(entry, Mapping):
        return entry
    train = entry.get("train") or {}
    train = train.model_dump() if isinstance(train, StrictConfig) else dict(train)
    train["seed"] = seed
    if epochs is not None and not VARIANTS[name].model_cls.fits_directly:  # rankers keep their own epochs
        train["epochs"] = epochs
    return {**entry, "train": train}


def select_variants(config: PipelineConfig, names: Iterable[str]) -> PipelineConfig:
    """``config`` training only ``names`` (rating models and rankers alike, in registry order), each with its
    settings in ``config`` if it has them, else its defaults."""
    names = list(names)
    families = {name: get_variant(name).family for name in names}
    data = config_dict(config)
    rating = {n: data["variants"].get(n, {}) for n in names if families[n] == "rating"}
    rankers = {n: data["rankers"].get(n, {}) for n in names if families[n] == "topn"}
    return PipelineConfig.model_validate(data | {"variants": rating, "rankers": rankers})


def config_dict(config: PipelineConfig) -> dict:
    """The resolved config as plain data (JSON types), the variants not trained left out."""
    data = config.model_dump(mode="json")
    data["variants"] = {name: entry for name, entry in data["variants"].items() if entry is not None}
    data["rankers"] = {name: entry for name, entry in data["rankers"].items() if entry is not None}
    return data


def apply_overrides(config: PipelineConfig, overrides: Mapping[str, Any]) -> PipelineConfig:
    """``config`` with each dotted field set (``{"split.seed": 7, "variants.mf.train.lr": 0.01}``), validated
    again; a path through an unknown or untrained section is an error naming it."""
    data = config_dict(config)
    for path, value in overrides.items():
        keys = path.split(".")
        node = data
        for i, key in enumerate(keys[:-1]):
            if not isinstance(node.get(key), dict):
                if keys[0] in ("variants", "rankers") and i >= 1 and keys[1] in VARIANTS:
                    node[key] = {}  # setting a field of a variant not trained yet adds it
                else:
                    raise ValueError(f"config has no section {'.'.join(keys[: i + 1])!r} (setting {path!r})")
            node = node[key]
        node[keys[-1]] = value
    return PipelineConfig.model_validate(data)


def settings_fingerprint(config: PipelineConfig) -> str:
    """A short hash of what decides what a run learns besides the data (:data:`LEARNING_FIELDS` of the
    resolved config). Equal fingerprints on equal data mean a retrain would learn the same models again."""
    learning = {key: value for key, value in config_dict(config).items() if key in LEARNING_FIELDS}
    return hashlib.sha256(json.dumps(learning, sort_keys=True).encode()).hexdigest()[:16]


def config_to_yaml(config: PipelineConfig) -> str:
    """The resolved config as YAML (what ``recsys config show`` prints and each run logs as config.yaml)."""
    return yaml.safe_dump(config_dict(config), sort_keys=False, default_flow_style=False, width=110)


def load_config(path: Path) -> PipelineConfig:
    """Read a config file (YAML or JSON); errors name the file and each bad field."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config is a mapping of sections (data, split, variants, ...)")
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: {describe_errors(exc)}") from None


def describe_errors(exc: ValidationError) -> str:
    """One line per bad field: its dotted path and what is wrong."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "config"
        lines.append(f"{where}: {error['msg']}")
    return "; ".join(lines)


def flat_params(config: PipelineConfig) -> dict[str, str]:
    """The resolved config as flat ``section.field`` params (for MLflow), values as text."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            out[prefix] = json.dumps(value) if isinstance(value, list | dict) else str(value)

    walk("", config_dict(config))
    return out
