"""Training configuration: plain data (TOML or YAML), typed and checked before anything runs.

A typo in a config key must fail at once, not after an hour of feature extraction with the
default silently used, so unknown keys are errors. The resolved config (defaults filled in)
is written into the run directory and later into the model card.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

DEFAULT_LABELS = ("cannabis", "ornamental_poppy", "cannabis_lookalike", "other_plant", "background")


@dataclass(frozen=True)
class DataConfig:
    manifest: str = "data/plants-v1/manifest.csv"
    labels: tuple[str, ...] = DEFAULT_LABELS
    # Rows whose label is not in `labels`: "error" (default: nothing is dropped silently).
    unknown_labels: str = "error"


@dataclass(frozen=True)
class ModelConfig:
    backbone: str = "tf_efficientnet_lite0"
    hidden: int = 0  # head hidden units; 0 = a linear head on the pooled features
    dropout: float = 0.2
    # Head mode: how many of the backbone's last blocks train on cached activations
    # (0 = only the head; 1-2 = partial fine-tuning that still runs in minutes on CPU).
    train_blocks: int = 0


@dataclass(frozen=True)
class AugmentConfig:
    views: int = 4  # head mode: augmented views per training image cached (plus one clean)
    photo_scale_min: float = 0.3  # RandomResizedCrop area range lower bound
    colour: float = 0.3  # brightness/contrast/saturation jitter strength
    hue: float = 0.03
    rotate: float = 20.0  # degrees, photos (tiles rotate freely by 90° and flip)
    jpeg_quality_min: int = 40
    tile_scale: float = 0.2  # tiles: ± relative zoom (ground-resolution error)


@dataclass(frozen=True)
class OptimConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    backbone_lr: float = 1e-4  # trained backbone blocks / finetune mode
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    # Class balance: "sampler" (weighted sampling) or "loss" (weighted loss) or "none".
    balance: str = "sampler"
    label_power: float = 0.0  # label share ∝ n_label ** power (0 = every label equal)
    source_power: float = 0.5  # within a label, source share ∝ n_source ** power
    # What a "source" is for that balance: "source" (the repository) or "source_gsd" (the
    # repository and, for drone tiles, the tile resolution: every resolution gets its share
    # instead of the 1 cm/px tiles, which a frame gives most of, drowning the coarse ones).
    source_key: str = "source"
    warmup_epochs: int = 1
    workers: int = 0  # DataLoader workers (finetune mode)
    # Hard-negative mining (head mode): after a first fit, the training negatives the head
    # scores highest for the controlled label (this share of them) weigh `factor` times
    # more in a second fit from scratch. 0 = off.
    hard_negative_share: float = 0.0
    hard_negative_factor: float = 4.0


@dataclass(frozen=True)
class EarlyStopConfig:
    patience: int = 6
    # Early stopping watches mean validation recall of controlled labels (and stand-ins such
    # as ornamental_poppy); ties are broken by lower validation loss.
    min_delta: float = 0.0


@dataclass(frozen=True)
class CalibrationConfig:
    alert_recall: float = 0.95  # alert threshold: the highest that keeps this val recall
    review_recall: float = 0.99  # review threshold (controlled labels and stand-ins)
    # "pooled": recall over all val positives; "source_mean": mean of per-source recalls,
    # so one big source cannot hide a small hard one.
    recall_rule: str = "pooled"
    min_source_positives: int = 10
    unusable_min_probability: float = 0.6
    # Where the temperature and thresholds are fitted: "val" (the in-source validation
    # split) or "out_of_source" (predictions of the out-of-source protocol: every image
    # scored by a model that never saw its source family; head mode only).
    fit_on: str = "val"


@dataclass(frozen=True)
class OpenSetConfig:
    """The familiarity gate: an alert also needs the image to look like training photos."""

    label: str = ""  # the gated label ("cannabis"); "" = no gate
    k: int = 5  # nearest references averaged
    max_references: int = 2048  # training photos of the label kept in the bundle (float16)
    # The gate's cut keeps this share of the label's out-of-source positives.
    gate_recall: float = 0.99


@dataclass(frozen=True)
class OutOfSourceConfig:
    """The out-of-source protocol (training/oos.py)."""

    max_folds_per_source: int = 10  # more families than this are dealt into this many folds


@dataclass(frozen=True)
class TrainConfig:
    name: str = "plantscout-lite0"
    version: str = "0.1.0"
    mode: str = "head"  # "head" (frozen backbone, cached features) or "finetune"
    seed: int = 0
    threads: int = 2  # torch intra-op threads on CPU (the machine is shared)
    device: str = "auto"  # "auto", "cpu" or "cuda"
    amp: bool = True  # mixed precision on CUDA (ignored on CPU)
    cache_dir: str = "runs/cache"
    # Extra plain-language limitations for the card, [{zh = "...", en = "..."}, ...].
    card_limitations: tuple[dict[str, str], ...] = ()
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    early_stopping: EarlyStopConfig = field(default_factory=EarlyStopConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    open_set: OpenSetConfig = field(default_factory=OpenSetConfig)
    out_of_source: OutOfSourceConfig = field(default_factory=OutOfSourceConfig)

    def __post_init__(self) -> None:
        if self.mode not in ("head", "finetune"):
            raise ValueError(f"mode must be 'head' or 'finetune', not {self.mode!r}")
        if self.optim.balance not in ("sampler", "loss", "none"):
            raise ValueError("optim.balance must be 'sampler', 'loss' or 'none'")
        if self.optim.source_key not in ("source", "source_gsd"):
            raise ValueError("optim.source_key must be 'source' or 'source_gsd'")
        if self.calibration.recall_rule not in ("pooled", "source_mean"):
            raise ValueError("calibration.recall_rule must be 'pooled' or 'source_mean'")
        if self.calibration.fit_on not in ("val", "out_of_source"):
            raise ValueError("calibration.fit_on must be 'val' or 'out_of_source'")
        if self.calibration.fit_on == "out_of_source" and self.mode != "head":
            raise ValueError("calibration.fit_on = 'out_of_source' needs head mode")
        if self.open_set.label and self.open_set.label not in self.data.labels:
            raise ValueError(f"open_set.label {self.open_set.label!r} is not in data.labels")
        if not 0 < self.open_set.gate_recall <= 1:
            raise ValueError("open_set.gate_recall must be in (0, 1]")
        if self.data.unknown_labels not in ("error", "drop"):
            raise ValueError("data.unknown_labels must be 'error' or 'drop'")
        if len(set(self.data.labels)) != len(self.data.labels):
            raise ValueError("data.labels lists a label twice")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown config key(s) in {where or 'top level'}: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    defaults = cls()
    for name, value in data.items():
        default = getattr(defaults, name)
        if is_dataclass(default):
            if not isinstance(value, dict):
                raise ValueError(f"config section {where}{name} must be a table")
            values[name] = _build(type(default), value, f"{where}{name}.")
        elif isinstance(default, tuple):
            values[name] = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{where}{name} must be true or false")
            values[name] = value
        elif isinstance(default, float) and isinstance(value, int):
            values[name] = float(value)
        else:
            if not isinstance(value, type(default)):
                raise ValueError(
                    f"{where}{name} must be {type(default).__name__}, not {type(value).__name__}"
                )
            values[name] = value
    return cls(**values)


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    return _build(TrainConfig, data, "")


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    text = path.read_text("utf-8")
    if path.suffix.lower() == ".toml":
        return tomllib.loads(text)
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path} must hold a mapping")
        return data
    if path.suffix.lower() == ".json":
        return json.loads(text)
    raise ValueError(f"{path}: config must be .toml, .yaml/.yml or .json")


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``section.key=value`` overrides (values parsed as TOML: 2, 0.5, true, "x", [..])."""
    data = json.loads(json.dumps(data))  # deep copy
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r}: expected KEY=VALUE")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # bare strings need no quotes on the command line
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return data


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    return config_from_dict(apply_overrides(read_config_file(path), overrides or []))


def with_changes(config: TrainConfig, **changes: Any) -> TrainConfig:
    return replace(config, **changes)
